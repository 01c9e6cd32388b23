#if canImport(Glibc)
import Glibc
#endif
import CRawUDP

/// A non-blocking TCP socket: an accepted client connection or a connection
/// we open to an upstream.
public final class StreamSocket {
    public let socket: OwnedFileDescriptor
    public let remote: IPEndpoint
    /// For accepted TPROXY connections, the address the client connected to.
    public let local: IPEndpoint?

    init(socket: consuming OwnedFileDescriptor, remote: IPEndpoint, local: IPEndpoint?) {
        self.socket = socket
        self.remote = remote
        self.local = local
    }

    /// Starts a non-blocking connect; completion shows as writability, and its
    /// result through `connectResult()`.
    public convenience init(connectingTo remote: IPEndpoint) throws(SystemCallError) {
        let family = remote.address.isIPv4 ? AF_INET : AF_INET6
        let fd = try makeSocket(family: family, type: Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue),
                                protocol: 0, call: "socket(upstream TCP)")
        // Queries are small and latency-bound: no Nagle delay.
        try? fd.setOption(level: Int32(IPPROTO_TCP), name: TCP_NODELAY, value: 1, call: "setsockopt(TCP_NODELAY)")
        let raw = fd.rawValue
        do {
            _ = try remote.withSockaddr { address, length throws(SystemCallError) in
                try systemCallOrThrow("connect(upstream TCP)") { connect(raw, address, length) }
            }
        } catch where error.errno == EINPROGRESS {
            // Expected for a non-blocking connect.
        }
        self.init(socket: fd, remote: remote, local: nil)
    }

    /// The outcome of a non-blocking connect once the socket is writable.
    public func connectResult() throws(SystemCallError) {
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        let fd = socket.rawValue
        _ = try systemCallOrThrow("getsockopt(SO_ERROR)") { getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) }
        if error != 0 { throw SystemCallError(call: "connect(upstream TCP)", errno: error) }
    }

    /// Bytes read; 0 at end of stream; nil when nothing is pending.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(SystemCallError) -> Int? {
        try socket.readStream(into: buffer, call: "read(TCP)")
    }

    /// Writes `bytes` from `offset` on; returns how many went (possibly fewer),
    /// nil when the send buffer is full.
    public func write(_ bytes: [UInt8], from offset: Int) throws(SystemCallError) -> Int? {
        try socket.sendStream(bytes, from: offset, flags: Int32(MSG_DONTWAIT), call: "send(TCP)")
    }
}

/// A listening TCP socket. With `transparent`, it is the TCP side of
/// interception: the same TPROXY rule delivers port-53 connections here, and an
/// accepted socket's local address already is the server the client dialled,
/// so replies need no raw socket.
public final class TCPListener {
    public let socket: OwnedFileDescriptor

    /// Listens on every address of both families (IPv4 only where IPv6 is off).
    public convenience init(port: UInt16, transparent: Bool, backlog: Int32 = 1024) throws(SystemCallError) {
        do {
            try self.init(endpoint: IPEndpoint(address: .v6(IPv6Address(high: 0, low: 0)), port: port),
                          transparent: transparent, backlog: backlog)
        } catch where error.errno == EAFNOSUPPORT {
            try self.init(endpoint: IPEndpoint(address: .v4(IPv4Address(0)), port: port),
                          transparent: transparent, backlog: backlog)
        }
    }

    public init(endpoint: IPEndpoint, transparent: Bool = false, backlog: Int32 = 1024) throws(SystemCallError) {
        let isV6 = !endpoint.address.isIPv4
        let fd = try makeSocket(family: isV6 ? AF_INET6 : AF_INET, type: Int32(SOCK_STREAM.rawValue), protocol: 0,
                                call: isV6 ? "socket(AF_INET6, SOCK_STREAM)" : "socket(AF_INET, SOCK_STREAM)")
        try fd.setOption(level: SOL_SOCKET, name: SO_REUSEADDR, value: 1, call: "setsockopt(SO_REUSEADDR)")
        let anyV6 = endpoint.address == .v6(IPv6Address(high: 0, low: 0))
        if isV6 {
            try fd.setOption(level: Int32(IPPROTO_IPV6), name: IPV6_V6ONLY, value: anyV6 ? 0 : 1, call: "setsockopt(IPV6_V6ONLY)")
        }
        if transparent {
            try fd.setOption(level: SOL_IP, name: CRawUDP_IP_TRANSPARENT, value: 1, call: "setsockopt(IP_TRANSPARENT)")
            if isV6 {
                try fd.setOption(level: Int32(IPPROTO_IPV6), name: CRawUDP_IPV6_TRANSPARENT, value: 1, call: "setsockopt(IPV6_TRANSPARENT)")
            }
        }
        try fd.setNonBlocking()
        let raw = fd.rawValue
        _ = try endpoint.withSockaddr { address, length throws(SystemCallError) in
            try systemCallOrThrow("bind(TCP \(endpoint))") { bind(raw, address, length) }
        }
        _ = try systemCallOrThrow("listen") { listen(raw, backlog) }
        socket = fd
    }

    /// The next pending connection, or nil when none is waiting.
    public func accept() throws(SystemCallError) -> StreamSocket? {
        var storage = sockaddr_in6()
        var length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        let listener = socket.rawValue
        let accepted = try withUnsafeMutablePointer(to: &storage) { pointer throws(SystemCallError) -> Int32? in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address throws(SystemCallError) -> Int32? in
                try systemCall("accept4", wouldBlockIsNil: true) {
                    CRawUDP_accept4(listener, address, &length, Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue))
                }
            }
        }
        guard let accepted else { return nil }
        let fd = OwnedFileDescriptor(taking: accepted)
        let peer = withUnsafeBytes(of: &storage) { IPEndpoint(sockaddr: $0.baseAddress!, length: Int(length)) }
        var localStorage = sockaddr_in6()
        var localLength = socklen_t(MemoryLayout<sockaddr_in6>.size)
        let local = withUnsafeMutablePointer(to: &localStorage) { pointer -> IPEndpoint? in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                getsockname(accepted, address, &localLength) == 0 ? IPEndpoint(sockaddr: UnsafeRawPointer(address), length: Int(localLength)) : nil
            }
        }
        guard let peer else { return nil }
        try? fd.setOption(level: Int32(IPPROTO_TCP), name: TCP_NODELAY, value: 1, call: "setsockopt(TCP_NODELAY)")
        return StreamSocket(socket: fd, remote: peer, local: local)
    }
}
