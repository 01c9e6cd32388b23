/// What the forwarder asks the I/O layer to do. DNSForward never touches a
/// socket; the daemon carries these out.
public enum ForwarderAction<Client>: Sendable where Client: Sendable {
    /// Send `bytes` to the client (UDP: through the raw socket, from the address it targeted).
    case reply(to: Client, bytes: [UInt8], details: ReplyDetails)
    /// Send the request's query to its upstream (framed with a length over
    /// TCP) and report what comes back with its token.
    case sendUpstream(UpstreamRequest)
    /// The attempt `token` is over: close its socket.
    case closeUpstream(token: UInt64)
    /// A reply on the socket of attempt `token` had our ID but not our letter
    /// case: count it toward that socket's forgery alarm. Comes before the
    /// attempt's `closeUpstream`.
    case suspectForgery(token: UInt64)
}

/// What a reply answered and how, for the query log and counters.
public struct ReplyDetails: Sendable {
    public let code: DNSResponseCode
    public let source: AnswerSource
    /// Nil for replies to queries too broken to have one.
    public let question: DNSQuestion?
    /// When the query arrived: reply time minus this is the client's latency.
    public let receivedAt: MonotonicInstant
    /// The routing-policy rule that decided (`RoutingPolicy.ruleNames` index);
    /// nil for answers made before policy applies (errors, local zones, identity).
    public let rule: Int?

    public init(code: DNSResponseCode, source: AnswerSource, question: DNSQuestion?, receivedAt: MonotonicInstant,
                rule: Int? = nil) {
        self.rule = rule
        self.code = code
        self.source = source
        self.question = question
        self.receivedAt = receivedAt
    }
}

public enum Transport: String, Sendable {
    case udp, tcp
}

/// Where an answer came from, for logs and counters.
public enum AnswerSource: Sendable, Equatable, CustomStringConvertible {
    case upstream(Int)
    case cache
    /// An expired entry served because every upstream failed (RFC 8767).
    case staleCache
    case localZone
    /// A blocked name, a bypass canary or a refusing route (`RoutingPolicy`).
    case policy
    /// Made by the daemon: errors, timeouts, refusals.
    case daemon

    public var description: String {
        switch self {
        case .upstream(let index): return "upstream\(index)"
        case .cache: return "cache"
        case .staleCache: return "stale-cache"
        case .localZone: return "zone"
        case .daemon: return "daemon"
        case .policy: return "policy"
        }
    }
}
