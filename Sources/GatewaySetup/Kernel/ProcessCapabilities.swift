import DNSForward
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The effective capability set of a process, from the `CapEff:` line of /proc/PID/status.
public struct ProcessCapabilities: Equatable, Sendable {
    /// Bit numbers from linux/capability.h.
    public enum Capability: Int, Sendable, CustomStringConvertible {
        case netAdmin = 12
        case netRaw = 13

        public var description: String { self == .netAdmin ? "CAP_NET_ADMIN" : "CAP_NET_RAW" }
    }

    public var effective: UInt64

    public func has(_ capability: Capability) -> Bool { effective & (1 << UInt64(capability.rawValue)) != 0 }

    /// nil when the text has no well-formed CapEff line.
    public init?(procStatus text: String) {
        for line in text.split(separator: "\n") where line.hasPrefix("CapEff:") {
            let hex = line.dropFirst("CapEff:".count).trimmingWhitespace()
            guard !hex.isEmpty, hex.allSatisfy(\.isHexDigit), let value = UInt64(hex, radix: 16) else { return nil }
            effective = value
            return
        }
        return nil
    }

    public init(effective: UInt64) { self.effective = effective }

    /// This process's capabilities; none when /proc cannot be read.
    public static func current() -> ProcessCapabilities {
        let text = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        return ProcessCapabilities(procStatus: text) ?? ProcessCapabilities(effective: 0)
    }
}
