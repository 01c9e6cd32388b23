import Glibc
@testable import RawUDP
import Testing

/// The raw reply batch: what a slot holds, which ordinal a refused datagram comes back
/// with, and that a flush empties the batch for reuse. Sending on an invalid descriptor
/// makes the kernel refuse every datagram, which needs no privileges; the loopback test
/// at the end sends for real and needs CAP_NET_RAW.
@Suite("Raw send batch")
struct RawSendBatchTests {
    private static let server = IPEndpoint(address: .v4(IPv4Address(192, 0, 2, 53)), port: 53)
    private static let client = IPEndpoint(address: .v4(IPv4Address(198, 51, 100, 7)), port: 40_000)
    private static let server6 = IPEndpoint(address: .v6(IPv6Address("2001:db8::53")!), port: 53)
    private static let client6 = IPEndpoint(address: .v6(IPv6Address("2001:db8::7")!), port: 40_001)

    /// A refusal as `flush` reports it, the datagram copied out of its slot.
    private struct Refusal: Equatable {
        var ordinal: Int
        var errno: Int32
        var call: String
        var datagram: [UInt8]
    }

    private func append(_ batch: RawSendBatch, _ payload: [UInt8], from source: IPEndpoint = server,
                        to destination: IPEndpoint = client, ordinal: Int) throws {
        try payload.withUnsafeBytes { try batch.append($0, from: source, to: destination, ordinal: ordinal) }
    }

    private func flushRefused(_ batch: RawSendBatch, on fd: Int32 = -1) -> [Refusal] {
        var refusals: [Refusal] = []
        batch.flush(on: fd, call: "sendmmsg(test)") { ordinal, error, datagram in
            refusals.append(Refusal(ordinal: ordinal, errno: error.errno, call: error.call, datagram: Array(datagram)))
        }
        return refusals
    }

