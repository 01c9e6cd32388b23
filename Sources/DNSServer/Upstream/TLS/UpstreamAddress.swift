import RawUDP

/// One `--upstream` value: a plain address (`198.51.100.53`, `[2001:db8::53]:5300`)
/// or DNS over TLS, `tls://ADDR[:PORT][#NAME]` (RFC 7858: port 853 unless
/// given; NAME is what the certificate must match, else its subject
/// alternative names must hold the address itself).
public struct UpstreamAddress: Sendable, Equatable, CustomStringConvertible {
    public static let tlsScheme = "tls://"
    public static let tlsPort: UInt16 = 853

    public let endpoint: IPEndpoint
    /// Nil for plain DNS over UDP (and TCP after TC).
    public let tls: TLSUpstream?

    public init(endpoint: IPEndpoint, tls: TLSUpstream? = nil) {
        self.endpoint = endpoint
        self.tls = tls
    }

    public init?(_ text: String) {
        guard text.hasPrefix(Self.tlsScheme) else {
            guard let endpoint = IPEndpoint(text, defaultPort: 53) else { return nil }
            self.init(endpoint: endpoint)
            return
        }
        let rest = text.dropFirst(Self.tlsScheme.count)
        let parts = rest.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)
        var serverName: String?
        if parts.count == 2 {
            guard Self.isHostName(parts[1]) else { return nil }
            serverName = String(parts[1]).lowercased()
        }
        guard let endpoint = IPEndpoint(String(parts[0]), defaultPort: Self.tlsPort) else { return nil }
        self.init(endpoint: endpoint, tls: TLSUpstream(serverName: serverName))
    }

    /// What logs, stats and the forwarder call it: the address for plain DNS,
    /// the URL for TLS (so a log line says which transport failed).
    public var description: String {
        guard let tls else { return endpoint.description }
        return Self.tlsScheme + endpoint.description + (tls.serverName.map { "#" + $0 } ?? "")
    }

    /// Letters, digits, hyphens and dots, 1 to 253 characters: a name a
    /// certificate can carry (a `*.` wildcard belongs in certificates, not here).
    private static func isHostName(_ text: Substring) -> Bool {
        guard (1...253).contains(text.utf8.count), !text.hasPrefix("."), !text.contains("..") else { return false }
        return text.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte | 0x20 >= 0x61 && byte | 0x20 <= 0x7A) || byte == 0x2D || byte == 0x2E
        }
    }
}

/// How one upstream is reached over TLS.
public struct TLSUpstream: Sendable, Equatable {
    /// The name the certificate must match and the SNI we send; nil: the address.
    public var serverName: String?
    /// SPKI pins this upstream's chain must match (any one); empty: CA verification only.
    public var pins: [SPKIPin] = []

    public init(serverName: String?, pins: [SPKIPin] = []) {
        self.serverName = serverName
        self.pins = pins
    }
}
