import Testing
@testable import DNSForward

@Suite("Monotonic instants")
struct MonotonicInstantTests {
    @Test func arithmeticIsInNanoseconds() {
        let start = MonotonicInstant(nanoseconds: 1_000)
        #expect((start + .seconds(2)).nanoseconds == 2_000_001_000)
        #expect((start + .milliseconds(3)).nanoseconds == 3_001_000)
        #expect((start - .nanoseconds(500)).nanoseconds == 500)
        #expect(start.duration(to: start + .microseconds(7)) == .microseconds(7))
        #expect((start + .seconds(1)) - start == .seconds(1))
        #expect(start.advanced(by: .seconds(-1)) < start)
        var moving = start
        moving += .nanoseconds(1)
        #expect(moving > start && moving.nanoseconds == 1_001)
    }

    @Test func fractionsOfANanosecondAreDropped() {
        #expect(Duration(secondsComponent: 1, attosecondsComponent: 999_999_999).wholeNanoseconds == 1_000_000_000)
        #expect(Duration(secondsComponent: 0, attosecondsComponent: 1_500_000_000).wholeNanoseconds == 1)
    }

    @Test func hugeDurationsSaturate() {
        #expect(Duration.seconds(Int64.max).wholeNanoseconds == .max)
        #expect(Duration.seconds(Int64.min).wholeNanoseconds == .min)
    }

    @Test func nowMovesForward() {
        let first = MonotonicInstant.now
        var later = MonotonicInstant.now
        while later == first { later = .now }
        #expect(later > first)
        #expect(first.duration(to: later) < .seconds(1))
    }
}
