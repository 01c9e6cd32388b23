import DNSForward
import RawUDP

/// One intercepted TCP connection from a client (RFC 7766): queries may be
/// pipelined and are answered as they complete, in any order.
final class ClientConnection {
    let id: UInt64
    let stream: StreamSocket
    let registration: LoopRegistration
    var framer = DNSStreamFramer()
    /// Framed replies not yet accepted by the kernel.
    var output = OutgoingBytes()
    /// Queries read whose replies are not yet queued.
    var outstanding = 0
    var lastActivity: MonotonicInstant
    /// When the first byte of the message still incomplete arrived; nil
    /// between messages and while we are not reading (pipelining limit).
    /// Not moved by later bytes: a slowloris trickling one byte a second
    /// still meets the message deadline.
    var messageStartedAt: MonotonicInstant?
    /// The client closed its side; close ours once every reply is out.
    var readClosed = false

    init(id: UInt64, stream: StreamSocket, registration: LoopRegistration, now: MonotonicInstant) {
        self.id = id
        self.stream = stream
        self.registration = registration
        lastActivity = now
    }

    var pendingOutput: Int { output.pendingCount }

    var originalDestination: IPEndpoint { stream.local ?? stream.remote }

    /// Nothing more will come or go: time to close.
    var isDone: Bool { readClosed && outstanding == 0 && pendingOutput == 0 }

    /// Owes its client nothing (no query being answered, no reply unsent):
    /// idle, or stalled mid-message. Only such a connection may be evicted.
    var owesNothing: Bool { outstanding == 0 && pendingOutput == 0 }

    /// How long it has kept us waiting: since its message began, or since it last did anything.
    var waitingSince: MonotonicInstant { messageStartedAt ?? lastActivity }

    func flush() throws(SystemCallError) {
        try output.flush(through: stream.write)
    }
}
