/// Upstream attempt deadlines, earliest first (a binary min-heap). Entries for
/// attempts already finished stay until they reach the top and are skipped
/// there, so finishing an attempt costs nothing here.
struct DeadlineQueue {
    struct Entry {
        let token: UInt64
        let deadline: MonotonicInstant
    }

    private var heap: [Entry] = []

    var first: Entry? { heap.first }
    var count: Int { heap.count }

    mutating func append(token: UInt64, deadline: MonotonicInstant) {
        heap.append(Entry(token: token, deadline: deadline))
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].deadline < heap[parent].deadline else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    mutating func removeFirst() {
        guard !heap.isEmpty else { return }
        let last = heap.removeLast()
        guard !heap.isEmpty else { return }
        heap[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < heap.count, heap[left].deadline < heap[smallest].deadline { smallest = left }
            if right < heap.count, heap[right].deadline < heap[smallest].deadline { smallest = right }
            guard smallest != parent else { return }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
