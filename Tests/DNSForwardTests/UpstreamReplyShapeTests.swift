import Testing
@testable import DNSForward

/// The upstream reply check reads the wire itself (no ldns parse): records
/// whose RDATA does not have its type's shape are rejected like any other
/// malformed reply, and the question is compared from the wire.
@Suite("Upstream reply shape checks")
struct UpstreamReplyShapeTests {
    typealias W = WireFixtures
    static let question = DNSQuestion(name: DNSName(wire: W.name("a.test")), type: .a, class: .in)

    /// One answer record for a.test (owner: pointer to the question) of `type` with `rdata`.
    static func reply(type: UInt16, rdata: [UInt8], questionType: UInt16 = 1) -> [UInt8] {
        var wire = W.word(7) + W.word(0x8180) + W.word(1) + W.word(1) + W.word(0) + W.word(0)
        wire += W.name("a.test") + W.word(questionType) + W.word(1)
        wire += [0xC0, 12] + W.word(type) + W.word(1) + W.u32(300) + W.word(UInt16(rdata.count)) + rdata
        return wire
    }

    static func verdict(_ wire: [UInt8], question: DNSQuestion = question) -> String {
        wire.withUnsafeBytes { bytes in
            switch UpstreamReplyValidator.validate(bytes, expectedID: 7, question: question) {
            case .accept: return "accept"
            case .reject(let reason): return "reject: \(reason)"
            case .wrongCase: return "wrongCase"
            }
        }
    }

    @Test("well-shaped RDATA is accepted", arguments: [
        (UInt16(1), [192, 0, 2, 1]),
        (28, [UInt8](repeating: 0x20, count: 16)),
        (5, W.name("b.test")),
        (5, [1, 0x62, 0xC0, 12]), // CNAME b.a.test, compressed
        (15, W.word(10) + W.name("mx.test")),
        (33, W.word(1) + W.word(2) + W.word(53) + W.name("srv.test")),
        (6, W.name("ns.test") + W.name("host.test") + [UInt8](repeating: 0, count: 20)),
        (16, [3, 0x61, 0x62, 0x63]), // TXT: opaque here
        (65534, [1, 2, 3]), // unknown type: opaque
    ] as [(UInt16, [UInt8])])
    func wellShaped(type: UInt16, rdata: [UInt8]) {
        #expect(Self.verdict(Self.reply(type: type, rdata: rdata)) == "accept")
    }

    @Test("malformed RDATA is rejected", arguments: [
        (UInt16(1), [192, 0, 2]), // A of 3 octets
        (1, [192, 0, 2, 1, 0]),
        (28, [UInt8](repeating: 0, count: 4)), // AAAA of 4
        (5, W.name("b.test") + [0]), // a byte after the name
        (5, [3, 0x62, 0x62]), // name runs past the RDATA
        (2, [0xC0, 40]), // NS pointing forward
        (15, W.name("mx.test")), // MX without preference
        (6, W.name("ns.test") + W.name("host.test") + [0, 0, 0, 1]), // SOA cut short
    ] as [(UInt16, [UInt8])])
    func malformed(type: UInt16, rdata: [UInt8]) {
        #expect(Self.verdict(Self.reply(type: type, rdata: rdata)).hasPrefix("reject: records do not parse"))
    }

    @Test func theQuestionIsComparedFromTheWire() {
        #expect(Self.verdict(Self.reply(type: 1, rdata: [192, 0, 2, 1], questionType: 28)) == "reject: question does not match")
        let other = DNSQuestion(name: DNSName(wire: W.name("b.test")), type: .a, class: .in)
        #expect(Self.verdict(Self.reply(type: 1, rdata: [192, 0, 2, 1]), question: other) == "reject: question does not match")
        // A compression pointer in the question points at the header: not a name.
        var pointed = Self.reply(type: 1, rdata: [192, 0, 2, 1])
        pointed.replaceSubrange(12..<20, with: [0xC0, 4, 0, 0, 0, 0, 0, 0])
        #expect(Self.verdict(pointed).hasPrefix("reject"))
        let upper = DNSQuestion(name: DNSName(wire: W.name("A.TEST")), type: .a, class: .in)
        #expect(Self.verdict(Self.reply(type: 1, rdata: [192, 0, 2, 1]), question: upper) == "accept", "names compare as DNS does")
    }

    /// Found by the render fuzz target once ldns stopped parsing every reply: names of 256
    /// octets (255 in labels and length bytes, then the root) passed the wire checks.
    @Test func ownerNamesStopAt255Octets() {
        func reply(owner labels: [Int]) -> [UInt8] {
            var owner: [UInt8] = []
            for length in labels { owner += [UInt8(length)] + [UInt8](repeating: 0x61, count: length) }
            owner.append(0)
            var wire = W.word(7) + W.word(0x8180) + W.word(1) + W.word(0) + W.word(0) + W.word(1)
            wire += W.name("a.test") + W.word(1) + W.word(1)
            wire += owner + W.word(16) + W.word(1) + W.u32(300) + W.word(1) + [0]
            return wire
        }
        #expect(Self.verdict(reply(owner: [63, 63, 63, 61])) == "accept", "255 octets")
        #expect(Self.verdict(reply(owner: [63, 63, 63, 62])).hasPrefix("reject"), "256 octets")
    }

    @Test func headerBytesAreTheFieldsInOrder() {
        let header = DNSHeader(id: 0x1234, flags: [.qr, .rd], questionCount: 1, additionalCount: 2)
        #expect(header.bytes == [0x12, 0x34, 0x81, 0x00, 0, 1, 0, 0, 0, 0, 0, 2])
    }
}
