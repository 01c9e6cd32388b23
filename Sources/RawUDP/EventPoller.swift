import CRawUDP
#if canImport(Glibc)
import Glibc
#endif

/// Level-triggered epoll over the daemon's descriptors. Each registration
/// carries a caller-chosen 64-bit token that comes back with its events.
public final class EventPoller {
    private let epoll: OwnedFileDescriptor
    private let events: UnsafeMutableBufferPointer<epoll_event>

    public init(capacity: Int = 256) throws(SystemCallError) {
        let fd = try systemCallOrThrow("epoll_create1") { epoll_create1(Int32(EPOLL_CLOEXEC)) }
        epoll = OwnedFileDescriptor(taking: fd)
        events = .allocate(capacity: capacity)
    }

    deinit { events.deallocate() }

    public func register(_ fd: Int32, token: UInt64) throws(SystemCallError) {
        var event = epoll_event()
        event.events = EPOLLIN.rawValue
        event.data.u64 = token
        let epfd = epoll.rawValue
        _ = try systemCallOrThrow("epoll_ctl(ADD)") { epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &event) }
    }

    /// Must be called before the descriptor is closed so no stale token fires.
    public func unregister(_ fd: Int32) {
        var event = epoll_event()
        // ENOENT/EBADF here mean it is already gone: nothing left to undo.
        _ = epoll_ctl(epoll.rawValue, EPOLL_CTL_DEL, fd, &event)
    }

    /// Waits up to `timeoutMilliseconds` (-1: forever) and calls `body` with
    /// the token of each ready descriptor.
    public func wait(timeoutMilliseconds: Int32, _ body: (UInt64) -> Void) throws(SystemCallError) {
        let epfd = epoll.rawValue
        let capacity = Int32(events.count)
        let base = events.baseAddress
        let ready: Int32
        do {
            ready = try systemCallOrThrow("epoll_wait") { epoll_wait(epfd, base, capacity, timeoutMilliseconds) }
        }
        for index in 0..<Int(ready) {
            body(events[index].data.u64)
        }
    }
}
