#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The control socket protocol: JSON lines over a Unix stream socket.
///
/// The client sends one `ControlRequest` line. The daemon answers with one or
/// more `ControlReply` lines and closes the connection: `stats` or `error`
/// alone, or any number of `entry` lines (dump, lookup) closed by a `done`
/// line. Unknown fields are ignored, so old clients keep working.
public struct ControlRequest: Codable {
    public enum Command: String, Codable {
        case stats, dump, lookup, flush
        case zonesReload = "zones-reload"
        /// Starts a save of `--cache-file`; `done.count` is the save's number (`DaemonStats.CacheFile.savesRequested`).
        case cacheSave = "cache-save"
    }

    public var command: Command
    /// lookup, flush: a domain name in presentation form.
    public var name: String?
    /// lookup: a record type mnemonic; nil means every type.
    public var type: String?
    /// flush: the whole subtree below `name`.
    public var subtree: Bool?

    public init(command: Command, name: String? = nil, type: String? = nil, subtree: Bool? = nil) {
        self.command = command
        self.name = name
        self.type = type
        self.subtree = subtree
    }
}

public struct ControlReply: Codable {
    public var stats: DaemonStats?
    public var entry: CacheEntryView?
    public var done: ControlDone?
    public var error: String?

    init(stats: DaemonStats? = nil, entry: CacheEntryView? = nil, done: ControlDone? = nil, error: String? = nil) {
        self.stats = stats
        self.entry = entry
        self.done = done
        self.error = error
    }
}

public struct ControlDone: Codable {
    /// Entries sent (dump, lookup) or removed (flush); zones loaded (zones-reload).
    public var count: Int
    public var message: String?
}

/// One cached answer as `cache dump` and `cache lookup` show it.
public struct CacheEntryView: Codable {
    public var name: String
    public var type: String
    public var `class`: Int
    public var dnssecOK: Bool
    public var checkingDisabled: Bool
    /// positive, nxdomain, nodata, servfail.
    public var kind: String
    public var rcode: String
    /// Seconds until expiry; negative once expired (kept for serve-stale).
    public var remainingTTL: Int
    public var ageSeconds: Int
    public var hits: Int
    /// Upstream address that answered, or "daemon" for entries it made.
    public var answeredBy: String
    public var stale: Bool
    public var records: [String]
}

public enum ControlCodec {
    public static func line<T: Encodable>(_ value: T) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // Encoding our own plain structs cannot fail; an empty object keeps the line well formed.
        return Array((try? encoder.encode(value)) ?? Data("{}".utf8)) + [0x0A]
    }

    public static func decode<T: Decodable>(_ type: T.Type, from line: some Collection<UInt8>) throws -> T {
        try JSONDecoder().decode(type, from: Data(line))
    }
}
