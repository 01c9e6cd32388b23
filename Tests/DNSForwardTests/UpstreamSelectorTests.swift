import Logging
import Testing
@testable import DNSForward

@Suite("Upstream selection and health")
struct UpstreamSelectorTests {
    let start = MonotonicInstant.now

    func selector(_ count: Int = 3, policy: UpstreamPolicy = .ordered) -> UpstreamSelector {
        UpstreamSelector(names: (0..<count).map { "upstream\($0)" }, policy: policy, downAfter: 3,
                         probeInterval: .seconds(5), logger: Logger(label: "test"))
    }

    func at(_ seconds: Double) -> MonotonicInstant { start + .milliseconds(Int64(seconds * 1000)) }

    func markDown(_ selector: UpstreamSelector, _ index: Int, at seconds: Double) {
        for _ in 0..<3 { selector.recordFailure(index, now: at(seconds)) }
    }

    @Test func orderedPolicyTriesConfigurationOrderThenTheDownOnes() {
        let selector = selector()
        #expect(selector.plan() == [0, 1, 2])
        markDown(selector, 0, at: 0)
        #expect(selector.plan() == [1, 2, 0], "down last: a slim chance beats none")
        markDown(selector, 2, at: 0)
        #expect(selector.plan() == [1, 0, 2])
    }

    @Test func fastestPolicyMeasuresEveryUpstreamFirstThenPicksTheLowestRTT() {
        let selector = selector(policy: .fastest)
        #expect(selector.plan() == [0, 1, 2], "nothing measured: configuration order")
        selector.recordSuccess(0, rtt: .milliseconds(30), sentAt: at(0))
        #expect(selector.plan() == [1, 2, 0], "unmeasured ones first")
        selector.recordSuccess(1, rtt: .milliseconds(10), sentAt: at(0))
        selector.recordSuccess(2, rtt: .milliseconds(20), sentAt: at(0))
        #expect(selector.plan() == [1, 2, 0])
        markDown(selector, 1, at: 1)
        #expect(selector.plan() == [2, 0, 1], "the fastest is down: after the healthy ones")
    }

    @Test func aPlanIsSharedUntilTheOrderChanges() {
        let selector = selector(policy: .fastest)
        selector.recordSuccess(0, rtt: .milliseconds(10), sentAt: at(0))
        selector.recordSuccess(1, rtt: .milliseconds(20), sentAt: at(0))
        selector.recordSuccess(2, rtt: .milliseconds(30), sentAt: at(0))
        let first = selector.plan()
        #expect(first == [0, 1, 2])
        selector.recordSuccess(0, rtt: .milliseconds(12), sentAt: at(0))
        #expect(selector.plan() == [0, 1, 2], "a move that changes no order keeps the plan")
        first.withUnsafeBufferPointer { old in
            selector.plan().withUnsafeBufferPointer { new in #expect(old.baseAddress == new.baseAddress, "the same buffer") }
        }
        // 0's smoothed RTT climbs past 1's and 2's: 12 + (400 - 12) / 8 = 60 ms.
        selector.recordSuccess(0, rtt: .milliseconds(400), sentAt: at(0))
        #expect(selector.plan() == [1, 2, 0], "the order changed: a new plan")
        markDown(selector, 1, at: 1)
        #expect(selector.plan() == [2, 0, 1], "down: a new plan")
        selector.recordSuccess(1, rtt: .milliseconds(5), sentAt: at(2))
        #expect(selector.plan() == [1, 2, 0], "up again: a new plan")
    }

    @Test func orderedPlansChangeOnlyWithHealth() {
        let selector = selector()
        selector.recordSuccess(2, rtt: .milliseconds(1), sentAt: at(0))
        #expect(selector.plan() == [0, 1, 2], "RTTs do not reorder an ordered plan")
        markDown(selector, 0, at: 0)
        #expect(selector.plan() == [1, 2, 0])
    }

    @Test func smoothedRTTMovesAnEighthOfTheWay() {
        let selector = selector(1)
        selector.recordSuccess(0, rtt: .milliseconds(80), sentAt: at(0))
        #expect(selector.health[0].smoothedRTT == .milliseconds(80), "the first sample is taken whole")
        selector.recordSuccess(0, rtt: .milliseconds(160), sentAt: at(0))
        #expect(selector.health[0].smoothedRTT == .milliseconds(90))
        #expect(selector.health[0].latency.count == 2)
    }

    @Test func downOnlyAfterConsecutiveFailures() {
        let selector = selector(1)
        selector.recordFailure(0, now: at(0))
        selector.recordFailure(0, now: at(0))
        selector.recordSuccess(0, rtt: .milliseconds(5), sentAt: at(0))
        selector.recordFailure(0, now: at(1))
        selector.recordFailure(0, now: at(1))
        #expect(!selector.health[0].isDown, "a success in between resets the run")
        #expect(selector.health[0].failures == 4)
        #expect(selector.nextProbe == nil)
        selector.recordFailure(0, now: at(2))
        #expect(selector.health[0].isDown)
        #expect(selector.nextProbe == at(7))
    }

    @Test func probesComeDueEveryIntervalWhileDown() {
        let selector = selector(2)
        markDown(selector, 1, at: 10)
        #expect(selector.dueProbes(now: at(14.999)).isEmpty)
        #expect(selector.dueProbes(now: at(15)) == [1])
        #expect(selector.dueProbes(now: at(15)).isEmpty, "one probe per interval")
        #expect(selector.nextProbe == at(20))
        #expect(selector.dueProbes(now: at(21)) == [1])
        #expect(selector.nextProbe == at(26), "the next is scheduled from when this one went")
    }

    @Test func onlyAReplyToAQuerySentAfterTheOutageBringsItBack() {
        let selector = selector(2)
        markDown(selector, 0, at: 10)
        selector.recordSuccess(0, rtt: .seconds(1), sentAt: at(9))
        #expect(selector.health[0].isDown, "a late answer from before the outage")
        selector.recordSuccess(0, rtt: .milliseconds(5), sentAt: at(15))
        #expect(!selector.health[0].isDown)
        #expect(selector.nextProbe == nil)
        #expect(selector.dueProbes(now: at(100)).isEmpty)
        #expect(selector.plan() == [0, 1])
    }

    @Test func queriesAreCountedPerUpstream() {
        let selector = selector(2)
        selector.recordQuery(1)
        selector.recordQuery(1)
        #expect(selector.health.map(\.queries) == [0, 2])
    }
}

private extension UpstreamSelector {
    /// The plan over every upstream, as one set: what a forwarder without
    /// forward zones or routes asks for.
    func plan() -> [Int] { plan(set: 0, members: Array(health.indices)) }
}
