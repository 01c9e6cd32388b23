import DNSForward
import RawUDP

/// One upstream TCP connection carrying one framed query (the retry after a
/// TC reply, RFC 7766 5): connect, write, read framed replies.
final class UpstreamTCPExchange {
    let token: UInt64
    let stream: StreamSocket
    var registration: LoopRegistration?
    private var output: [UInt8]
    private var outputOffset = 0
    private(set) var connected = false
    private var framer = DNSStreamFramer()

    init(token: UInt64, stream: StreamSocket, framedQuery: [UInt8]) {
        self.token = token
        self.stream = stream
        output = framedQuery
    }

    var hasPendingOutput: Bool { outputOffset < output.count }

    /// Finishes the connect once the socket reports, then writes what it takes.
    /// Returns whether the query is now fully written.
    func progressWrite(_ event: EventPoller.Event) throws(SystemCallError) -> Bool {
        if !connected, event.isWritable || event.isClosedOrFailed {
            try stream.connectResult()
            connected = true
        }
        guard connected, hasPendingOutput else { return false }
        outputOffset += try stream.write(output, from: outputOffset) ?? 0
        return !hasPendingOutput
    }

    /// Reads what arrived; nil while nothing did, an empty list at EOF
    /// with no whole message, otherwise the complete messages.
    func read(_ event: EventPoller.Event, into buffer: UnsafeMutableRawBufferPointer) throws(SystemCallError) -> ReadResult {
        guard connected, event.isReadable || event.isClosedOrFailed else { return .nothing }
        guard let count = try stream.read(into: buffer) else { return .nothing }
        if count == 0 { return .closed }
        framer.append(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
        var messages: [[UInt8]] = []
        while let message = framer.nextMessage() { messages.append(message) }
        return .messages(messages)
    }

    enum ReadResult {
        case nothing
        case closed
        case messages([[UInt8]])
    }
}
