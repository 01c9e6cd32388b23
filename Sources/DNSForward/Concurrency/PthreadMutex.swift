#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A pthread mutex: the cache's shards, and every lock the daemon and the CLI take.
///
/// Why the heap: a `pthread_mutex_t` must stay at the address it was
/// initialized at, and Swift promises no stable address for a stored
/// property; allocated once here, it stays put until `deinit`. Why not
/// Foundation's `NSLock`: DNSForward does not import Foundation, and the hit
/// path should not call through an open class for a lock. Why not
/// `Synchronization.Mutex`: it owns the value it guards, and handing a cache
/// entry (a class reference) out of its `withLock` runs into Swift 6's region
/// checks.
///
/// `@unchecked Sendable`: the only stored property is a pointer set once in
/// `init`; what it points to is meant to be shared, and pthread serializes it.
public final class PthreadMutex: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    public init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        Self.check(pthread_mutex_init(mutex, nil), "pthread_mutex_init")
    }

    deinit {
        Self.check(pthread_mutex_destroy(mutex), "pthread_mutex_destroy")
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    /// Runs `body` holding the mutex. Not reentrant: `body` must not lock it again.
    @inline(__always)
    public func withLock<Result>(_ body: () throws -> Result) rethrows -> Result {
        Self.check(pthread_mutex_lock(mutex), "pthread_mutex_lock")
        defer { Self.check(pthread_mutex_unlock(mutex), "pthread_mutex_unlock") }
        return try body()
    }

    /// The pthread calls return their error number rather than setting errno.
    /// On a default mutex they fail only on misuse (EINVAL, EBUSY for
    /// destroying a locked one, EPERM for unlocking another thread's): a bug,
    /// not a condition to recover from.
    @inline(__always)
    private static func check(_ status: Int32, _ call: StaticString) {
        if status != 0 { fail(status, call) }
    }

    private static func fail(_ status: Int32, _ call: StaticString) -> Never {
        let text = strerror(status).map { String(cString: $0) } ?? "unknown error"
        fatalError("\(call) failed: \(text) (errno \(status))")
    }
}
