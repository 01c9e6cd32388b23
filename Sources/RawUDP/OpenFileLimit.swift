#if canImport(Glibc)
import Glibc
#endif

/// Each upstream query in flight holds a socket, so the default soft limit of
/// 1,024 descriptors would cap concurrency long before memory does.
public enum OpenFileLimit {
    /// Raises the soft limit to the hard limit; returns the limit now in force.
    @discardableResult
    public static func raiseToHardLimit() throws(SystemCallError) -> UInt64 {
        var limit = rlimit()
        _ = try systemCallOrThrow("getrlimit(RLIMIT_NOFILE)") { getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) }
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            _ = try systemCallOrThrow("setrlimit(RLIMIT_NOFILE)") { setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) }
        }
        return UInt64(limit.rlim_cur)
    }
}
