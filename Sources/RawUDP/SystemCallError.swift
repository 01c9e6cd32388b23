#if canImport(Glibc)
import Glibc
#endif

/// A failed system call: which call, on what, and errno.
public struct SystemCallError: Error, Equatable, Sendable, CustomStringConvertible {
    public let call: String
    public let errno: Int32

    public init(call: String, errno: Int32) {
        self.call = call
        self.errno = errno
    }

    public var isPermissionDenied: Bool { errno == EPERM || errno == EACCES }

    public var description: String {
        "\(call) failed: \(String(cString: strerror(errno))) (errno \(errno))"
    }
}

/// Runs a raw call, retrying on EINTR; returns nil on EAGAIN/EWOULDBLOCK when
/// `blocking` is false; throws `SystemCallError` naming the call otherwise.
@inline(__always)
func systemCall<T: FixedWidthInteger>(
    _ name: @autoclosure () -> String = #function, wouldBlockIsNil: Bool = false, _ body: () -> T
) throws(SystemCallError) -> T? {
    while true {
        let result = body()
        if result != -1 { return result }
        let error = Glibc.errno
        if error == EINTR { continue }
        if wouldBlockIsNil, error == EAGAIN || error == EWOULDBLOCK { return nil }
        throw SystemCallError(call: name(), errno: error)
    }
}

/// `systemCall` for calls that cannot report EAGAIN.
@inline(__always)
func systemCallOrThrow<T: FixedWidthInteger>(
    _ name: @autoclosure () -> String, _ body: () -> T
) throws(SystemCallError) -> T {
    // Non-nil: wouldBlockIsNil is false, so every failure throws.
    try systemCall(name(), body)!
}
