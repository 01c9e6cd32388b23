#if canImport(Glibc)
import Glibc
#endif

/// A file descriptor this process owns: closed exactly once, in `deinit` or by
/// `close()`. Not copyable, so it can't be closed twice by two owners.
public struct OwnedFileDescriptor: ~Copyable, @unchecked Sendable {
    // @unchecked: an Int32 handed between threads by move; non-copyable, so one
    // owner at a time.
    public let rawValue: Int32

    public init(taking rawValue: Int32) { self.rawValue = rawValue }

    deinit {
        // close() is never retried on EINTR: on Linux the descriptor is gone anyway.
        _ = Glibc.close(rawValue)
    }

    public consuming func close() {
        // deinit closes it.
    }

    func setOption(level: Int32, name: Int32, value: Int32, call: String) throws(SystemCallError) {
        var value = value
        _ = try systemCallOrThrow(call) {
            setsockopt(rawValue, level, name, &value, socklen_t(MemoryLayout<Int32>.size))
        }
    }

    func setNonBlocking() throws(SystemCallError) {
        let flags = try systemCallOrThrow("fcntl(F_GETFL)") { fcntl(rawValue, F_GETFL) }
        _ = try systemCallOrThrow("fcntl(F_SETFL)") { fcntl(rawValue, F_SETFL, flags | O_NONBLOCK) }
    }
}

func makeSocket(family: Int32, type: Int32, protocol: Int32, call: String) throws(SystemCallError) -> OwnedFileDescriptor {
    let fd = try systemCallOrThrow(call) { socket(family, type | Int32(SOCK_CLOEXEC.rawValue), `protocol`) }
    return OwnedFileDescriptor(taking: fd)
}
