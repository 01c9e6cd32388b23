import ArgumentParser
import DNSServer
import RawUDP

extension ServeOptionParsing {
    /// The `tls://` upstreams with their pins: `--upstream-pin sha256/B64`
    /// applies to every one without a pin of its own, `ADDR[:PORT]=sha256/B64`
    /// to that one. A pin or CA with no `tls://` upstream to apply to is an error.
    static func upstreamTLS(_ addresses: [UpstreamAddress], ca: String?, pins: [String]) throws(ValidationError) -> UpstreamTLSConfiguration {
        var configuration = UpstreamTLSConfiguration()
        for (index, address) in addresses.enumerated() {
            if let tls = address.tls { configuration.upstreams[index] = tls }
        }
        guard !configuration.isEmpty || (ca == nil && pins.isEmpty) else {
            throw ValidationError("--upstream-ca and --upstream-pin need a tls:// upstream")
        }
        if let ca { configuration.caFile = try parsed(ca.isEmpty ? nil : ca, "--upstream-ca: give a PEM file") }
        var global: [SPKIPin] = []
        for text in pins {
            // Base64 ends in "=": only a value not starting with the pin has an ADDR= part.
            let parts = text.hasPrefix("sha256/") ? [text] : text.split(separator: "=", maxSplits: 1).map(String.init)
            let pin = try parsed(SPKIPin(parts.last!), "--upstream-pin \(text): use sha256/BASE64 (32 bytes), optionally after ADDR[:PORT]=")
            guard parts.count == 2 else {
                global.append(pin)
                continue
            }
            let endpoint = try parsed(IPEndpoint(parts[0], defaultPort: UpstreamAddress.tlsPort),
                                      "--upstream-pin \(text): \(parts[0]) is not an address")
            let matching = addresses.indices.filter { addresses[$0].tls != nil && addresses[$0].endpoint == endpoint }
            guard !matching.isEmpty else { throw ValidationError("--upstream-pin \(text): no tls:// upstream is \(endpoint)") }
            for index in matching { configuration.upstreams[index]?.pins.append(pin) }
        }
        for index in configuration.upstreams.keys where configuration.upstreams[index]!.pins.isEmpty {
            configuration.upstreams[index]!.pins = global
        }
        return configuration
    }
}
