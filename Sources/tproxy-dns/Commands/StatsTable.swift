import DNSServer
import DNSForward

/// `cache stats` for a terminal: sections of aligned label/value rows.
enum StatsTable {
    static func render(_ stats: DaemonStats) -> String {
        [
            section("cache", cacheRows(stats)
                + optionalRows([("prefetches", stats.cache.prefetches), ("prefetch failures", stats.cache.prefetchFailures)])),
            stats.cacheFile.map { section("cache file", cacheFileRows($0)) } ?? "",
            stats.policy.map { section("policy", policyRows($0)) } ?? "",
            section("answers", answerRows(stats.answers)
                + optionalRows([("upstreams with 0x20 off", caseRandomizationOff(stats.upstreams))])),
            "upstreams\n",
            table(header: ["address", "state", "queries", "failures", "rtt"], rows: stats.upstreams.map {
                [$0.address, $0.up ? "up" : "DOWN", "\($0.queries)", "\($0.failures)",
                 $0.rttMilliseconds.map { String(cFormat: "%.1f ms", $0) } ?? "-"]
            }),
            "original destinations (the servers clients asked)\n",
            table(header: ["address", "queries"], rows: stats.originalDestinations.map { [$0.address, "\($0.queries)"] }),
            "answers by response code\n",
            table(header: ["rcode", "answers"], rows: stats.responseCodes.sorted { $0.value > $1.value }.map { [$0.key, "\($0.value)"] }),
            section("access", [
                ("refused (not allowed)", "\(stats.admission.refused)"),
                ("ignored (not allowed)", "\(stats.admission.ignored)"),
                ("rate limited", "\(stats.admission.rateLimited)"),
            ] + optionalRows([("refusals over cap", stats.admission.refusedDropped)])),
            section("transport", [
                ("tcp connections", "\(stats.transport.tcpConnections)"),
                ("tcp refused (limit)", "\(stats.transport.tcpRejected)"),
                ("tcp evicted (full)", "\(stats.transport.tcpEvicted ?? 0)"),
                ("metrics/ctl refused", "\(stats.transport.streamRefused ?? 0)"),
                ("accept pauses (fds)", "\(stats.transport.acceptPauses ?? 0)"),
                ("reply send failures", "\(stats.transport.replySendFailures)"),
                ("dropped: oversized", "\(stats.transport.receiveDropsTruncated)"),
                ("dropped: no orig dst", "\(stats.transport.receiveDropsNoOriginalDestination)"),
            ] + optionalRows([("sockets retired (forged)", stats.transport.upstreamSocketsRetiredForForgery),
                              ("tls connections", stats.transport.tlsConnectionsOpened),
                              ("tls resumed", stats.transport.tlsSessionsResumed),
                              ("tls failed", stats.transport.tlsConnectionFailures)])),
            section("daemon", [
                ("uptime", "\(stats.uptimeSeconds) s"),
                ("query log", stats.queryLog.enabled ? "\(stats.queryLog.written) written, \(stats.queryLog.dropped) dropped" : "off"),
                ("zones", stats.zones.isEmpty ? "none" : stats.zones.joined(separator: " ")),
                ("queries by worker", (stats.queriesByWorker ?? []).map(String.init).joined(separator: " / ")),
            ]),
        ].joined()
    }

    private static func cacheRows(_ stats: DaemonStats) -> [(String, String)] {
        let cache = stats.cache
        return [
            ("entries", "\(cache.entries) of \(cache.capacity)"),
            ("bytes", "\(cache.bytes)"),
            ("memory", "\(cache.memoryBytes.map(String.init) ?? "-") of \(cache.memoryLimit.map(String.init) ?? "-")"),
            ("oversized", "\(cache.oversized ?? 0)"),
            ("hits", "\(cache.hits)"),
            ("misses", "\(cache.misses)"),
            ("hit ratio", percent(cache.hitRatio)),
            ("stale hits", "\(cache.staleHits)"),
            ("evictions", "\(cache.evictions)"),
            ("expired", "\(cache.expired)"),
            ("in flight", "\(stats.inFlight)"),
        ]
    }

    private static func answerRows(_ answers: DaemonStats.Answers) -> [(String, String)] {
        [
            ("queries", "\(answers.queries)"),
            ("from cache", "\(answers.fromCache)"),
            ("from stale cache", "\(answers.fromStaleCache)"),
            ("from zones", "\(answers.fromZones)"),
            ("from upstreams", "\(answers.fromUpstreams)"),
            ("coalesced", "\(answers.coalesced)"),
            ("SERVFAIL", "\(answers.serverFailures)"),
            ("upstream timeouts", "\(answers.timeouts)"),
            ("rejected replies", "\(answers.rejectedUpstreamReplies)"),
            ("TCP retries", "\(answers.tcpRetries)"),
            ("dropped", "\(answers.droppedQueries)"),
            ("over client quota", "\(answers.overQuota ?? 0)"),
        ] + optionalRows([("wrong-case replies", answers.caseMismatches),
                          ("upstream retransmits", answers.upstreamRetransmits)])
    }

    /// Rows for figures an older daemon does not report: shown only when present.
    private static func optionalRows(_ rows: [(String, Int?)]) -> [(String, String)] {
        rows.compactMap { label, value in value.map { (label, "\($0)") } }
    }

    /// A title line, then its rows with the values aligned.
    static func section(_ title: String, _ rows: [(String, String)]) -> String {
        let width = rows.map(\.0.count).max() ?? 0
        return "\(title)\n" + rows.map { label, value in
            "  " + label + String(repeating: " ", count: width - label.count + 2) + value + "\n"
        }.joined()
    }

    /// Upstreams whose queries no longer get DNS 0x20; nil from a daemon that does not say.
    private static func caseRandomizationOff(_ upstreams: [DaemonStats.Upstream]) -> Int? {
        let known = upstreams.compactMap(\.caseRandomization)
        return known.isEmpty ? nil : known.filter { !$0 }.count
    }

    private static func percent(_ ratio: Double) -> String {
        let tenths = Int((ratio * 1000).rounded())
        return "\(tenths / 10).\(tenths % 10)%"
    }

    /// Columns padded to their widest cell; numbers right-aligned.
    static func table(header: [String], rows: [[String]]) -> String {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        var out = ""
        for row in all {
            let cells = row.indices.map { column -> String in
                let cell = row[column]
                let padding = String(repeating: " ", count: widths[column] - cell.count)
                let numeric = !cell.isEmpty && cell.first!.isNumber && column > 0
                return numeric ? padding + cell : cell + padding
            }
            out += "  " + cells.joined(separator: "  ") + "\n"
        }
        if rows.isEmpty { out += "  (none)\n" }
        return out
    }
}
