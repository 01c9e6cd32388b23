import Testing
@testable import DNSForward

@Suite("Local authoritative zones")
struct LocalZonesTests {
    static let lan = """
        ; test zone: a comment first, so line numbers are not trivially 1-based
        $ORIGIN lan.
        $TTL 3600
        @        IN SOA   router hostmaster 1 3600 600 604800 300
        @        IN NS    router
        router   IN A     192.0.2.1
        router   IN AAAA  2001:db8:1::1
        printer  IN A     192.0.2.20
        nas      IN AAAA  2001:db8:1::30
        www      IN CNAME router
        alias2   IN CNAME www
        *.dev    IN A     192.0.2.30
        x.blocked.dev IN A 192.0.2.31
        loop1    IN CNAME loop2
        loop2    IN CNAME loop1
        away     IN CNAME www.example.test.
        dangling IN CNAME missing
        info     IN TXT   "hello"

        """

    // MARK: helpers

    private func zones(_ files: [String: String]) throws -> LocalZones {
        let directory = TemporaryZoneDirectory()
        for (name, text) in files { directory.write(name, text) }
        // The directory is removed when this returns: the zones must not need it.
        return try LocalZones.load(directory: directory.path)
    }

    private func lanZones() throws -> LocalZones { try zones(["lan.zone": Self.lan]) }

    private struct NotForwarded: Error {}

    private func query(_ name: String, type: UInt16 = 1, class qclass: UInt16 = 1, id: UInt16 = 0x1234,
                       flags: UInt16 = 0x0100, ednsSize: UInt16? = nil, dnssecOK: Bool = false) throws -> ClientQuery {
        var wire = WireFixtures.word(id) + WireFixtures.word(flags) + WireFixtures.word(1)
            + WireFixtures.word(0) + WireFixtures.word(0) + WireFixtures.word(ednsSize == nil ? 0 : 1)
        wire += WireFixtures.name(name) + WireFixtures.word(type) + WireFixtures.word(qclass)
        if let ednsSize { wire += WireFixtures.opt(udpSize: ednsSize, dnssecOK: dnssecOK) }
        guard case .answer(let query) = wire.withUnsafeBytes({ ClientQueryParser.classify($0) }) else {
            throw NotForwarded()
        }
        return query
    }

    private func reply(_ zones: LocalZones, _ query: ClientQuery) throws -> DecodedReply {
        let answer = try #require(zones.answer(query))
        let decoded = try DecodedReply(answer.bytes)
        #expect(answer.code.rawValue == decoded.rcode)
        return decoded
    }

    private func loadError(_ directory: String) -> ZoneLoadError? {
        do {
            _ = try LocalZones.load(directory: directory)
            return nil
        } catch {
            return error
        }
    }

    private static let a: UInt16 = 1, ns: UInt16 = 2, cname: UInt16 = 5, soa: UInt16 = 6
    private static let txt: UInt16 = 16, aaaa: UInt16 = 28, any: UInt16 = 255

    // MARK: positive answers

    @Test func exactARecordByHand() throws {
        let answer = try #require(try lanZones().answer(query("printer.lan", id: 0x1234)))
        #expect(answer.code == .noError)
        let expected: [UInt8] = [
            0x12, 0x34, 0x85, 0x80, 0, 1, 0, 1, 0, 0, 0, 0,  // ID; QR AA RD RA; 1 question, 1 answer
            7, 0x70, 0x72, 0x69, 0x6E, 0x74, 0x65, 0x72, 3, 0x6C, 0x61, 0x6E, 0, 0, 1, 0, 1,  // printer.lan. A IN
            0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0x0E, 0x10, 0, 4, 192, 0, 2, 20,  // ptr to question, A IN 3600, 192.0.2.20
        ]
        #expect(answer.bytes == expected)
    }

