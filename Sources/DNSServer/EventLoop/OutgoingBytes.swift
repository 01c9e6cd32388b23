import RawUDP

/// Bytes queued for a non-blocking stream socket, written as the socket takes
/// them. Shared by every connection type the daemon serves.
struct OutgoingBytes {
    private var bytes: [UInt8] = []
    private var offset = 0

    var pendingCount: Int { bytes.count - offset }

    mutating func append(_ more: [UInt8]) {
        bytes += more
    }

    /// Writes until the socket would block or everything is out; throws on a dead peer.
    mutating func flush(through write: ([UInt8], Int) throws(SystemCallError) -> Int?) throws(SystemCallError) {
        while offset < bytes.count {
            guard let written = try write(bytes, offset) else { return }
            offset += written
        }
        bytes.removeAll(keepingCapacity: true)
        offset = 0
    }
}
