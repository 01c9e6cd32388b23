import CRawUDP
#if canImport(Glibc)
import Glibc
#endif

/// Termination and reload signals as a readable descriptor (signalfd), so the
/// event loop handles them between packets instead of in a signal handler.
public final class SignalDescriptor {
    public let descriptor: OwnedFileDescriptor

    /// Blocks `signals` for this thread (and threads it creates later) and opens
    /// a signalfd that reports them. Create it before starting other threads.
    public init(signals: [Int32]) throws(SystemCallError) {
        var mask = sigset_t()
        sigemptyset(&mask)
        for signal in signals { sigaddset(&mask, signal) }
        let result = pthread_sigmask(SIG_BLOCK, &mask, nil)
        if result != 0 { throw SystemCallError(call: "pthread_sigmask", errno: result) }
        let fd = try systemCallOrThrow("signalfd") { signalfd(-1, &mask, Int32(SFD_NONBLOCK | SFD_CLOEXEC)) }
        descriptor = OwnedFileDescriptor(taking: fd)
    }

    /// The next pending signal number, or nil if none is pending.
    public func next() throws(SystemCallError) -> Int32? {
        var info = signalfd_siginfo()
        let fd = descriptor.rawValue
        let size = MemoryLayout<signalfd_siginfo>.size
        guard let count = try systemCall("read(signalfd)", wouldBlockIsNil: true, { read(fd, &info, size) }),
              count == size else { return nil }
        return Int32(info.ssi_signo)
    }
}
