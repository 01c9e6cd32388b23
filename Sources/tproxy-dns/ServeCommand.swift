import ArgumentParser
import DNSForward
import Logging
import RawUDP

#if canImport(Glibc)
import Glibc
#endif

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the forwarder on the port the TPROXY rule points at.",
        discussion: """
        Needs CAP_NET_ADMIN (IP_TRANSPARENT) and CAP_NET_RAW (raw reply sockets). \
        Point an nftables rule such as `meta l4proto { udp, tcp } th dport 53 tproxy to :5353 \
        meta mark set 1` at --port, with `ip rule add fwmark 1 lookup 100` and `ip route add \
        local 0.0.0.0/0 dev lo table 100` (and the IPv6 equivalents). UDP and TCP are both \
        served on --port. Stops cleanly on SIGINT or SIGTERM.
        """
    )

    @Option(help: "Port the TPROXY rule delivers to, UDP and TCP. Not 53: the daemon must not shadow a local resolver.")
    var port: UInt16 = 5353

    @Option(help: ArgumentHelp("Upstream resolver: 198.51.100.53, 198.51.100.53:5300, 2001:db8::53 or [2001:db8::53]:53. Repeat for several.", valueName: "address"))
    var upstream: [String] = []

    @Option(help: ArgumentHelp("Which upstream a query tries first: ordered (configuration order) or fastest (lowest smoothed RTT). Failover follows the same order.", valueName: "policy"))
    var upstreamPolicy: String = UpstreamPolicy.fastest.rawValue

    @Option(help: ArgumentHelp("Seconds to wait for one upstream before trying the next; SERVFAIL after the last.", valueName: "seconds"))
    var timeout: Double = 2

    @Option(help: "Queries waiting for upstreams at once before new ones get SERVFAIL.")
    var maxInFlight: Int = 4096

    @Option(help: ArgumentHelp("Cached answers held at most (CLOCK eviction); 0 disables the cache.", valueName: "entries"))
    var cacheSize: Int = 100_000

    @Option(help: ArgumentHelp("Floor for positive answer TTLs.", valueName: "seconds"))
    var minTTL: UInt32 = 0

    @Option(help: ArgumentHelp("Ceiling for positive answer TTLs.", valueName: "seconds"))
    var maxTTL: UInt32 = 86_400

    @Option(help: ArgumentHelp("Ceiling for NXDOMAIN/NODATA TTLs (RFC 2308).", valueName: "seconds"))
    var maxNegativeTTL: UInt32 = 3_600

    @Option(help: ArgumentHelp("How long SERVFAIL and upstream timeouts are cached (RFC 9520); 0 disables.", valueName: "seconds"))
    var servfailTTL: UInt32 = 5

    @Option(help: ArgumentHelp("Serve expired answers for up to this long when every upstream fails (RFC 8767), with TTL 30; 0 is off.", valueName: "seconds"))
    var serveStale: UInt32 = 0

    @Option(help: ArgumentHelp("Largest UDP reply sent, whatever the client advertises (512-4096).", valueName: "bytes"))
    var maxUDPSize: Int = 1232

    @Option(help: ArgumentHelp("Seconds a TCP client connection may sit idle.", valueName: "seconds"))
    var tcpIdleTimeout: Double = 10

    @Option(help: "TCP client connections open at once; more are closed at accept.")
    var tcpMaxConnections: Int = 512

    @Option(help: ArgumentHelp("Directory of *.zone files answered authoritatively (AA) without going upstream. A broken file stops start-up with FILE:LINE.", valueName: "dir"))
    var zones: String?

    @Option(help: ArgumentHelp("Control socket for `tproxy-dns cache ...` and `zones reload` (mode 0600: only this user).", valueName: "path"))
    var control: String = ControlOptions.defaultPath

    @Flag(help: "Run without a control socket.")
    var noControl = false

    @Option(help: ArgumentHelp("Log one line per query (time, client, original destination, name, type, rcode, source, latency) to a file, or - for standard output. Written off the hot path; lines beyond a 65,536-line backlog are dropped and counted.", valueName: "path"))
    var queryLog: String?

    @Option(help: "trace, debug, info, notice, warning, error or critical. Per-query lines are debug.")
    var logLevel: String = "info"

    func validate() throws {
        guard !upstream.isEmpty else { throw ValidationError("give at least one --upstream") }
        for text in upstream where IPEndpoint(text, defaultPort: 53) == nil {
            throw ValidationError("--upstream \(text): not an IP address with optional port (use [v6]:port)")
        }
        guard UpstreamPolicy(rawValue: upstreamPolicy) != nil else {
            throw ValidationError("--upstream-policy \(upstreamPolicy): use ordered or fastest")
        }
        guard port != 0 else { throw ValidationError("--port must be 1-65535") }
        guard timeout > 0, timeout <= 60 else { throw ValidationError("--timeout must be between 0 and 60 seconds") }
        guard maxInFlight > 0 else { throw ValidationError("--max-in-flight must be positive") }
        guard cacheSize >= 0 else { throw ValidationError("--cache-size must be 0 or more") }
        guard minTTL <= maxTTL else { throw ValidationError("--min-ttl must not exceed --max-ttl") }
        guard (512...4096).contains(maxUDPSize) else { throw ValidationError("--max-udp-size must be 512-4096") }
        guard tcpIdleTimeout > 0 else { throw ValidationError("--tcp-idle-timeout must be positive") }
        guard tcpMaxConnections > 0 else { throw ValidationError("--tcp-max-connections must be positive") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level \(logLevel): unknown level") }
    }

    func run() throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "tproxy-dns")
        let upstreams = upstream.compactMap { IPEndpoint($0, defaultPort: 53) }
        var cache = CacheConfiguration()
        cache.capacity = cacheSize
        cache.minimumTTL = minTTL
        cache.maximumTTL = maxTTL
        cache.maximumNegativeTTL = maxNegativeTTL
        cache.serverFailureTTL = servfailTTL
        cache.serveStale = serveStale
        var forwarder = ForwarderConfiguration(
            upstreamNames: upstreams.map(\.description),
            upstreamTimeout: .milliseconds(Int64(timeout * 1000)),
            maximumInFlight: maxInFlight,
            upstreamPolicy: UpstreamPolicy(rawValue: upstreamPolicy) ?? .fastest,
            cache: cache
        )
        forwarder.maximumUDPReply = maxUDPSize
        var localZones = LocalZones.empty
        if let zones {
            do {
                localZones = try LocalZones.load(directory: zones)
            } catch {
                printError("tproxy-dns: zone error: \(error)")
                throw ExitCode(1)
            }
        }
        var configuration = DaemonConfiguration(port: port, upstreams: upstreams, forwarder: forwarder)
        configuration.zonesDirectory = zones
        configuration.queryLogPath = queryLog
        if !noControl {
            do {
                try ControlOptions.prepareDirectory(for: control)
            } catch {
                printError("tproxy-dns: control socket: \(error)")
                throw ExitCode(1)
            }
            configuration.controlPath = control
        }
        configuration.tcpIdleTimeout = .milliseconds(Int64(tcpIdleTimeout * 1000))
        configuration.tcpMaximumConnections = tcpMaxConnections
        let daemon: Daemon
        do {
            daemon = try Daemon(configuration: configuration, localZones: localZones, logger: logger)
        } catch let error as SystemCallError where error.isPermissionDenied {
            printError("tproxy-dns: needs CAP_NET_ADMIN and CAP_NET_RAW: run as root (\(error))")
            throw ExitCode(77)
        } catch let error as SystemCallError where error.errno == EADDRINUSE {
            printError("tproxy-dns: port \(port) is already in use (\(error)); pick another --port")
            throw ExitCode(1)
        } catch {
            printError("tproxy-dns: cannot start: \(error)")
            throw ExitCode(1)
        }
        try daemon.run()
    }
}

func printError(_ line: String) {
    _ = (line + "\n").withCString { Glibc.write(STDERR_FILENO, $0, strlen($0)) }
}
