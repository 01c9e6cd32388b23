import DNSForward
import RawUDP

/// `--reply-via socket-per-source`: the usual alternative to raw replies, kept
/// for comparison. Each spoofed source address gets its own IP_TRANSPARENT UDP
/// socket bound to it, cached. TPROXY finds such a bound socket for later
/// queries to that address before it finds the listener, so each one is also
/// read like the main receiver (`opened` registers it with the front end).
final class SourceSocketTable {
    static let maximumSockets = 4096

    private var sockets: [IPEndpoint: TransparentUDPReceiver] = [:]
    /// Called with each new socket, to read queries from it too.
    var opened: ((TransparentUDPReceiver) throws -> Void)?

    func socket(for source: IPEndpoint) throws -> TransparentUDPReceiver {
        if let socket = sockets[source] { return socket }
        guard sockets.count < Self.maximumSockets else { throw SourceSocketError.tooMany(Self.maximumSockets) }
        let socket = try TransparentUDPReceiver(bindingTo: source, batchSize: 8)
        try opened?(socket)
        sockets[source] = socket
        return socket
    }
}

enum SourceSocketError: Error, CustomStringConvertible {
    case tooMany(Int)

    var description: String {
        switch self {
        case .tooMany(let limit): return "more than \(limit) spoofed sources: socket-per-source is out of sockets"
        }
    }
}
