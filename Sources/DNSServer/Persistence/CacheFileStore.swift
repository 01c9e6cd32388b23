import DNSForward
import Dispatch
#if canImport(Glibc)
import Glibc
#endif
import Logging

/// `--cache-file` in service: loaded once at start, before the first query;
/// saved every `--cache-save-interval`, on `cache save` and at a clean exit.
/// Saves run on a queue of their own: the snapshot takes the shard locks a
/// chunk at a time (`DNSCache.snapshot`), encoding and disk I/O hold none, so
/// answers keep flowing while a save runs.
///
/// `@unchecked Sendable`: `path`, `saveInterval`, `cache` and `logger` are
/// fixed in `init` (and `DNSCache` is thread-safe); `status` is read and
/// written only under `lock`; `timer` is set by `startPeriodicSaves` and
/// cancelled by `saveAtExit`, both on the primary thread.
public final class CacheFileStore: @unchecked Sendable {
    public let path: String
    public let saveInterval: Int
    private let cache: DNSCache
    private let logger: Logger
    private let queue = DispatchQueue(label: "tproxy-dns.cache-file", qos: .utility)
    private let lock = PthreadMutex()
    private var state: DaemonStats.CacheFile
    private var timer: DispatchSourceTimer?

    public init(path: String, saveInterval: Int, cache: DNSCache, logger: Logger) {
        self.path = path
        self.saveInterval = saveInterval
        self.cache = cache
        self.logger = logger
        state = DaemonStats.CacheFile(path: path, saveIntervalSeconds: saveInterval, saves: 0, saveFailures: 0,
                                      savesRequested: 0)
    }

    public var status: DaemonStats.CacheFile { lock.withLock { state } }

    /// Fills the cache from the file. A missing file is a first start; an
    /// unreadable, damaged or foreign one (or one from the future) is one
    /// warning naming the file and what was wrong, and an empty cache.
    public func load() {
        let started = MonotonicInstant.now
        let unixNanoseconds = Self.unixNanoseconds()
        var result: (counts: DNSCache.RestoreCounts?, error: String?) = (nil, nil)
        do {
            if let bytes = try CacheFile.read(path: path) {
                result.counts = try cache.restore(bytes, now: MonotonicInstant.now, unixNanoseconds: unixNanoseconds)
            }
        } catch let error as CacheSnapshotError {
            result.error = "--cache-file \(path): \(error)"
        } catch {
            result.error = "\(error)"
        }
        let milliseconds = Self.milliseconds(since: started)
        lock.withLock {
            state.loadedAt = Double(unixNanoseconds) / 1e9
            state.loadedEntries = result.counts?.loaded ?? 0
            state.loadExpired = result.counts?.expired ?? 0
            state.loadMilliseconds = milliseconds
            state.loadError = result.error
        }
        if let error = result.error {
            logger.warning("cache file not loaded; starting with an empty cache", metadata: ["error": "\(error)"])
        } else if let counts = result.counts {
            logger.info("cache file loaded", metadata: [
                "path": "\(path)", "entries": "\(counts.loaded)", "expired": "\(counts.expired)",
                "milliseconds": "\(String(cFormat: "%.1f", milliseconds))",
            ])
        } else {
            logger.info("no cache file yet; starting with an empty cache", metadata: ["path": "\(path)"])
        }
    }

    /// Saves every `saveInterval` seconds from now on; none when it is 0.
    func startPeriodicSaves() {
        guard saveInterval > 0 else { return }
        let timer = DispatchSource.makeTimerSource(queue: queue)
        timer.schedule(deadline: .now() + .seconds(saveInterval), repeating: .seconds(saveInterval))
        timer.setEventHandler { [unowned self] in
            lock.withLock { state.savesRequested += 1 }
            save(reason: "interval")
        }
        timer.resume()
        self.timer = timer
    }

    /// Starts a save in the background and returns its number: it is done
    /// once `saves + saveFailures` in `status` reaches it.
    public func requestSave(reason: String) -> Int {
        let ticket = lock.withLock {
            state.savesRequested += 1
            return state.savesRequested
        }
        queue.async { [self] in save(reason: reason) }
        return ticket
    }

    /// The last save, at a clean exit: waits for it (and any save running).
    public func saveAtExit() {
        timer?.cancel()
        timer = nil
        _ = requestSave(reason: "exit")
        queue.sync {}
    }

    private func save(reason: String) {
        let started = MonotonicInstant.now
        let unixNanoseconds = Self.unixNanoseconds()
        let (bytes, entries) = cache.snapshot(now: started, unixNanoseconds: unixNanoseconds)
        do {
            try CacheFile.write(bytes, to: path)
            let milliseconds = Self.milliseconds(since: started)
            lock.withLock {
                state.savedAt = Double(unixNanoseconds) / 1e9
                state.savedEntries = entries
                state.savedBytes = bytes.count
                state.saveMilliseconds = milliseconds
                state.saves += 1
                state.saveError = nil
            }
            logger.info("cache file saved", metadata: [
                "path": "\(path)", "entries": "\(entries)", "bytes": "\(bytes.count)", "reason": "\(reason)",
                "milliseconds": "\(String(cFormat: "%.1f", milliseconds))",
            ])
        } catch {
            lock.withLock {
                state.saveFailures += 1
                state.saveError = error.description
            }
            logger.warning("cache file not saved", metadata: ["error": "\(error)", "reason": "\(reason)"])
        }
    }

    private static func milliseconds(since start: MonotonicInstant) -> Double {
        let elapsed = start.duration(to: .now).components
        return Double(elapsed.seconds) * 1000 + Double(elapsed.attoseconds) / 1e15
    }

    /// Wall-clock time: entries' ages across a restart (or a reboot, when the
    /// monotonic clock starts over) can only be told by it.
    static func unixNanoseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }
}
