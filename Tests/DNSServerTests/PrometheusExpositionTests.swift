import DNSForward
import Testing
@testable import DNSServer

@Suite("Prometheus exposition")
struct PrometheusExpositionTests {
    private let stats = WorkerStatsTests.stats(queries: 10, fromCache: 4, upstreamUp: true, upstreamQueries: 3, rtt: 2,
                                               destinations: [("203.0.113.53", 6)], codes: ["NOERROR": 9, "SERVFAIL": 1],
                                               refused: 2)

    @Test func countersCarryHelpTypeAndSortedLabels() {
        let text = PrometheusExposition.render(stats: stats, upstreamLatency: [])
        #expect(text.contains("""
            # HELP tproxy_dns_queries_total Queries answered, by response code.
            # TYPE tproxy_dns_queries_total counter
            tproxy_dns_queries_total{rcode="NOERROR"} 9
            tproxy_dns_queries_total{rcode="SERVFAIL"} 1

            """))
        #expect(text.contains("tproxy_dns_answers_total{source=\"cache\"} 4\n"))
        #expect(text.contains("tproxy_dns_upstream_up{upstream=\"198.51.100.53:53\"} 1\n"))
        #expect(text.contains("tproxy_dns_refused_total 2\n"))
        #expect(text.contains("tproxy_dns_original_destination_queries_total{destination=\"203.0.113.53\"} 6\n"))
        #expect(text.contains("# TYPE tproxy_dns_cache_entries gauge\n"))
        #expect(text.contains("tproxy_dns_connections_closed_total{reason=\"tcp_evicted\"} 0\n"),
                "a daemon without the counter shows 0")
        #expect(text.contains("tproxy_dns_accept_pauses_total 0\n"))
        // Issue 15: the cache's memory and its budget, and the per-client quota.
        var bounded = stats
        bounded.cache.memoryBytes = 2_000_000
        bounded.cache.memoryLimit = 2_097_152
        bounded.answers.overQuota = 7
        let withBudget = PrometheusExposition.render(stats: bounded, upstreamLatency: [])
        #expect(withBudget.contains("tproxy_dns_cache_memory_bytes 2000000\n"))
        #expect(withBudget.contains("# TYPE tproxy_dns_cache_memory_limit_bytes gauge\ntproxy_dns_cache_memory_limit_bytes 2097152\n"))
        #expect(withBudget.contains("tproxy_dns_client_quota_exceeded_total 7\n"))
        // Every sample line is NAME[{labels}] VALUE.
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            #expect(line.split(separator: " ").count == 2, "\(line)")
        }
    }

    @Test func histogramBucketsAreCumulativeAndEndAtInf() {
        var histogram = LatencyHistogram()
        histogram.record(.microseconds(300)) // <= 0.0005
        histogram.record(.milliseconds(3)) // <= 0.005
        histogram.record(.seconds(10)) // +Inf only
        let text = PrometheusExposition.render(stats: stats, upstreamLatency: [("a\"b", histogram)])
        #expect(text.contains("tproxy_dns_upstream_rtt_seconds_bucket{le=\"0.0005\",upstream=\"a\\\"b\"} 1\n"))
        #expect(text.contains("tproxy_dns_upstream_rtt_seconds_bucket{le=\"0.0025\",upstream=\"a\\\"b\"} 1\n"))
        #expect(text.contains("tproxy_dns_upstream_rtt_seconds_bucket{le=\"0.005\",upstream=\"a\\\"b\"} 2\n"))
        #expect(text.contains("tproxy_dns_upstream_rtt_seconds_bucket{le=\"2.5\",upstream=\"a\\\"b\"} 2\n"))
        #expect(text.contains("tproxy_dns_upstream_rtt_seconds_bucket{le=\"+Inf\",upstream=\"a\\\"b\"} 3\n"))
        #expect(text.contains("tproxy_dns_upstream_rtt_seconds_count{upstream=\"a\\\"b\"} 3\n"))
        #expect(text.contains("tproxy_dns_upstream_rtt_seconds_sum{upstream=\"a\\\"b\"} 10.0033\n"))
    }

    @Test func retransmitsAreExposed() {
        var stats = stats
        #expect(PrometheusExposition.render(stats: stats, upstreamLatency: []).contains("tproxy_dns_upstream_retransmits_total 0\n"),
                "a daemon without the counter shows 0")
        stats.answers.upstreamRetransmits = 12
        let text = PrometheusExposition.render(stats: stats, upstreamLatency: [])
        #expect(text.contains("# TYPE tproxy_dns_upstream_retransmits_total counter\ntproxy_dns_upstream_retransmits_total 12\n"))
    }

    @Test func spoofingDefencesAreExposed() {
        var stats = stats
        stats.admission.refusedDropped = 900
        stats.answers.caseMismatches = 3
        stats.transport.upstreamSocketsRetiredForForgery = 1
        stats.upstreams[0].caseRandomization = false
        let text = PrometheusExposition.render(stats: stats, upstreamLatency: [])
        #expect(text.contains("tproxy_dns_dropped_total{reason=\"refused_over_rate\"} 900\n"))
        #expect(text.contains("tproxy_dns_upstream_case_mismatches_total 3\n"))
        #expect(text.contains("tproxy_dns_upstream_case_randomization{upstream=\"198.51.100.53:53\"} 0\n"))
        #expect(text.contains("tproxy_dns_upstream_sockets_retired_forged_total 1\n"))
    }

    @Test func cacheFileFiguresOnlyWithACacheFile() {
        var stats = stats
        #expect(!PrometheusExposition.render(stats: stats, upstreamLatency: []).contains("tproxy_dns_cache_file"))
        stats.cacheFile = DaemonStats.CacheFile(path: "/var/lib/tproxy-dns/cache", saveIntervalSeconds: 0, loadedEntries: 7,
                                                savedAt: 1_796_256_000, savedEntries: 5, saves: 2, saveFailures: 1,
                                                savesRequested: 3)
        let text = PrometheusExposition.render(stats: stats, upstreamLatency: [])
        #expect(text.contains("tproxy_dns_cache_file_saves_total{result=\"failed\"} 1\n"))
        #expect(text.contains("tproxy_dns_cache_file_saves_total{result=\"ok\"} 2\n"))
        #expect(text.contains("tproxy_dns_cache_file_last_save_timestamp_seconds 1796256000\n"))
        #expect(text.contains("tproxy_dns_cache_file_last_save_entries 5\n"))
        #expect(text.contains("tproxy_dns_cache_file_loaded_entries 7\n"))
        #expect(text.contains("tproxy_dns_cache_file_load_failed 0\n"))
    }

    @Test func workersAddUpTheNewCounters() {
        var primary = stats
        var worker = stats
        primary.admission.refusedDropped = 5
        worker.admission.refusedDropped = 7
        worker.answers.caseMismatches = 2
        primary.upstreams[0].caseRandomization = true
        worker.upstreams[0].caseRandomization = false
        primary.add(worker: worker)
        #expect(primary.admission.refusedDropped == 12)
        #expect(primary.answers.caseMismatches == 2)
        #expect(primary.upstreams[0].caseRandomization == false, "off on any loop shows as off")
        #expect(primary.transport.upstreamSocketsRetiredForForgery == nil, "absent on both: still absent")
    }

    /// Issue 18: each loop's forwarder prefetches on its own; the figures add up.
    @Test func prefetchesAreExposedAndAddUpAcrossWorkers() {
        var primary = stats
        var worker = stats
        let before = PrometheusExposition.render(stats: primary, upstreamLatency: [])
        #expect(before.contains("tproxy_dns_prefetches_total 0\n"), "a daemon without the counter shows 0")
        primary.cache.prefetches = 4
        worker.cache.prefetches = 3
        worker.cache.prefetchFailures = 1
        primary.add(worker: worker)
        #expect(primary.cache.prefetches == 7 && primary.cache.prefetchFailures == 1)
        let text = PrometheusExposition.render(stats: primary, upstreamLatency: [])
        #expect(text.contains("# TYPE tproxy_dns_prefetches_total counter\ntproxy_dns_prefetches_total 7\n"))
        #expect(text.contains("tproxy_dns_prefetch_failures_total 1\n"))
    }
}
