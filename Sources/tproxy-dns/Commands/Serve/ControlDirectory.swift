import Foundation

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

    var path: String { (socketPath as NSString).deletingLastPathComponent }

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
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o755])
        } catch {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), !isDirectory.boolValue {
                throw .notADirectory(socket: socketPath, directory: directory)
            }
            throw .unusable(socket: socketPath, directory: directory, reason: Self.reason(error))
        }
        var info = stat()
        guard stat(directory, &info) == 0 else {
            throw .unusable(socket: socketPath, directory: directory, reason: String(cString: strerror(errno)))
        }
        let status = Status(isDirectory: info.st_mode & S_IFMT == S_IFDIR, owner: info.st_uid, mode: info.st_mode)
        if let problem = problem(with: status, user: geteuid()) { throw problem }
    }

    /// Foundation's wording of a failed mkdir, down to the POSIX reason when it has one.
    private static func reason(_ error: any Error) -> String {
        if let underlying = (error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError,
           underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        return error.localizedDescription
    }
}
