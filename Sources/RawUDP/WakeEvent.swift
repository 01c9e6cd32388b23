import CRawUDP
#if canImport(Glibc)
import Glibc
#endif

/// An eventfd one thread writes to wake others' epoll_wait. Two uses:
/// - a stop signal (bench-limit's workers): nobody consumes it, so it stays
///   readable and every thread's level-triggered epoll sees it, however many
///   registered it and however late one starts polling;
/// - a doorbell (a daemon loop's mailbox): its one owner consumes it when epoll
///   reports it, so the next signal wakes the owner again.
/// Threads share it by its raw descriptor, so it must outlive them.
public final class WakeEvent: Sendable {
    public let descriptor: OwnedFileDescriptor

    public init() throws(SystemCallError) {
        let fd = try systemCallOrThrow("eventfd") { eventfd(0, Int32(EFD_CLOEXEC | EFD_NONBLOCK)) }
        descriptor = OwnedFileDescriptor(taking: fd)
    }

    /// Safe from any thread and more than once: the counter only grows.
    public func signal() {
        var one: UInt64 = 1
        let fd = descriptor.rawValue
        // EAGAIN would mean the counter is at its maximum: it is readable already.
        _ = try? systemCall("write(eventfd)", wouldBlockIsNil: true) { write(fd, &one, MemoryLayout<UInt64>.size) }
    }

    /// Resets the counter; for the doorbell's owner, once epoll reported it readable.
    public func consume() {
        var counter: UInt64 = 0
        let fd = descriptor.rawValue
        // EAGAIN: already reset; nothing is lost either way.
        _ = try? systemCall("read(eventfd)", wouldBlockIsNil: true) { read(fd, &counter, MemoryLayout<UInt64>.size) }
    }
}
