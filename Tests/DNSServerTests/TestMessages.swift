/// Hand-built DNS messages for the server's tests, as dnsperf and an upstream send them.
enum TestMessages {
    /// RD, one question (A, IN), no EDNS.
    static func query(id: UInt16, name: String) -> [UInt8] {
        var wire: [UInt8] = [UInt8(id >> 8), UInt8(truncatingIfNeeded: id), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]
        for label in name.split(separator: ".") {
            wire.append(UInt8(label.utf8.count))
            wire += label.utf8
        }
        wire += [0, 0, 1, 0, 1]
        return wire
    }

    /// An upstream's answer to `query`: its header and question, one A record (TTL 3600).
    static func reply(to query: [UInt8]) -> [UInt8] {
        var end = 12
        while query[end] != 0 { end += Int(query[end]) + 1 }
        var wire = Array(query[..<(end + 5)])
        wire[2] = 0x81
        wire[3] = 0x80
        wire[7] = 1
        wire[11] = 0
        wire += [0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0x0E, 0x10, 0, 4, 198, 51, 100, 99]
        return wire
    }
}
