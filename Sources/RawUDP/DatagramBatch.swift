import CRawUDP
#if canImport(Glibc)
import Glibc
#endif

/// Buffers for reading many datagrams from a connected socket in one
/// recvmmsg (no addresses, no control data). One batch serves any number of
/// sockets in turn: each receive's datagrams are handled before the next.
public final class DatagramBatch {
    public let capacity: Int
    /// Largest datagram a slot holds; a longer one arrives cut short and is reported as nil.
    public let slotSize: Int
    private let payloads: UnsafeMutableRawBufferPointer
    private let iovecs: UnsafeMutableBufferPointer<iovec>
    private let headers: UnsafeMutableBufferPointer<CRawUDP_mmsghdr>

    public init(capacity: Int = 16, slotSize: Int = 8192) {
        self.capacity = capacity
        self.slotSize = slotSize
        payloads = .allocate(byteCount: capacity * slotSize, alignment: 16)
        iovecs = .allocate(capacity: capacity)
        headers = .allocate(capacity: capacity)
        for index in 0..<capacity {
            iovecs[index] = iovec(iov_base: payloads.baseAddress! + index * slotSize, iov_len: slotSize)
            var header = msghdr()
            header.msg_iov = iovecs.baseAddress! + index
            header.msg_iovlen = 1
            headers[index] = CRawUDP_mmsghdr(msg_hdr: header, msg_len: 0)
        }
    }

    deinit {
        payloads.deallocate()
        iovecs.deallocate()
        headers.deallocate()
    }

    /// Datagram `index` of the last receive, valid until the next one; nil
    /// when it was longer than a slot.
    public func datagram(_ index: Int) -> UnsafeRawBufferPointer? {
        guard headers[index].msg_hdr.msg_flags & Int32(MSG_TRUNC) == 0 else { return nil }
        return UnsafeRawBufferPointer(start: payloads.baseAddress! + index * slotSize, count: Int(headers[index].msg_len))
    }

    /// Every datagram waiting on `fd`, up to `capacity`; nil when none is.
    func receive(on fd: Int32, call: String) throws(SystemCallError) -> Int? {
        let headers = headers
        return try systemCall(call, wouldBlockIsNil: true) {
            CRawUDP_recvmmsg(fd, headers.baseAddress, UInt32(capacity), Int32(MSG_DONTWAIT), nil)
        }.map(Int.init)
    }
}
