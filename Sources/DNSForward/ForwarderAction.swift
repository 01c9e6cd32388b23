/// What the forwarder asks the I/O layer to do. DNSForward never touches a
/// socket; the daemon carries these out.
public enum ForwarderAction<Client>: Sendable where Client: Sendable {
    /// Send `bytes` to the client (through the raw socket, from the address it targeted).
    case reply(to: Client, bytes: [UInt8], code: DNSResponseCode, source: AnswerSource)
    /// Open a fresh socket to upstream number `upstream`, send `bytes`, and
    /// report datagrams on it with `token`.
    case sendUpstream(token: UInt64, upstream: Int, bytes: [UInt8])
    /// The attempt `token` is over: close its socket.
    case closeUpstream(token: UInt64)
}

/// Where an answer came from, for logs and counters.
public enum AnswerSource: Sendable, Equatable {
    case upstream(Int)
    /// Made by the daemon: errors, timeouts, refusals.
    case daemon
}
