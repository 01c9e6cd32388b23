import ArgumentParser
import DNSForward
import DNSServer
import RawUDP

extension ServeCommand {
    /// The runtime settings these options describe; a value that does not
    /// parse is an error here too (`validate()` calls this).
    /// `loadingLists`: read the `--block-list` files (false in `validate()`).
    func daemonConfiguration(loadingLists: Bool = true) throws(ValidationError) -> DaemonConfiguration {
        var defaultUpstreams: [UpstreamAddress] = []
        for text in upstream { defaultUpstreams.append(try ServeOptionParsing.upstream(text)) }
        // Every upstream of every set, in the order the policy's sets index them.
        let (policy, addresses) = try routingPolicy(defaultUpstreams: defaultUpstreams, loadingLists: loadingLists)
        let upstreams = addresses.map(\.endpoint)
        var cache = CacheConfiguration()
        cache.capacity = cacheSize
        cache.memoryLimit = try ServeOptionParsing.byteSize(cacheMemory, option: "--cache-memory")
        cache.minimumTTL = minTTL
        cache.maximumTTL = maxTTL
        cache.maximumNegativeTTL = maxNegativeTTL
        cache.serverFailureTTL = servfailTTL
        cache.serveStale = serveStale
        var forwarder = ForwarderConfiguration(
            upstreamNames: addresses.map(\.description),
            upstreamTimeout: .milliseconds(Int64(timeout * 1000)),
            maximumInFlight: maxInFlight,
            upstreamPolicy: try ServeOptionParsing.upstreamPolicy(upstreamPolicy),
            cache: cache
        )
        forwarder.maximumUDPReply = maxUDPSize
        forwarder.maximumInFlightPerClient = try ServeOptionParsing.inFlightPerClient(maxInFlightPerClient, total: maxInFlight)
        forwarder.serverIdentity = ServerIdentity(
            identity: try identity.map { text throws(ValidationError) in try ServeOptionParsing.serverText(text, option: "identity") },
            version: try versionString.map { text throws(ValidationError) in
                try ServeOptionParsing.serverText(text, option: "version-string")
            })
        forwarder.caseRandomization = caseRandomization
        forwarder.upstreamRetransmits = upstreamRetransmits
        forwarder.streamUpstreams = Set(addresses.indices.filter { addresses[$0].tls != nil })
        forwarder.prefetch = prefetch
        forwarder.policy = policy
        var configuration = DaemonConfiguration(port: port, upstreams: upstreams, forwarder: forwarder)
        configuration.tcpIdleTimeout = .milliseconds(Int64(tcpIdleTimeout * 1000))
        configuration.tcpMaximumConnections = tcpMaxConnections
        configuration.tcpMessageTimeout = .milliseconds(Int64(tcpMessageTimeout * 1000))
        configuration.tcpMaximumPerClient = tcpMaxPerClient
        configuration.metricsMaximumConnections = metricsMaxConnections
        configuration.upstreamSockets = upstreamSockets
        configuration.upstreamSocketQueries = upstreamSocketQueries
        configuration.upstreamTLS = try ServeOptionParsing.upstreamTLS(addresses, ca: upstreamCa, pins: upstreamPin)
        configuration.workers = try ServeOptionParsing.workers(workers)
        configuration.zonesDirectory = zones
        configuration.queryLogPath = queryLog
        configuration.cacheFile = try cacheFile.map { text throws(ValidationError) in try ServeOptionParsing.cacheFile(text) }
        configuration.cacheSaveInterval = try ServeOptionParsing.cacheSaveInterval(cacheSaveInterval)
        configuration.controlPath = noControl ? nil : control
        configuration.metricsEndpoint = try metrics.map { text throws(ValidationError) in try ServeOptionParsing.metricsEndpoint(text) }
        configuration.replyVia = try ServeOptionParsing.replyPath(replyVia)
        configuration.replyMark = try replyMark.map { text throws(ValidationError) in try ServeOptionParsing.replyMark(text) }
        configuration.admission = ClientAdmission(
            allowed: try allowedClients(),
            refusedAction: try ServeOptionParsing.refusedAction(refusedAction),
            rateLimit: rateLimit,
            refusedRate: refusedRate)
        return configuration
    }

    /// --allow, else the LAN the installed rules cover (their --lan-prefix, or
    /// the prefixes on their --lan-interface), else private and ULA ranges.
    func allowedClients() throws(ValidationError) -> [IPPrefix] {
        var given: [IPPrefix] = []
        for text in allow { given.append(try ServeOptionParsing.allowedPrefix(text)) }
        if !given.isEmpty { return given }
        if installRules {
            let prefixes = rules.lanPrefixes.compactMap { IPPrefix($0) }
            if !prefixes.isEmpty { return prefixes }
            if let onInterfaces = try? InterfacePrefixes.of(interfaces: rules.lanInterfaces), !onInterfaces.isEmpty {
                return onInterfaces
            }
        }
        return IPPrefix.privateRanges
    }
}
