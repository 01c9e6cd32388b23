import RawUDP

#if canImport(Glibc)
import Glibc
#endif

/// Reads and writes `--cache-file` safely. Written atomically (a temporary
/// file in the same directory, fsync, rename, the directory fsynced), so a
/// crash or power cut mid-save leaves the previous file whole; mode 0600 (the
/// file names every domain the network asked for); and never through a
/// symbolic link: one planted at the path is refused, not followed, like
/// `QueryLogFile` refuses one at the query log.
enum CacheFile {
    static let mode: mode_t = 0o600

    /// The file's bytes; nil when there is no file yet (a first start).
    static func read(path: String) throws(CacheFileError) -> [UInt8]? {
        let fd = Glibc.open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        guard fd >= 0 else {
            let error = errno
            if error == ENOENT { return nil }
            throw CacheFileError(path: path, reason: reason(openErrno: error), cause: .init(call: "open(O_NOFOLLOW)", errno: error))
        }
        defer { Glibc.close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw .failed(path, "cannot inspect it", call: "fstat") }
        guard status.st_mode & S_IFMT == S_IFREG else {
            throw CacheFileError(path: path, reason: "not a regular file", cause: nil)
        }
        var bytes = [UInt8](repeating: 0, count: Int(status.st_size))
        var filled = 0
        while filled < bytes.count {
            let count = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + filled, $0.count - filled) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { throw .failed(path, "cannot read it", call: "read") }
            if count == 0 { break }
            filled += count
        }
        // A file that shrank while read is short; the format's length check names it truncated.
        return Array(bytes[..<filled])
    }

    /// Replaces the file with `bytes`, atomically and durably.
    static func write(_ bytes: [UInt8], to path: String) throws(CacheFileError) {
        var status = stat()
        if lstat(path, &status) == 0 {
            guard status.st_mode & S_IFMT != S_IFLNK else {
                throw CacheFileError(path: path, reason: "is a symbolic link (refused: it could point anywhere)", cause: nil)
            }
            guard status.st_mode & S_IFMT == S_IFREG else {
                throw CacheFileError(path: path, reason: "not a regular file", cause: nil)
            }
        }
        let temporary = "\(path).tmp-\(getpid())"
        // Left by a save that died here; unlink never follows a link.
        unlink(temporary)
        let fd = Glibc.open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard fd >= 0 else { throw .failed(path, "cannot create \(temporary)", call: "open(O_CREAT|O_EXCL|O_NOFOLLOW)") }
        do throws(CacheFileError) {
            defer { Glibc.close(fd) }
            // Exactly 0600 whatever the umask.
            guard fchmod(fd, mode) == 0 else { throw CacheFileError.failed(path, "cannot set its mode", call: "fchmod") }
            try writeAll(bytes, to: fd, path: path)
            guard fsync(fd) == 0 else { throw CacheFileError.failed(path, "cannot flush it to disk", call: "fsync") }
        } catch {
            unlink(temporary)
            throw error
        }
        guard rename(temporary, path) == 0 else {
            let failure = CacheFileError.failed(path, "cannot move \(temporary) into place", call: "rename")
            unlink(temporary)
            throw failure
        }
        try syncDirectory(of: path)
    }

    private static func writeAll(_ bytes: [UInt8], to fd: Int32, path: String) throws(CacheFileError) {
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + written, $0.count - written) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { throw .failed(path, "cannot write it", call: "write") }
            written += count
        }
    }

    /// The rename is durable only once the directory's entry is on disk.
    private static func syncDirectory(of path: String) throws(CacheFileError) {
        let directory = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
        let fd = Glibc.open(directory.isEmpty ? "/" : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw .failed(path, "cannot open its directory", call: "open(O_DIRECTORY)") }
        defer { Glibc.close(fd) }
        guard fsync(fd) == 0 else { throw .failed(path, "cannot flush its directory", call: "fsync(directory)") }
    }

    private static func reason(openErrno: Int32) -> String {
        switch openErrno {
        case ELOOP: return "is a symbolic link (refused: it could point anywhere)"
        case EISDIR: return "is a directory"
        default: return "cannot open it"
        }
    }
}

/// Why `--cache-file` could not be read or written, as one log line.
struct CacheFileError: Error, CustomStringConvertible {
    let path: String
    let reason: String
    let cause: SystemCallError?

    /// For a call that just failed: errno is read here, before anything else can change it.
    static func failed(_ path: String, _ reason: String, call: String) -> CacheFileError {
        CacheFileError(path: path, reason: reason, cause: SystemCallError(call: call, errno: errno))
    }

    var description: String {
        "--cache-file \(path): \(reason)" + (cause.map { " (\($0))" } ?? "")
    }
}
