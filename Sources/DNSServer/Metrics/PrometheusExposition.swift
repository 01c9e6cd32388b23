#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import DNSForward

/// Renders the daemon's counters in the Prometheus text exposition format
/// (version 0.0.4): HELP and TYPE lines, then samples.
struct PrometheusExposition {
    private var text = ""

    static func render(stats: DaemonStats, upstreamLatency: [(address: String, histogram: LatencyHistogram)]) -> String {
        var out = PrometheusExposition()
        out.metric("tproxy_dns_queries_total", "counter", "Queries answered, by response code.",
                   stats.responseCodes.sorted { $0.key < $1.key }.map { (["rcode": $0.key], Double($0.value)) })
        let answers = stats.answers
        out.metric("tproxy_dns_answers_total", "counter", "Answers by where they came from.", [
            (["source": "cache"], Double(answers.fromCache)), (["source": "stale_cache"], Double(answers.fromStaleCache)),
            (["source": "zone"], Double(answers.fromZones)), (["source": "upstream"], Double(answers.fromUpstreams)),
        ])
        out.cacheMetrics(stats.cache)
        if let file = stats.cacheFile { out.cacheFileMetrics(file) }
        if let policy = stats.policy { out.policyMetrics(policy) }
        out.loopMetrics(stats)
        out.upstreamMetrics(stats, upstreamLatency)
        out.transportMetrics(stats)
        return out.text
    }

    private mutating func cacheMetrics(_ cache: DaemonStats.Cache) {
        metric("tproxy_dns_cache_hits_total", "counter", "Cache lookups that found a fresh answer.", [([:], Double(cache.hits))])
        metric("tproxy_dns_cache_misses_total", "counter", "Cache lookups that did not.", [([:], Double(cache.misses))])
        metric("tproxy_dns_cache_evictions_total", "counter", "Live entries evicted to make room.", [([:], Double(cache.evictions))])
        metric("tproxy_dns_cache_expired_total", "counter", "Expired entries removed.", [([:], Double(cache.expired))])
        metric("tproxy_dns_cache_entries", "gauge", "Entries in the cache.", [([:], Double(cache.entries))])
        metric("tproxy_dns_cache_bytes", "gauge", "Wire bytes held by cached answers.", [([:], Double(cache.bytes))])
        metric("tproxy_dns_cache_memory_bytes", "gauge", "Memory cached answers take, per-entry overhead included.",
                   [([:], Double(cache.memoryBytes ?? 0))])
        metric("tproxy_dns_cache_memory_limit_bytes", "gauge", "The cache's memory budget (--cache-memory).",
                   [([:], Double(cache.memoryLimit ?? 0))])
        metric("tproxy_dns_cache_oversized_total", "counter", "Answers not cached: larger than a cache shard's memory share.",
                   [([:], Double(cache.oversized ?? 0))])
        metric("tproxy_dns_prefetches_total", "counter", "Popular cache entries refreshed upstream before they expired.",
                   [([:], Double(cache.prefetches ?? 0))])
        metric("tproxy_dns_prefetch_failures_total", "counter",
                   "Prefetches that got no answer to store (timeouts, every upstream failing); the entry expires as before.",
                   [([:], Double(cache.prefetchFailures ?? 0))])
    }

    private mutating func loopMetrics(_ stats: DaemonStats) {
        metric("tproxy_dns_worker_queries_total", "counter", "Queries each event loop took (worker 0: the main thread).",
                   (stats.queriesByWorker ?? []).enumerated().map { (["worker": "\($0.offset)"], Double($0.element)) })
        metric("tproxy_dns_in_flight", "gauge", "Upstream queries outstanding.", [([:], Double(stats.inFlight))])
        metric("tproxy_dns_client_quota_exceeded_total", "counter",
                   "Misses answered SERVFAIL because their client had --max-in-flight-per-client queries in flight.",
                   [([:], Double(stats.answers.overQuota ?? 0))])
    }

    private mutating func upstreamMetrics(_ stats: DaemonStats,
                                          _ upstreamLatency: [(address: String, histogram: LatencyHistogram)]) {
        metric("tproxy_dns_upstream_up", "gauge", "1 while the upstream is considered healthy.",
                   stats.upstreams.map { (["upstream": $0.address], $0.up ? 1 : 0) })
        metric("tproxy_dns_upstream_queries_total", "counter", "Queries sent to each upstream.",
                   stats.upstreams.map { (["upstream": $0.address], Double($0.queries)) })
        metric("tproxy_dns_upstream_failures_total", "counter", "Timeouts and errors per upstream.",
                   stats.upstreams.map { (["upstream": $0.address], Double($0.failures)) })
        histogram("tproxy_dns_upstream_rtt_seconds", "Upstream round-trip time of answered queries.", upstreamLatency)
        metric("tproxy_dns_original_destination_queries_total", "counter",
                   "Queries by the server the client meant to ask (top 4096 addresses, the rest as other).",
                   stats.originalDestinations.map { (["destination": $0.address], Double($0.queries)) })
    }

