import DNSForward

/// What the upstream transport hands the pipeline when a socket has news.
/// `reply`'s bytes live in the transport's receive buffer: use them before returning.
enum UpstreamOutcome {
    /// A message for the attempt `token` (its ID matched on the socket); the
    /// forwarder still checks ID and question.
    case reply(token: UInt64, wire: UnsafeRawBufferPointer)
    /// The attempt's socket failed: refused, reset, closed early.
    case failure(token: UInt64)
    /// A datagram on a pooled socket that names no waiting query.
    case unmatched(UnmatchedReply)
    /// Forged replies flood the socket these attempts wait on: it is retired,
    /// and their questions are to be asked again over TCP.
    case forgedReplies(tokens: [UInt64])
}

/// Why a datagram on a pooled upstream socket was not handed to any attempt.
enum UnmatchedReply: CustomStringConvertible {
    case malformed(slotSize: Int)
    case unknownID(UInt16)

    var description: String {
        switch self {
        case .malformed(let slotSize): return "too short or over \(slotSize) bytes"
        case .unknownID(let id): return "no query with ID \(id) waits on this socket"
        }
    }
}

/// Who hears what the upstream transport's sockets report (the query pipeline).
protocol UpstreamOutcomeReceiver: AnyObject {
    func deliver(_ outcome: UpstreamOutcome, now: MonotonicInstant)
}
