extension PrometheusExposition {
    /// `--cache-file`: present only when one is configured.
    mutating func cacheFileMetrics(_ file: DaemonStats.CacheFile) {
        metric("tproxy_dns_cache_file_saves_total", "counter", "Saves of --cache-file, by result.",
               [(["result": "ok"], Double(file.saves)), (["result": "failed"], Double(file.saveFailures))])
        metric("tproxy_dns_cache_file_last_save_timestamp_seconds", "gauge",
               "Unix time of the last successful save of --cache-file (0: none yet).", [([:], file.savedAt ?? 0)])
        metric("tproxy_dns_cache_file_last_save_entries", "gauge", "Entries the last successful save wrote.",
               [([:], Double(file.savedEntries ?? 0))])
        metric("tproxy_dns_cache_file_loaded_entries", "gauge", "Entries loaded from --cache-file at start.",
               [([:], Double(file.loadedEntries ?? 0))])
        metric("tproxy_dns_cache_file_load_failed", "gauge", "1 when --cache-file could not be loaded at start.",
               [([:], file.loadError == nil ? 0 : 1)])
    }
}
