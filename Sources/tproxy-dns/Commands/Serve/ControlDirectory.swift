#if canImport(Glibc)
import Glibc
#endif

/// The directory `serve --control` puts its socket in. Whoever may rename or
/// unlink entries there can swap the socket for their own and hear every
/// `cache ...` command, so the directory must be the daemon's: a directory,
/// owned by root or by the daemon's user, and not writable by others unless
/// sticky (as /tmp is: others cannot remove what is not theirs).
struct ControlDirectory {
    /// What `stat` says about the directory.
    struct Status: Equatable {
        var isDirectory: Bool
        var owner: uid_t
        var mode: mode_t
    }

    /// Why the directory will not do, worded for the one line `serve` prints.
    enum Problem: Error, Equatable, CustomStringConvertible {
        case notADirectory(socket: String, directory: String)
        case ownedByAnotherUser(socket: String, directory: String, owner: uid_t)
        case writableByOthers(socket: String, directory: String, mode: mode_t)
        case unusable(socket: String, directory: String, reason: String)

        /// Creating or reading it failed (as it does without root), rather than its ownership or kind.
        var isUnusable: Bool {
            if case .unusable = self { return true }
            return false
        }

        var description: String {
            switch self {
            case .notADirectory(let socket, let directory):
                "--control \(socket): \(directory) is not a directory"
            case .ownedByAnotherUser(let socket, let directory, let owner):
                "--control \(socket): directory \(directory) is owned by uid \(owner), not root or this user: "
                    + "that user could replace the socket; use a directory of the daemon's own, e.g. /run/tproxy-dns"
            case .writableByOthers(let socket, let directory, let mode):
                "--control \(socket): directory \(directory) is writable by other users (mode "
                    + String(mode & 0o7777, radix: 8) + ") without the sticky bit: anyone could replace the socket; "
                    + "use a directory of the daemon's own, e.g. /run/tproxy-dns"
            case .unusable(let socket, let directory, let reason):
                "--control \(socket): directory \(directory) cannot be used: \(reason)"
            }
        }
    }

    let socketPath: String

    /// The socket path without its last component ("/" for a socket in the root, "" for a
    /// bare name in the working directory).
    var path: String {
        guard let slash = socketPath.lastIndex(of: "/") else { return "" }
        return slash == socketPath.startIndex ? "/" : String(socketPath[..<slash])
    }

    /// The problem with a directory in this state, for a daemon running as `user`.
    func problem(with status: Status, user: uid_t) -> Problem? {
        guard status.isDirectory else { return .notADirectory(socket: socketPath, directory: path) }
        guard status.owner == 0 || status.owner == user else {
            return .ownedByAnotherUser(socket: socketPath, directory: path, owner: status.owner)
        }
        if status.mode & 0o022 != 0, status.mode & mode_t(S_ISVTX) == 0 {
            return .writableByOthers(socket: socketPath, directory: path, mode: status.mode)
        }
        return nil
    }

    /// Creates the directory if missing (as /run/tproxy-dns is after boot), then checks it.
    func prepare() throws(Problem) {
        let directory = path
        guard !directory.isEmpty else { return }
        if let error = Self.makeDirectories(directory) {
            var info = stat()
            if stat(directory, &info) == 0, info.st_mode & S_IFMT != S_IFDIR {
                throw .notADirectory(socket: socketPath, directory: directory)
            }
            throw .unusable(socket: socketPath, directory: directory, reason: String(cString: strerror(error)))
        }
        var info = stat()
        guard stat(directory, &info) == 0 else {
            throw .unusable(socket: socketPath, directory: directory, reason: String(cString: strerror(errno)))
        }
        let status = Status(isDirectory: info.st_mode & S_IFMT == S_IFDIR, owner: info.st_uid, mode: info.st_mode)
        if let problem = problem(with: status, user: geteuid()) { throw problem }
    }

    /// `mkdir -p` with mode 0755: nil, or the errno of the first mkdir that failed for
    /// another reason than an existing entry (which the stat after it judges).
    private static func makeDirectories(_ directory: String) -> Int32? {
        var prefix = directory.hasPrefix("/") ? "/" : ""
        for component in directory.split(separator: "/") {
            prefix += (prefix.isEmpty || prefix.hasSuffix("/") ? "" : "/") + component
            if mkdir(prefix, 0o755) != 0, errno != EEXIST { return errno }
        }
        return nil
    }
}
