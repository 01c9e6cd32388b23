import Testing
@testable import DNSForward

@Suite("Client query classification")
struct ClientQueryParserTests {
    private func classify(_ bytes: [UInt8]) -> ClientQueryVerdict {
        bytes.withUnsafeBytes { ClientQueryParser.classify($0) }
    }

    @Test("shorter than a header is dropped without a reply", arguments: [0, 1, 11])
    func shortIsDropped(length: Int) {
        guard case .drop = classify(Array(repeating: 0xAB, count: length)) else {
            Issue.record("expected drop")
            return
        }
    }

    @Test func responsesAreNeverAnswered() {
        guard case .drop(let reason) = classify(WireFixtures.response(id: 7, name: "example.test")) else {
            Issue.record("expected drop")
            return
        }
        #expect(reason.contains("QR"))
    }

    @Test("non-QUERY opcodes get NOTIMP echoing ID and opcode", arguments: [UInt16(1), 2, 4, 5, 15])
    func otherOpcodesGetNotImplemented(opcode: UInt16) {
        let query = WireFixtures.query(id: 0xBEEF, name: "example.test", flags: opcode << 11 | 0x0100)
        guard case .respond(let reply, let code, _) = classify(query) else {
            Issue.record("expected a response")
            return
        }
        #expect(code == .notImplemented)
        let header = WireFixtures.header(reply)
        #expect(header.id == 0xBEEF)
        #expect(header.flags == 0x8000 | opcode << 11 | 0x0100 | 4)
        #expect(header.qd == 1, "the question is kept where it parsed")
    }

    @Test("question counts other than one get FORMERR", arguments: [UInt16(0), 2])
    func questionCount(count: UInt16) {
        let query = WireFixtures.query(id: 9, name: "example.test", questionCount: count)
        guard case .respond(let reply, .formatError, _) = classify(query) else {
            Issue.record("expected FORMERR")
            return
        }
        #expect(WireFixtures.header(reply).id == 9)
        #expect(WireFixtures.header(reply).flags & 0x800F == 0x8001)
    }

    @Test func truncatedQuestionGetsFormatError() {
        let query = Array(WireFixtures.query(id: 10, name: "example.test").dropLast(3))
        guard case .respond(_, .formatError, _) = classify(query) else {
            Issue.record("expected FORMERR")
            return
        }
    }

    @Test func labelRunningPastTheEndGetsFormatError() {
        // Header + a label claiming 63 octets with 3 present.
        let query = WireFixtures.word(11) + WireFixtures.word(0x0100) + WireFixtures.word(1) + [0, 0, 0, 0, 0, 0] + [63, 0x61, 0x62, 0x63]
        guard case .respond(_, .formatError, _) = classify(query) else {
            Issue.record("expected FORMERR")
            return
        }
    }

    @Test func zoneTransfersAreRefusedWithTheQuestion() {
        let query = WireFixtures.query(id: 12, name: "example.test", type: 252)
        guard case .respond(let reply, .refused, _) = classify(query) else {
            Issue.record("expected REFUSED")
            return
        }
        let header = WireFixtures.header(reply)
        #expect(header.id == 12)
        #expect(header.qd == 1)
        #expect(header.flags & 0xF == 5)
    }

    @Test func plainQueryIsForwardedWith512ByteLimit() throws {
        let wire = WireFixtures.query(id: 0x1234, name: "WWW.Example.TEST", type: 28)
        guard case .answer(let query) = classify(wire) else {
            Issue.record("expected an answerable query")
            return
        }
        #expect(query.id == 0x1234)
        #expect(query.question.wire == Array(wire[12..<query.questionEnd]))
        #expect(query.maximumReply == 512)
        #expect(!query.hasEDNS)
        #expect(query.question.type == 28)
        #expect(query.question.name.description == "WWW.Example.TEST.")
        #expect(query.question.name.matches(DNSName(wire: WireFixtures.name("www.example.test"))))
    }

    @Test("EDNS size sets the reply limit, never below 512", arguments: [(UInt16(4096), 4096), (1232, 1232), (100, 512)])
    func ednsSizeIsHonoured(advertised: UInt16, expected: Int) {
        guard case .answer(let query) = classify(WireFixtures.query(id: 1, name: "example.test", ednsSize: advertised)) else {
            Issue.record("expected an answerable query")
            return
        }
        #expect(query.hasEDNS)
        #expect(query.maximumReply == expected)
    }

    @Test func randomBytesNeverTrap() {
        var generator = SplitMix64(seed: 0x5EED)
        for _ in 0..<5_000 {
            let length = Int.random(in: 0...80, using: &generator)
            var bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            if bytes.count >= 12, Bool.random(using: &generator) {
                // Make it look like a plausible query so ldns gets exercised.
                bytes[2] = 0x01; bytes[3] = 0; bytes[4] = 0; bytes[5] = 1
            }
            switch classify(bytes) {
            case .drop: #expect(bytes.count < 12 || bytes[2] & 0x80 != 0)
            case .respond(let reply, _, _): #expect(reply.count >= 12 && reply[2] & 0x80 != 0)
            case .answer(let query):
                #expect(query.questionEnd <= bytes.count && query.question.wire == Array(bytes[12..<query.questionEnd]))
            }
        }
    }
}