    /// What `UDPDatagramBuilder` makes of the same arguments: a slot must hold exactly this.
    private func built(_ payload: [UInt8], from source: IPEndpoint = server, to destination: IPEndpoint = client) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 2048)
        let length = try payload.withUnsafeBytes { payload in
            try buffer.withUnsafeMutableBytes { try UDPDatagramBuilder.write(from: source, to: destination, payload: payload, into: $0) }
        }
        return Array(buffer[..<length])
    }

    @Test func startsEmptyWithRoomForAnEthernetFrameAndItsHeaders() {
        let batch = RawSendBatch()
        #expect(batch.count == 0)
        #expect(!batch.isFull)
        #expect(batch.capacity == 32)
        #expect(batch.slotSize == 1500 + 48)
    }

    @Test func fillsUpAtCapacity() throws {
        let batch = RawSendBatch(capacity: 3, slotSize: 128)
        for ordinal in 0..<3 {
            #expect(!batch.isFull)
            try append(batch, [UInt8(ordinal)], ordinal: ordinal)
            #expect(batch.count == ordinal + 1)
        }
        #expect(batch.isFull)
    }

    @Test func refusedDatagramsComeBackByOrdinalInQueueOrderWithTheirBytes() throws {
        let batch = RawSendBatch(capacity: 4, slotSize: 256)
        let payloads: [[UInt8]] = [[0xAA, 0xBB], [], Array(repeating: 0x5A, count: 100)]
        try append(batch, payloads[0], ordinal: 7)
        try append(batch, payloads[1], from: Self.server6, to: Self.client6, ordinal: 3)
        try append(batch, payloads[2], ordinal: 42)
        let refusals = flushRefused(batch)
        #expect(refusals.map(\.ordinal) == [7, 3, 42])
        #expect(refusals.allSatisfy { $0.errno == EBADF && $0.call == "sendmmsg(test)" })
        #expect(refusals.map(\.datagram) == [try built(payloads[0]),
                                             try built(payloads[1], from: Self.server6, to: Self.client6),
                                             try built(payloads[2])])
    }

    @Test func flushEmptiesTheBatchAndSlotsAreReused() throws {
        let batch = RawSendBatch(capacity: 2, slotSize: 128)
        try append(batch, [1], ordinal: 10)
        try append(batch, [2], ordinal: 11)
        #expect(batch.isFull)
        #expect(flushRefused(batch).map(\.ordinal) == [10, 11])
        #expect(batch.count == 0)
        #expect(!batch.isFull)

        // The next round starts at the first slot: only its own datagram is reported,
        // with its bytes, not the earlier occupant's.
        try append(batch, [9, 9, 9], ordinal: 12)
        let second = flushRefused(batch)
        #expect(second.map(\.ordinal) == [12])
        #expect(second.first?.datagram == (try built([9, 9, 9])))
        #expect(flushRefused(batch).isEmpty, "an empty batch sends nothing and reports nothing")
    }

    @Test func aDatagramLargerThanASlotIsRefusedAndNotQueued() throws {
        let batch = RawSendBatch(capacity: 2, slotSize: 64)
        let headers = UDPDatagramBuilder.headerLength(ipv4: true)
        try append(batch, Array(repeating: 1, count: 64 - headers), ordinal: 0)
        #expect(throws: DatagramBuildError.bufferTooSmall(needed: 65, available: 64)) {
            try append(batch, Array(repeating: 2, count: 65 - headers), ordinal: 1)
        }
        #expect(batch.count == 1)
        #expect(flushRefused(batch).map(\.ordinal) == [0])
    }

    @Test func mixedFamiliesAreRefusedAndNotQueued() throws {
        let batch = RawSendBatch(capacity: 2, slotSize: 128)
        #expect(throws: DatagramBuildError.mixedFamilies(source: Self.server.address, destination: Self.client6.address)) {
            try append(batch, [1], from: Self.server, to: Self.client6, ordinal: 0)
        }
        #expect(batch.count == 0)
        #expect(flushRefused(batch).isEmpty)
    }

    /// Real sendmmsg on an IPv4 raw socket to a loopback listener. The IPv6 datagram in
    /// the middle carries a sockaddr the IPv4 socket refuses: it alone is reported and the
    /// one after it still arrives, from the spoofed source port.
    @Test(.enabled(if: RawSendBatchTests.canOpenRawSocket(), "needs CAP_NET_RAW"))
    func sendsOverLoopbackAndSkipsOnlyTheRefusedDatagram() throws {
        let listener = try LoopbackListener()
        let raw = socket(AF_INET, Int32(SOCK_RAW.rawValue), Int32(IPPROTO_RAW))
        try #require(raw >= 0)
        defer { close(raw) }
        let loopback = IPEndpoint(address: .v4(IPv4Address(127, 0, 0, 1)), port: listener.port)
        let spoofed = IPEndpoint(address: .v4(IPv4Address(127, 0, 0, 1)), port: 5353)
        let batch = RawSendBatch(capacity: 4, slotSize: 256)
        try append(batch, [1, 2, 3], from: spoofed, to: loopback, ordinal: 20)
        try append(batch, [0xEE], from: Self.server6, to: Self.client6, ordinal: 21)
        try append(batch, [4, 5], from: spoofed, to: loopback, ordinal: 22)
        let refusals = flushRefused(batch, on: raw)
        #expect(refusals.map(\.ordinal) == [21])

        var received: [[UInt8]] = []
        var pollDescriptor = pollfd(fd: listener.fd, events: Int16(POLLIN), revents: 0)
        while received.count < 2, poll(&pollDescriptor, 1, 1000) > 0 {
            received += listener.drain()
        }
        #expect(received == [[1, 2, 3], [4, 5]])
    }

    static func canOpenRawSocket() -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_RAW.rawValue), Int32(IPPROTO_RAW))
        guard fd >= 0 else { return false }
        close(fd)
        return true
    }
}
