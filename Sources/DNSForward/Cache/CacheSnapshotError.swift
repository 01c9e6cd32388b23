/// Why a cache file was not loaded: one line for the start-up warning, after
/// which the daemon starts with an empty cache.
public enum CacheSnapshotError: Error, Equatable, CustomStringConvertible {
    /// Not a cache file of ours: the magic differs.
    case foreign
    case unsupportedVersion(UInt16)
    /// The file ends inside `section` (header, body, checksum).
    case truncated(section: String)
    /// Bytes after the checksum.
    case trailingBytes(Int)
    case checksumMismatch
    /// The checksum held but a record does not make sense (a bug, or a file crafted by hand).
    case malformedRecord(index: Int, reason: String)
    /// Saved (or an entry stored) later than now: the clock went backwards,
    /// and ageing by it would make entries younger than they are.
    case fromTheFuture(seconds: Int64)

    public var description: String {
        switch self {
        case .foreign: "not a tproxy-dns cache file (wrong magic)"
        case .unsupportedVersion(let version): "format version \(version), this build reads \(CacheSnapshot.version)"
        case .truncated(let section): "truncated in its \(section)"
        case .trailingBytes(let count): "\(count) unexpected bytes after the checksum"
        case .checksumMismatch: "checksum mismatch (the file is damaged)"
        case .malformedRecord(let index, let reason): "record \(index) is malformed: \(reason)"
        case .fromTheFuture(let seconds): "saved \(seconds) s in the future (the clock went backwards?)"
        }
    }
}
