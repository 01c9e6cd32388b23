import DNSForward
import RawUDP
import Testing
@testable import DNSServer

@Suite("Client admission")
struct ClientAdmissionTests {
    private let lan = IPAddress("192.168.1.20")!
    private let wan = IPAddress("203.0.113.9")!

    @Test func defaultRangesAdmitPrivateAndRefuseTheRest() {
        var admission = ClientAdmission(allowed: IPPrefix.privateRanges, refusedAction: .refuse, rateLimit: nil)
        let now = MonotonicInstant.now
        #expect(admission.admit(lan, now: now) == .admit)
        #expect(admission.admit(IPAddress("fd12::1")!, now: now) == .admit)
        #expect(admission.admit(IPAddress("127.0.0.1")!, now: now) == .admit)
        #expect(admission.admit(wan, now: now) == .refuse)
        #expect(admission.admit(IPAddress("2001:db8::1")!, now: now) == .refuse)
        #expect(admission.counters.refused == 2)
    }

    @Test func dropActionIsSilent() {
        var admission = ClientAdmission(allowed: [IPPrefix("192.0.2.0/24")!], refusedAction: .drop, rateLimit: nil)
        #expect(admission.admit(wan, now: .now) == .drop)
        #expect(admission.counters.ignored == 1)
    }

    @Test func rateLimitAllowsTheBurstThenTheRate() {
        var admission = ClientAdmission(allowed: IPPrefix.privateRanges, refusedAction: .refuse, rateLimit: 10)
        let start = MonotonicInstant.now
        let first = (0..<50).filter { _ in admission.admit(lan, now: start) == .admit }.count
        #expect(first == 20, "burst is twice the rate")
        #expect(admission.counters.rateLimited == 30)
        // Half a second refills 5 tokens.
        let later = (0..<50).filter { _ in admission.admit(lan, now: start + .milliseconds(500)) == .admit }.count
        #expect(later == 5)
        // Another client has its own bucket.
        #expect(admission.admit(IPAddress("192.168.1.21")!, now: start) == .admit)
    }

    @Test func limiterForgetsIdleClientsWhenFull() {
        var limiter = ClientRateLimiter(rate: 100, capacity: 4)
        let start = MonotonicInstant.now
        for host in 1...4 { _ = limiter.allow(.v4(IPv4Address(10, 0, 0, UInt8(host))), now: start) }
        #expect(limiter.trackedClients == 4)
        _ = limiter.allow(IPAddress("10.0.0.9")!, now: start + .seconds(5))
        #expect(limiter.trackedClients == 1, "idle buckets were full again and were dropped")
    }

    @Test func refusalsAreCappedWithoutARateLimit() {
        var admission = ClientAdmission(allowed: [IPPrefix("192.168.0.0/16")!], refusedAction: .refuse, rateLimit: nil,
                                        refusedRate: 100)
        let start = MonotonicInstant.now
        // Spoofed outsiders, a different address each time: the cap is for all of them together.
        let outsiders = (0..<1000).map { IPAddress.v4(IPv4Address(203, 0, 113, UInt8($0 % 250))) }
        let refused = outsiders.filter { admission.admit($0, now: start) == .refuse }.count
        #expect(refused == 100, "the burst is one second's worth")
        #expect(admission.counters.refused == 100)
        #expect(admission.counters.refusedDropped == 900)
        // Half a second later: fifty more; clients inside --allow are untouched by the cap.
        let later = outsiders.filter { admission.admit($0, now: start + .milliseconds(500)) == .refuse }.count
        #expect(later == 50)
        let steady = (1...10).map { step in
            outsiders.prefix(20).filter { admission.admit($0, now: start + .milliseconds(500 + step * 100)) == .refuse }.count
        }
        #expect(steady == Array(repeating: 10, count: 10), "then 100 a second")
        #expect(admission.admit(lan, now: start + .milliseconds(100)) == .admit)
    }

    @Test func dropActionIsNotCountedAgainstTheCap() {
        var admission = ClientAdmission(allowed: [IPPrefix("192.0.2.0/24")!], refusedAction: .drop, rateLimit: nil, refusedRate: 1)
        for _ in 0..<5 { #expect(admission.admit(wan, now: .now) == .drop) }
        #expect(admission.counters.ignored == 5)
        #expect(admission.counters.refusedDropped == 0)
    }

    @Test func workersShareTheCapAndReloadKeepsTheBucket() {
        let admission = ClientAdmission(allowed: [], refusedAction: .refuse, rateLimit: nil, refusedRate: 100)
        #expect(admission.sharing(among: 4).refusedRate == 25)
        #expect(admission.sharing(among: 0).refusedRate == 100)
        var old = admission.sharing(among: 1)
        let start = MonotonicInstant.now
        for _ in 0..<100 { _ = old.admit(wan, now: start) }
        var reloaded = admission.sharing(among: 1)
        reloaded.carryOver(from: old)
        #expect(reloaded.admit(wan, now: start) == .drop, "an empty bucket stays empty across SIGHUP")
        #expect(reloaded.counters.refused == 100)
    }
}
