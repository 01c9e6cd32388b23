import CRawUDP
#if canImport(Glibc)
import Glibc
#endif

/// One ancillary message from recvmsg: its level, type and data bytes.
public struct ControlMessage {
    public let level: Int32
    public let type: Int32
    public let data: UnsafeRawBufferPointer
}

/// The ancillary messages in a recvmsg control buffer, walked with the
/// kernel's own CMSG_FIRSTHDR/CMSG_NXTHDR so alignment rules live in libc.
public struct ControlMessages: Sequence {
    private let buffer: UnsafeRawBufferPointer

    /// `buffer` is the control area trimmed to the msg_controllen the kernel returned.
    public init(buffer: UnsafeRawBufferPointer) { self.buffer = buffer }

    public func makeIterator() -> Iterator { Iterator(buffer: buffer) }

    public struct Iterator: IteratorProtocol {
        private var header = msghdr()
        private var current: UnsafeMutablePointer<cmsghdr>?
        private var started = false
        private let end: UnsafeRawPointer?

        init(buffer: UnsafeRawBufferPointer) {
            header.msg_control = UnsafeMutableRawPointer(mutating: buffer.baseAddress)
            header.msg_controllen = buffer.count
            end = buffer.baseAddress.map { $0 + buffer.count }
        }

        public mutating func next() -> ControlMessage? {
            guard header.msg_control != nil, header.msg_controllen > 0 else { return nil }
            if started {
                guard let current else { return nil }
                self.current = CRawUDP_CMSG_NXTHDR(&header, current)
            } else {
                started = true
                current = CRawUDP_CMSG_FIRSTHDR(&header)
            }
            guard let current, let end else { return nil }
            let headerLength = CRawUDP_CMSG_LEN(0)
            let length = Int(current.pointee.cmsg_len)
            // A cmsg_len that runs past the buffer is hostile or truncated (MSG_CTRUNC): stop.
            guard length >= headerLength,
                  UnsafeRawPointer(current) + length <= end else {
                self.current = nil
                return nil
            }
            let data = UnsafeRawBufferPointer(start: CRawUDP_CMSG_DATA(current), count: length - headerLength)
            return ControlMessage(level: current.pointee.cmsg_level, type: current.pointee.cmsg_type, data: data)
        }
    }
}

/// The address and port a TPROXY'd datagram was sent to before interception:
/// the server the client meant to ask, and the source our reply must carry.
public enum OriginalDestination {
    /// The IP_ORIGDSTADDR or IPV6_ORIGDSTADDR message, if present and well formed.
    public static func find(in messages: ControlMessages) -> IPEndpoint? {
        for message in messages {
            let isV4 = message.level == IPPROTO_IP && message.type == CRawUDP_IP_ORIGDSTADDR
            let isV6 = message.level == IPPROTO_IPV6 && message.type == CRawUDP_IPV6_ORIGDSTADDR
            guard isV4 || isV6, let base = message.data.baseAddress else { continue }
            if let endpoint = IPEndpoint(sockaddr: base, length: message.data.count) {
                return endpoint
            }
        }
        return nil
    }

    /// Control buffer size that holds either family's message.
    public static var controlBufferSize: Int {
        CRawUDP_CMSG_SPACE(MemoryLayout<sockaddr_in6>.size) + CRawUDP_CMSG_SPACE(MemoryLayout<sockaddr_in>.size)
    }
}
