import Glibc
import RawUDP
import Testing

/// The batched upstream send over loopback: real sockets, real sendmmsg.
@Suite("Connected UDP socket: batched send")
struct ConnectedUDPSocketTests {
    @Test func sendsEveryDatagramInOrder() throws {
        let listener = try LoopbackListener()
        let socket = try ConnectedUDPSocket(connectingTo: IPEndpoint(address: .v4(IPv4Address(127, 0, 0, 1)), port: listener.port))
        let datagrams: [[UInt8]] = [[1, 2, 3], [], Array(repeating: 0xAB, count: 1200), [4]]
        var failures: [Int] = []
        socket.send(datagrams) { index, _ in failures.append(index) }
        #expect(failures.isEmpty)
        #expect(listener.drain() == datagrams)
    }

    /// sendmmsg stops at a refused message and reports it on the next call: the
    /// refused one is reported by index and the ones after it still go.
    @Test func aRefusedDatagramIsReportedAndTheRestStillGo() throws {
        let port: UInt16
        do {
            let closed = try LoopbackListener()
            port = closed.port
        }
        let socket = try ConnectedUDPSocket(connectingTo: IPEndpoint(address: .v4(IPv4Address(127, 0, 0, 1)), port: port))
        var failures: [(Int, Int32)] = []
        socket.send([[1]]) { failures.append(($0, $1.errno)) }
        #expect(failures.isEmpty, "the first goes out; its ICMP port unreachable comes back on loopback at once")
        socket.send([[2], [3], [4]]) { failures.append(($0, $1.errno)) }
        #expect(failures.map(\.0) == [0])
        #expect(failures.first?.1 == ECONNREFUSED)
        // Only a datagram that went out draws an ICMP error: a refusal now proves [3] or [4] was sent.
        socket.send([[5]]) { failures.append(($0, $1.errno)) }
        #expect(failures.map(\.0) == [0, 0])
    }
}
