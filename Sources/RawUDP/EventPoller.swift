import CRawUDP
#if canImport(Glibc)
import Glibc
#endif

/// Level-triggered epoll over the daemon's descriptors. Each registration
/// carries a caller-chosen 64-bit token that comes back with its events.
public final class EventPoller {
    public struct Interest: OptionSet, Sendable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        public static let readable = Interest(rawValue: EPOLLIN.rawValue)
        public static let writable = Interest(rawValue: EPOLLOUT.rawValue)
    }

    public struct Event: Sendable {
        public let token: UInt64
        let flags: UInt32
        public var isReadable: Bool { flags & EPOLLIN.rawValue != 0 }
        public var isWritable: Bool { flags & EPOLLOUT.rawValue != 0 }
        /// Error or hang-up: reading tells which (EOF or the pending errno).
        public var isClosedOrFailed: Bool { flags & (EPOLLERR.rawValue | EPOLLHUP.rawValue) != 0 }
    }

    private let epoll: OwnedFileDescriptor
    private let events: UnsafeMutableBufferPointer<epoll_event>

    public init(capacity: Int = 256) throws(SystemCallError) {
        let fd = try systemCallOrThrow("epoll_create1") { epoll_create1(Int32(EPOLL_CLOEXEC)) }
        epoll = OwnedFileDescriptor(taking: fd)
        events = .allocate(capacity: capacity)
    }

    deinit { events.deallocate() }

    public func register(_ fd: Int32, token: UInt64, interest: Interest = .readable) throws(SystemCallError) {
        try control(EPOLL_CTL_ADD, fd, token: token, interest: interest, call: "epoll_ctl(ADD)")
    }

    public func modify(_ fd: Int32, token: UInt64, interest: Interest) throws(SystemCallError) {
        try control(EPOLL_CTL_MOD, fd, token: token, interest: interest, call: "epoll_ctl(MOD)")
    }

    /// Must be called before the descriptor is closed so no stale token fires.
    public func unregister(_ fd: Int32) {
        var event = epoll_event()
        // ENOENT/EBADF here mean it is already gone: nothing left to undo.
        _ = epoll_ctl(epoll.rawValue, EPOLL_CTL_DEL, fd, &event)
    }

    /// Waits up to `timeoutMilliseconds` (-1: forever) and calls `body` with
    /// each ready descriptor's event.
    public func wait(timeoutMilliseconds: Int32, _ body: (Event) -> Void) throws(SystemCallError) {
        let epfd = epoll.rawValue
        let capacity = Int32(events.count)
        let base = events.baseAddress
        let ready = try systemCallOrThrow("epoll_wait") { epoll_wait(epfd, base, capacity, timeoutMilliseconds) }
        for index in 0..<Int(ready) {
            body(Event(token: events[index].data.u64, flags: events[index].events))
        }
    }

    private func control(_ operation: Int32, _ fd: Int32, token: UInt64, interest: Interest, call: String) throws(SystemCallError) {
        var event = epoll_event()
        event.events = interest.rawValue
        event.data.u64 = token
        let epfd = epoll.rawValue
        _ = try systemCallOrThrow(call) { epoll_ctl(epfd, operation, fd, &event) }
    }
}
