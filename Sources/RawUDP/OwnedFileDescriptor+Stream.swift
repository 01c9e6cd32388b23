#if canImport(Glibc)
import Glibc
#endif

/// The byte-stream I/O the TCP and Unix-domain sockets share; `call` names the socket
/// kind in errors ("read(TCP)", "send(control)").
extension OwnedFileDescriptor {
    /// Bytes read; 0 at end of stream; nil when nothing is pending (non-blocking only).
    func readStream(into buffer: UnsafeMutableRawBufferPointer, call: String) throws(SystemCallError) -> Int? {
        let fd = rawValue
        return try systemCall(call, wouldBlockIsNil: true) { Glibc.read(fd, buffer.baseAddress, buffer.count) }
    }

    /// Sends `bytes` from `offset` on; returns how many went (possibly fewer), nil when
    /// the send buffer is full. MSG_NOSIGNAL always: a peer that went away is an EPIPE
    /// error, not a SIGPIPE that kills the process.
    func sendStream(_ bytes: [UInt8], from offset: Int, flags: Int32 = 0, call: String) throws(SystemCallError) -> Int? {
        let fd = rawValue
        return try systemCall(call, wouldBlockIsNil: true) {
            bytes.withUnsafeBytes { buffer in
                send(fd, buffer.baseAddress! + offset, buffer.count - offset, Int32(MSG_NOSIGNAL) | flags)
            }
        }
    }
}
