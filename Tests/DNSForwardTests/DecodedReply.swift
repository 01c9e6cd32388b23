/// A DNS reply decoded by hand for tests, independent of the code under test
/// (no ldns, no WireReader): names are followed through compression pointers
/// and spelled with the case the wire carries.
struct DecodedReply {
    struct Record: Equatable, CustomStringConvertible {
        let owner: String
        let type: UInt16
        let `class`: UInt16
        let ttl: UInt32
        let rdata: [UInt8]

        var description: String { "\(owner) \(ttl) \(`class`) \(type) \(rdata)" }
    }

    struct Malformed: Error, CustomStringConvertible {
        let offset: Int
        var description: String { "malformed reply at offset \(offset)" }
    }

    let id: UInt16
    let flags: UInt16
    let questionName: String
    let questionType: UInt16
    let questionClass: UInt16
    let answer: [Record]
    let authority: [Record]
    let additional: [Record]

    var rcode: UInt16 { flags & 0xF }
    var isAuthoritative: Bool { flags & 0x0400 != 0 }
    var isTruncated: Bool { flags & 0x0200 != 0 }
    var recursionDesired: Bool { flags & 0x0100 != 0 }
    var recursionAvailable: Bool { flags & 0x0080 != 0 }
    var checkingDisabled: Bool { flags & 0x0010 != 0 }
    var opt: Record? { additional.first { $0.type == 41 } }

    init(_ bytes: [UInt8]) throws {
        var offset = 0
        func u16() throws -> UInt16 {
            guard offset + 2 <= bytes.count else { throw Malformed(offset: offset) }
            defer { offset += 2 }
            return UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
        }
        func u32() throws -> UInt32 { UInt32(try u16()) << 16 | UInt32(try u16()) }
        func name() throws -> String {
            let (text, end) = try Self.name(in: bytes, at: offset)
            offset = end
            return text
        }
        func records(_ count: UInt16) throws -> [Record] {
            try (0..<count).map { _ in
                let owner = try name()
                let type = try u16(), rclass = try u16(), ttl = try u32(), length = Int(try u16())
                guard offset + length <= bytes.count else { throw Malformed(offset: offset) }
                defer { offset += length }
                return Record(owner: owner, type: type, class: rclass, ttl: ttl,
                              rdata: Array(bytes[offset..<(offset + length)]))
            }
        }
        id = try u16()
        flags = try u16()
        let qd = try u16(), an = try u16(), ns = try u16(), ar = try u16()
        guard qd == 1 else { throw Malformed(offset: 4) }
        questionName = try name()
        questionType = try u16()
        questionClass = try u16()
        answer = try records(an)
        authority = try records(ns)
        additional = try records(ar)
        guard offset == bytes.count else { throw Malformed(offset: offset) }
    }

    /// Dotted name at `start` (pointers followed, backwards only) and the offset after it.
    static func name(in bytes: [UInt8], at start: Int) throws -> (String, Int) {
        var labels: [String] = []
        var offset = start
        var end: Int?
        while true {
            guard offset < bytes.count else { throw Malformed(offset: offset) }
            let length = Int(bytes[offset])
            if length == 0 {
                return (labels.isEmpty ? "." : labels.joined(separator: ".") + ".", end ?? offset + 1)
            }
            if length & 0xC0 == 0xC0 {
                guard offset + 1 < bytes.count else { throw Malformed(offset: offset) }
                let target = (length & 0x3F) << 8 | Int(bytes[offset + 1])
                guard target < offset else { throw Malformed(offset: offset) }
                if end == nil { end = offset + 2 }
                offset = target
                continue
            }
            guard offset + 1 + length <= bytes.count else { throw Malformed(offset: offset) }
            labels.append(String(decoding: bytes[(offset + 1)...(offset + length)], as: UTF8.self))
            offset += 1 + length
        }
    }

    /// The name an uncompressed RDATA holds (CNAME, NS, and the SOA's MNAME).
    static func name(inRDATA rdata: [UInt8]) throws -> String { try name(in: rdata, at: 0).0 }
}
