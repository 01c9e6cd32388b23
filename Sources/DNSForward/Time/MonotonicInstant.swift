#if canImport(Glibc)
import Glibc
#endif

/// A point on CLOCK_MONOTONIC, in nanoseconds: what the daemon stamps
/// queries, deadlines, cache entries and RTTs with. The same meaning as
/// `MonotonicInstant`, but a plain fixed-size value: the standard
/// library's instant is a resilient type, so every struct holding one (an
/// upstream attempt, a cache entry, a reply's details) was copied and
/// destroyed through runtime metadata calls, several per query on the miss path.
public struct MonotonicInstant: Comparable, Hashable, Sendable {
    /// Nanoseconds since an arbitrary start (boot).
    public let nanoseconds: Int64

    @inline(__always)
    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    public static var now: MonotonicInstant {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return MonotonicInstant(nanoseconds: Int64(time.tv_sec) &* 1_000_000_000 &+ Int64(time.tv_nsec))
    }

    @inline(__always)
    public static func < (left: MonotonicInstant, right: MonotonicInstant) -> Bool { left.nanoseconds < right.nanoseconds }

    public func advanced(by duration: Duration) -> MonotonicInstant {
        MonotonicInstant(nanoseconds: nanoseconds &+ duration.wholeNanoseconds)
    }

    public func duration(to other: MonotonicInstant) -> Duration { .nanoseconds(other.nanoseconds &- nanoseconds) }

    public static func + (instant: MonotonicInstant, duration: Duration) -> MonotonicInstant { instant.advanced(by: duration) }

    public static func - (instant: MonotonicInstant, duration: Duration) -> MonotonicInstant {
        MonotonicInstant(nanoseconds: instant.nanoseconds &- duration.wholeNanoseconds)
    }

    public static func - (later: MonotonicInstant, earlier: MonotonicInstant) -> Duration { earlier.duration(to: later) }

    public static func += (instant: inout MonotonicInstant, duration: Duration) { instant = instant + duration }
}

extension Duration {
    /// Whole nanoseconds, saturating: our durations are timeouts and TTLs, far inside ±292 years.
    var wholeNanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        return scaled.addingReportingOverflow(attoseconds / 1_000_000_000).overflow ? .max : scaled + attoseconds / 1_000_000_000
    }
}
