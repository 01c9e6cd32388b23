/// DNS over TCP framing (RFC 1035 4.2.2, RFC 7766 8): each message preceded by
/// its 16-bit length. Collects bytes as they arrive and yields whole messages.
public struct DNSStreamFramer: Sendable {
    private var buffer: [UInt8] = []
    private var consumed = 0

    public init() {}

    /// Bytes received but not yet returned as a message.
    public var pendingByteCount: Int { buffer.count - consumed }

    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        if consumed > 0, consumed == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            consumed = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next complete message, or nil until more bytes arrive.
    public mutating func nextMessage() -> [UInt8]? {
        guard buffer.count - consumed >= 2 else { return nil }
        let length = Int(buffer[consumed]) << 8 | Int(buffer[consumed + 1])
        guard buffer.count - consumed - 2 >= length else { return nil }
        let start = consumed + 2
        consumed = start + length
        let message = Array(buffer[start..<consumed])
        if consumed > 4096, consumed * 2 > buffer.count {
            buffer.removeFirst(consumed)
            consumed = 0
        }
        return message
    }

    /// `message` with its length prefix; nil if it cannot be framed (over 65,535 bytes).
    public static func frame(_ message: [UInt8]) -> [UInt8]? {
        guard message.count <= 65_535 else { return nil }
        return [UInt8(message.count >> 8), UInt8(truncatingIfNeeded: message.count)] + message
    }
}
