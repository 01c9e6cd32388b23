import DNSForward

/// What the control and metrics servers may ask of the daemon as a whole
/// (every loop, the shared cache), on the primary loop's thread.
protocol ControlTarget: AnyObject {
    /// The whole daemon's figures: this loop's plus every worker's.
    func stats(now: MonotonicInstant) -> DaemonStats
    /// Upstream round-trip histograms, every loop added up, by upstream address.
    func upstreamLatencies() -> [(address: String, histogram: LatencyHistogram)]
    /// Loads the zones directory again into every loop; on error the zones in service stay.
    func reloadZones() -> Result<LocalZones, ZoneReloadError>
    var cache: DNSCache { get }
    /// Starts a save of `--cache-file` in the background: its number (see
    /// `DaemonStats.CacheFile.savesRequested`) and the path.
    func saveCache() -> Result<(ticket: Int, path: String), CacheSaveError>
    /// The address of upstream number `index`, as stats and dumps show it.
    func upstreamName(_ index: Int) -> String
}

public struct CacheSaveError: Error, CustomStringConvertible {
    public let message: String

    public var description: String { message }
}

public struct ZoneReloadError: Error, CustomStringConvertible {
    public let message: String

    public var description: String { message }
}
