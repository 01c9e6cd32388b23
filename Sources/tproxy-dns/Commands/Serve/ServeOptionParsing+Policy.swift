import ArgumentParser
import DNSForward
import DNSServer
import RawUDP

/// The routing-policy options' values: `--forward-zone`, `--route`, `--block-answer`.
extension ServeOptionParsing {
    struct ForwardZone {
        let name: [UInt8]
        let upstreams: [UpstreamAddress]
    }

    struct Route {
        enum Action {
            case upstreams([UpstreamAddress])
            case passthrough, refuse, defaultUpstreams
        }

        let destination: PolicyPrefix
        let clients: [PolicyPrefix]
        let action: Action
    }

    /// `ZONE=ADDR[,ADDR...]`.
    static func forwardZone(_ text: String) throws(ValidationError) -> ForwardZone {
        let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2, let name = BlockListParser.wireName(parts[0]) else {
            throw ValidationError("--forward-zone \(text): use ZONE=ADDRESS[,ADDRESS...], e.g. corp.example=10.0.0.53")
        }
        return ForwardZone(name: name, upstreams: try addresses(parts[1], option: "--forward-zone \(text)"))
    }

    /// `CIDR=ACTION[@CLIENT-CIDR,...]`, ACTION upstream:ADDR[,ADDR...], passthrough, refuse or default.
    static func route(_ text: String) throws(ValidationError) -> Route {
        let usage = "--route \(text): use CIDR=ACTION[@CLIENT-CIDR,...] with ACTION upstream:ADDRESS[,ADDRESS...], passthrough, refuse or default"
        let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2, let destination = prefix(parts[0]) else { throw ValidationError(usage) }
        let actionAndClients = parts[1].split(separator: "@", maxSplits: 1).map(String.init)
        var clients: [PolicyPrefix] = []
        if actionAndClients.count == 2 {
            for item in actionAndClients[1].split(separator: ",") {
                guard let client = prefix(String(item)) else { throw ValidationError("\(usage) (client `\(item)` is not a CIDR)") }
                clients.append(client)
            }
        }
        let action: Route.Action
        switch actionAndClients.first ?? "" {
        case "passthrough": action = .passthrough
        case "refuse": action = .refuse
        case "default": action = .defaultUpstreams
        case let other where other.hasPrefix("upstream:"):
            action = .upstreams(try addresses(String(other.dropFirst("upstream:".count)), option: "--route \(text)"))
        default: throw ValidationError(usage)
        }
        return Route(destination: destination, clients: clients, action: action)
    }

    static func blockAnswer(_ text: String) throws(ValidationError) -> BlockAnswer {
        try parsed(BlockAnswer(rawValue: text), "--block-answer \(text): use nxdomain, null or refused")
    }

    /// A CIDR, or a bare address as its /32 or /128.
    static func prefix(_ text: String) -> PolicyPrefix? {
        if let prefix = IPPrefix(text) { return PolicyPrefix(PolicyAddress(prefix.address), length: prefix.length) }
        guard let address = IPAddress(text) else { return nil }
        return PolicyPrefix(PolicyAddress(address), length: address.isIPv4 ? 32 : 128)
    }

    /// Upstream addresses as `--upstream` takes them: ADDR[:PORT] or tls://ADDR[:PORT][#NAME].
    private static func addresses(_ text: String, option: String) throws(ValidationError) -> [UpstreamAddress] {
        var result: [UpstreamAddress] = []
        for item in text.split(separator: ",") {
            guard let address = UpstreamAddress(String(item)) else {
                throw ValidationError("\(option): `\(item)` is not an IP address with optional port (use [v6]:port), nor tls://ADDR[:PORT][#NAME]")
            }
            result.append(address)
        }
        guard !result.isEmpty else { throw ValidationError("\(option): give at least one upstream address") }
        return result
    }
}
