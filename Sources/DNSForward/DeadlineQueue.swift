/// Upstream attempt deadlines in the order they fall due. Every attempt gets
/// the same timeout, so appending keeps the queue sorted: no heap needed.
/// Entries for attempts already finished stay until they reach the head and
/// are skipped there.
struct DeadlineQueue {
    struct Entry {
        let token: UInt64
        let deadline: ContinuousClock.Instant
    }

    private var entries: [Entry] = []
    private var head = 0

    var first: Entry? { head < entries.count ? entries[head] : nil }

    mutating func append(token: UInt64, deadline: ContinuousClock.Instant) {
        entries.append(Entry(token: token, deadline: deadline))
    }

    mutating func removeFirst() {
        head += 1
        // Compact once the consumed prefix dominates, keeping appends amortised O(1).
        if head > 1024, head * 2 > entries.count {
            entries.removeFirst(head)
            head = 0
        }
    }
}
