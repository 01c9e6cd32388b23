import RawUDP
import Testing

@Suite struct IPAddressTests {
    // MARK: IPv4

    @Test(arguments: [
        ("192.0.2.1", 0xC000_0201),
        ("0.0.0.0", 0),
        ("255.255.255.255", 0xFFFF_FFFF),
        ("198.51.100.0", 0xC633_6400),
        ("203.0.113.255", 0xCB00_71FF),
    ] as [(String, UInt32)])
    func ipv4Parses(text: String, value: UInt32) throws {
        let address = try #require(IPv4Address(text))
        #expect(address.value == value)
        #expect(address.description == text)
        #expect(address == IPv4Address(value))
    }

    @Test func ipv4Octets() {
        let address = IPv4Address(192, 0, 2, 1)
        #expect(address.value == 0xC000_0201)
        #expect(address.octets == [192, 0, 2, 1])
        #expect(IPv4Address(Substring("192.0.2.1")) == address)
    }

    @Test(arguments: [
        "", "256.1.1.1", "1.256.1.1", "1.2.3.999", "1.2.3", "1.2.3.4.5", "1..2.3", ".1.2.3", "1.2.3.",
        "1.2.3.4 ", " 1.2.3.4", "a.b.c.d", "0x1.2.3.4", "1.2.3.0004", "1.2.3.-1", "127.1", "1.2.3.4/24",
        "١.2.3.4", "1.2.3.4:53", "::1",
        // Integer parsing takes a sign; an address does not (inet_pton rejects these).
        "+1.2.3.4", "1.2.3.+4", "-0.0.0.0",
    ])
    func ipv4Rejects(text: String) {
        #expect(IPv4Address(text) == nil)
    }

    /// Leading zeros are rejected, as glibc's inet_pton does: inet_aton reads
    /// "010" as octal 8, so such text means different addresses to different tools.
    @Test(arguments: ["01.2.3.4", "010.0.0.1", "192.000.002.001", "00.0.0.0"])
    func ipv4LeadingZerosAreRejected(text: String) {
        #expect(IPv4Address(text) == nil)
    }

    // MARK: IPv6

