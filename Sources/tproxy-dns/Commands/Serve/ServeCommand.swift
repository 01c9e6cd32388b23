import DNSServer
import ArgumentParser
import DNSForward
import GatewaySetup
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
        Needs CAP_NET_ADMIN (IP_TRANSPARENT) and CAP_NET_RAW (raw reply sockets). Point an \
        nftables rule such as `meta l4proto { udp, tcp } th dport 53 tproxy to :5353 meta mark \
        set 1` at --port, with `ip rule add fwmark 1 lookup 100` and `ip route add local \
        0.0.0.0/0 dev lo table 100` (and the IPv6 equivalents); `tproxy-dns rules` prints them. \
        UDP and TCP are both served on --port.

        Every option can also be set in a --config file under its long name (`cache-size = \
        50000`); flags given on the command line win. SIGHUP re-reads the config file and the \
        zones without dropping the cache; SIGINT and SIGTERM stop the daemon cleanly.
        """
    )

    @Option(help: ArgumentHelp("Read settings from this file (keys are these options' long names); flags override it.", valueName: "file"))
    var config: String?

    @Option(help: "Port the TPROXY rule delivers to, UDP and TCP. Not 53: the daemon must not shadow a local resolver.")
    var port: UInt16 = 5353

    @Option(help: ArgumentHelp("Upstream resolver: 198.51.100.53, 198.51.100.53:5300, 2001:db8::53 or [2001:db8::53]:53; DNS over TLS as tls://ADDR[:PORT][#NAME] (port 853; the certificate must match NAME, else hold ADDR). Repeat for several.", valueName: "address"))
    var upstream: [String] = []

    @Option(help: ArgumentHelp("PEM bundle the certificates of tls:// upstreams are verified against. Default: the system trust store.", valueName: "file"))
    var upstreamCa: String?

    @Option(help: ArgumentHelp("SPKI pin a tls:// upstream's chain must match (RFC 7858 4.2), besides CA verification: sha256/BASE64 for every tls:// upstream, or ADDR[:PORT]=sha256/BASE64 for one. Repeat for backup pins.", valueName: "pin"))
    var upstreamPin: [String] = []

    @Option(help: ArgumentHelp("Which upstream a query tries first: ordered (configuration order) or fastest (lowest smoothed RTT). Failover follows the same order.", valueName: "policy"))
    var upstreamPolicy: String = UpstreamPolicy.fastest.rawValue

    @Option(help: ArgumentHelp("Seconds to wait for one upstream before trying the next; SERVFAIL after the last.", valueName: "seconds"))
    var timeout: Double = 2

    @Option(help: ArgumentHelp("Times a UDP query is sent again to the same upstream within --timeout when no reply came, after the upstream's retransmit timeout (smoothed RTT + 4 × its variation, 200 ms to half --timeout), doubling; 0 never. A lost datagram then costs that, not --timeout: clients' own retries join the query already waiting.", valueName: "count"))
    var upstreamRetransmits: Int = 2

    @Option(help: "Queries waiting for upstreams at once before new ones get SERVFAIL.")
    var maxInFlight: Int = 4096

    @Option(help: ArgumentHelp("Upstream queries one client address may have in flight (1 to --max-in-flight); past it that client's new misses get SERVFAIL while other clients are still served. Default: a quarter of --max-in-flight.", valueName: "count"))
    var maxInFlightPerClient: Int?

    @Option(help: ArgumentHelp("UDP sockets to each upstream that queries rotate over (one per receive batch), each on its own random source port.", valueName: "count"))
    var upstreamSockets: Int = 8

    @Option(help: ArgumentHelp("Queries one upstream UDP socket sends before it is closed and replaced by one on a new random port; 1 gives every query a socket of its own (more CPU per cache miss).", valueName: "count"))
    var upstreamSocketQueries: Int = 256

    @Option(help: ArgumentHelp("Threads answering UDP queries (1-64), or auto (one per online CPU, at most 16). The kernel spreads queries over them by client flow (SO_REUSEPORT); they share one cache, and each has its own upstream sockets, in-flight table and --rate-limit buckets. TCP, control and metrics stay on the main thread. On 2 cores where the load generator takes one, 1 is cheaper per answer (bench/limit-workers-2026-11-25.md).", valueName: "count"))
    var workers: String = "1"

    @Option(help: ArgumentHelp("Cached answers held at most (CLOCK eviction); 0 disables the cache.", valueName: "entries"))
    var cacheSize: Int = 100_000

    @Option(help: ArgumentHelp("Memory the cached answers may take, per-entry overhead included: bytes, or with a K, M or G suffix (powers of 1024), e.g. 32M. CLOCK evicts to stay under it; an answer larger than a cache shard's share is not cached; 0 disables the cache.", valueName: "size"))
    var cacheMemory: String = "32M"

    @Option(help: ArgumentHelp("Keep the cache in this file across restarts: loaded at start before the first query (TTLs aged by the wall-clock time that passed; a damaged file is one warning and an empty cache), saved at a clean exit and every --cache-save-interval. Written atomically, mode 0600, never through a symbolic link. Off when not given.", valueName: "path"))
    var cacheFile: String?

    @Option(help: ArgumentHelp("Seconds between saves of --cache-file; 0 saves only at exit (and on `tproxy-dns cache save`). On an SD card, a long interval or 0 spares it wear.", valueName: "seconds"))
    var cacheSaveInterval: Int = 3_600

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

    @Option(help: ArgumentHelp("Text answered to CHAOS TXT id.server and hostname.bind (1-255 octets). Unset: REFUSED. Never forwarded either way.", valueName: "text"))
    var identity: String?

    @Option(help: ArgumentHelp("Text answered to CHAOS TXT version.bind and version.server (1-255 octets). Unset: REFUSED. Never forwarded either way.", valueName: "text"))
    var versionString: String?

    @Flag(inversion: .prefixedNo, help: "DNS 0x20: random letter case in every UDP query upstream; a reply must echo it exactly or is asked again over TCP. Upstreams that do not preserve case are found and left out (one log line).")
    var caseRandomization = true

    @Flag(inversion: .prefixedNo, help: "Refresh a cached answer in the background when a hit finds less than a tenth of its TTL left and it was asked at least twice (TTLs of 10 s and more), so clients of popular names never wait for an upstream. Prefetches take at most a tenth of --max-in-flight and count against no client's quota.")
    var prefetch = true

    @Option(help: ArgumentHelp("Seconds a TCP client connection may sit idle.", valueName: "seconds"))
    var tcpIdleTimeout: Double = 10

    @Option(help: "TCP client connections open at once; when full, the one that has kept the daemon waiting longest (idle, or stalled mid-message) is closed to make room.")
    var tcpMaxConnections: Int = 512

    @Option(help: ArgumentHelp("Seconds from the first byte of a TCP query to its last; a client that trickles (slowloris) is closed.", valueName: "seconds"))
    var tcpMessageTimeout: Double = 2

    @Option(help: "TCP client connections one client address may hold at once; a newcomer replaces its idle one or is closed.")
    var tcpMaxPerClient: Int = 8

    @Option(help: ArgumentHelp("Clients allowed to use the daemon (CIDR). Repeat for several. Default: private and ULA ranges (10/8, 172.16/12, 192.168/16, 100.64/10, 169.254/16, 127/8, fc00::/7, fe80::/10, ::1), so a WAN-facing gateway is never an open resolver.", valueName: "cidr"))
    var allow: [String] = []

    @Option(help: ArgumentHelp("What clients outside --allow get: refuse (a REFUSED answer) or drop (silence).", valueName: "action"))
    var refusedAction: String = ClientAdmission.RefusedAction.refuse.rawValue

    @Option(help: ArgumentHelp("REFUSED replies per second to clients outside --allow, all together (burst: one second's worth); more are dropped unanswered, so spoofed queries cannot make the daemon a reflector.", valueName: "per-second"))
    var refusedRate: Double = ClientAdmission.defaultRefusedRate

    @Option(help: ArgumentHelp("Queries per second each client address may send (burst: twice that); more are dropped. Off by default.", valueName: "qps"))
    var rateLimit: Double?

    @Option(help: ArgumentHelp("Directory of *.zone files answered authoritatively (AA) without going upstream. A broken file stops start-up with FILE:LINE.", valueName: "dir"))
    var zones: String?

    // Routing policy (README "Policy"): decided in this order: --zones, --block-list and the
    // bypass canaries, --forward-zone, --route, the default --upstream.
    @Option(help: ArgumentHelp("Queries for ZONE and names below it go to these upstreams (same syntax as --upstream); the longest matching zone wins. Repeat for several, e.g. corp.example=10.0.0.53. Config file: [[forward-zone]] tables with zone and upstreams.", valueName: "zone=address[,address...]"))
    var forwardZone: [String] = []

    @Option(help: ArgumentHelp("Route queries by the address the client targeted (most specific prefix wins): upstream:ADDR[,ADDR...] (these upstreams), passthrough (the targeted server itself, port 53, cached per server), refuse (REFUSED) or default. @CIDR,... limits it to those clients. Config file: [[route]] tables with destination, action, upstreams, clients.", valueName: "cidr=action[@clients]"))
    var route: [String] = []

    @Option(help: ArgumentHelp("Block the names in this file and their subdomains: hosts-file lines (0.0.0.0 ads.example) or one name per line, # comments; bad lines are reported as FILE:LINE and skipped. Repeat for several; SIGHUP re-reads them.", valueName: "file"))
    var blockList: [String] = []

    @Option(help: ArgumentHelp("What blocked names get: nxdomain, null (0.0.0.0 to A, :: to AAAA, NODATA to other types) or refused.", valueName: "answer"))
    var blockAnswer: String = BlockAnswer.nxdomain.rawValue

    @Flag(inversion: .prefixedNo, help: "Answer the encrypted-DNS bypass canaries NXDOMAIN (use-application-dns.net for Firefox, mask.icloud.com and mask-h2.icloud.com for iCloud Private Relay), so clients keep using the gateway's DNS.")
    var bypassCanaries = true

    @Option(help: ArgumentHelp("Control socket for `tproxy-dns cache ...` and `zones reload` (mode 0600: only this user).", valueName: "path"))
    var control: String = ControlOptions.defaultPath

    @Flag(help: "Run without a control socket.")
    var noControl = false

    @Option(help: ArgumentHelp("Log one line per query (time, client, original destination, name, type, rcode, source, latency) to a file, or - for standard output. Written off the hot path; lines beyond a 65,536-line backlog are dropped and counted.", valueName: "path"))
    var queryLog: String?

    @Option(help: ArgumentHelp("Serve Prometheus metrics over HTTP at this address, e.g. 127.0.0.1:9153 or [::1]:9153 (GET /metrics).", valueName: "address"))
    var metrics: String?

    @Option(help: "Metrics connections open at once; more are closed at accept. Each must send its request within 5 s.")
    var metricsMaxConnections: Int = 16

    @Option(help: ArgumentHelp("After opening its sockets, drop root and run as this user (e.g. nobody). Zone files must be readable by it.", valueName: "user"))
    var user: String?

    @Option(help: ArgumentHelp("How UDP replies get the targeted address as source: raw (one raw socket, headers built by tproxy-dns) or socket-per-source (a transparent UDP socket bound per spoofed address; for comparison).", valueName: "path"))
    var replyVia: String = DaemonConfiguration.ReplyPath.raw.rawValue

    @Option(help: ArgumentHelp("Firewall mark (SO_MARK, decimal or 0x hex, 1-0xffffffff) on raw replies, for policy routing: e.g. an `ip rule fwmark` that keeps replies to LAN clients off a VPN table. Needs CAP_NET_ADMIN.", valueName: "mark"))
    var replyMark: String?

    @Flag(help: "Install the TPROXY rules (nftables table, ip rules and routes, both families) at start and remove them at exit, as `tproxy-dns rules --apply` would; needs --lan-interface or --lan-prefix. Not with --user: removing them needs root.")
    var installRules = false

    @OptionGroup(title: "TPROXY rules (with --install-rules; see tproxy-dns rules --help)")
    var rules: TPROXYRuleOptions

    @Option(help: "trace, debug, info, notice, warning, error or critical. Per-query lines are debug.")
    var logLevel: String = "info"

    func validate() throws {
        // With a config file, checks run once the file and the flags are merged.
        guard config == nil else { return }
        guard !upstream.isEmpty else { throw ValidationError("--upstream: give at least one upstream") }
        guard port != 0 else { throw ValidationError("--port must be 1-65535") }
        guard timeout > 0, timeout <= 60 else { throw ValidationError("--timeout must be between 0 and 60 seconds") }
        guard (0...10).contains(upstreamRetransmits) else { throw ValidationError("--upstream-retransmits must be 0 to 10") }
        guard maxInFlight > 0 else { throw ValidationError("--max-in-flight must be positive") }
        guard (1...1024).contains(upstreamSockets) else { throw ValidationError("--upstream-sockets must be 1-1024") }
        guard upstreamSocketQueries > 0 else { throw ValidationError("--upstream-socket-queries must be positive") }
        guard cacheSize >= 0 else { throw ValidationError("--cache-size must be 0 or more") }
        guard minTTL <= maxTTL else { throw ValidationError("--min-ttl must not exceed --max-ttl") }
        guard (512...4096).contains(maxUDPSize) else { throw ValidationError("--max-udp-size must be 512-4096") }
        guard tcpIdleTimeout > 0 else { throw ValidationError("--tcp-idle-timeout must be positive") }
        guard tcpMaxConnections > 0 else { throw ValidationError("--tcp-max-connections must be positive") }
        guard tcpMessageTimeout > 0 else { throw ValidationError("--tcp-message-timeout must be positive") }
        guard tcpMaxPerClient > 0 else { throw ValidationError("--tcp-max-per-client must be positive") }
        guard metricsMaxConnections > 0 else { throw ValidationError("--metrics-max-connections must be positive") }
        if let rateLimit, !(rateLimit > 0) { throw ValidationError("--rate-limit must be positive") }
        guard refusedRate > 0, refusedRate.isFinite else { throw ValidationError("--refused-rate must be positive (for no replies at all: --refused-action drop)") }
        if let user, user.isEmpty { throw ValidationError("--user must name a user") }
        if installRules {
            _ = try rules.settings(port: port)
            if user != nil {
                throw ValidationError("--install-rules with --user: removing the rules at exit needs root; run `tproxy-dns rules --apply/--remove` around the daemon instead (contrib/tproxy-dns.service shows how)")
            }
        }
        // Every value with a syntax of its own, through the parsers the daemon's settings use.
        let configuration = try daemonConfiguration(loadingLists: false)
        if configuration.workers > 1, configuration.replyVia != .raw {
            throw ValidationError("--workers above 1 needs --reply-via raw (socket-per-source binds one socket per address)")
        }
        _ = try ServeOptionParsing.logLevel(logLevel)
    }

    func run() throws {
        let settings: ServeCommand
        do {
            settings = try resolved()
        } catch let error as ConfigFileError {
            printError("tproxy-dns: config: \(error)")
            throw ExitCode(1)
        }
        try settings.start(reloadingFrom: config)
    }

    /// This command with its --config file merged in (flags win), validated.
    func resolved() throws -> ServeCommand {
        guard let config else { return self }
        return try ServeConfiguration.merge(file: config, commandLine: ServeConfiguration.commandLineArguments())
    }
}

func printError(_ line: String) {
    _ = (line + "\n").withCString { Glibc.write(STDERR_FILENO, $0, strlen($0)) }
}
