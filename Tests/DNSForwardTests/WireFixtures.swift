/// Hand-encoded DNS messages for tests, written independently of ldns so the
/// code under test is checked against bytes it did not produce.
enum WireFixtures {
    static func name(_ dotted: String) -> [UInt8] {
        var wire: [UInt8] = []
        for label in dotted.split(separator: ".") {
            wire.append(UInt8(label.utf8.count))
            wire += Array(label.utf8)
        }
        return wire + [0]
    }

    static func word(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(truncatingIfNeeded: value)] }

    /// OPT pseudo-RR (RFC 6891 6.1.2): root owner, type 41, class = UDP size, TTL carries DO.
    static func opt(udpSize: UInt16, dnssecOK: Bool = false) -> [UInt8] {
        [0] + word(41) + word(udpSize) + [0, 0] + word(dnssecOK ? 0x8000 : 0) + word(0)
    }

    static func query(id: UInt16, name: String, type: UInt16 = 1, flags: UInt16 = 0x0100,
                      questionCount: UInt16 = 1, ednsSize: UInt16? = nil) -> [UInt8] {
        var wire = word(id) + word(flags) + word(questionCount) + word(0) + word(0) + word(ednsSize == nil ? 0 : 1)
        wire += self.name(name) + word(type) + word(1)
        if let ednsSize { wire += opt(udpSize: ednsSize) }
        return wire
    }

    /// A response with `answers` A records for `name` (compressed owner pointer to the question).
    static func response(id: UInt16, name: String, type: UInt16 = 1, rcode: UInt16 = 0,
                         answers: [[UInt8]] = [], flags: UInt16 = 0x8180, ednsSize: UInt16? = nil,
                         ttl: UInt32 = 3600, authority: [[UInt8]] = []) -> [UInt8] {
        var wire = word(id) + word(flags | rcode) + word(1) + word(UInt16(answers.count)) + word(UInt16(authority.count))
            + word(ednsSize == nil ? 0 : 1)
        wire += self.name(name) + word(type) + word(1)
        for rdata in answers {
            wire += [0xC0, 12] + word(type) + word(1) + u32(ttl) + word(UInt16(rdata.count)) + rdata
        }
        for record in authority { wire += record }
        if let ednsSize { wire += opt(udpSize: ednsSize) }
        return wire
    }

    static func u32(_ value: UInt32) -> [UInt8] { word(UInt16(value >> 16)) + word(UInt16(truncatingIfNeeded: value)) }

    /// An SOA record for `zone` with the given record TTL and MINIMUM field.
    static func soa(zone: String, ttl: UInt32, minimum: UInt32) -> [UInt8] {
        let rdata = name("ns." + zone) + name("hostmaster." + zone) + u32(1) + u32(7200) + u32(3600) + u32(1_209_600) + u32(minimum)
        return name(zone) + word(6) + word(1) + u32(ttl) + word(UInt16(rdata.count)) + rdata
    }

    static func header(_ wire: [UInt8]) -> (id: UInt16, flags: UInt16, qd: UInt16, an: UInt16, ns: UInt16, ar: UInt16) {
        func at(_ offset: Int) -> UInt16 { UInt16(wire[offset]) << 8 | UInt16(wire[offset + 1]) }
        return (at(0), at(2), at(4), at(6), at(8), at(10))
    }
}
