import Foundation
import Testing
@testable import DNSServer

#if canImport(Glibc)
import Glibc
#endif

/// `--query-log` opened the way root must open a path others may have prepared.
@Suite("Query log file")
struct QueryLogFileTests {
    private func inDirectory(_ body: (String) throws -> Void) throws {
        try TemporaryDirectory.with("querylog", body)
    }

    private func refusal(_ path: String, owner: uid_t = geteuid()) -> String? {
        do {
            let fd = try QueryLogFile.open(path: path, owner: owner)
            close(fd)
            return nil
        } catch {
            return error.description
        }
    }

    @Test func aNewFileIsPrivate() throws {
        try inDirectory { directory in
            let path = directory + "/queries.log"
            let previous = umask(0)
            defer { umask(previous) }
            #expect(refusal(path) == nil)
            #expect(TemporaryDirectory.mode(path) == 0o600, "0600 even with umask 0")
        }
    }

    @Test func aSymbolicLinkIsRefusedAndItsTargetUntouched() throws {
        try inDirectory { directory in
            let victim = directory + "/victim"
            try "precious\n".write(toFile: victim, atomically: false, encoding: .utf8)
            let path = directory + "/queries.log"
            try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: victim)
            let message = try #require(refusal(path))
            #expect(message.hasPrefix("--query-log \(path): is a symbolic link"))
            #expect(message.contains("open(O_NOFOLLOW) failed"))
            #expect(message.contains("errno \(ELOOP)"))
            #expect(try String(contentsOfFile: victim, encoding: .utf8) == "precious\n")
            // A dangling link too: O_CREAT must not create its target.
            let dangling = directory + "/dangling.log"
            try FileManager.default.createSymbolicLink(atPath: dangling, withDestinationPath: directory + "/created-by-root")
            #expect(refusal(dangling) != nil)
            #expect(!FileManager.default.fileExists(atPath: directory + "/created-by-root"))
        }
    }

    @Test func aFIFOAndADirectoryAreRefusedWithoutBlocking() throws {
        try inDirectory { directory in
            let fifo = directory + "/fifo.log"
            #expect(mkfifo(fifo, 0o600) == 0)
            let fifoRefusal = try #require(refusal(fifo))
            #expect(fifoRefusal.contains("FIFO"))
            let directoryRefusal = try #require(refusal(directory))
            #expect(directoryRefusal.contains("is a directory"))
        }
    }

    @Test func aHardLinkIsRefused() throws {
        try inDirectory { directory in
            let target = directory + "/target"
            try "x\n".write(toFile: target, atomically: false, encoding: .utf8)
            let path = directory + "/queries.log"
            #expect(link(target, path) == 0)
            let message = try #require(refusal(path))
            #expect(message.contains("2 hard links"))
        }
    }

    @Test func anExistingFileMustBeTheDaemonUsersAndIsMadePrivate() throws {
        try inDirectory { directory in
            let path = directory + "/queries.log"
            try "earlier\n".write(toFile: path, atomically: false, encoding: .utf8)
            #expect(chmod(path, 0o644) == 0)
            #expect(refusal(path) == nil)
            #expect(TemporaryDirectory.mode(path) == 0o600, "an existing world-readable log is tightened")
            let stranger = geteuid() &+ 4242
            let message = try #require(refusal(path, owner: stranger))
            #expect(message.contains("owned by uid \(geteuid()), not by the daemon's user (uid \(stranger))"))
        }
    }

    @Test(.enabled(if: geteuid() == 0, "chown needs root"))
    func aNewFileBelongsToTheUserTheDaemonBecomes() throws {
        try inDirectory { directory in
            let path = directory + "/queries.log"
            let nobody: uid_t = 65534
            #expect(refusal(path, owner: nobody) == nil)
            var status = stat()
            #expect(stat(path, &status) == 0)
            #expect(status.st_uid == nobody)
            // Reopened at the next start: still nobody's, so accepted.
            #expect(refusal(path, owner: nobody) == nil)
        }
    }

    @Test func queryLogWritesThroughTheSafeOpen() throws {
        try inDirectory { directory in
            let path = directory + "/queries.log"
            let log = try QueryLog(path: path)
            log.close()
            #expect(TemporaryDirectory.mode(path) == 0o600)
            try FileManager.default.removeItem(atPath: path)
            try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: "/etc/hostname")
            #expect(throws: QueryLogFileError.self) { try QueryLog(path: path) }
        }
    }
}
