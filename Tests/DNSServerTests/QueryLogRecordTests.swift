import DNSForward
import Glibc
import RawUDP
import Testing
@testable import DNSServer

@Suite("Query log line format")
struct QueryLogRecordTests {
    private func record(question: DNSQuestion?, latency: Duration, transport: Transport = .udp) -> QueryLogRecord {
        QueryLogRecord(wallClock: timespec(tv_sec: 1_764_089_091, tv_nsec: 123_999_999),
                       client: IPEndpoint("192.0.2.10:40000", defaultPort: 53)!,
                       originalDestination: IPEndpoint("[2001:db8::53]:53", defaultPort: 53)!,
                       transport: transport, question: question, code: .nameError, answeredFrom: "upstream:198.51.100.53:53",
                       latency: latency)
    }

    @Test func oneLineWithEveryField() {
        let question = DNSQuestion(name: DNSName(presentation: "www.Example.test")!, type: 28, class: 1)
        let line = record(question: question, latency: .microseconds(80)).line
        #expect(line == "2025-11-25T16:44:51.123Z client=192.0.2.10:40000 server=[2001:db8::53]:53 proto=udp"
            + " name=www.Example.test. type=AAAA rcode=NXDOMAIN from=upstream:198.51.100.53:53 latency_ms=0.080\n")
    }

    @Test func aQueryWithoutAQuestionAndASlowAnswer() {
        let line = record(question: nil, latency: .milliseconds(2_500) + .microseconds(7), transport: .tcp).line
        #expect(line.contains(" proto=tcp name=- type=- "))
        #expect(line.hasSuffix(" latency_ms=2500.007\n"))
    }
}