    @Test(arguments: [
        ("2001:db8::1", "2001:db8::1"),
        ("::", "::"),
        ("::1", "::1"),
        ("1::", "1::"),
        ("2001:db8::", "2001:db8::"),
        ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        ("2001:DB8::ABCD", "2001:db8::abcd"),
        // RFC 5952 4.2.3: of equal runs, the first is shortened.
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
        // 4.2.3: the longest run.
        ("2001:0:0:1:0:0:0:1", "2001:0:0:1::1"),
        // 4.2.2: a single 0 group is not shortened.
        ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),
        ("1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"),
        ("::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8"),
        ("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"),
        ("0:0:0:0:0:0:0:0", "::"),
        ("2001:db8:0:0:0:0:0:0", "2001:db8::"),
        ("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"),
        ("2001:db8::192.0.2.1", "2001:db8::c000:201"),
        ("2001:db8:1:2:3:4:198.51.100.7", "2001:db8:1:2:3:4:c633:6407"),
    ])
    func ipv6CanonicalText(text: String, canonical: String) throws {
        let address = try #require(IPv6Address(text))
        #expect(address.description == canonical)
        #expect(IPv6Address(canonical) == address)
    }

    @Test func ipv6Halves() throws {
        let address = try #require(IPv6Address("2001:db8:1:2:3:4:5:6"))
        #expect(address.high == 0x2001_0DB8_0001_0002)
        #expect(address.low == 0x0003_0004_0005_0006)
        #expect(address.octets == [0x20, 0x01, 0x0D, 0xB8, 0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6])
        #expect(IPv6Address(octets: address.octets) == address)
    }

    @Test(arguments: [
        "", ":", ":::", "::::", ":::1", "1:::2", "1::2::3", "12345::", "::12345", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9",
        "1:2:3:4:5:6:7:8::", "::1:2:3:4:5:6:7:8", "1:2:3:4::5:6:7:8", ":1::", "1::2:", ":1:2:3:4:5:6:7:8",
        "1:2:3:4:5:6:7:8:", "g::1", "2001:db8::1 ", " 2001:db8::1", "[::1]", "fe80::1%eth0", "::ffff:192.0.2",
        "::ffff:192.0.2.256", "1.2.3.4::", "::1.2.3.4:5", "1:2:3:4:5:6:7:1.2.3.4", "192.0.2.1", "2001:db8::1/64",
        "2001:db8::ü",
        // A sign is not a hex digit, though integer parsing takes one.
        "+1::", "::+1", "::-0", "2001:db8::+ab",
    ])
    func ipv6Rejects(text: String) {
        #expect(IPv6Address(text) == nil)
    }

    @Test func mappedIPv4() throws {
        let mapped = try #require(IPv6Address("::ffff:192.0.2.1"))
        #expect(mapped.high == 0)
        #expect(mapped.low == 0x0000_FFFF_C000_0201)
        #expect(mapped.mappedIPv4 == IPv4Address(192, 0, 2, 1))
        #expect(IPv6Address("::FFFF:c000:0201") == mapped)
        #expect(IPv6Address(mapping: IPv4Address(192, 0, 2, 1)) == mapped)
        #expect(IPv6Address(mapped.description) == mapped)

        // Near misses are not mapped: IPv4-compatible (deprecated), NAT64, other prefixes.
        for text in ["::192.0.2.1", "64:ff9b::192.0.2.1", "::fffe:192.0.2.1", "1::ffff:192.0.2.1", "::1:ffff:192.0.2.1"] {
            #expect(try #require(IPv6Address(text)).mappedIPv4 == nil, "\(text)")
        }
    }

    @Test func ipv6RoundTripsRandomAddresses() throws {
        var random = SplitMix64(seed: 0x5EED_0008)
        for _ in 0..<2_000 {
            // Mostly-zero groups, so "::" lands everywhere and in runs of every length.
            let groups = (0..<8).map { _ in Bool.random(using: &random) ? 0 : UInt64.random(in: 0...0xFFFF, using: &random) }
            let address = IPv6Address(
                high: groups[0..<4].reduce(0) { $0 << 16 | $1 }, low: groups[4..<8].reduce(0) { $0 << 16 | $1 })
            let text = address.description
            #expect(IPv6Address(text) == address, "\(text)")
            #expect(text == text.lowercased())
            #expect(!text.contains(":::"))
            #expect(text.ranges(of: "::").count <= 1, "\(text)")
        }
    }

    // MARK: IPAddress

    @Test func ipAddressFamilies() throws {
        let v4 = try #require(IPAddress("192.0.2.1"))
        #expect(v4 == .v4(IPv4Address(192, 0, 2, 1)))
        #expect(v4.isIPv4)
        #expect(v4.description == "192.0.2.1")

        let v6 = try #require(IPAddress("2001:DB8::1"))
        #expect(v6 == .v6(try #require(IPv6Address("2001:db8::1"))))
        #expect(!v6.isIPv4)
        #expect(v6.description == "2001:db8::1")

        #expect(IPAddress("example.com") == nil)
        #expect(IPAddress("") == nil)
    }

    /// Text stays what it says; folding a mapped address is `init(normalizing:)`'s job.
    @Test func normalizingFoldsMappedAddresses() throws {
        let mapped = try #require(IPv6Address("::ffff:192.0.2.1"))
        #expect(IPAddress("::ffff:192.0.2.1") == .v6(mapped))
        #expect(IPAddress(normalizing: mapped) == .v4(IPv4Address(192, 0, 2, 1)))
        let plain = try #require(IPv6Address("2001:db8::1"))
        #expect(IPAddress(normalizing: plain) == .v6(plain))
    }

    // MARK: IPEndpoint

    @Test(arguments: [
        ("192.0.2.1:53", "192.0.2.1", 53, "192.0.2.1:53"),
        ("192.0.2.1", "192.0.2.1", 853, "192.0.2.1:853"),
        ("203.0.113.9:0", "203.0.113.9", 0, "203.0.113.9:0"),
        ("198.51.100.1:65535", "198.51.100.1", 65535, "198.51.100.1:65535"),
        ("[2001:db8::1]:5353", "2001:db8::1", 5353, "[2001:db8::1]:5353"),
        ("[2001:db8::1]", "2001:db8::1", 853, "[2001:db8::1]:853"),
        ("2001:db8::1", "2001:db8::1", 853, "[2001:db8::1]:853"),
        ("[::]:53", "::", 53, "[::]:53"),
        ("::", "::", 853, "[::]:853"),
        ("[2001:db8::192.0.2.1]:53", "2001:db8::c000:201", 53, "[2001:db8::c000:201]:53"),
        // Without brackets a trailing ":53" is a group, not a port (RFC 5952 section 6).
        ("2001:db8::1:53", "2001:db8::1:53", 853, "[2001:db8::1:53]:853"),
    ] as [(String, String, UInt16, String)])
    func endpointParses(text: String, address: String, port: UInt16, description: String) throws {
        let endpoint = try #require(IPEndpoint(text, defaultPort: 853))
        #expect(endpoint.address == IPAddress(address))
        #expect(endpoint.port == port)
        #expect(endpoint.description == description)
        #expect(IPEndpoint(description, defaultPort: 1) == endpoint)
    }

    @Test(arguments: [
        "", ":53", "192.0.2.1:", "192.0.2.1:65536", "192.0.2.1:-1", "192.0.2.1:53:53", "192.0.2.1:port",
        "192.0.2.1 :53", "192.0.2.1: 53", "256.0.2.1:53", "[192.0.2.1]:53", "[2001:db8::1]:", "[2001:db8::1]53",
        "[2001:db8::1]:65536", "[2001:db8::1", "2001:db8::1]:53", "[]:53", "[]", "[[2001:db8::1]]:53",
        "[2001:db8::1]:53]", "[2001:db8::1%eth0]:53", "example.com:53",
        // A sign is not part of a port.
        "192.0.2.1:+53", "[2001:db8::1]:+53",
    ])
    func endpointRejects(text: String) {
        #expect(IPEndpoint(text, defaultPort: 53) == nil)
    }
}
