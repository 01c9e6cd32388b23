import CRawUDP
#if canImport(Glibc)
import Glibc
#endif

/// An eventfd one thread writes to wake another's epoll_wait; the owner
/// consumes it, so it wakes again on the next signal (unlike ShutdownEvent,
/// which stays readable for good).
public final class WakeEvent: Sendable {
    public let descriptor: OwnedFileDescriptor

    public init() throws(SystemCallError) {
        let fd = try systemCallOrThrow("eventfd") { eventfd(0, Int32(EFD_CLOEXEC | EFD_NONBLOCK)) }
        descriptor = OwnedFileDescriptor(taking: fd)
    }

    /// Safe from any thread, any number of times before the owner consumes.
    public func signal() {
        var one: UInt64 = 1
        let fd = descriptor.rawValue
        // EAGAIN would mean the counter is at its maximum: it is readable already.
        _ = try? systemCall("write(eventfd)", wouldBlockIsNil: true) { write(fd, &one, MemoryLayout<UInt64>.size) }
    }

    /// Resets the counter, on the owning thread once epoll reported it readable.
    public func consume() {
        var counter: UInt64 = 0
        let fd = descriptor.rawValue
        // EAGAIN: another consume already reset it; nothing is lost either way.
        _ = try? systemCall("read(eventfd)", wouldBlockIsNil: true) { read(fd, &counter, MemoryLayout<UInt64>.size) }
    }
}
