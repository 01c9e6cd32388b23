import CRawUDP
#if canImport(Glibc)
import Glibc
#endif

/// An eventfd that tells every worker thread to stop. Once `signal()` wrote to
/// it nobody reads it, so it stays readable: each thread's level-triggered
/// epoll sees it, however many threads registered it, and one that starts
/// polling late still sees it. Threads share it by its raw descriptor, so it
/// must outlive them.
public final class ShutdownEvent: Sendable {
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
}
