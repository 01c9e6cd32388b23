import Testing
@testable import DNSForward

/// The answers RFCs require to odd query shapes (docs/conformance.md): every
/// error keeps the question where it parsed and carries an OPT when the query
/// had one (RFC 6891 6.1.1, 7); DO and CD are copied (RFC 3225 3, RFC 4035 3.2.2).
@Suite("Query conformance: error replies")
struct QueryConformanceTests {
    typealias W = WireFixtures

    /// A query for `name` with `records` (already wire) in the additional section.
    static func query(id: UInt16 = 0xBEEF, name: String = "example.test", type: UInt16 = 1, flags: UInt16 = 0x0100,
                      questionCount: UInt16 = 1, additional records: [[UInt8]]) -> [UInt8] {
        var wire = W.query(id: id, name: name, type: type, flags: flags, questionCount: questionCount)
        wire[11] = UInt8(records.count)
        return wire + records.flatMap { $0 }
    }

    /// An OPT record: `owner` (root by default), version, DO and RDATA as given.
    static func opt(owner: [UInt8] = [0], version: UInt8 = 0, dnssecOK: Bool = false, rdata: [UInt8] = []) -> [UInt8] {
        owner + W.word(41) + W.word(1232) + [0, version] + W.word(dnssecOK ? 0x8000 : 0) + W.word(UInt16(rdata.count)) + rdata
    }

    private func respond(_ wire: [UInt8]) throws -> (reply: DecodedReply, code: DNSResponseCode, bytes: [UInt8]) {
        guard case .respond(let bytes, let code, _) = wire.withUnsafeBytes({ ClientQueryParser.classify($0) }) else {
            Issue.record("expected an immediate response")
            throw DecodedReply.Malformed(offset: -1)
        }
        return (try DecodedReply(bytes), code, bytes)
    }

    private func expectOPT(_ reply: DecodedReply, dnssecOK: Bool = false, extendedCode: UInt8 = 0) {
        guard let opt = reply.opt else {
            Issue.record("no OPT in the error reply")
            return
        }
        #expect(reply.additional.count == 1)
        #expect(opt.owner == ".")
        #expect(UInt8(opt.ttl >> 24) == extendedCode)
        #expect((opt.ttl & 0x8000 != 0) == dnssecOK)
    }

    @Test func twoOPTRecordsAreFormatErrorWithOneOPT() throws {
        let (reply, code, _) = try respond(Self.query(additional: [Self.opt(), Self.opt(dnssecOK: true)]))
        #expect(code == .formatError)
        #expect(reply.id == 0xBEEF)
        #expect(reply.questionName == "example.test.")
        expectOPT(reply)
    }

    @Test("option data cut short is FORMERR with an OPT", arguments: [
        [0, 10, 0, 8, 1, 2, 3, 4],  // cookie claiming 8 octets, 4 present
        [0, 12],                    // half an option header
        [0, 12, 0, 0, 0xFF],        // a whole padding option and one stray octet
    ] as [[UInt8]])
    func cutShortOptionData(rdata: [UInt8]) throws {
        let wire = Self.query(additional: [Self.opt(dnssecOK: true, rdata: rdata)])
        let (reply, code, _) = try respond(wire)
        #expect(code == .formatError)
        expectOPT(reply, dnssecOK: true)
        #expect(wire.withUnsafeBytes { ClientQueryParser.plainQuery($0) } == nil, "fast path leaves it to classify")
    }

    @Test func wholeOptionsAreAccepted() {
        let wire = Self.query(additional: [Self.opt(rdata: [0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0, 12, 0, 2, 0, 0])])
        guard case .answer(let query) = wire.withUnsafeBytes({ ClientQueryParser.classify($0) }) else {
            Issue.record("expected an answerable query")
            return
        }
        #expect(query.hasEDNS)
        #expect(wire.withUnsafeBytes { ClientQueryParser.plainQuery($0) } != nil)
    }

    @Test func badVersionCopiesDOAndCD() throws {
        let (reply, code, bytes) = try respond(Self.query(flags: 0x0110, additional: [Self.opt(version: 1, dnssecOK: true)]))
        #expect(code == .badVersion)
        #expect(bytes[3] & 0x0F == 0, "BADVERS is 16: header RCODE 0, extended 1")
        #expect(reply.checkingDisabled)
        #expect(reply.questionName == "example.test.")
        expectOPT(reply, dnssecOK: true, extendedCode: 1)
    }

