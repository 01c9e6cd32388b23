import Testing
@testable import DNSForward

@Suite("EDNS padding of queries to 128-octet blocks (RFC 7830, RFC 8467)")
struct EDNSPaddingTests {
    static func query(name: String) -> [UInt8] {
        UpstreamQuery.wire(id: 0x1234, name: WireFixtures.name(name), type: .a, class: .in, requestFlags: .rd, dnssecOK: false)
    }

    @Test("every length becomes a multiple of 128 with one Padding option",
          arguments: ["a.test", "www.example.test", String(repeating: "x", count: 60) + ".example.test",
                      String(repeating: "label.", count: 20) + "test"])
    func padsToTheBlock(name: String) throws {
        let query = Self.query(name: name)
        let padded = EDNSPadding.padded(query)
        #expect(padded.count % 128 == 0)
        #expect(padded.count >= query.count + 4)
        #expect(padded.count < query.count + 4 + 128)
        #expect(Array(padded.prefix(query.count - 2)) == Array(query.prefix(query.count - 2)), "header, question, OPT head unchanged")
        let rdataLength = Int(padded[query.count - 2]) << 8 | Int(padded[query.count - 1])
        #expect(rdataLength == padded.count - query.count)
        #expect(Array(padded[query.count..<query.count + 2]) == [0, 12], "option code 12")
        let optionLength = Int(padded[query.count + 2]) << 8 | Int(padded[query.count + 3])
        #expect(optionLength == rdataLength - 4)
        #expect(padded[(query.count + 4)...].allSatisfy { $0 == 0 })
    }

    @Test func aQueryAlreadyOnTheBoundaryStillGetsAFullBlockLessFour() {
        // 124 + 4 = 128: an empty padding option.
        var query = Self.query(name: "a.test")
        let name = String(repeating: "b", count: 124 - query.count - 1) + ".a.test"
        query = Self.query(name: name)
        #expect(query.count == 124)
        let padded = EDNSPadding.padded(query)
        #expect(padded.count == 128)
        #expect(padded.suffix(2) == [0, 0], "padding length 0")
    }

    @Test func aMessageWithoutAFinalEmptyOPTIsLeftAlone() {
        let question = DNSQuestion(name: DNSName(wire: WireFixtures.name("a.test")), type: .a, class: .in)
        let bare = DNSHeader(id: 1, flags: .rd, questionCount: 1).bytes + question.wire
        #expect(EDNSPadding.padded(bare) == bare)
        let padded = EDNSPadding.padded(Self.query(name: "a.test"))
        #expect(EDNSPadding.padded(padded) == padded, "padding twice does nothing")
    }

    @Test func paddedQueriesFrameAndComeBackWhole() {
        let queries = ["a.test", "bb.test", "ccc.example.test"].map { EDNSPadding.padded(Self.query(name: $0)) }
        var framer = DNSStreamFramer()
        let stream = queries.flatMap { DNSStreamFramer.frame($0)! }
        // Delivered in odd-sized pieces, as TLS records may split them.
        var offset = 0
        var received: [[UInt8]] = []
        while offset < stream.count {
            let end = min(stream.count, offset + 37)
            stream[offset..<end].withUnsafeBytes { framer.append($0) }
            offset = end
            while let message = framer.nextMessage() { received.append(message) }
        }
        #expect(received == queries)
    }
}
