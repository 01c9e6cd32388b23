import CRawUDP
#if canImport(Glibc)
import Glibc
#endif

/// Sends `count` prepared messages with as few sendmmsg calls as the kernel
/// allows. sendmmsg stops at the first message it cannot send and reports that
/// error on the next call, so each refused message is reported by index
/// (`failure`) and skipped, and the rest still go.
func sendMessages(on fd: Int32, _ headers: UnsafeMutablePointer<CRawUDP_mmsghdr>, count: Int, call: String,
                  failure: (Int, SystemCallError) -> Void) {
    var sent = 0
    while sent < count {
        let result = CRawUDP_sendmmsg(fd, headers + sent, UInt32(count - sent), Int32(MSG_DONTWAIT))
        if result > 0 {
            sent += Int(result)
            continue
        }
        let error = result == 0 ? EAGAIN : errno
        if error == EINTR { continue }
        failure(sent, SystemCallError(call: call, errno: error))
        sent += 1
    }
}

/// `datagrams` on a connected socket through `sendMessages`, copied first into
/// contiguous scratch so they all stay put during the call.
func sendDatagrams(_ datagrams: [[UInt8]], on fd: Int32, call: String, failure: (Int, SystemCallError) -> Void) {
    guard !datagrams.isEmpty else { return }
    let total = datagrams.reduce(0) { $0 + $1.count }
    withUnsafeTemporaryAllocation(byteCount: max(total, 1), alignment: 8) { storage in
        withUnsafeTemporaryAllocation(of: iovec.self, capacity: datagrams.count) { iovecs in
            withUnsafeTemporaryAllocation(of: CRawUDP_mmsghdr.self, capacity: datagrams.count) { headers in
                var offset = 0
                for (index, datagram) in datagrams.enumerated() {
                    let base = storage.baseAddress! + offset
                    datagram.withUnsafeBytes { bytes in
                        if let source = bytes.baseAddress { base.copyMemory(from: source, byteCount: bytes.count) }
                    }
                    iovecs[index] = iovec(iov_base: base, iov_len: datagram.count)
                    var header = msghdr()
                    header.msg_iov = iovecs.baseAddress! + index
                    header.msg_iovlen = 1
                    headers[index] = CRawUDP_mmsghdr(msg_hdr: header, msg_len: 0)
                    offset += datagram.count
                }
                sendMessages(on: fd, headers.baseAddress!, count: datagrams.count, call: call, failure: failure)
            }
        }
    }
}
