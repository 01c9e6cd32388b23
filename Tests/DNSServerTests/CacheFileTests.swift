@testable import DNSForward
import Foundation
import Testing
@testable import DNSServer

#if canImport(Glibc)
import Glibc
#endif

/// `--cache-file` on disk: atomic private writes, links refused, and the
/// store's load and save as the daemon runs them (a damaged file is one
/// warning and an empty cache).
@Suite("Cache file")
struct CacheFileTests {
    private func inDirectory(_ body: (String) throws -> Void) throws {
        try TemporaryDirectory.with("cachefile", body)
    }

    private static func cache(names: Int) -> DNSCache {
        let cache = DNSCache(configuration: CacheConfiguration())
        let now = MonotonicInstant.now
        for index in 0..<names {
            let name = "n\(index).test"
            let wire = TestMessages.reply(to: TestMessages.query(id: 0, name: name))
            let layout = wire.withUnsafeBytes { MessageLayout(wire: $0) }!
            cache.insert(CachedAnswer(wire: wire, layout: layout, kind: .positive, storedAt: now, lifetime: 300, upstream: 0),
                         for: CacheKey(name: DNSName(presentation: name)!.lowercasedWire, type: .a, class: .in,
                                       dnssecOK: false, checkingDisabled: false), now: now)
        }
        return cache
    }

    @Test func writeReplacesTheFileWithAPrivateOneAndLeavesNoTemporary() throws {
        try inDirectory { directory in
            let path = directory + "/cache"
            let previous = umask(0)
            defer { umask(previous) }
            try CacheFile.write([1, 2, 3], to: path)
            try CacheFile.write([4, 5], to: path)
            #expect(try CacheFile.read(path: path) == [4, 5])
            #expect(TemporaryDirectory.mode(path) == 0o600)
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["cache"])
        }
    }

    @Test func aMissingFileIsAFirstStart() throws {
        try inDirectory { directory in
            let bytes = try CacheFile.read(path: directory + "/none")
            #expect(bytes == nil)
        }
    }

    @Test func aSymbolicLinkIsRefusedBothWays() throws {
        try inDirectory { directory in
            let target = directory + "/elsewhere", path = directory + "/cache"
            try Data([9]).write(to: URL(fileURLWithPath: target))
            try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: target)
            #expect(throws: CacheFileError.self) { try CacheFile.write([1], to: path) }
            #expect(throws: CacheFileError.self) { _ = try CacheFile.read(path: path) }
            #expect(try Data(contentsOf: URL(fileURLWithPath: target)) == Data([9]), "the link's target untouched")
        }
    }

    @Test func aDirectoryThatCannotBeWrittenNamesTheFileAndTheCall() throws {
        let error = #expect(throws: CacheFileError.self) { try CacheFile.write([1], to: "/nonexistent-dir/cache") }
        #expect(error?.description.hasPrefix("--cache-file /nonexistent-dir/cache: cannot create") == true)
        #expect(error?.description.contains("ENOENT") == true || error?.description.contains("errno 2") == true)
    }

    @Test func storeSavesAtExitAndTheNextStartLoadsIt() throws {
        try inDirectory { directory in
            let path = directory + "/cache"
            let log = CapturedLog()
            let first = CacheFileStore(path: path, saveInterval: 0, cache: Self.cache(names: 50), logger: log.logger)
            first.load()
            #expect(first.status.loadedEntries == 0 && first.status.loadError == nil, "no file yet")
            first.saveAtExit()
            #expect(first.status.saves == 1 && first.status.savedEntries == 50)
            let empty = DNSCache(configuration: CacheConfiguration())
            let second = CacheFileStore(path: path, saveInterval: 0, cache: empty, logger: log.logger)
            second.load()
            #expect(empty.count == 50 && second.status.loadedEntries == 50)
        }
    }

    @Test func requestedSavesAreNumberedAndCounted() throws {
        try inDirectory { directory in
            let store = CacheFileStore(path: directory + "/cache", saveInterval: 0, cache: Self.cache(names: 5),
                                       logger: CapturedLog().logger)
            #expect(store.requestSave(reason: "test") == 1)
            #expect(store.requestSave(reason: "test") == 2)
            store.saveAtExit()
            #expect(store.status.saves == 3 && store.status.savesRequested == 3)
        }
    }

    @Test func aDamagedFileIsOneWarningAndAnEmptyCache() throws {
        try inDirectory { directory in
            let path = directory + "/cache"
            let log = CapturedLog()
            let store = CacheFileStore(path: path, saveInterval: 0, cache: Self.cache(names: 20), logger: log.logger)
            store.saveAtExit()
            var bytes = try #require(try CacheFile.read(path: path))
            bytes[bytes.count / 2] ^= 0x10
            try CacheFile.write(bytes, to: path)
            let empty = DNSCache(configuration: CacheConfiguration())
            let reloaded = CacheFileStore(path: path, saveInterval: 0, cache: empty, logger: log.logger)
            reloaded.load()
            #expect(empty.count == 0)
            let warnings = log.lines.filter { $0.level == .warning }
            #expect(warnings.count == 1)
            #expect(warnings.first?.metadata["error"]?.description == "--cache-file \(path): checksum mismatch (the file is damaged)")
            #expect(reloaded.status.loadError?.contains("checksum mismatch") == true)
        }
    }
}
