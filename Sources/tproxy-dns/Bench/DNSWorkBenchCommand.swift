import DNSServer
import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import DNSForward
import Logging
import RawUDP

/// `tproxy-dns bench-dns-work`: the user-space half of answering, timed in
/// process with no sockets. A cache hit both ways the daemon can answer one:
/// the fast path (`Forwarder.answerFromCache` into a reused buffer) and the
/// full path (`handleQuery`: classify, lookup, render to an array, an
/// action), each with the raw datagram built around the reply; and a cache
/// miss: the query, the upstream query it makes, the upstream's reply
/// validated, cached and rendered. The lab benchmark's CPU figure is mostly
/// kernel work and moves by ±10% between runs; this isolates the part our
/// code controls, so changes to it can be compared in nanoseconds.
struct DNSWorkBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration.benchmark(
        "bench-dns-work", abstract: "Benchmark: nanoseconds of user-space work per cache hit and per miss, in process.")

    @Option(help: "Cache hits to time.")
    var hits: Int = 2_000_000

    @Option(help: "Distinct names queried round robin (all cached first).")
    var names: Int = 1000

    @Option(help: "Cache misses to time (each a new name, answered by a made-up upstream reply).")
    var misses: Int = 200_000

    func run() throws {
        var logger = Logger(label: "bench-hit-path")
        logger.logLevel = .warning
        let forwarder = Forwarder<ClientContext>(configuration: ForwarderConfiguration(upstreamNames: ["upstream"]),
                                                 logger: logger)
        let client = IPEndpoint("192.0.2.10:40000", defaultPort: 53)!
        let server = IPEndpoint("203.0.113.53:53", defaultPort: 53)!
        let context = ClientContext.udp(client: client, originalDestination: server)
        let queries = (0..<names).map { index in Self.query(id: UInt16(truncatingIfNeeded: index), name: "h\(index).wild.example.test") }
        let start = MonotonicInstant.now
        for query in queries {
            let sent = query.withUnsafeBytes { forwarder.handleQuery($0, from: context, now: start) }
            for case .sendUpstream(let request) in sent {
                let reply = Self.reply(to: request.bytes)
                _ = reply.withUnsafeBytes { forwarder.handleUpstreamReply($0, token: request.token, now: start) }
            }
        }
        guard forwarder.cache.count == names else { throw ValidationError("warm-up cached \(forwarder.cache.count) of \(names) names") }

        let packet = UnsafeMutableRawBufferPointer.allocate(byteCount: 1600, alignment: 8)
        let reply = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 8)
        defer {
            packet.deallocate()
            reply.deallocate()
        }
        var built = 0
        let fast = try Self.nanoseconds(hits) { round in
            guard let hit = queries[round % names].withUnsafeBytes({ forwarder.answerFromCache($0, now: start, into: reply) }) else {
                throw ValidationError("hit \(round) missed the fast path")
            }
            built &+= try UDPDatagramBuilder.write(from: server, to: client, payload: UnsafeRawBufferPointer(rebasing: reply[..<hit.length]), into: packet)
        }
        let full = try Self.nanoseconds(hits) { round in
            let actions = queries[round % names].withUnsafeBytes { forwarder.handleQuery($0, from: context, now: start) }
            guard case .reply(_, let bytes, _)? = actions.first else { throw ValidationError("hit \(round) was no reply") }
            built &+= try bytes.withUnsafeBytes { try UDPDatagramBuilder.write(from: server, to: client, payload: $0, into: packet) }
        }
        print("hits \(hits) per path, \(names) names, \(built / (2 * hits)) bytes per packet: fast path \(String(cFormat: "%.0f", fast)) ns per hit, full path \(String(cFormat: "%.0f", full)) ns per hit (each with the datagram build); cache hits counted \(forwarder.counters.answeredFromCache)")

        // Misses against a cache already full (its default size), as in a long run: each
        // insertion evicts.
        let missQueries = (0..<misses).map { Self.query(id: UInt16(truncatingIfNeeded: $0), name: "m\($0).wild.example.test") }
        let missing = Forwarder<ClientContext>(configuration: ForwarderConfiguration(upstreamNames: ["upstream"]), logger: logger)
        let filler = (0..<missing.cache.configuration.capacity).map { Self.query(id: 0, name: "f\($0).wild.example.test") }
        let residentBefore = Self.residentBytes()
        for query in filler { Self.miss(query, forwarder: missing, context: context, now: start) }
        let perEntry = Double(Self.residentBytes() - residentBefore) / Double(missing.cache.count)
        let wirePerEntry = Double(missing.cache.bytes) / Double(missing.cache.count)
        print("memory: \(missing.cache.count) cached answers of \(String(cFormat: "%.0f", wirePerEntry)) wire bytes each: resident set grew \(String(cFormat: "%.0f", perEntry)) bytes per answer (\(String(cFormat: "%.0f", perEntry - wirePerEntry)) beyond the wire bytes)")
        let perMiss = try Self.nanoseconds(misses) { round in
            guard Self.miss(missQueries[round], forwarder: missing, context: context, now: start) else {
                throw ValidationError("miss \(round) was not answered")
            }
        }
        print("misses \(misses) (cache full, \(missing.cache.count) entries): \(String(cFormat: "%.0f", perMiss)) ns per miss (query, upstream query, reply validated, cached, rendered); answered from upstream \(missing.counters.answeredFromUpstream)")
    }

    /// This process's resident set, from /proc/self/statm (pages).
    static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        return fields.count > 1 ? (Int(fields[1]) ?? 0) * sysconf(Int32(_SC_PAGESIZE)) : 0
    }

    /// One query through a miss: true when the client got a reply.
    @discardableResult
    private static func miss(_ query: [UInt8], forwarder: Forwarder<ClientContext>, context: ClientContext,
                             now: MonotonicInstant) -> Bool {
        var answered = false
        for case .sendUpstream(let request) in query.withUnsafeBytes({ forwarder.handleQuery($0, from: context, now: now) }) {
            let reply = Self.reply(to: request.bytes)
            let actions = reply.withUnsafeBytes { forwarder.handleUpstreamReply($0, token: request.token, now: now) }
            answered = answered || actions.contains { if case .reply = $0 { true } else { false } }
        }
        return answered
    }

    static func nanoseconds(_ rounds: Int, _ body: (Int) throws -> Void) throws -> Double {
        let elapsed = try ContinuousClock().measure {
            for round in 0..<rounds { try body(round) }
        }
        let (seconds, attoseconds) = elapsed.components
        return (Double(seconds) * 1e9 + Double(attoseconds) / 1e9) / Double(rounds)
    }

    /// A query as dnsperf sends it: RD, one question, no EDNS.
    static func query(id: UInt16, name: String) -> [UInt8] {
        var wire: [UInt8] = [UInt8(id >> 8), UInt8(truncatingIfNeeded: id), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]
        for label in name.split(separator: ".") {
            wire.append(UInt8(label.utf8.count))
            wire += label.utf8
        }
        wire += [0, 0, 1, 0, 1]
        return wire
    }

    /// The upstream's answer to our query: its header and question, one A record.
    static func reply(to query: [UInt8]) -> [UInt8] {
        var end = 12
        while query[end] != 0 { end += Int(query[end]) + 1 }
        var wire = Array(query[..<(end + 5)])
        wire[2] = 0x81
        wire[3] = 0x80
        wire[7] = 1
        wire[11] = 0
        wire += [0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0x0E, 0x10, 0, 4, 198, 51, 100, 99]
        return wire
    }
}