    @Test func exactAAAA() throws {
        let decoded = try reply(lanZones(), query("router.lan", type: Self.aaaa))
        #expect(decoded.rcode == 0)
        #expect(decoded.answer == [.init(owner: "router.lan.", type: Self.aaaa, class: 1, ttl: 3600,
                                         rdata: [0x20, 0x01, 0x0D, 0xB8, 0, 1] + Array(repeating: 0, count: 9) + [1])])
        #expect(decoded.authority.isEmpty && decoded.additional.isEmpty)
    }

    @Test func anyReturnsEveryRRsetAtTheName() throws {
        let decoded = try reply(lanZones(), query("router.lan", type: Self.any))
        #expect(decoded.answer.map(\.type) == [Self.a, Self.aaaa])
    }

    @Test func cnameIsFollowedInsideTheZone() throws {
        let decoded = try reply(lanZones(), query("alias2.lan"))
        #expect(decoded.rcode == 0)
        #expect(decoded.answer.map(\.owner) == ["alias2.lan.", "www.lan.", "router.lan."])
        #expect(decoded.answer.map(\.type) == [Self.cname, Self.cname, Self.a])
        #expect(try DecodedReply.name(inRDATA: decoded.answer[0].rdata) == "www.lan.")
        #expect(decoded.answer[2].rdata == [192, 0, 2, 1])
    }

    @Test func cnameQueryGetsTheCNAMEOnly() throws {
        let decoded = try reply(lanZones(), query("www.lan", type: Self.cname))
        #expect(decoded.answer.map(\.type) == [Self.cname])
    }

    @Test func cnameLoopEnds() throws {
        let decoded = try reply(lanZones(), query("loop1.lan"))
        #expect(decoded.rcode == 0)
        #expect(decoded.answer.map(\.owner) == ["loop1.lan.", "loop2.lan."])
        #expect(decoded.answer.allSatisfy { $0.type == Self.cname })
    }

    @Test func longCNAMEChainStopsAfterEightHops() throws {
        var text = "$ORIGIN chain.\n@ IN SOA ns host 1 2 3 4 5\n"
        for index in 0..<12 { text += "c\(index) IN CNAME c\(index + 1)\n" }
        text += "c12 IN A 192.0.2.99\n"
        let decoded = try reply(zones(["chain.zone": text]), query("c0.chain"))
        #expect(decoded.answer.count == LocalZones.maximumCNAMEHops + 1)
        #expect(decoded.answer.allSatisfy { $0.type == Self.cname })
    }

    @Test func cnameLeavingTheZoneIsNotFollowed() throws {
        let decoded = try reply(lanZones(), query("away.lan"))
        #expect(decoded.rcode == 0)
        #expect(decoded.answer.count == 1)
        #expect(try DecodedReply.name(inRDATA: decoded.answer[0].rdata) == "www.example.test.")
        #expect(decoded.authority.isEmpty)
    }

    @Test func cnameToAMissingNameIsNXDOMAINWithTheCNAME() throws {
        // RFC 6604 2.1: the RCODE belongs to the last name in the chain.
        let decoded = try reply(lanZones(), query("dangling.lan"))
        #expect(decoded.rcode == 3)
        #expect(decoded.answer.map(\.type) == [Self.cname])
        #expect(decoded.authority.map(\.type) == [Self.soa])
    }

    // MARK: wildcards

    @Test("wildcard synthesizes with the query name as owner", arguments: ["a.dev.lan", "a.b.dev.lan", "Mixed.Dev.Lan"])
    func wildcard(name: String) throws {
        let decoded = try reply(lanZones(), query(name))
        #expect(decoded.rcode == 0)
        #expect(decoded.answer == [.init(owner: name + ".", type: Self.a, class: 1, ttl: 3600, rdata: [192, 0, 2, 30])])
    }

    @Test func wildcardWithoutTheTypeIsNODATA() throws {
        let decoded = try reply(lanZones(), query("a.dev.lan", type: Self.aaaa))
        #expect(decoded.rcode == 0)
        #expect(decoded.answer.isEmpty)
        #expect(decoded.authority.map(\.type) == [Self.soa])
    }

    @Test func emptyNonTerminalBlocksTheWildcard() throws {
        // blocked.dev.lan. exists (x.blocked.dev.lan. is below it) but has no data.
        let ent = try reply(lanZones(), query("blocked.dev.lan"))
        #expect(ent.rcode == 0)
        #expect(ent.answer.isEmpty)
        #expect(ent.authority.map(\.type) == [Self.soa])
        // Below it the closest encloser is blocked.dev.lan., which has no `*` child.
        let below = try reply(lanZones(), query("y.blocked.dev.lan"))
        #expect(below.rcode == 3)
        // The wildcard's own parent is an empty non-terminal too.
        #expect(try reply(lanZones(), query("dev.lan")).answer.isEmpty)
        #expect(try reply(lanZones(), query("x.blocked.dev.lan")).answer.first?.rdata == [192, 0, 2, 31])
    }

    @Test func wildcardCNAMEIsSynthesizedThenFollowed() throws {
        let text = "$ORIGIN w.\n@ IN SOA ns host 1 2 3 4 5\n*.cn IN CNAME Target\nTARGET IN A 192.0.2.5\n"
        let decoded = try reply(zones(["w.zone": text]), query("any.cn.w"))
        #expect(decoded.answer.map(\.owner) == ["any.cn.w.", "Target.w."])
        #expect(decoded.answer.map(\.type) == [Self.cname, Self.a])
        #expect(decoded.answer.last?.rdata == [192, 0, 2, 5])
    }

    @Test func zoneFileCaseDoesNotMatter() throws {
        let text = "$ORIGIN Home.ARPA.\n@ IN SOA ns host 1 2 3 4 5\nMiXed IN A 192.0.2.6\n"
        let zones = try zones(["home.zone": text])
        #expect(zones.zoneNames == ["Home.ARPA."])
        let decoded = try reply(zones, query("mixed.home.arpa"))
        #expect(decoded.answer.first?.rdata == [192, 0, 2, 6])
        #expect(try reply(zones, query("other.HOME.arpa")).authority.first?.owner == "Home.ARPA.")
    }

    // MARK: negative answers

    @Test func nxdomainCarriesTheSOAWithTheNegativeTTL() throws {
        let decoded = try reply(lanZones(), query("nothing.lan"))
        #expect(decoded.rcode == 3)
        #expect(decoded.isAuthoritative)
        #expect(decoded.answer.isEmpty)
        let soa = try #require(decoded.authority.first)
        #expect(decoded.authority.count == 1)
        #expect(soa.owner == "lan.")
        #expect(soa.type == Self.soa)
        // min(SOA TTL 3600, MINIMUM 300), RFC 2308 3.
        #expect(soa.ttl == 300)
        #expect(try DecodedReply.name(inRDATA: soa.rdata) == "router.lan.")
        #expect(Array(soa.rdata.suffix(20)) == [0, 0, 0, 1, 0, 0, 0x0E, 0x10, 0, 0, 0x02, 0x58,
                                                0, 0x09, 0x3A, 0x80, 0, 0, 0x01, 0x2C])
    }

    @Test func negativeTTLIsTheSOATTLWhenThatIsSmaller() throws {
        let text = "$ORIGIN low.\n$TTL 60\n@ IN SOA ns host 1 2 3 4 300\n"
        let decoded = try reply(zones(["low.zone": text]), query("gone.low"))
        #expect(decoded.rcode == 3)
        #expect(decoded.authority.first?.ttl == 60)
    }

    @Test func nodataIsNOERRORWithTheSOA() throws {
        let decoded = try reply(lanZones(), query("printer.lan", type: Self.aaaa))
        #expect(decoded.rcode == 0)
        #expect(decoded.answer.isEmpty)
        #expect(decoded.authority.map(\.owner) == ["lan."])
        #expect(decoded.authority.first?.ttl == 300)
    }

    // MARK: header, question, EDNS, truncation

    @Test func questionKeepsTheClientsCase() throws {
        let decoded = try reply(lanZones(), query("RoUtEr.LaN"))
        #expect(decoded.questionName == "RoUtEr.LaN.")
        #expect(decoded.answer.first?.owner == "RoUtEr.LaN.")
        #expect(decoded.answer.first?.rdata == [192, 0, 2, 1])
    }

    @Test func headerBits() throws {
        let zones = try lanZones()
        let withRD = try reply(zones, query("router.lan", id: 0xBEEF, flags: 0x0110))
        #expect(withRD.id == 0xBEEF)
        #expect(withRD.flags & 0x8000 != 0)
        #expect(withRD.isAuthoritative && withRD.recursionAvailable)
        #expect(withRD.recursionDesired && withRD.checkingDisabled)
        #expect(!withRD.isTruncated)
        #expect(withRD.flags & 0x0020 == 0, "AD never set on local data")
        let withoutRD = try reply(zones, query("router.lan", flags: 0x0020))
        #expect(!withoutRD.recursionDesired && !withoutRD.checkingDisabled)
        #expect(withoutRD.flags & 0x0020 == 0)
    }

    @Test func ednsQueryGetsAnOPTWithItsDOBit() throws {
        let zones = try lanZones()
        let plain = try reply(zones, query("router.lan"))
        #expect(plain.additional.isEmpty)
        let edns = try reply(zones, query("router.lan", ednsSize: 4096, dnssecOK: true))
        let opt = try #require(edns.opt)
        #expect(edns.additional.count == 1)
        #expect(opt.owner == ".")
        #expect(opt.class == ResponseBuilder.advertisedUDPSize)
        #expect(opt.ttl == 0x8000, "DO copied, extended RCODE and version 0")
        let noDO = try reply(zones, query("nothing.lan", ednsSize: 1232))
        #expect(noDO.opt?.ttl == 0)
        #expect(noDO.rcode == 3)
    }

    @Test func overTheClientsBufferIsTruncated() throws {
        var text = "$ORIGIN big.\n@ IN SOA ns host 1 2 3 4 5\n"
        for index in 0..<6 { text += "txt IN TXT \"\(index)-\(String(repeating: "x", count: 98))\"\n" }
        let zones = try zones(["big.zone": text])

        let small = try reply(zones, query("txt.big", type: Self.txt))
        #expect(small.isTruncated && small.isAuthoritative)
        #expect(small.answer.isEmpty && small.authority.isEmpty && small.additional.isEmpty)
        #expect(small.questionName == "txt.big.")

        let smallEDNS = try reply(zones, query("txt.big", type: Self.txt, ednsSize: 512))
        #expect(smallEDNS.isTruncated)
        #expect(smallEDNS.opt != nil)

        let large = try reply(zones, query("txt.big", type: Self.txt, ednsSize: 1232))
        #expect(!large.isTruncated)
        #expect(large.answer.count == 6)
        #expect(large.opt != nil)
    }

    // MARK: which names are local

    @Test("names outside every zone go upstream", arguments: ["example.com", "xlan", "lan.example", "."])
    func outsideIsNil(name: String) throws {
        #expect(try lanZones().answer(query(name)) == nil)
    }

    @Test func otherClassesGoUpstream() throws {
        #expect(try lanZones().answer(query("router.lan", class: 3)) == nil)
        #expect(try lanZones().answer(query("router.lan", class: 255)) != nil)
    }

    @Test func emptySetAnswersNothing() throws {
        #expect(LocalZones.empty.answer(try query("router.lan")) == nil)
        #expect(LocalZones.empty.zoneNames.isEmpty && LocalZones.empty.recordCount == 0)
    }

    @Test func longestMatchingZoneWins() throws {
        let sub = "$ORIGIN sub.lan.\n@ IN SOA ns host 1 2 3 4 120\nhost IN A 192.0.2.77\n"
        let zones = try zones(["lan.zone": Self.lan, "sub.zone": sub])
        #expect(zones.zoneNames == ["lan.", "sub.lan."])

        #expect(try reply(zones, query("host.sub.lan")).answer.first?.rdata == [192, 0, 2, 77])
        #expect(try reply(zones, query("router.lan")).answer.first?.rdata == [192, 0, 2, 1])
        let missing = try reply(zones, query("router.sub.lan"))
        #expect(missing.rcode == 3)
        #expect(missing.authority.first?.owner == "sub.lan.")
        #expect(missing.authority.first?.ttl == 120)
        // sub.lan. is an apex here, not an empty non-terminal of lan.
        #expect(try reply(zones, query("sub.lan", type: Self.soa)).answer.map(\.type) == [Self.soa])
    }

    // MARK: loading

    @Test func loadCountsRecordsAndNamesZones() throws {
        let zones = try lanZones()
        #expect(zones.zoneNames == ["lan."])
        // SOA, NS, 2 router, printer, nas, www, alias2, *.dev, x.blocked.dev, 2 loop, away, dangling, info
        #expect(zones.recordCount == 15)
        #expect(zones.summaries.map(\.records) == [15])
    }

    @Test func duplicateRecordsCountOnceAndTheSetTakesTheSmallestTTL() throws {
        let text = "$ORIGIN d.\n@ IN SOA ns host 1 2 3 4 5\na 300 IN A 192.0.2.1\na 60 IN A 192.0.2.2\na 900 IN A 192.0.2.1\n"
        let zones = try zones(["d.zone": text])
        #expect(zones.recordCount == 3)
        let decoded = try reply(zones, query("a.d"))
        #expect(decoded.answer.map(\.ttl) == [60, 60])
        #expect(decoded.answer.map(\.rdata) == [[192, 0, 2, 1], [192, 0, 2, 2]])
    }

    @Test func shippedExampleZoneLoads() throws {
        let repository = String(#filePath).split(separator: "/", omittingEmptySubsequences: false)
            .dropLast(3).joined(separator: "/")
        let zones = try LocalZones.load(directory: repository + "/zones/local")
        #expect(zones.zoneNames == ["lan."])
        #expect(zones.recordCount == 9)
        #expect(try reply(zones, query("www.lan")).answer.last?.rdata == [192, 0, 2, 1])
        #expect(try reply(zones, query("laptop.dev.lan")).answer.first?.rdata == [192, 0, 2, 30])
        #expect(try reply(zones, query("nas.lan")).answer.isEmpty)
    }

    @Test func directoryWithoutZoneFilesIsEmpty() throws {
        let directory = TemporaryZoneDirectory()
        directory.write("README", "not a zone")
        directory.write("lan.zone.bak", Self.lan)
        let zones = try LocalZones.load(directory: directory.path)
        #expect(zones.zoneNames.isEmpty)
        #expect(zones.answer(try query("router.lan")) == nil)
    }

    @Test func brokenRecordIsReportedWithFileAndLine() throws {
        let directory = TemporaryZoneDirectory()
        let file = directory.write("bad.zone", """
            ; line 1
            $ORIGIN lan.
            $TTL 300
            @ IN SOA router hostmaster 1 2 3 4 5
            router IN A 192.0.2.1

            broken IN A 192.0.2.300
            later IN A 192.0.2.2

            """)
        let error = try #require(loadError(directory.path))
        #expect(error.file == file)
        #expect(error.line == 7)
        #expect(error.message == "Syntax error, could not parse the RR's rdata")
        #expect(error.description == "\(file):7: Syntax error, could not parse the RR's rdata")
    }

    @Test func errorOnALastLineWithoutNewlineHasTheRightLine() throws {
        let directory = TemporaryZoneDirectory()
        directory.write("bad.zone", "$ORIGIN lan.\n@ IN SOA ns host 1 2 3 4 5\nx IN A 1.2.3.999")
        #expect(loadError(directory.path)?.line == 3)
    }

    @Test func includeIsRefused() throws {
        let directory = TemporaryZoneDirectory()
        directory.write("inc.zone", "$ORIGIN lan.\n@ IN SOA ns host 1 2 3 4 5\n$INCLUDE other.zone\n")
        let error = try #require(loadError(directory.path))
        #expect(error.line == 3)
        #expect(error.message.contains("$INCLUDE"))
    }

    @Test("zone-level mistakes name the file, without a line", arguments: [
        ("$ORIGIN lan.\na IN A 192.0.2.1\n", "no SOA record"),
        ("a IN A 192.0.2.1\nlan. IN SOA ns host 1 2 3 4 5\n", "a. A is outside the zone lan."),
        ("$ORIGIN lan.\n@ IN SOA ns host 1 2 3 4 5\nx.other. IN A 192.0.2.1\n", "x.other. A is outside the zone lan."),
        ("$ORIGIN lan.\n@ IN SOA ns host 1 2 3 4 5\nw IN CNAME a\nw IN A 192.0.2.1\n", "w.lan. CNAME and other data (A)"),
        ("$ORIGIN lan.\n@ IN SOA ns host 1 2 3 4 5\nw IN CNAME a\nw IN CNAME b\n", "more than one CNAME"),
        ("$ORIGIN lan.\n@ IN SOA ns host 1 2 3 4 5\nw CH A 192.0.2.1\n", "class 3 is not IN"),
        ("$TTL 60\n@ IN SOA ns host 1 2 3 4 5\n", "the SOA is at the root"),
    ])
    func zoneLevelMistakes(text: String, expected: String) throws {
        let directory = TemporaryZoneDirectory()
        let file = directory.write("z.zone", text)
        let error = try #require(loadError(directory.path))
        #expect(error.file == file)
        #expect(error.line == nil)
        #expect(error.message.contains(expected), "\(error)")
    }

    @Test func unreadableDirectoryIsAnError() throws {
        let directory = TemporaryZoneDirectory()
        let missing = directory.path + "/missing"
        let error = try #require(loadError(missing))
        #expect(error.file == missing)
        #expect(error.line == nil)
        #expect(error.message == "cannot read directory: No such file or directory")

        let notDirectory = directory.write("plain", "")
        #expect(loadError(notDirectory)?.message == "cannot read directory: Not a directory")
    }

    @Test func zoneFileThatIsADirectoryIsAnError() throws {
        let directory = TemporaryZoneDirectory()
        let file = directory.makeSubdirectory("odd.zone")
        let error = try #require(loadError(directory.path))
        #expect(error.file == file)
        #expect(error.message == "not a regular file")
    }

    @Test func duplicateZoneIsAnError() throws {
        let directory = TemporaryZoneDirectory()
        let first = directory.write("a.zone", Self.lan)
        let second = directory.write("b.zone", "$ORIGIN LAN.\n@ IN SOA ns host 1 2 3 4 5\n")
        let error = try #require(loadError(directory.path))
        #expect(error.file == second)
        #expect(error.message == "zone LAN. is already loaded from \(first)")
    }
}
