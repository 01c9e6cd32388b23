import Testing
@testable import DNSForward

private func wire(_ name: String) -> [UInt8] { BlockListParser.wireName(name)! }

private func v4(_ a: UInt32, _ b: UInt32, _ c: UInt32, _ d: UInt32) -> PolicyAddress {
    PolicyAddress(ipv4: a << 24 | b << 16 | c << 8 | d)
}

/// The longest match in `table` for `name`: its value and the matched suffix as text.
private func match(_ table: SuffixNameTable, _ name: String) -> UInt32? {
    let bytes = wire(name)
    var suffixes = NameSuffixes()
    return bytes.withUnsafeBytes { raw in
        suffixes.fill(raw)
        return table.longestMatch(raw, suffixes)?.value
    }
}

@Suite("Policy: zone suffix table")
struct SuffixNameTableTests {
    @Test func matchesAtLabelBoundariesOnly() {
        var table = SuffixNameTable()
        table.insert(wire("corp.test"), value: 7)
        #expect(match(table, "corp.test") == 7)
        #expect(match(table, "a.b.corp.test") == 7)
        #expect(match(table, "CORP.test".lowercased()) == 7)
        #expect(match(table, "notcorp.test") == nil, "corp.test must not match notcorp.test")
        #expect(match(table, "test") == nil)
        #expect(match(table, "corp.test.evil") == nil)
    }

    @Test func labelBoundariesHoldWhenLookedUpByHashToo() {
        var table = SuffixNameTable()
        for index in 0..<20 { table.insert(wire("zone\(index).test"), value: 100) }
        table.insert(wire("corp.test"), value: 7)
        #expect(table.needsSuffixHashes)
        #expect(match(table, "a.corp.test") == 7)
        #expect(match(table, "notcorp.test") == nil)
        #expect(match(table, "x.zone19.test") == 100)
    }

    @Test func longestZoneWins() {
        var table = SuffixNameTable()
        table.insert(wire("example"), value: 1)
        table.insert(wire("corp.example"), value: 2)
        table.insert(wire("lab.corp.example"), value: 3)
        #expect(match(table, "x.example") == 1)
        #expect(match(table, "x.corp.example") == 2)
        #expect(match(table, "x.lab.corp.example") == 3)
    }

    @Test func holdsManyNamesAndKeepsTheFirstValue() {
        var table = SuffixNameTable()
        for index in 0..<50_000 { table.insert(wire("host\(index).ads.test"), value: UInt32(index)) }
        #expect(table.count == 50_000)
        let insertedAgain = table.insert(wire("host5.ads.test"), value: 99)
        #expect(!insertedAgain)
        #expect(match(table, "x.host49999.ads.test") == 49_999)
        #expect(match(table, "host50000.ads.test") == nil)
        table.compact()
        #expect(match(table, "x.host49999.ads.test") == 49_999, "found through the filter too")
        #expect((0..<50_000).allSatisfy { match(table, "host\($0).ads.test") != nil })
        #expect(match(table, "host50000.ads.test") == nil)
        // Names end to end, slots under 3/4 full and the filter: tens of bytes per name, not hundreds.
        #expect(table.memoryBytes / table.count < 48)
    }

    @Test func malformedNamesMatchNothing() {
        var table = SuffixNameTable()
        table.insert(wire("test"))
        var suffixes = NameSuffixes()
        [UInt8]([4, 116, 101, 115]).withUnsafeBytes { raw in
            suffixes.fill(raw)
            #expect(suffixes.count == 0)
        }
    }
}

@Suite("Policy: prefix table")
struct PrefixTableTests {
    @Test func mostSpecificIPv4PrefixWins() {
        var table = PrefixTable<String>()
        table.insert(PolicyPrefix(v4(0, 0, 0, 0), length: 0)!, value: "any")
        table.insert(PolicyPrefix(v4(203, 0, 113, 0), length: 24)!, value: "net")
        table.insert(PolicyPrefix(v4(203, 0, 113, 53), length: 32)!, value: "host")
        #expect(table.longestMatch(v4(203, 0, 113, 53)) == "host")
        #expect(table.longestMatch(v4(203, 0, 113, 54)) == "net")
        #expect(table.longestMatch(v4(198, 51, 100, 1)) == "any")
    }

    @Test func ipv6PrefixesAcrossTheHalves() {
        var table = PrefixTable<String>()
        let doc = PolicyAddress(ipv6High: 0x2001_0db8_0000_0000, low: 0)
        table.insert(PolicyPrefix(doc, length: 32)!, value: "doc")
        table.insert(PolicyPrefix(PolicyAddress(ipv6High: 0x2001_0db8_0000_0001, low: 0x53), length: 128)!, value: "host")
        table.insert(PolicyPrefix(PolicyAddress(ipv6High: 0x2001_0db8_0000_0001, low: 0x8000_0000_0000_0000), length: 65)!, value: "upper")
        #expect(table.longestMatch(PolicyAddress(ipv6High: 0x2001_0db8_0000_0001, low: 0x53)) == "host")
        #expect(table.longestMatch(PolicyAddress(ipv6High: 0x2001_0db8_0000_0001, low: 0x8000_0000_0000_0001)) == "upper")
        #expect(table.longestMatch(PolicyAddress(ipv6High: 0x2001_0db8_ffff_0000, low: 1)) == "doc")
        #expect(table.longestMatch(PolicyAddress(ipv6High: 0x2001_0db9_0000_0000, low: 1)) == nil)
        #expect(table.longestMatch(v4(32, 1, 13, 184)) == nil, "an IPv4 address never matches an IPv6 prefix")
    }

    @Test func prefixLengthOutsideTheFamilyIsRejected() {
        #expect(PolicyPrefix(v4(1, 2, 3, 4), length: 33) == nil)
        #expect(PolicyPrefix(v4(10, 1, 2, 3), length: 8)?.description == "10.0.0.0/8")
    }
}

@Suite("Policy: block-list parsing")
struct BlockListParserTests {
    private func parse(_ text: String) -> (SuffixNameTable, [BlockListProblem]) {
        var table = SuffixNameTable()
        let problems = Array(text.utf8).withUnsafeBytes { BlockListParser.parse($0, file: "ads.txt", into: &table) }
        return (table, problems)
    }

    @Test func hostsFormatNamesAndComments() {
        let (table, problems) = parse("""
        # a hosts file
        127.0.0.1 localhost
        0.0.0.0 ads.example tracker.example # two names
        ::  v6.example
        plain.example
        *.wild.example
        UPPER.Example.
        \tspaced.example\r
        """)
        #expect(problems.isEmpty)
        for name in ["ads.example", "tracker.example", "v6.example", "plain.example", "wild.example", "upper.example", "spaced.example"] {
            #expect(table.value(of: wire(name)) != nil, "\(name)")
        }
        #expect(table.value(of: wire("localhost")) == nil)
        #expect(table.count == 7)
        #expect(match(table, "sub.ads.example") != nil, "a listed name blocks its subdomains")
    }

    @Test func badLinesAreReportedWithTheirNumbersAndSkipped() {
        let (table, problems) = parse("good.example\nfoo bar\n0.0.0.0\nbad_$name.example\n\(String(repeating: "a", count: 64)).example\nalso.example\n")
        #expect(problems.map(\.line) == [2, 3, 4, 5])
        #expect(problems.first?.description.hasPrefix("ads.txt:2: ") == true)
        #expect(table.count == 2)
    }
}
