import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Files the daemon opens itself (query log, cache file), tested in a
/// directory of their own.
enum TemporaryDirectory {
    /// Runs `body` with a fresh directory under /tmp, removed at the end.
    static func with(_ name: String, _ body: (String) throws -> Void) throws {
        let directory = "/tmp/tproxy-dns-\(name)-test-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try body(directory)
    }

    /// A file's permission bits; 0 when it is not there.
    static func mode(_ path: String) -> mode_t {
        var status = stat()
        return stat(path, &status) == 0 ? status.st_mode & 0o777 : 0
    }
}
