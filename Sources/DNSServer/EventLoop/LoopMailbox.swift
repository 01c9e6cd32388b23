import DNSForward
import RawUDP

/// How one event loop asks another to do something: jobs that run on the
/// receiving loop's own thread between packets, and a stop request. An eventfd
/// in the receiver's epoll set wakes it, so a loop asleep in epoll_wait
/// answers at once and a busy one picks the mail up after its current round.
final class LoopMailbox: @unchecked Sendable {
    // @unchecked: `jobs` and `stopRequested` are touched only with `lock` held;
    // the eventfd is written from any thread and read only by the owner.
    typealias Job = (ServerLoop) -> Void

    let wake: WakeEvent
    private let lock = PthreadMutex()
    private var jobs: [Job] = []
    private var stopRequested = false

    init() throws(SystemCallError) {
        wake = try WakeEvent()
    }

    /// Runs `job` on the owning loop's thread, soon. Safe from any thread.
    func post(_ job: @escaping Job) {
        lock.withLock { jobs.append(job) }
        wake.signal()
    }

    /// Asks the owning loop to stop after its current round.
    func requestStop() {
        lock.withLock { stopRequested = true }
        wake.signal()
    }

    /// On the owning thread, when the eventfd is readable: the jobs posted so
    /// far, and whether to stop. Reading the eventfd first re-arms it, so a post
    /// that lands after this read wakes the loop again.
    func collect() -> (jobs: [Job], stop: Bool) {
        wake.consume()
        return lock.withLock {
            let taken = jobs
            jobs.removeAll()
            return (taken, stopRequested)
        }
    }
}
