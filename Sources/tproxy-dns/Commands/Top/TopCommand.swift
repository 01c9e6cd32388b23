import ArgumentParser
import DNSServer

#if canImport(Glibc)
import Glibc
#endif

struct TopCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "top",
        abstract: "A live view of a running daemon over its control socket: rates, upstreams, busiest names and clients.",
        discussion: """
        Refreshes every --interval seconds: queries/s, cache hit ratio, answers by source (cache, upstream, \
        zone, blocked by admission), response codes, each upstream's health, RTT and rate, and the names, \
        clients and original destinations busiest in the last interval. Press q to quit. Fits 80x24.
        """)

    @OptionGroup var options: ControlOptions

    @Flag(help: "Print one frame (two samples --interval apart) and exit, for scripts.")
    var once = false

    @Option(help: ArgumentHelp("Seconds between refreshes.", valueName: "seconds"))
    var interval: Double = 1

    func validate() throws {
        guard interval >= 0.1, interval <= 60 else { throw ValidationError("--interval must be between 0.1 and 60 seconds") }
        guard !options.json else { throw ValidationError("top has no --json: `tproxy-dns cache stats --json` prints the figures") }
    }

    func run() throws {
        let milliseconds = Int(interval * 1000)
        var previous = try sample()
        if once {
            usleep(useconds_t(milliseconds * 1000))
            let current = try sample()
            print(frame(previous, current).joined(separator: "\n"))
            return
        }
        let terminal = TopTerminal()
        defer { terminal.restore() }
        while !terminal.waitForQuit(milliseconds: milliseconds) {
            let current = try sample()
            terminal.draw(frame(previous, current))
            previous = current
        }
    }

    private func sample() throws -> (stats: DaemonStats, at: ContinuousClock.Instant) {
        var stats: DaemonStats?
        try options.exchange(ControlRequest(command: .stats)) { stats = $0.stats }
        guard let stats else { throw ValidationError("the daemon sent no stats") }
        return (stats, .now)
    }

    private func frame(_ previous: (stats: DaemonStats, at: ContinuousClock.Instant),
                       _ current: (stats: DaemonStats, at: ContinuousClock.Instant)) -> [String] {
        let elapsed = previous.at.duration(to: current.at).components
        let seconds = Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
        return TopFrame(previous: previous.stats, current: current.stats, seconds: seconds).lines()
    }
}
