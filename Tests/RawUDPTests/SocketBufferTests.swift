import GatewaySetup
import Glibc
import Testing
@testable import RawUDP

/// Socket buffers past `net.core.rmem_max`: the request is made larger than the
/// machine's cap, whatever that is here, so the plain option alone cannot pass.
@Suite("Socket buffers past the sysctl cap")
struct SocketBufferTests {
    private static func sysctl(_ name: String) throws -> Int32 {
        try #require(KernelNetworkState.sysctl("net/core/\(name)").flatMap { Int32(exactly: $0) })
    }

    private static func udpSocket() throws -> OwnedFileDescriptor {
        try makeSocket(family: AF_INET, type: Int32(SOCK_DGRAM.rawValue), protocol: 0, call: "socket")
    }

    @Test(.enabled(if: geteuid() == 0, "CAP_NET_ADMIN lifts the cap"))
    func withCapNetAdminTheRequestPassesTheCap() throws {
        for (kind, cap) in [(SocketBuffer.receive, try Self.sysctl("rmem_max")), (.send, try Self.sysctl("wmem_max"))] {
            let socket = try Self.udpSocket()
            let asked = cap + (1 << 20)
            let granted = kind.request(asked, on: socket) ?? 0
            #expect(granted >= 2 * Int(asked), "\(kind): asked \(asked) over a cap of \(cap), granted \(granted)")
        }
    }

    @Test func withinTheCapTheRequestIsGrantedEitherWay() throws {
        let socket = try Self.udpSocket()
        let granted = SocketBuffer.receive.request(64 << 10, on: socket)
        #expect(granted == 2 * (64 << 10))
    }
}
