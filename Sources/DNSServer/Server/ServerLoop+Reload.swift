import DNSForward

extension ServerLoop {
    /// Takes what of `new` can change while running; returns the names of the
    /// settings that differ but need a restart. Each loop applies it to itself.
    /// The forwarder's own list: its settings (TTLs, timeouts, `max-in-flight-per-client`,
    /// --identity, --version-string, --prefetch and the rest `Forwarder.reconfigure` takes) apply at
    /// once; `cache-size` and `cache-memory` need a restart (the cache is shared). Routing policy:
    /// `--block-list` files (re-read), `--block-answer` and `--bypass-canaries` apply at once;
    /// `--forward-zone` and `--route` need a restart (reported as `forward-zone/route`).
    func apply(_ new: DaemonConfiguration) -> [String] {
        var needsRestart = forwarder.reconfigure(new.forwarder)
        let fixed: [(name: String, differs: Bool)] = [
            ("port", new.port != configuration.port),
            ("control", new.controlPath != configuration.controlPath),
            ("query-log", new.queryLogPath != configuration.queryLogPath),
            ("metrics", new.metricsEndpoint != configuration.metricsEndpoint),
            ("tcp-max-connections", new.tcpMaximumConnections != configuration.tcpMaximumConnections),
            ("reply-via", new.replyVia != configuration.replyVia),
            ("reply-mark", new.replyMark != configuration.replyMark),
            ("upstream-sockets", new.upstreamSockets != configuration.upstreamSockets),
            ("upstream-socket-queries", new.upstreamSocketQueries != configuration.upstreamSocketQueries),
            // The loops' TLS contexts and pools are built at start.
            ("upstream-ca/upstream-pin/tls:// upstreams", new.upstreamTLS != configuration.upstreamTLS),
            ("workers", new.workers != configuration.workers),
            ("cache-file", new.cacheFile != configuration.cacheFile),
            ("cache-save-interval", new.cacheSaveInterval != configuration.cacheSaveInterval),
        ]
        needsRestart += fixed.filter(\.differs).map(\.name)
        // --allow, --refused-action, --rate-limit and --refused-rate apply at once.
        admission.replace(with: new.admission.sharing(among: configuration.workers))
        var applied = configuration
        applied.forwarder = forwarder.configuration
        applied.admission = admission.policy
        applied.zonesDirectory = new.zonesDirectory
        applied.tcpIdleTimeout = new.tcpIdleTimeout
        applied.tcpMaximumOutstanding = new.tcpMaximumOutstanding
        // Applied by SIGHUP: the slow-client limits and the metrics cap (for new connections).
        applied.tcpMessageTimeout = new.tcpMessageTimeout
        applied.tcpMaximumPerClient = new.tcpMaximumPerClient
        applied.metricsMaximumConnections = new.metricsMaximumConnections
        configuration = applied
        tcp?.limits.idleTimeout = applied.tcpIdleTimeout
        tcp?.limits.maximumOutstanding = applied.tcpMaximumOutstanding
        tcp?.limits.messageTimeout = applied.tcpMessageTimeout
        tcp?.limits.maximumPerClient = applied.tcpMaximumPerClient
        metrics?.maximumConnections = applied.metricsMaximumConnections
        return needsRestart
    }
}
