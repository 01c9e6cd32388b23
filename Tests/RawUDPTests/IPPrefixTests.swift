import Testing
import RawUDP

@Suite("IP prefixes")
struct IPPrefixTests {
    @Test(arguments: [
        ("192.0.2.0/24", "192.0.2.77", true), ("192.0.2.0/24", "192.0.3.1", false),
        ("0.0.0.0/0", "203.0.113.5", true), ("10.1.2.3/32", "10.1.2.3", true), ("10.1.2.3/32", "10.1.2.4", false),
        ("2001:db8::/32", "2001:db8:ffff::1", true), ("2001:db8::/32", "2001:db9::1", false),
        ("2001:db8:1::/64", "2001:db8:1::10", true), ("2001:db8:1::/96", "2001:db8:1::1:0:0", false),
        ("::/0", "::1", true), ("fe80::/10", "febf::1", true), ("fe80::/10", "fec0::1", false),
        ("192.0.2.0/24", "2001:db8::1", false), ("2001:db8::/32", "192.0.2.1", false),
    ])
    func containment(prefix: String, address: String, expected: Bool) throws {
        let prefix = try #require(IPPrefix(prefix))
        let address = try #require(IPAddress(address))
        #expect(prefix.contains(address) == expected)
    }

    @Test func hostBitsAreClearedAndBareAddressesAreHosts() {
        #expect(IPPrefix("192.0.2.77/24")?.description == "192.0.2.0/24")
        #expect(IPPrefix("2001:db8::1/32")?.description == "2001:db8::/32")
        #expect(IPPrefix("192.0.2.1")?.description == "192.0.2.1/32")
        #expect(IPPrefix("2001:db8::1")?.length == 128)
    }

    @Test(arguments: ["192.0.2.0/33", "2001:db8::/129", "192.0.2.0/", "/24", "192.0.2.0/+8", "192.0.2.0/8/8", "example/8"])
    func invalid(text: String) {
        #expect(IPPrefix(text) == nil)
    }
}
