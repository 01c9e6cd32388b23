/// One cached response: its wire bytes as the upstream sent them (TTLs already
/// clamped to policy), where its TTL fields are, and when it was stored.
public struct CachedAnswer: Sendable {
    public enum Kind: String, Sendable {
        case positive
        case nameError = "nxdomain"
        case noData = "nodata"
        case serverFailure = "servfail"
    }

    public let wire: [UInt8]
    /// Where the TTL fields are (OPT's excepted), to age them on every hit.
    let ttlOffsets: [UInt16]
    /// The OPT record, to patch or strip per client.
    let optRange: Range<Int>?
    let recordsAfterOPT: Int
    public let kind: Kind
    public let storedAt: MonotonicInstant
    /// Seconds the entry is fresh for.
    public let lifetime: UInt32
    /// Upstream index that answered; nil for entries the daemon made.
    public let upstream: Int?
    public internal(set) var hits: Int = 0
    /// Until when a stale copy is served at once while a refresh runs (RFC 8767's
    /// failure recheck timer): set after every upstream failed for this key.
    public internal(set) var serveStaleUntil: MonotonicInstant?

    /// Keeps of `layout` only what serving needs: the rest (the minimum and
    /// negative TTLs, the question's end) decided caching, and every entry
    /// would carry it.
    init(wire: [UInt8], layout: MessageLayout, kind: Kind, storedAt: MonotonicInstant, lifetime: UInt32,
         upstream: Int?) {
        self.init(wire: wire, ttlOffsets: layout.ttlOffsets, optRange: layout.optRange,
                  recordsAfterOPT: layout.recordsAfterOPT, kind: kind, storedAt: storedAt, lifetime: lifetime,
                  upstream: upstream)
    }

    init(wire: [UInt8], ttlOffsets: [UInt16], optRange: Range<Int>?, recordsAfterOPT: Int, kind: Kind,
         storedAt: MonotonicInstant, lifetime: UInt32, upstream: Int?) {
        self.wire = wire
        self.ttlOffsets = ttlOffsets
        self.optRange = optRange
        self.recordsAfterOPT = recordsAfterOPT
        self.kind = kind
        self.storedAt = storedAt
        self.lifetime = lifetime
        self.upstream = upstream
    }

    public var expiresAt: MonotonicInstant { storedAt + .seconds(Int64(lifetime)) }

    public func age(at now: MonotonicInstant) -> UInt32 {
        let seconds = storedAt.duration(to: now).components.seconds
        return UInt32(clamping: max(0, seconds))
    }

    public func isFresh(at now: MonotonicInstant) -> Bool { now < expiresAt }

    public var responseCode: DNSResponseCode {
        wire.withUnsafeBytes { DNSHeader(wire: $0)?.responseCode } ?? .serverFailure
    }
}
