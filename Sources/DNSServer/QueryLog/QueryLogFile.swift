import RawUDP

#if canImport(Glibc)
import Glibc
#endif

/// Opens `--query-log` safely. The daemon opens it as root, before dropping
/// privileges, in a directory a local user may be able to write (/tmp,
/// /var/tmp, a shared log directory): a symbolic link, FIFO or hard link
/// planted at the path must not make root append to (or block on) a file of
/// someone else's choosing, and the log (every name every client asked) must
/// not be readable by other users.
///
/// The file must belong to `owner`, the account the daemon runs as once it
/// has dropped privileges (`--user`, else the user that started it): that is
/// the identity the log is written for, and the only account besides root
/// that can read it. A file the daemon creates is given to that account with
/// mode 0600; an existing file owned by anyone else (root included, when
/// `--user` names another account) is refused rather than taken over.
enum QueryLogFile {
    static let mode: mode_t = 0o600

    /// A descriptor open for appending, close-on-exec. Throws a one-line
    /// error naming `--query-log`, the path, the reason and the failed call.
    static func open(path: String, owner: uid_t) throws(QueryLogFileError) -> Int32 {
        var created = true
        // O_NONBLOCK: opening a FIFO for writing would otherwise wait for a reader.
        let flags = O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY
        var fd = Glibc.open(path, flags | O_CREAT | O_EXCL, mode)
        if fd < 0, errno == EEXIST {
            created = false
            fd = Glibc.open(path, flags)
        }
        guard fd >= 0 else {
            let error = errno
            throw QueryLogFileError(path: path, reason: reason(openErrno: error),
                                    cause: SystemCallError(call: "open(O_NOFOLLOW)", errno: error))
        }
        do {
            try check(fd, path: path, owner: owner, created: created)
        } catch {
            Glibc.close(fd)
            throw error
        }
        return fd
    }

    private static func check(_ fd: Int32, path: String, owner: uid_t, created: Bool) throws(QueryLogFileError) {
        func failure(_ reason: String, _ call: String) -> QueryLogFileError {
            QueryLogFileError(path: path, reason: reason, cause: SystemCallError(call: call, errno: errno))
        }
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw failure("cannot inspect it", "fstat") }
        guard status.st_mode & S_IFMT == S_IFREG else {
            throw QueryLogFileError(path: path, reason: "not a regular file (\(kind(status.st_mode)))", cause: nil)
        }
        // A hard link to another file (e.g. one in /etc) looks regular and is ours to write as root.
        guard status.st_nlink == 1 else {
            throw QueryLogFileError(path: path, reason: "has \(status.st_nlink) hard links; it must be a file of its own", cause: nil)
        }
        if created {
            if owner != geteuid(), fchown(fd, owner, gid_t.max) != 0 { throw failure("cannot give it to uid \(owner)", "fchown") }
            // Exactly 0600 whatever the umask.
            guard fchmod(fd, mode) == 0 else { throw failure("cannot set its mode", "fchmod") }
        } else {
            guard status.st_uid == owner else {
                throw QueryLogFileError(path: path, reason: "owned by uid \(status.st_uid), not by the daemon's user (uid \(owner)); chown it or remove it", cause: nil)
            }
            if status.st_mode & 0o077 != 0, fchmod(fd, mode) != 0 { throw failure("cannot make it private (0600)", "fchmod") }
        }
        let fileFlags = fcntl(fd, F_GETFL)
        guard fileFlags >= 0, fcntl(fd, F_SETFL, fileFlags & ~O_NONBLOCK) == 0 else { throw failure("cannot make it blocking", "fcntl") }
    }

    private static func reason(openErrno: Int32) -> String {
        switch openErrno {
        case ELOOP: return "is a symbolic link (refused: it could point anywhere)"
        case EISDIR: return "is a directory"
        case ENXIO: return "is a FIFO or socket (not a regular file)"
        default: return "cannot open it"
        }
    }

    private static func kind(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFDIR: return "a directory"
        case S_IFIFO: return "a FIFO"
        case S_IFSOCK: return "a socket"
        case S_IFCHR, S_IFBLK: return "a device"
        default: return "type \(String(mode & S_IFMT, radix: 8))"
        }
    }
}

/// Why `--query-log` was refused, as one line for the start-up error.
struct QueryLogFileError: Error, CustomStringConvertible {
    let path: String
    let reason: String
    let cause: SystemCallError?

    var description: String {
        "--query-log \(path): \(reason)" + (cause.map { " (\($0))" } ?? "")
    }
}
