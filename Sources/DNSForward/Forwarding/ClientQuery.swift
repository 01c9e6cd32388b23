/// A query from a client that parsed cleanly and is worth answering.
public struct ClientQuery: Sendable {
    public let id: UInt16
    public let question: DNSQuestion
    public private(set) var key: CacheKey
    /// Where the routing policy sends it (`RoutingPolicy.decide`); the key's scope follows it.
    public private(set) var decision = PolicyDecision(.forward(set: 0), rule: RoutingPolicy.defaultRule)
    /// Where the question ends in the client's message (it starts at 12). The
    /// message itself is not kept: everything a reply needs is in these fields,
    /// and a cache hit should not copy it.
    public let questionEnd: Int
    /// Largest reply the client accepts: its EDNS size, else 512 (RFC 6891 6.2.3,
    /// RFC 1035 4.2.1); 65,535 over TCP.
    public var maximumReply: Int
    public let hasEDNS: Bool
    /// RD, AD and CD as the client set them, copied to the upstream query.
    public let requestFlags: HeaderFlags

    public var dnssecOK: Bool { key.dnssecOK }

    /// The same query routed by `decision`, its key in the decision's cache scope.
    public func routed(_ decision: PolicyDecision) -> ClientQuery {
        var copy = self
        copy.decision = decision
        if let scope = decision.cacheScope { copy.key = key.scoped(scope) }
        return copy
    }

    /// The same query as it arrived over TCP: no UDP size limit applies.
    public func overTCP() -> ClientQuery {
        var copy = self
        copy.maximumReply = 65_535
        return copy
    }
}

/// What to do with a datagram a client sent.
public enum ClientQueryVerdict: Sendable {
    case answer(ClientQuery)
    /// Answer at once (FORMERR, NOTIMP, REFUSED, BADVERS) without going upstream;
    /// the question when one could be read.
    case respond([UInt8], DNSResponseCode, DNSQuestion?)
    /// Not even a DNS header, or a response rather than a query: say nothing,
    /// so we can never be used to reflect traffic.
    case drop(String)
}
