import DNSForward
import DNSServer

/// One screen of `tproxy-dns top`: rates from two stats samples `seconds` apart, laid out
/// for an 80×24 terminal (at most `TopFrame.width` columns, `TopFrame.height` lines).
struct TopFrame {
    static let width = 80
    static let height = 24
    /// Rows of each top list, and upstreams shown (the rest summed in one line).
    static let listRows = 10
    static let upstreamRows = 4

    let previous: DaemonStats
    let current: DaemonStats
    let seconds: Double

    func lines() -> [String] {
        var lines = [header(), rates(), answers(), responseCodes()]
        lines += upstreams()
        lines.append("")
        lines += topLists()
        return lines.map { Self.clip($0, to: Self.width) }
    }

    private func rate(_ now: Int, _ before: Int) -> Double { seconds > 0 ? Double(max(now - before, 0)) / seconds : 0 }

    private static func number(_ value: Double) -> String { String(cFormat: value < 100 ? "%.1f" : "%.0f", value) }

    private func header() -> String {
        let up = current.uptimeSeconds
        let uptime = String(cFormat: "%ldh%02ldm%02lds", up / 3600, up / 60 % 60, up % 60)
        let loops = current.queriesByWorker?.count ?? 1
        return "tproxy-dns top | up \(uptime) | in flight \(current.inFlight) | \(loops) loop\(loops == 1 ? "" : "s")"
            .padding(toWidth: Self.width - 8) + "q: quit"
    }

    private func rates() -> String {
        let hits = current.cache.hits - previous.cache.hits, misses = current.cache.misses - previous.cache.misses
        let ratio = hits + misses > 0 ? Double(hits) / Double(hits + misses) : current.cache.hitRatio
        return "queries/s " + Self.number(rate(current.answers.queries, previous.answers.queries)).leftPadding(toWidth: 8)
            + "   hit ratio " + String(cFormat: "%5.1f%%", ratio * 100)
            + "   cache \(current.cache.entries) entries, \(current.cache.bytes / 1024) KiB"
    }

    /// Answers by source; "blocked" is admission's: refused, ignored and rate-limited clients.
    private func answers() -> String {
        let a = current.answers, b = previous.answers
        let cache = rate(a.fromCache + a.fromStaleCache, b.fromCache + b.fromStaleCache)
        let blocked = rate(Self.blocked(current.admission), Self.blocked(previous.admission))
        let parts: [(String, Double)] = [
            ("cache", cache), ("upstream", rate(a.fromUpstreams, b.fromUpstreams)), ("zone", rate(a.fromZones, b.fromZones)),
            ("blocked", blocked), ("servfail", rate(a.serverFailures, b.serverFailures)),
        ]
        return "answers/s " + parts.map { "\($0.0) \(Self.number($0.1))" }.joined(separator: "  ")
    }

    private static func blocked(_ admission: DaemonStats.Admission) -> Int {
        admission.refused + admission.ignored + admission.rateLimited
    }

    private func responseCodes() -> String {
        let codes = busiest(current.responseCodes.map { ($0.key, $0.value) }, previous.responseCodes.map { ($0.key, $0.value) })
        let text: [String] = codes.map { "\($0.key) \(Self.number($0.rate))" }
        return "rcodes/s  " + (text.isEmpty ? "-" : text.joined(separator: "  "))
    }

    private func upstreams() -> [String] {
        var lines = ["upstream".padding(toWidth: 40) + "health" + "rtt ms".leftPadding(toWidth: 9)
            + "queries/s".leftPadding(toWidth: 11) + "fail/s".leftPadding(toWidth: 8)]
        for (index, upstream) in current.upstreams.enumerated().prefix(Self.upstreamRows) {
            let before = previous.upstreams.indices.contains(index) ? previous.upstreams[index] : upstream
            lines.append(upstream.address.padding(toWidth: 40) + (upstream.up ? "up" : "DOWN").padding(toWidth: 6)
                + (upstream.rttMilliseconds.map { String(cFormat: "%.1f", $0) } ?? "-").leftPadding(toWidth: 9)
                + Self.number(rate(upstream.queries, before.queries)).leftPadding(toWidth: 11)
                + Self.number(rate(upstream.failures, before.failures)).leftPadding(toWidth: 8))
        }
        if current.upstreams.count > Self.upstreamRows {
            lines.append("(\(current.upstreams.count - Self.upstreamRows) more upstreams: tproxy-dns cache stats)")
        }
        return lines
    }

    /// Names, clients and original destinations side by side, busiest in this interval first.
    private func topLists() -> [String] {
        let columns = [("top names", current.topNames ?? [], previous.topNames ?? []),
                       ("top clients", current.topClients ?? [], previous.topClients ?? []),
                       ("original destinations", current.originalDestinations, previous.originalDestinations)]
            .map { title, now, before in (title, busiest(Self.pairs(now), Self.pairs(before))) }
        let columnWidth = Self.width / columns.count
        var lines = [columns.map { ($0.0.padding(toWidth: columnWidth - 7) + "q/s".leftPadding(toWidth: 6)).padding(toWidth: columnWidth) }
            .joined()]
        for row in 0..<Self.listRows {
            lines.append(columns.map { _, rows in
                guard row < rows.count else { return String(repeating: " ", count: columnWidth) }
                let key = Self.clip(rows[row].key, to: columnWidth - 8)
                return (key.padding(toWidth: columnWidth - 7) + Self.number(rows[row].rate).leftPadding(toWidth: 6)).padding(toWidth: columnWidth)
            }.joined())
        }
        return lines
    }

    /// Keys whose count grew in the interval, fastest first ("other" left out: it is no key).
    private func busiest(_ now: [(String, Int)], _ before: [(String, Int)]) -> [(key: String, rate: Double)] {
        let earlier = Dictionary(before, uniquingKeysWith: +)
        let rates: [(key: String, rate: Double)] = now.filter { $0.0 != "other" }.map { (key: $0.0, rate: rate($0.1, earlier[$0.0] ?? 0)) }
        return rates.filter { $0.rate > 0 }.sorted { $0.rate == $1.rate ? $0.key < $1.key : $0.rate > $1.rate }
    }

    private static func pairs(_ rows: [DaemonStats.Destination]) -> [(String, Int)] { rows.map { ($0.address, $0.queries) } }

    /// At most `width` characters; a cut line ends in "~".
    static func clip(_ text: String, to width: Int) -> String {
        text.count <= width ? text : String(text.prefix(width - 1)) + "~"
    }
}

extension String {
    func padding(toWidth width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
    func leftPadding(toWidth width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
