import Testing
@testable import DNSForward

@Suite("Responses the daemon originates")
struct ResponseBuilderTests {
    @Test func truncationKeepsQuestionAndOPT() throws {
        let txt = [UInt8(9)] + Array("123456789".utf8)
        let reply = WireFixtures.response(id: 77, name: "big.example.test", type: 16,
                                          answers: Array(repeating: txt, count: 10), ednsSize: 1232)
        let cut = try #require(ResponseBuilder.truncated(reply: reply))
        let header = WireFixtures.header(cut)
        #expect(header.id == 77)
        #expect(header.flags & 0x0200 != 0)
        #expect(header.qd == 1 && header.an == 0 && header.ns == 0)
        #expect(header.ar == 1)
        // Question copied verbatim after the header, then OPT with the advertised size.
        let question = WireFixtures.name("big.example.test") + [0, 16, 0, 1]
        #expect(Array(cut[12..<(12 + question.count)]) == question)
        #expect(Array(cut[(12 + question.count)...].prefix(5)) == [0, 0, 41, 0x04, 0xD0])
    }

    @Test func truncationOfGarbageIsNil() {
        #expect(ResponseBuilder.truncated(reply: [1, 2, 3]) == nil)
    }

    @Test func errorWithoutQuestionOrEDNSCopiesIDOpcodeRDAndCD() {
        let header = DNSHeader(id: 0xABCD, flags: [.rd, .ad, .cd], opcode: .status)
        let reply = ResponseBuilder.error(for: header, question: nil, code: .notImplemented, edns: nil)
        #expect(reply == [0xAB, 0xCD, 0x91, 0x14, 0, 0, 0, 0, 0, 0, 0, 0], "no RA on NOTIMP")
    }

    @Test func serverFailureWithoutEDNSHasNoOPT() throws {
        let wire = WireFixtures.query(id: 4, name: "example.test")
        guard case .answer(let query) = wire.withUnsafeBytes({ ClientQueryParser.classify($0) }) else {
            Issue.record("expected an answerable query")
            return
        }
        let reply = ResponseBuilder.serverFailure(for: query)
        let header = WireFixtures.header(reply)
        #expect(header.flags & 0x800F == 0x8002)
        #expect(header.flags & 0x0100 != 0, "RD copied")
        #expect(header.ar == 0)
        #expect(header.qd == 1)
    }
}

@Suite("Names")
struct DNSNameTests {
    @Test func presentationEscapesOctets() {
        let name = DNSName(wire: [3, 0x61, 0x2E, 0x00, 2, 0xFF, 0x5C, 0])
        #expect(name.description == "a\\.\\000.\\255\\\\.")
        #expect(DNSName(wire: [0]).description == ".")
    }

    @Test func caseFoldingIsASCIIOnly() {
        #expect(DNSName(wire: WireFixtures.name("ExAmPlE.TeSt")).matches(DNSName(wire: WireFixtures.name("example.test"))))
        // 0xC3 vs 0xE3 differ only in bit 0x20 but are not letters: not equal.
        #expect(!DNSName(wire: [1, 0xC3, 0]).matches(DNSName(wire: [1, 0xE3, 0])))
        #expect(!DNSName(wire: WireFixtures.name("a.test")).matches(DNSName(wire: WireFixtures.name("b.test"))))
    }
}
