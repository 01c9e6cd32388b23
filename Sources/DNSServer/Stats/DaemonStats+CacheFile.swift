extension DaemonStats {
    /// `--cache-file`: the last load and the last save, for `cache stats` and the metrics.
    public struct CacheFile: Codable, Sendable, Equatable {
        public var path: String
        /// Seconds between periodic saves; 0: only at exit and on `cache save`.
        public var saveIntervalSeconds: Int
        /// Unix time of the load at start; nil: no load was tried.
        public var loadedAt: Double?
        /// Entries loaded, and left out as expired, by that load.
        public var loadedEntries: Int?
        public var loadExpired: Int?
        public var loadMilliseconds: Double?
        /// Why the file was not loaded (the cache started empty); nil when it was, or there was none.
        public var loadError: String?
        /// Unix time of the last save that succeeded, and how many entries and bytes it wrote.
        public var savedAt: Double?
        public var savedEntries: Int?
        public var savedBytes: Int?
        public var saveMilliseconds: Double?
        /// Saves that succeeded and that failed since start.
        public var saves: Int
        public var saveFailures: Int
        /// The last failed save's reason, until a save succeeds.
        public var saveError: String?
        /// Saves requested so far (the periodic ones, `cache save`, exit): `cache save`
        /// waits until `saves + saveFailures` reaches the number it was given.
        public var savesRequested: Int
    }
}
