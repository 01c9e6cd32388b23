import DNSForward
import RawUDP
import Testing
@testable import DNSServer

@Suite("--upstream values: plain and tls:// (RFC 7858)")
struct UpstreamAddressTests {
    @Test func plainAddressesKeepPort53AndNoTLS() throws {
        let v4 = try #require(UpstreamAddress("198.51.100.53"))
        #expect(v4.endpoint == IPEndpoint("198.51.100.53", defaultPort: 53))
        #expect(v4.tls == nil)
        #expect(v4.description == "198.51.100.53:53")
        #expect(UpstreamAddress("[2001:db8::53]:5300")?.endpoint.port == 5300)
    }

    @Test func tlsDefaultsToPort853AndTheAddressAsTheName() throws {
        let address = try #require(UpstreamAddress("tls://198.51.100.53"))
        #expect(address.endpoint == IPEndpoint("198.51.100.53", defaultPort: 853))
        #expect(address.tls == TLSUpstream(serverName: nil))
        #expect(address.description == "tls://198.51.100.53:853")
    }

    @Test func tlsWithPortAndNameLowercasesTheName() throws {
        let address = try #require(UpstreamAddress("tls://198.51.100.53:8853#DoT.Example.test"))
        #expect(address.endpoint.port == 8853)
        #expect(address.tls?.serverName == "dot.example.test")
        #expect(address.description == "tls://198.51.100.53:8853#dot.example.test")
        let v6 = try #require(UpstreamAddress("tls://[2001:db8::53]#dns.example.test"))
        #expect(v6.endpoint == IPEndpoint("[2001:db8::53]:853", defaultPort: 53))
        #expect(v6.tls?.serverName == "dns.example.test")
    }

    @Test("rejected", arguments: ["tls://", "tls://#name.test", "tls://198.51.100.53#", "tls://198.51.100.53#bad name",
                                  "tls://198.51.100.53#a..b", "tls://198.51.100.53#.lead", "tls://dot.example.test",
                                  "https://198.51.100.53", "tls://198.51.100.53:99999", "tls://2001:db8::53]:853"])
    func rejected(text: String) {
        #expect(UpstreamAddress(text) == nil)
    }

    @Test func spkiPinsAreSha256OfThirtyTwoBytes() throws {
        let text = "sha256/" + String(repeating: "A", count: 43) + "="
        let pin = try #require(SPKIPin(text))
        #expect(pin.digest == [UInt8](repeating: 0, count: 32))
        #expect(pin.description == text)
        #expect(SPKIPin("sha1/" + String(repeating: "A", count: 27) + "=") == nil)
        #expect(SPKIPin("sha256/AAAA") == nil, "3 bytes, not 32")
        #expect(SPKIPin("sha256/not base64!") == nil)
    }
}

@Suite("TLS reconnect backoff")
struct ReconnectBackoffTests {
    @Test func doublesUpToTheMaximumAndClearsOnSuccess() {
        let start = MonotonicInstant.now
        var backoff = ReconnectBackoff()
        #expect(backoff.allowsConnect(now: start))
        backoff.recordFailure(now: start)
        #expect(!backoff.allowsConnect(now: start + .milliseconds(249)))
        #expect(backoff.allowsConnect(now: start + .milliseconds(250)))
        backoff.recordFailure(now: start)
        #expect(!backoff.allowsConnect(now: start + .milliseconds(499)))
        for _ in 0..<10 { backoff.recordFailure(now: start) }
        #expect(backoff.retryAt == start + ReconnectBackoff.maximum)
        backoff.recordSuccess()
        #expect(backoff.allowsConnect(now: start))
    }
}
