#if canImport(Glibc)
import Glibc
#endif

/// A non-blocking UDP socket connected to one upstream. The kernel picks a
/// random ephemeral source port per socket and, being connected, discards
/// datagrams from any other address or port before we see them.
public final class ConnectedUDPSocket {
    public let socket: OwnedFileDescriptor
    public let remote: IPEndpoint

    public init(connectingTo remote: IPEndpoint) throws(SystemCallError) {
        let family = remote.address.isIPv4 ? AF_INET : AF_INET6
        let fd = try makeSocket(family: family, type: Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue),
                                protocol: 0, call: "socket(upstream)")
        _ = try remote.withSockaddr { address, length throws(SystemCallError) in
            try systemCallOrThrow("connect(upstream)") { connect(fd.rawValue, address, length) }
        }
        socket = fd
        self.remote = remote
    }

    public func send(_ bytes: UnsafeRawBufferPointer) throws(SystemCallError) {
        let fd = socket.rawValue
        _ = try systemCallOrThrow("send(upstream)") { Glibc.send(fd, bytes.baseAddress, bytes.count, Int32(MSG_DONTWAIT)) }
    }

    /// Each datagram in order, in one sendmmsg when the kernel takes them all;
    /// `failure` hears the index of each one refused, and the rest still go.
    public func send(_ datagrams: [[UInt8]], failure: (Int, SystemCallError) -> Void) {
        sendDatagrams(datagrams, on: socket.rawValue, call: "sendmmsg(upstream)", failure: failure)
    }

    /// Every datagram pending, up to the batch's capacity, in one recvmmsg;
    /// nil when none is. Errors as for `receive(into:)`.
    public func receive(into batch: DatagramBatch) throws(SystemCallError) -> Int? {
        try batch.receive(on: socket.rawValue, call: "recvmmsg(upstream)")
    }

    /// One datagram into `buffer`; nil when none is pending. ECONNREFUSED here
    /// is the upstream's ICMP port-unreachable for an earlier send.
    public func receive(into buffer: UnsafeMutableRawBufferPointer) throws(SystemCallError) -> Int? {
        let fd = socket.rawValue
        return try systemCall("recv(upstream)", wouldBlockIsNil: true) {
            recv(fd, buffer.baseAddress, buffer.count, Int32(MSG_DONTWAIT) | Int32(MSG_TRUNC))
        }
    }
}
