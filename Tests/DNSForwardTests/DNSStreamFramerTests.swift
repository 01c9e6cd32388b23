import Testing
@testable import DNSForward

@Suite("DNS over TCP framing")
struct DNSStreamFramerTests {
    static func feed(_ framer: inout DNSStreamFramer, _ bytes: [UInt8]) {
        bytes.withUnsafeBytes { framer.append($0) }
    }

    @Test func aMessageSplitInsideTheLengthAndTheBodyComesOutWhole() {
        var framer = DNSStreamFramer()
        let message: [UInt8] = Array(1...300).map { UInt8(truncatingIfNeeded: $0) }
        let framed = DNSStreamFramer.frame(message)!
        #expect(framed.prefix(2) == [0x01, 0x2C])
        Self.feed(&framer, [framed[0]])
        #expect(framer.nextMessage() == nil, "half a length prefix")
        Self.feed(&framer, Array(framed[1..<150]))
        #expect(framer.nextMessage() == nil, "part of the body")
        #expect(framer.pendingByteCount == 150)
        Self.feed(&framer, Array(framed[150...]))
        #expect(framer.nextMessage() == message)
        #expect(framer.nextMessage() == nil)
        #expect(framer.pendingByteCount == 0)
    }

    @Test func messagesArrivingTogetherComeOutInOrderWithTheRestKept() {
        var framer = DNSStreamFramer()
        let first: [UInt8] = [1, 2, 3], second: [UInt8] = [], third: [UInt8] = [9, 9]
        let bytes = DNSStreamFramer.frame(first)! + DNSStreamFramer.frame(second)! + DNSStreamFramer.frame(third)!
        Self.feed(&framer, bytes + [0, 5, 7])
        #expect(framer.nextMessage() == first)
        #expect(framer.nextMessage() == second, "a zero-length message is a message")
        #expect(framer.nextMessage() == third)
        #expect(framer.nextMessage() == nil, "2 of 5 announced bytes")
        #expect(framer.pendingByteCount == 3)
        Self.feed(&framer, [8, 9, 10, 11])
        #expect(framer.nextMessage() == [7, 8, 9, 10, 11])
    }

    @Test func manyMessagesThroughOneFramerStayIntact() {
        // Past the 4 KiB point where consumed bytes are dropped from the buffer.
        var framer = DNSStreamFramer()
        var received: [[UInt8]] = []
        let messages = (0..<200).map { index in [UInt8](repeating: UInt8(index), count: 40 + index % 7) }
        var stream = messages.flatMap { DNSStreamFramer.frame($0)! }
        while !stream.isEmpty {
            let chunk = Array(stream.prefix(97))
            stream.removeFirst(chunk.count)
            Self.feed(&framer, chunk)
            while let message = framer.nextMessage() { received.append(message) }
        }
        #expect(received == messages)
        #expect(framer.pendingByteCount == 0)
    }

    @Test func framingStopsAtTheSixteenBitLimit() {
        #expect(DNSStreamFramer.frame([UInt8](repeating: 0, count: 65_535))?.count == 65_537)
        #expect(DNSStreamFramer.frame([UInt8](repeating: 0, count: 65_536)) == nil)
        #expect(DNSStreamFramer.frame([]) == [0, 0])
    }

    @Test func theLargestMessageIsReadBack() {
        var framer = DNSStreamFramer()
        let message = [UInt8](repeating: 0xAB, count: 65_535)
        Self.feed(&framer, DNSStreamFramer.frame(message)!)
        #expect(framer.nextMessage() == message)
    }
}