    @Test("other opcodes: NOTIMP with question and OPT", arguments: [UInt16(1), 2, 4, 5, 15])
    func otherOpcodesKeepQuestionAndOPT(opcode: UInt16) throws {
        let (reply, code, bytes) = try respond(Self.query(flags: opcode << 11 | 0x0110, additional: [Self.opt(dnssecOK: true)]))
        #expect(code == .notImplemented)
        #expect(W.header(bytes).flags & 0x7800 == opcode << 11, "opcode copied")
        #expect(reply.rcode == 4)
        #expect(reply.checkingDisabled && reply.recursionDesired)
        #expect(reply.questionName == "example.test.")
        expectOPT(reply, dnssecOK: true)
    }

    @Test func questionCountZeroIsFormatErrorWithOPT() throws {
        var wire = W.word(0xBEEF) + W.word(0x0100) + W.word(0) + W.word(0) + W.word(0) + W.word(1)
        wire += Self.opt()
        guard case .respond(let bytes, .formatError, nil) = wire.withUnsafeBytes({ ClientQueryParser.classify($0) }) else {
            Issue.record("expected FORMERR without a question")
            return
        }
        let header = W.header(bytes)
        #expect(header.qd == 0 && header.ar == 1)
        #expect(Array(bytes.suffix(11)) == W.opt(udpSize: 1232))
    }

    @Test func twoQuestionsAreFormatErrorWithOPTAndNoQuestion() throws {
        var wire = W.word(0xBEEF) + W.word(0x0100) + W.word(2) + W.word(0) + W.word(0) + W.word(1)
        wire += W.name("a.test") + W.word(1) + W.word(1) + W.name("b.test") + W.word(1) + W.word(1) + Self.opt()
        guard case .respond(let bytes, .formatError, _) = wire.withUnsafeBytes({ ClientQueryParser.classify($0) }) else {
            Issue.record("expected FORMERR")
            return
        }
        #expect(W.header(bytes).qd == 0)
        #expect(W.header(bytes).ar == 1)
    }

    @Test func optWithANonRootOwnerIsFormatErrorWithOPT() throws {
        let (reply, code, _) = try respond(Self.query(additional: [Self.opt(owner: W.name("odd.test"), dnssecOK: true)]))
        #expect(code == .formatError)
        #expect(reply.questionName == "example.test.")
        expectOPT(reply, dnssecOK: true)
    }

    @Test func errorsWithoutEDNSHaveNoOPTAndCopyCD() throws {
        let (reply, code, _) = try respond(Self.query(flags: 0x0010, questionCount: 1, additional: []) + [0xDE, 0xAD])
        #expect(code == .formatError, "trailing bytes after the question")
        #expect(reply.additional.isEmpty)
        #expect(reply.checkingDisabled)
        #expect(!reply.recursionDesired)
    }

    @Test("zone transfers are refused with the question and OPT", arguments: [UInt16(251), 252])
    func zoneTransfers(type: UInt16) throws {
        let (reply, code, _) = try respond(Self.query(type: type, additional: [Self.opt(dnssecOK: true)]))
        #expect(code == .refused)
        #expect(reply.questionType == type)
        expectOPT(reply, dnssecOK: true)
    }

    @Test("decided shapes are forwarded: RD=0, TC=1 in a query, qtype 0, meta types",
          arguments: [(UInt16(0x0000), UInt16(1)), (0x0300, 1), (0x0100, 0), (0x0100, 128), (0x0100, 255)])
    func forwardedShapes(flags: UInt16, type: UInt16) {
        guard case .answer(let query) = W.query(id: 1, name: "example.test", type: type, flags: flags)
            .withUnsafeBytes({ ClientQueryParser.classify($0) }) else {
            Issue.record("expected an answerable query")
            return
        }
        #expect(query.requestFlags.contains(.rd) == (flags & 0x0100 != 0))
        #expect(!query.requestFlags.contains(.tc), "TC in a query means nothing and is not passed on")
    }
}
