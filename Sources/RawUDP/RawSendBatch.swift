import CRawUDP
#if canImport(Glibc)
import Glibc
#endif

/// Raw datagrams of one family queued for a single sendmmsg: the replies to
/// one receive batch leave in one system call instead of one each.
final class RawSendBatch {
    let capacity: Int
    /// Largest datagram a slot holds; bigger replies go out on their own.
    let slotSize: Int
    private let packets: UnsafeMutableRawBufferPointer
    private let names: UnsafeMutableBufferPointer<sockaddr_in6>
    private let iovecs: UnsafeMutableBufferPointer<iovec>
    private let headers: UnsafeMutableBufferPointer<CRawUDP_mmsghdr>
    private var ordinals: [Int]
    private(set) var count = 0

    init(capacity: Int = 32, slotSize: Int = 1500 + 48) {
        self.capacity = capacity
        self.slotSize = slotSize
        packets = .allocate(byteCount: capacity * slotSize, alignment: 16)
        names = .allocate(capacity: capacity)
        iovecs = .allocate(capacity: capacity)
        headers = .allocate(capacity: capacity)
        ordinals = Array(repeating: 0, count: capacity)
    }

    deinit {
        packets.deallocate()
        names.deallocate()
        iovecs.deallocate()
        headers.deallocate()
    }

    var isFull: Bool { count == capacity }

    /// Builds the datagram into the next slot. The caller checks `isFull` first.
    func append(_ payload: UnsafeRawBufferPointer, from source: IPEndpoint, to destination: IPEndpoint,
                ordinal: Int) throws(DatagramBuildError) {
        let slot = UnsafeMutableRawBufferPointer(rebasing: packets[(count * slotSize)..<((count + 1) * slotSize)])
        let length = try UDPDatagramBuilder.write(from: source, to: destination, payload: payload, into: slot)
        // The kernel routes by the sockaddr; the port must be 0 for raw sockets.
        let nameLength = IPEndpoint(address: destination.address, port: 0).withSockaddr { address, length in
            UnsafeMutableRawPointer(names.baseAddress! + count).copyMemory(from: address, byteCount: Int(length))
            return length
        }
        iovecs[count] = iovec(iov_base: slot.baseAddress, iov_len: length)
        var header = msghdr()
        header.msg_name = UnsafeMutableRawPointer(names.baseAddress! + count)
        header.msg_namelen = nameLength
        header.msg_iov = iovecs.baseAddress! + count
        header.msg_iovlen = 1
        headers[count] = CRawUDP_mmsghdr(msg_hdr: header, msg_len: 0)
        ordinals[count] = ordinal
        count += 1
    }

    /// Sends everything queued; reports each datagram the kernel refused by its
    /// ordinal, with the datagram itself (valid during the call), and carries
    /// on with the rest.
    func flush(on fd: Int32, call: String, _ failure: (Int, SystemCallError, UnsafeRawBufferPointer) -> Void) {
        sendMessages(on: fd, headers.baseAddress!, count: count, call: call) { index, error in
            failure(ordinals[index], error, UnsafeRawBufferPointer(start: iovecs[index].iov_base, count: iovecs[index].iov_len))
        }
        count = 0
    }
}
