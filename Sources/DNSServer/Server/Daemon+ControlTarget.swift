import DNSForward

/// What control and metrics see: the daemon as a whole.
extension Daemon: ControlTarget {
    func stats(now: MonotonicInstant) -> DaemonStats {
        var stats = primary.ownStats(now: now)
        for other in askWorkers({ $0.ownStats(now: now) }) { stats.add(worker: other) }
        stats.cacheFile = cacheFile?.status
        return stats
    }

    func upstreamLatencies() -> [(address: String, histogram: LatencyHistogram)] {
        var latencies = primary.forwarder.upstreamHealth.map(\.latency)
        for other in askWorkers({ $0.forwarder.upstreamHealth.map(\.latency) }) {
            for index in latencies.indices where index < other.count { latencies[index].add(other[index]) }
        }
        return latencies.enumerated().map { (upstreamName($0.offset), $0.element) }
    }

    var cache: DNSCache { primary.forwarder.cache }

    func saveCache() -> Result<(ticket: Int, path: String), CacheSaveError> {
        guard let cacheFile else { return .failure(CacheSaveError(message: "no --cache-file configured")) }
        return .success((cacheFile.requestSave(reason: "control"), cacheFile.path))
    }

    func upstreamName(_ index: Int) -> String {
        index < primary.configuration.upstreams.count ? primary.configuration.upstreams[index].description : "passthrough"
    }

    func reloadZones() -> Result<LocalZones, ZoneReloadError> {
        guard let directory = primary.configuration.zonesDirectory else {
            return .failure(ZoneReloadError(message: "no --zones directory configured"))
        }
        do {
            let zones = try LocalZones.load(directory: directory)
            primary.forwarder.localZones = zones
            for worker in workers { worker.loop.mailbox.post { $0.forwarder.localZones = zones } }
            logger.notice("zones reloaded", metadata: ["zones": "\(zones.zoneNames.joined(separator: " "))",
                                                       "records": "\(zones.recordCount)"])
            return .success(zones)
        } catch {
            logger.error("zone reload failed; previous zones still served", metadata: ["error": "\(error)"])
            return .failure(ZoneReloadError(message: "zone reload failed, previous zones kept: \(error)"))
        }
    }
}
