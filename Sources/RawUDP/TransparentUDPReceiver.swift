import CRawUDP
#if canImport(Glibc)
import Glibc
#endif

/// A datagram TPROXY delivered: who sent it, where it was going, and its bytes.
/// `payload` points into the receiver's batch buffers and is valid only inside
/// the `receiveBatch` callback.
public struct InterceptedDatagram {
    public let client: IPEndpoint
    public let originalDestination: IPEndpoint
    public let payload: UnsafeRawBufferPointer
}

/// Counts of datagrams the receiver read but could not hand on.
public struct ReceiverDropCounts: Sendable {
    /// Larger than a slot (MSG_TRUNC): not a query we can answer whole.
    public var truncated = 0
    /// No IP_ORIGDSTADDR/IPV6_ORIGDSTADDR message, or one we could not parse (or, in
    /// theory only, no readable sender address: see `receiveBatch`).
    public var missingOriginalDestination = 0
}

/// One IP_TRANSPARENT UDP socket that TPROXY feeds with every intercepted
/// query of both families, read in batches with recvmmsg.
public final class TransparentUDPReceiver {
    public let socket: OwnedFileDescriptor
    public private(set) var drops = ReceiverDropCounts()
    public let isDualStack: Bool
    /// The receive queue the kernel granted (`SocketBuffer`), for the start-up log.
    public let receiveBufferBytes: Int?
    private var isIPv4Socket: Bool { boundFamily == AF_INET }
    private let boundFamily: Int32

    public let batchSize: Int
    private let slotSize: Int
    private let payloads: UnsafeMutableRawBufferPointer
    private let controls: UnsafeMutableRawBufferPointer
    private let controlSize: Int
    private let names: UnsafeMutableBufferPointer<sockaddr_in6>
    private let iovecs: UnsafeMutableBufferPointer<iovec>
    private let headers: UnsafeMutableBufferPointer<CRawUDP_mmsghdr>

    /// Binds [::]:port (or 0.0.0.0:port where IPv6 is unavailable) with the
    /// options TPROXY needs. Needs CAP_NET_ADMIN for IP_TRANSPARENT.
    /// `reusePort`: see `init(bindingTo:reusePort:batchSize:slotSize:)`.
    public convenience init(port: UInt16, reusePort: Bool = false, batchSize: Int = 32, slotSize: Int = 4096) throws(SystemCallError) {
        do {
            try self.init(bindingTo: IPEndpoint(address: .v6(IPv6Address(high: 0, low: 0)), port: port),
                          reusePort: reusePort, batchSize: batchSize, slotSize: slotSize)
        } catch where error.errno == EAFNOSUPPORT {
            try self.init(bindingTo: IPEndpoint(address: .v4(IPv4Address(0)), port: port),
                          reusePort: reusePort, batchSize: batchSize, slotSize: slotSize)
        }
    }

    /// Binds `endpoint`, which may be an address this host does not own
    /// (IP_TRANSPARENT allows it): the wildcard for the TPROXY receiver, or one
    /// spoofed source for `--reply-via socket-per-source`.
    /// `reusePort` sets SO_REUSEPORT, so several receivers (one per worker thread)
    /// can bind the same endpoint; the kernel then picks one per datagram by a
    /// hash of its addresses and ports. Every member of the group must set it.
    public init(bindingTo endpoint: IPEndpoint, reusePort: Bool = false, batchSize: Int = 32, slotSize: Int = 4096) throws(SystemCallError) {
        let isV6 = !endpoint.address.isIPv4
        let dualStack = endpoint.address == .v6(IPv6Address(high: 0, low: 0))
        let fd = try makeSocket(family: isV6 ? AF_INET6 : AF_INET, type: Int32(SOCK_DGRAM.rawValue), protocol: 0,
                                call: isV6 ? "socket(AF_INET6, SOCK_DGRAM)" : "socket(AF_INET, SOCK_DGRAM)")
        try fd.setOption(level: SOL_SOCKET, name: SO_REUSEADDR, value: 1, call: "setsockopt(SO_REUSEADDR)")
        if reusePort {
            // Before bind: the kernel decides group membership at bind time.
            try fd.setOption(level: SOL_SOCKET, name: SO_REUSEPORT, value: 1, call: "setsockopt(SO_REUSEPORT)")
        }
        try fd.setOption(level: SOL_IP, name: CRawUDP_IP_TRANSPARENT, value: 1, call: "setsockopt(IP_TRANSPARENT)")
        try fd.setOption(level: SOL_IP, name: CRawUDP_IP_RECVORIGDSTADDR, value: 1, call: "setsockopt(IP_RECVORIGDSTADDR)")
        if isV6 {
            try fd.setOption(level: Int32(IPPROTO_IPV6), name: IPV6_V6ONLY, value: dualStack ? 0 : 1, call: "setsockopt(IPV6_V6ONLY)")
            try fd.setOption(level: Int32(IPPROTO_IPV6), name: CRawUDP_IPV6_TRANSPARENT, value: 1, call: "setsockopt(IPV6_TRANSPARENT)")
            try fd.setOption(level: Int32(IPPROTO_IPV6), name: CRawUDP_IPV6_RECVORIGDSTADDR, value: 1, call: "setsockopt(IPV6_RECVORIGDSTADDR)")
        }
        // Best effort: a larger queue absorbs bursts from many LAN clients.
        receiveBufferBytes = SocketBuffer.receive.request(4 << 20, on: fd)
        try fd.setNonBlocking()
        _ = try endpoint.withSockaddr { address, length throws(SystemCallError) in
            try systemCallOrThrow("bind(\(endpoint))") { bind(fd.rawValue, address, length) }
        }
        socket = fd
        isDualStack = dualStack
        boundFamily = isV6 ? AF_INET6 : AF_INET

        self.batchSize = batchSize
        self.slotSize = slotSize
        controlSize = OriginalDestination.controlBufferSize
        payloads = .allocate(byteCount: batchSize * slotSize, alignment: 16)
        controls = .allocate(byteCount: batchSize * controlSize, alignment: MemoryLayout<cmsghdr>.alignment)
        names = .allocate(capacity: batchSize)
        iovecs = .allocate(capacity: batchSize)
        headers = .allocate(capacity: batchSize)
    }

