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
        Point an nftables rule such as `udp dport 53 tproxy to :5353 meta mark set 1` at \
        --port, with `ip rule add fwmark 1 lookup 100` and `ip route add local 0.0.0.0/0 \
        dev lo table 100` (and the IPv6 equivalents). Stops cleanly on SIGINT or SIGTERM.
        """
    )

    @Option(name: .long, help: "UDP port the TPROXY rule delivers to. Not 53: the daemon must not shadow a local resolver.")
    var port: UInt16 = 5353

    @Option(name: .long, help: ArgumentHelp("Upstream resolver: 198.51.100.53, 198.51.100.53:5300, 2001:db8::53 or [2001:db8::53]:53. Repeat for failover, tried in order.", valueName: "address"))
    var upstream: [String] = []

    @Option(name: .long, help: ArgumentHelp("Seconds to wait for one upstream before trying the next; SERVFAIL after the last.", valueName: "seconds"))
    var timeout: Double = 2

    @Option(name: .long, help: "Queries waiting for upstreams at once before new ones get SERVFAIL.")
    var maxInFlight: Int = 4096

    @Option(name: .long, help: "trace, debug, info, notice, warning, error or critical. Per-query lines are debug.")
    var logLevel: String = "info"

    func validate() throws {
        guard !upstream.isEmpty else { throw ValidationError("give at least one --upstream") }
        for text in upstream where IPEndpoint(text, defaultPort: 53) == nil {
            throw ValidationError("--upstream \(text): not an IP address with optional port (use [v6]:port)")
        }
        guard port != 0 else { throw ValidationError("--port must be 1-65535") }
        guard timeout > 0, timeout <= 60 else { throw ValidationError("--timeout must be between 0 and 60 seconds") }
        guard maxInFlight > 0 else { throw ValidationError("--max-in-flight must be positive") }
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
        let configuration = ForwarderConfiguration(
            upstreamCount: upstreams.count,
            upstreamTimeout: .milliseconds(Int64(timeout * 1000)),
            maximumInFlight: maxInFlight
        )
        let daemon: Daemon
        do {
            daemon = try Daemon(port: port, upstreams: upstreams, configuration: configuration, logger: logger)
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

    private func printError(_ line: String) {
        var standardError = StandardError()
        print(line, to: &standardError)
    }
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        _ = string.withCString { Glibc.write(STDERR_FILENO, $0, strlen($0)) }
    }
}
