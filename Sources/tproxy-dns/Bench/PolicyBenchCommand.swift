import ArgumentParser
import DNSForward
import DNSServer
import Logging
import RawUDP

#if canImport(Glibc)
import Glibc
#endif

/// `tproxy-dns bench-policy`: what a large block list costs, in process: the
/// time to load a list of `--names` names and the resident memory it adds per
/// name, then nanoseconds per fast-path cache hit without a list (the default
/// policy: the bypass canaries only) and with it (every hit's name looked up
/// among the blocked ones, which it is not), and per blocked answer.
struct PolicyBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration.benchmark(
        "bench-policy", abstract: "Benchmark: block-list load time and memory per name; cache-hit cost with and without the list.")

    @Option(help: "Names in the generated block list.")
    var names: Int = 1_000_000

    @Option(help: "Cache hits to time per policy.")
    var hits: Int = 2_000_000

    @Option(help: "Which hits to time: both, none (no policy at all), without (the default: canaries, no list) or with (the list); one alone lets callgrind count its instructions.")
    var timing: String = "both"

    func run() throws {
        let path = "/tmp/tproxy-dns-bench-policy-\(getpid()).hosts"
        try writeList(to: path)
        defer { unlink(path) }
        let residentBefore = DNSWorkBenchCommand.residentBytes()
        let start = MonotonicInstant.now
        let list = try BlockList.load(paths: [path])
        let loading = start.duration(to: .now)
        let grew = DNSWorkBenchCommand.residentBytes() - residentBefore
        print("block list: \(list.names.count) names loaded in \(loading) (\(list.problems.count) bad lines); resident set grew \(grew / list.names.count) bytes per name (table \(list.names.memoryBytes / list.names.count) bytes per name)")

        let none = ["both", "none"].contains(timing) ? try hitNanoseconds(policy: RoutingPolicy(defaultUpstreams: [0], bypassCanaries: false)) : 0
        let without = ["both", "without"].contains(timing) ? try hitNanoseconds(policy: nil) : 0
        let with = ["both", "with"].contains(timing) ? try hitNanoseconds(policy: RoutingPolicy(defaultUpstreams: [0], blockList: list)) : 0
        print("fast-path hit, 1000 names: \(String(cFormat: "%.0f", none)) ns with no policy (--no-bypass-canaries), \(String(cFormat: "%.0f", without)) ns with the default (canaries only), \(String(cFormat: "%.0f", with)) ns with \(list.names.count) blocked names (\(String(cFormat: "%+.0f", with - without)) ns)")
        guard timing == "both" else { return }
        let blocked = try blockedNanoseconds(RoutingPolicy(defaultUpstreams: [0], blockList: list))
        print("blocked answer (NXDOMAIN, full path): \(String(cFormat: "%.0f", blocked)) ns per query")
    }

    private func writeList(to path: String) throws {
        var text = ""
        text.reserveCapacity(names * 44)
        for index in 0..<names { text += "0.0.0.0 ad\(index).tracker\(index % 997).block-bench.test\n" }
        guard let file = fopen(path, "w") else { throw ValidationError("\(path): fopen: errno \(errno)") }
        defer { fclose(file) }
        guard fputs(text, file) >= 0 else { throw ValidationError("\(path): fputs: errno \(errno)") }
    }

    private func forwarder(_ policy: RoutingPolicy?) -> Forwarder<ClientContext> {
        var logger = Logger(label: "bench-policy")
        logger.logLevel = .warning
        var configuration = ForwarderConfiguration(upstreamNames: ["upstream"])
        configuration.policy = policy
        return Forwarder<ClientContext>(configuration: configuration, logger: logger)
    }

    private func hitNanoseconds(policy: RoutingPolicy?) throws -> Double {
        let forwarder = forwarder(policy)
        let context = ClientContext.udp(client: IPEndpoint("192.0.2.10:40000", defaultPort: 53)!,
                                        originalDestination: IPEndpoint("203.0.113.53:53", defaultPort: 53)!)
        let queries = (0..<1000).map { DNSWorkBenchCommand.query(id: UInt16($0), name: "h\($0).wild.example.test") }
        let now = MonotonicInstant.now
        for query in queries {
            for case .sendUpstream(let request) in query.withUnsafeBytes({ forwarder.handleQuery($0, from: context, now: now) }) {
                let reply = DNSWorkBenchCommand.reply(to: request.bytes)
                _ = reply.withUnsafeBytes { forwarder.handleUpstreamReply($0, token: request.token, now: now) }
            }
        }
        let endpoints = context.policyEndpoints
        let out = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 8)
        defer { out.deallocate() }
        return try DNSWorkBenchCommand.nanoseconds(hits) { round in
            guard queries[round % 1000].withUnsafeBytes({ forwarder.answerFromCache($0, now: now, into: out, endpoints: endpoints) }) != nil
            else { throw ValidationError("hit \(round) missed") }
        }
    }

    private func blockedNanoseconds(_ policy: RoutingPolicy) throws -> Double {
        let forwarder = forwarder(policy)
        let context = ClientContext.udp(client: IPEndpoint("192.0.2.10:40000", defaultPort: 53)!,
                                        originalDestination: IPEndpoint("203.0.113.53:53", defaultPort: 53)!)
        let queries = (0..<1000).map { DNSWorkBenchCommand.query(id: 1, name: "x.ad\($0 * 997).tracker\($0 * 997 % 997).block-bench.test") }
        let now = MonotonicInstant.now
        return try DNSWorkBenchCommand.nanoseconds(hits / 10) { round in
            let actions = queries[round % 1000].withUnsafeBytes { forwarder.handleQuery($0, from: context, now: now) }
            guard case .reply(_, _, let details)? = actions.first, details.code == .nameError else {
                throw ValidationError("query \(round) was not blocked")
            }
        }
    }
}