    deinit {
        payloads.deallocate()
        controls.deallocate()
        names.deallocate()
        iovecs.deallocate()
        headers.deallocate()
    }

    /// Reads up to one batch without blocking and calls `body` for each usable
    /// datagram; returns how many datagrams were read (0: nothing pending).
    @discardableResult
    public func receiveBatch(_ body: (InterceptedDatagram) -> Void) throws(SystemCallError) -> Int {
        for index in 0..<batchSize {
            iovecs[index] = iovec(iov_base: payloads.baseAddress! + index * slotSize, iov_len: slotSize)
            var header = msghdr()
            header.msg_name = UnsafeMutableRawPointer(names.baseAddress! + index)
            header.msg_namelen = socklen_t(MemoryLayout<sockaddr_in6>.size)
            header.msg_iov = iovecs.baseAddress! + index
            header.msg_iovlen = 1
            header.msg_control = controls.baseAddress! + index * controlSize
            header.msg_controllen = controlSize
            headers[index] = CRawUDP_mmsghdr(msg_hdr: header, msg_len: 0)
        }
        let fd = socket.rawValue
        guard let count = try systemCall("recvmmsg", wouldBlockIsNil: true, {
            CRawUDP_recvmmsg(fd, headers.baseAddress, UInt32(batchSize), Int32(MSG_DONTWAIT), nil)
        }) else { return 0 }
        for index in 0..<Int(count) {
            let header = headers[index].msg_hdr
            if header.msg_flags & Int32(MSG_TRUNC) != 0 {
                drops.truncated += 1
                continue
            }
            // The kernel always fills in a UDP sender as a sockaddr_in/sockaddr_in6 of the
            // socket's family, which `names` has room for, so an unreadable sender cannot
            // happen in practice; should it ever, the datagram is just as unanswerable as
            // one without its original destination, and is counted there.
            let control = UnsafeRawBufferPointer(start: header.msg_control, count: header.msg_controllen)
            guard let client = IPEndpoint(sockaddr: UnsafeRawPointer(names.baseAddress! + index), length: Int(header.msg_namelen)),
                  let destination = OriginalDestination.find(in: ControlMessages(buffer: control)),
                  destination.address.isIPv4 == client.address.isIPv4 else {
                drops.missingOriginalDestination += 1
                continue
            }
            let payload = UnsafeRawBufferPointer(start: payloads.baseAddress! + index * slotSize, count: Int(headers[index].msg_len))
            body(InterceptedDatagram(client: client, originalDestination: destination, payload: payload))
        }
        return Int(count)
    }

    /// Sends one datagram from this socket's bound address (socket-per-source replies).
    public func send(_ payload: UnsafeRawBufferPointer, to destination: IPEndpoint) throws(SystemCallError) {
        let fd = socket.rawValue
        // A v4 destination on a v6 socket must be written as a mapped address.
        var target = destination
        if !isIPv4Socket, case .v4(let v4) = destination.address {
            target = IPEndpoint(address: .v6(IPv6Address(mapping: v4)), port: destination.port)
        }
        _ = try target.withSockaddr { address, length throws(SystemCallError) in
            try systemCallOrThrow("sendto(\(destination))") {
                sendto(fd, payload.baseAddress, payload.count, Int32(MSG_DONTWAIT), address, length)
            }
        }
    }
}
