import Testing
@testable import DNSForward

@Suite("Upstream deadline queue")
struct DeadlineQueueTests {
    let start = MonotonicInstant.now

    func drain(_ queue: inout DeadlineQueue) -> [UInt64] {
        var tokens: [UInt64] = []
        while let first = queue.first {
            tokens.append(first.token)
            queue.removeFirst()
        }
        return tokens
    }

    @Test func comesOutEarliestFirstWhateverTheInsertionOrder() {
        var queue = DeadlineQueue()
        let offsets = [700, 100, 900, 300, 0, 800, 200, 600, 400, 500]
        for (token, offset) in offsets.enumerated() {
            queue.append(token: UInt64(token), deadline: start + .milliseconds(offset))
        }
        #expect(queue.count == offsets.count)
        let expected = offsets.enumerated().sorted { $0.element < $1.element }.map { UInt64($0.offset) }
        #expect(drain(&queue) == expected)
        #expect(queue.count == 0)
    }

    @Test func randomDeadlinesNeverComeOutOfOrder() {
        var generator = SystemRandomNumberGenerator()
        var queue = DeadlineQueue()
        var deadlines: [UInt64: MonotonicInstant] = [:]
        for token in 0..<500 as Range<UInt64> {
            let deadline = start + .milliseconds(Int.random(in: 0..<50, using: &generator))
            deadlines[token] = deadline
            queue.append(token: token, deadline: deadline)
            if token % 3 == 0, let first = queue.first {
                // Interleave removals, as expire does.
                #expect(deadlines.values.min() == first.deadline)
                deadlines[first.token] = nil
                queue.removeFirst()
            }
        }
        var previous: MonotonicInstant?
        for token in drain(&queue) {
            let deadline = deadlines.removeValue(forKey: token)!
            if let previous { #expect(previous <= deadline) }
            previous = deadline
        }
        #expect(deadlines.isEmpty, "every token came out once")
    }

    @Test func equalDeadlinesAllComeOut() {
        var queue = DeadlineQueue()
        for token in 1...5 as ClosedRange<UInt64> { queue.append(token: token, deadline: start) }
        #expect(Set(drain(&queue)) == [1, 2, 3, 4, 5])
    }

    @Test func removingFromAnEmptyQueueDoesNothing() {
        var queue = DeadlineQueue()
        queue.removeFirst()
        #expect(queue.first == nil)
        queue.append(token: 7, deadline: start)
        queue.removeFirst()
        queue.removeFirst()
        #expect(queue.count == 0)
    }
}
