import DNSForward
import RawUDP

/// One CLI client on the control socket: a request line in, reply lines out.
final class ControlConnection {
    let id: UInt64
    let socket: UnixStreamSocket
    var input: [UInt8] = []
    var output: [UInt8] = []
    var outputOffset = 0
    /// A dump in progress: the keys snapshot taken at the request, and how far it got.
    var dumpKeys: [CacheKey]?
    var dumpPosition = 0
    var dumpSent = 0
    var closeWhenFlushed = false
    let openedAt: ContinuousClock.Instant

    init(id: UInt64, socket: UnixStreamSocket, now: ContinuousClock.Instant) {
        self.id = id
        self.socket = socket
        openedAt = now
    }

    var pendingOutput: Int { output.count - outputOffset }

    func send<T: Encodable>(_ value: T) {
        output += ControlCodec.line(value)
    }

    func flush() throws(SystemCallError) {
        while outputOffset < output.count {
            guard let written = try socket.write(output, from: outputOffset) else { return }
            outputOffset += written
        }
        output.removeAll(keepingCapacity: true)
        outputOffset = 0
    }

    /// The request line, once a newline has arrived.
    func takeRequestLine() -> ArraySlice<UInt8>? {
        guard let newline = input.firstIndex(of: 0x0A) else { return nil }
        return input[..<newline]
    }
}
