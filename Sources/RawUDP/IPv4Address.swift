/// An IPv4 address as its 32-bit value (192.0.2.1 is 0xC000_0201), so it is
/// compared, hashed and written without heap storage.
public struct IPv4Address: Hashable, Sendable, CustomStringConvertible {
    public var value: UInt32

    public init(_ value: UInt32) { self.value = value }

    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        value = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
    }

    /// Dotted-quad text as inet_pton reads it; nil for anything else: no
    /// shorthand forms like "127.1", no leading zeros (octal to inet_aton).
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var result: UInt32 = 0
        for part in parts {
            // Digits only: UInt8("+1") is 1.
            guard !part.isEmpty, part.count <= 3, part.allSatisfy({ $0.isASCII && $0.isWholeNumber }),
                  part.count == 1 || part.first != "0",
                  let octet = UInt8(part) else { return nil }
            result = result << 8 | UInt32(octet)
        }
        value = result
    }

    public var octets: [UInt8] {
        [UInt8(value >> 24), UInt8(truncatingIfNeeded: value >> 16),
         UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value)]
    }

    public var description: String { octets.map(String.init).joined(separator: ".") }
}
