import CBuildInfo

/// The version and git revision fixed at build time (Package.swift, scripts/package.sh).
enum BuildInfo {
    static let version = String(cString: CBuildInfo_version())
    static let revision = String(cString: CBuildInfo_revision())

    /// `tproxy-dns --version`: "0.1.0 (revision 1a2b3c4d5e6f)".
    static var versionLine: String { "\(version) (revision \(revision))" }
}