    private mutating func transportMetrics(_ stats: DaemonStats) {
        let transport = stats.transport
        metric("tproxy_dns_dropped_total", "counter", "Queries dropped without an answer, by reason.", [
            (["reason": "oversized"], Double(transport.receiveDropsTruncated)),
            (["reason": "no_original_destination"], Double(transport.receiveDropsNoOriginalDestination)),
            (["reason": "malformed"], Double(stats.answers.droppedQueries)),
            (["reason": "not_allowed"], Double(stats.admission.ignored)),
            (["reason": "rate_limited"], Double(stats.admission.rateLimited)),
            (["reason": "refused_over_rate"], Double(stats.admission.refusedDropped ?? 0)),
        ])
        metric("tproxy_dns_upstream_case_mismatches_total", "counter",
               "Upstream replies with our ID and question in another letter case (DNS 0x20), asked again over TCP.",
               [([:], Double(stats.answers.caseMismatches ?? 0))])
        metric("tproxy_dns_upstream_retransmits_total", "counter",
               "UDP queries sent again to the same upstream for want of a reply (--upstream-retransmits).",
               [([:], Double(stats.answers.upstreamRetransmits ?? 0))])
        metric("tproxy_dns_upstream_case_randomization", "gauge",
               "1 while the upstream's UDP queries get DNS 0x20; 0 when off (configured, or it does not preserve case).",
               stats.upstreams.map { (["upstream": $0.address], ($0.caseRandomization ?? false) ? 1 : 0) })
        metric("tproxy_dns_upstream_sockets_retired_forged_total", "counter",
               "Upstream sockets retired because forged replies flooded them.",
               [([:], Double(transport.upstreamSocketsRetiredForForgery ?? 0))])
        metric("tproxy_dns_upstream_tls_connections_total", "counter",
               "DNS-over-TLS upstream connections: opened, resumed (session resumption), failed.", [
                   (["event": "opened"], Double(transport.tlsConnectionsOpened ?? 0)),
                   (["event": "resumed"], Double(transport.tlsSessionsResumed ?? 0)),
                   (["event": "failed"], Double(transport.tlsConnectionFailures ?? 0)),
               ])
        metric("tproxy_dns_refused_total", "counter", "Queries refused because the client is outside --allow.",
                   [([:], Double(stats.admission.refused))])
        metric("tproxy_dns_reply_send_failures_total", "counter", "Replies the kernel did not take.",
                   [([:], Double(transport.replySendFailures))])
        metric("tproxy_dns_tcp_connections", "gauge", "Client TCP connections open.", [([:], Double(transport.tcpConnections))])
        metric("tproxy_dns_connections_closed_total", "counter",
                   "Connections closed by the daemon's limits: TCP refused at accept or evicted, metrics/control refused.", [
                       (["reason": "tcp_refused"], Double(transport.tcpRejected)),
                       (["reason": "tcp_evicted"], Double(transport.tcpEvicted ?? 0)),
                       (["reason": "stream_refused"], Double(transport.streamRefused ?? 0)),
                   ])
        metric("tproxy_dns_accept_pauses_total", "counter", "Times a listener stopped accepting for want of descriptors.",
                   [([:], Double(transport.acceptPauses ?? 0))])
        metric("tproxy_dns_query_log_dropped_total", "counter", "Query log lines dropped because the writer fell behind.",
                   [([:], Double(stats.queryLog.dropped))])
        metric("tproxy_dns_uptime_seconds", "gauge", "Seconds since start.", [([:], Double(stats.uptimeSeconds))])
    }

    mutating func metric(_ name: String, _ type: String, _ help: String, _ samples: [([String: String], Double)]) {
        text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
        for (labels, value) in samples { text += sample(name, labels, value) }
    }

    private mutating func histogram(_ name: String, _ help: String, _ series: [(address: String, histogram: LatencyHistogram)]) {
        text += "# HELP \(name) \(help)\n# TYPE \(name) histogram\n"
        for (address, histogram) in series {
            var cumulative = 0
            for (index, bound) in LatencyHistogram.bounds.enumerated() {
                cumulative += histogram.counts[index]
                text += sample(name + "_bucket", ["upstream": address, "le": format(bound)], Double(cumulative))
            }
            text += sample(name + "_bucket", ["upstream": address, "le": "+Inf"], Double(histogram.count))
            text += sample(name + "_sum", ["upstream": address], histogram.sum)
            text += sample(name + "_count", ["upstream": address], Double(histogram.count))
        }
    }

    private func sample(_ name: String, _ labels: [String: String], _ value: Double) -> String {
        let rendered = labels.sorted { $0.key < $1.key }.map { "\($0.key)=\"\(escape($0.value))\"" }
        let labelText = rendered.isEmpty ? "" : "{\(rendered.joined(separator: ","))}"
        return "\(name)\(labelText) \(format(value))\n"
    }

    private func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }

    /// Label values escape backslash, double quote and newline (exposition format).
    private func escape(_ value: String) -> String {
        value.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"")
            .replacing("\n", with: "\\n")
    }
}
