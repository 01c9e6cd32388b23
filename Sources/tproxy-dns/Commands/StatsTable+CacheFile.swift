import DNSServer
import DNSForward
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension StatsTable {
    /// `--cache-file`: where, how often, and what the last load and save did.
    static func cacheFileRows(_ file: DaemonStats.CacheFile) -> [(String, String)] {
        var rows = [
            ("path", file.path),
            ("saved", file.saveIntervalSeconds > 0 ? "every \(file.saveIntervalSeconds) s and at exit" : "at exit only"),
        ]
        if let error = file.loadError {
            rows.append(("loaded", "no: \(error)"))
        } else if let at = file.loadedAt {
            rows.append(("loaded", "\(file.loadedEntries ?? 0) entries (\(file.loadExpired ?? 0) expired left out) at \(time(at))"
                + milliseconds(file.loadMilliseconds)))
        }
        if let at = file.savedAt {
            rows.append(("last save", "\(file.savedEntries ?? 0) entries, \(file.savedBytes ?? 0) bytes at \(time(at))"
                + milliseconds(file.saveMilliseconds)))
        } else {
            rows.append(("last save", "none yet"))
        }
        rows.append(("saves", "\(file.saves) ok, \(file.saveFailures) failed"))
        if let error = file.saveError { rows.append(("save error", error)) }
        return rows
    }

    private static func time(_ unixSeconds: Double) -> String {
        Date(timeIntervalSince1970: unixSeconds).ISO8601Format()
    }

    private static func milliseconds(_ value: Double?) -> String {
        value.map { String(cFormat: " in %.1f ms", $0) } ?? ""
    }
}
