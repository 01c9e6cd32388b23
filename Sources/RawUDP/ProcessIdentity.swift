#if canImport(Glibc)
import Glibc
#endif

/// Dropping root once the privileged sockets are open: the raw and
/// transparent sockets keep working for whoever holds their descriptors, and
/// nothing the daemon does later (upstream sockets, reading zones) needs root.
public enum ProcessIdentity {
    public struct Account: Sendable {
        public let name: String
        public let userID: uid_t
        public let groupID: gid_t
    }

    public static func lookup(user: String) throws(SystemCallError) -> Account {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16_384)
        let status = getpwnam_r(user, &entry, &buffer, buffer.count, &result)
        guard status == 0 else { throw SystemCallError(call: "getpwnam_r(\(user))", errno: status) }
        guard result != nil else { throw SystemCallError(call: "getpwnam_r(\(user)): no such user", errno: ENOENT) }
        return Account(name: user, userID: entry.pw_uid, groupID: entry.pw_gid)
    }

    /// Becomes `account` for good: supplementary groups cleared, then group,
    /// then user (in that order: after setuid we could no longer change groups).
    /// Verifies root cannot be regained.
    public static func become(_ account: Account) throws(SystemCallError) {
        _ = try systemCallOrThrow("setgroups(0)") { setgroups(0, nil) }
        _ = try systemCallOrThrow("setgid(\(account.groupID))") { setgid(account.groupID) }
        _ = try systemCallOrThrow("setuid(\(account.userID))") { setuid(account.userID) }
        if account.userID != 0, setuid(0) == 0 {
            throw SystemCallError(call: "setuid(0) after dropping privileges unexpectedly succeeded", errno: EPERM)
        }
    }

    public static var effectiveUserID: uid_t { geteuid() }
}
