import Glibc
import RawUDP

/// A blocking socket on 127.0.0.1 playing the upstream.
final class FakeUpstream {
    let fd: Int32
    let port: UInt16

    init(type: Int32) throws {
        let fd = socket(AF_INET, type, 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let bound = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw SystemCallError(call: "bind", errno: errno) }
        if type == Int32(SOCK_STREAM.rawValue) { listen(fd, 4) }
        var local = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &local) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.fd = fd
        port = UInt16(bigEndian: local.sin_port)
    }

    deinit { close(fd) }

    var endpoint: IPEndpoint { IPEndpoint("127.0.0.1:\(port)", defaultPort: 53)! }

    /// One datagram and who sent it.
    func receive() -> (bytes: [UInt8], from: sockaddr_storage)? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        var from = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let count = withUnsafeMutablePointer(to: &from) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, &buffer, buffer.count, 0, $0, &length) }
        }
        return count > 0 ? (Array(buffer[..<count]), from) : nil
    }

    func send(_ bytes: [UInt8], to address: sockaddr_storage) {
        var address = address
        _ = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                sendto(fd, bytes, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
    }
}

/// A blocking TCP client on loopback, as dig +tcp would be.
final class LoopbackTCPClient {
    let fd: Int32

    init(port: UInt16) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = port.bigEndian
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw SystemCallError(call: "connect", errno: errno) }
    }

    deinit { close(fd) }

    func send(framed message: [UInt8]) {
        let bytes = [UInt8(message.count >> 8), UInt8(message.count & 0xFF)] + message
        _ = Glibc.send(fd, bytes, bytes.count, 0)
    }

    /// Bytes as they are: a partial frame, a byte at a time.
    func send(raw bytes: [UInt8]) {
        _ = Glibc.send(fd, bytes, bytes.count, 0)
    }

    /// What has arrived so far without waiting; nil at EOF (the server closed).
    func receiveAvailable() -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        let count = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
        if count == 0 { return nil }
        return count > 0 ? Array(buffer[..<count]) : []
    }
}

/// The local port a listening descriptor was bound to.
func boundPort(of descriptor: Int32) -> UInt16 {
    var local = sockaddr_in6()
    var length = socklen_t(MemoryLayout<sockaddr_in6>.size)
    _ = withUnsafeMutablePointer(to: &local) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
    }
    return UInt16(bigEndian: local.sin6_port) // sin_port and sin6_port share their offset
}

/// A test bench that turns a real loop until a condition holds (2 s at most).
protocol LoopBench {
    func run(until done: () -> Bool) throws
}

extension LoopBench {
    /// Turns the loop until the server has closed `client`; false if it never did.
    func waitUntilClosed(_ client: LoopbackTCPClient) throws -> Bool {
        var closed = false
        try run {
            closed = client.receiveAvailable() == nil
            return closed
        }
        return closed
    }
}
