import DNSForward
import Logging
import RawUDP

/// `--reply-via socket-per-source`: the usual alternative to raw replies, kept
/// for comparison. Each spoofed source address gets its own IP_TRANSPARENT UDP
/// socket bound to it, cached. TPROXY finds such a bound socket for later
/// queries to that address before it finds the listener, so each one is also
/// read like the main receiver.
extension Daemon {
    static let maximumSourceSockets = 4096

    func sourceSocket(for source: IPEndpoint) throws -> TransparentUDPReceiver {
        if let index = sourceSocketIndex[source] { return sourceSockets[index] }
        guard sourceSockets.count < Self.maximumSourceSockets else {
            throw DaemonError.tooManySourceSockets(Self.maximumSourceSockets)
        }
        let socket = try TransparentUDPReceiver(bindingTo: source, batchSize: 8)
        let index = sourceSockets.count
        try poller.register(socket.socket.rawValue, token: PollToken.connectionTag | PollToken.secondKind | UInt64(index))
        sourceSockets.append(socket)
        sourceSocketIndex[source] = index
        return socket
    }

    func drainSourceSocket(_ index: Int) {
        guard index < sourceSockets.count else { return }
        drain(sourceSockets[index])
    }
}
