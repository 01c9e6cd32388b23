import ArgumentParser
import DNSForward
import DNSServer
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import RawUDP

/// `tproxy-dns bench-cache-file`: `--cache-file` with a full cache, in
/// process: how long saving and loading take, and what a save does to the
/// latency of cache hits answered meanwhile on another thread (the shard
/// locks are what a save shares with the query path). `--write-only` just
/// leaves the file, for the lab to start a daemon on it.
struct CacheFileBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration.benchmark(
        "bench-cache-file", abstract: "Benchmark: save and load times of --cache-file, and hit latency during a save.")

    @Option(help: "Names cached (hN.wild.example.test A, TTL 3600).")
    var names = 100_000

    @Option(help: "Where the file goes.")
    var path = "/tmp/tproxy-dns-bench-cache"

    @Option(help: "Saves to time hit latency against.")
    var saves = 5

    @Flag(help: "Only fill the cache and write the file.")
    var writeOnly = false

    func run() throws {
        var logger = Logger(label: "bench-cache-file")
        logger.logLevel = .warning
        var configuration = ForwarderConfiguration(upstreamNames: ["upstream"])
        configuration.cache.capacity = names
        configuration.cache.memoryLimit = max(configuration.cache.memoryLimit, names * 400)
        let forwarder = Forwarder<ClientContext>(configuration: configuration, logger: logger)
        let queries = (0..<names).map { DNSWorkBenchCommand.query(id: UInt16(truncatingIfNeeded: $0), name: "h\($0).wild.example.test") }
        let context = ClientContext.udp(client: IPEndpoint("192.0.2.10:40000", defaultPort: 53)!,
                                        originalDestination: IPEndpoint("203.0.113.53:53", defaultPort: 53)!)
        let start = MonotonicInstant.now
        for query in queries {
            for case .sendUpstream(let request) in query.withUnsafeBytes({ forwarder.handleQuery($0, from: context, now: start) }) {
                let reply = DNSWorkBenchCommand.reply(to: request.bytes)
                _ = reply.withUnsafeBytes { forwarder.handleUpstreamReply($0, token: request.token, now: start) }
            }
        }
        guard forwarder.cache.count == names else { throw ValidationError("cached \(forwarder.cache.count) of \(names) names") }
        let store = CacheFileStore(path: path, saveInterval: 0, cache: forwarder.cache, logger: logger)
        store.saveAtExit()
        let saved = store.status
        guard saved.saveError == nil else { throw ValidationError("save failed: \(saved.saveError!)") }
        print(String(cFormat: "save: %ld entries, %ld bytes in %.1f ms", saved.savedEntries ?? 0, saved.savedBytes ?? 0,
                     saved.saveMilliseconds ?? 0))
        if writeOnly { return }

        let loaded = DNSCache(configuration: configuration.cache)
        let loader = CacheFileStore(path: path, saveInterval: 0, cache: loaded, logger: logger)
        loader.load()
        print(String(cFormat: "load: %ld entries in %.1f ms (file read, checked, decoded, inserted)",
                     loader.status.loadedEntries ?? 0, loader.status.loadMilliseconds ?? 0))

        let idle = Self.hitLatencies(forwarder, queries, now: start) { $0 >= 200_000 }
        var during: [Int] = []
        for _ in 0..<saves {
            let ticket = store.requestSave(reason: "bench")
            during += Self.hitLatencies(forwarder, queries, now: start) { _ in
                let status = store.status
                return status.saves + status.saveFailures >= ticket
            }
        }
        print("hit latency, no save:     " + Self.summary(idle))
        print("hit latency, during save: " + Self.summary(during) + " (\(saves) saves)")
    }

    /// Nanoseconds of each fast-path hit, round robin over `queries`, until `done(count)`.
    private static func hitLatencies(_ forwarder: Forwarder<ClientContext>, _ queries: [[UInt8]],
                                     now: MonotonicInstant, until done: (Int) -> Bool) -> [Int] {
        let reply = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 8)
        defer { reply.deallocate() }
        var samples: [Int] = []
        samples.reserveCapacity(1 << 20)
        var round = 0
        while !(round % 1024 == 0 && done(samples.count)) {
            let before = MonotonicInstant.now
            _ = queries[round % queries.count].withUnsafeBytes { forwarder.answerFromCache($0, now: now, into: reply) }
            let elapsed = before.duration(to: .now).components
            samples.append(Int(elapsed.seconds) * 1_000_000_000 + Int(elapsed.attoseconds / 1_000_000_000))
            round += 1
        }
        return samples
    }

    private static func summary(_ samples: [Int]) -> String {
        let sorted = samples.sorted()
        func percentile(_ p: Double) -> Double { Double(sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]) / 1000 }
        return String(cFormat: "%ld hits: p50 %.2f µs, p99 %.2f µs, p99.9 %.2f µs, max %.1f µs", sorted.count,
                      percentile(0.5), percentile(0.99), percentile(0.999), Double(sorted.last ?? 0) / 1000)
    }
}
