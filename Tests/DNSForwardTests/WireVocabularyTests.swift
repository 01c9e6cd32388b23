import Testing
@testable import DNSForward

@Suite("Wire vocabulary: header fields, types, OPT")
struct WireVocabularyTests {
    @Test func headerWordSplitsIntoFlagsOpcodeAndCodeAndBackBitForBit() throws {
        // QR AA TC RD RA Z AD CD all set, opcode UPDATE, RCODE 15.
        let wire: [UInt8] = [0x12, 0x34, 0xAF, 0xFF, 0, 1, 0, 2, 0, 3, 0, 4]
        let header = try #require(wire.withUnsafeBytes { DNSHeader(wire: $0) })
        #expect(header.flags == [.qr, .aa, .tc, .rd, .ra, .z, .ad, .cd])
        #expect(header.opcode == .update)
        #expect(header.responseCode == 15)
        #expect(header.bytes == wire)
        let queryWire: [UInt8] = [0, 1, 0x01, 0x10, 0, 1, 0, 0, 0, 0, 0, 0]
        let query = try #require(queryWire.withUnsafeBytes { DNSHeader(wire: $0) })
        #expect(query.flags == [.rd, .cd])
        #expect(query.opcode == .query)
        #expect(query.responseCode == .noError)
        #expect(!query.isResponse && query.recursionDesired && query.checkingDisabled && !query.isTruncated)
    }

    @Test func rewritingFlagsLeavesOpcodeAndCodeAlone() {
        var wire: [UInt8] = DNSHeader(id: 1, flags: [.qr, .aa, .rd], opcode: .notify, responseCode: .refused).bytes
        wire.withUnsafeMutableBytes { DNSHeader.rewriteFlags(in: $0, removing: [.aa, .rd], inserting: .ra) }
        let header = wire.withUnsafeBytes { DNSHeader(wire: $0) }
        #expect(header?.flags == [.qr, .ra])
        #expect(header?.opcode == .notify)
        #expect(header?.responseCode == .refused)
    }

    @Test func unknownTypesAndCodesKeepTheirNumbers() {
        #expect(RecordType(rawValue: 65_534).mnemonic == "TYPE65534")
        #expect(RecordType.https.mnemonic == "HTTPS")
        #expect(RecordType(rawValue: 28) == .aaaa)
        #expect(RecordType.axfr.isZoneTransfer && RecordType.ixfr.isZoneTransfer && !RecordType.any.isZoneTransfer)
        #expect(DNSResponseCode(rawValue: 23).description == "RCODE23")
        #expect(DNSResponseCode.badVersion.headerBits == 0 && DNSResponseCode.badVersion.extendedBits == 1)
        #expect(RecordType(mnemonic: "aaaa") == .aaaa)
        #expect(RecordType(mnemonic: "NOT-A-TYPE") == nil)
    }

    @Test func optRecordReadsWhatItWrites() throws {
        let opt = OPTRecord.bytes(udpSize: 4096, extendedCode: 1, dnssecOK: true)
        #expect(opt == [0, 0, 41, 0x10, 0x00, 1, 0, 0x80, 0, 0, 0])
        let fields = try #require(opt.withUnsafeBytes { OPTRecord.read(WireReader(bytes: $0), at: 0, end: opt.count) })
        #expect(fields.udpSize == 4096 && fields.dnssecOK && fields.version == 0)
        #expect(opt.withUnsafeBytes { OPTRecord.read(WireReader(bytes: $0), at: 0, end: opt.count + 1) } == nil,
                "it must end the message")
    }
}

@Suite("TTL rewriting")
struct TTLRewriteTests {
    /// A 12-byte "message" with TTL fields at 0, 4 and 8.
    static func rewrite(_ ttls: [UInt32], _ rewrite: TTLRewrite, below end: Int = 12) -> [UInt32] {
        var bytes = ttls.flatMap { WireFixtures.u32($0) }
        bytes.withUnsafeMutableBytes { raw in
            [UInt16(0), 4, 8].withUnsafeBufferPointer { rewrite.apply(to: raw, at: $0, below: end) }
        }
        return stride(from: 0, to: bytes.count, by: 4).map { offset in
            bytes[offset..<(offset + 4)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        }
    }

    @Test func agingFloorsAtZero() {
        #expect(Self.rewrite([100, 30, 0], .aged(30)) == [70, 0, 0])
    }

    @Test func fixedSetsEveryFieldBeforeTheCut() {
        #expect(Self.rewrite([100, 30, 7], .fixed(30), below: 8) == [30, 30, 7], "fields past the cut are not written")
    }

    @Test func clampingReadsTheTopBitAsZeroThenBounds() {
        #expect(Self.rewrite([0x8000_0000, 5, 90_000], .clamped(floor: 10, ceiling: 3_600)) == [10, 10, 3_600])
        #expect(Self.rewrite([20, 0xFFFF_FFFF, 40], .clamped(floor: 0, ceiling: 30)) == [20, 0, 30])
    }

    @Test func keepLeavesTheBytes() {
        #expect(Self.rewrite([1, 2, 3], .keep) == [1, 2, 3])
        #expect(TTLRewrite.aged(5).applied(to: WireFixtures.u32(9), at: [0]) == WireFixtures.u32(4))
    }
}
