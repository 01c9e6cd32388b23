import DNSForward
import RawUDP

/// One intercepted TCP connection from a client (RFC 7766): queries may be
/// pipelined and are answered as they complete, in any order.
final class ClientConnection {
    let id: UInt64
    let stream: StreamSocket
    var framer = DNSStreamFramer()
    /// Framed replies not yet accepted by the kernel.
    var output: [UInt8] = []
    var outputOffset = 0
    /// Queries read whose replies are not yet queued.
    var outstanding = 0
    var lastActivity: ContinuousClock.Instant
    /// The client closed its side; close ours once every reply is out.
    var readClosed = false

    init(id: UInt64, stream: StreamSocket, now: ContinuousClock.Instant) {
        self.id = id
        self.stream = stream
        lastActivity = now
    }

    var pendingOutput: Int { output.count - outputOffset }

    var originalDestination: IPEndpoint { stream.local ?? stream.remote }

    /// Writes as much queued output as the socket takes; throws on a dead peer.
    func flush() throws(SystemCallError) {
        while outputOffset < output.count {
            guard let written = try stream.write(output, from: outputOffset) else { return }
            outputOffset += written
        }
        output.removeAll(keepingCapacity: true)
        outputOffset = 0
    }
}
