import DNSForward
import RawUDP

/// One CLI client on the control socket: a request line in, reply lines out.
final class ControlConnection: ServedConnection {
    let socket: UnixStreamSocket
    var input: [UInt8] = []
    private var output = OutgoingBytes()
    /// A dump in progress: the keys snapshot taken at the request, and how far it got.
    var dump: CacheDump?
    var closeWhenFlushed = false
    let openedAt: MonotonicInstant

    /// `closeWhenFlushed` is set once the request line (or an error) is in.
    var requestIsIn: Bool { closeWhenFlushed }

    init(socket: UnixStreamSocket, now: MonotonicInstant) {
        self.socket = socket
        openedAt = now
    }

    var pendingOutput: Int { output.pendingCount }

    func send(_ reply: ControlReply) {
        output.append(ControlCodec.line(reply))
    }

    func flush() throws(SystemCallError) {
        try output.flush(through: socket.write)
    }

    /// The request line, once a newline has arrived.
    func takeRequestLine() -> ArraySlice<UInt8>? {
        guard let newline = input.firstIndex(of: 0x0A) else { return nil }
        return input[..<newline]
    }
}

/// `cache dump` in progress: the keys as they were at the request, sent in
/// chunks as the socket drains so a large cache never stalls serving.
struct CacheDump {
    let keys: [CacheKey]
    var position = 0
    var sent = 0
}
