import ArgumentParser
import GatewaySetup
import RawUDP

/// The rule flags `rules` shares with any command that installs rules (`serve
/// --install-rules`). The port is not here: each command has its own --port.
struct TPROXYRuleOptions: ParsableArguments {
    @Option(name: .customLong("lan-interface"),
            help: ArgumentHelp("Divert only queries arriving on this interface. Repeat for several.", valueName: "name"))
    var lanInterfaces: [String] = []

    @Option(name: .customLong("lan-prefix"),
            help: ArgumentHelp("Divert only queries from this source prefix (192.0.2.0/24, 2001:db8:1::/64). Repeat for several; with --lan-interface both must match. Once any is given, a family without a prefix is not diverted.", valueName: "cidr"))
    var lanPrefixes: [String] = []

    @Option(name: .customLong("exempt"),
            help: ArgumentHelp("Leave queries to this destination prefix alone: a resolver on the LAN, the upstreams if they sit on the LAN, or the gateway's own addresses if a resolver there must see its clients. Repeat for several.", valueName: "cidr"))
    var exemptPrefixes: [String] = []

    @Option(help: ArgumentHelp("Firewall mark set on diverted packets, matched exactly by the ip rule (0x2d4e: a value nobody else sets as a whole).", valueName: "mark"))
    var mark: String = TPROXYRuleSettings.hex(TPROXYRuleSettings.defaultMark)

    @Option(help: ArgumentHelp("Routing table holding the `local default dev lo` route (153: not the 100 of every howto). It must hold no other routes.", valueName: "id"))
    var table: UInt32 = TPROXYRuleSettings.defaultRoutingTable

    @Option(help: ArgumentHelp("Priority of the ip rule, 1-32765: before the main table's 32766.", valueName: "n"))
    var priority: UInt32 = TPROXYRuleSettings.defaultRulePriority

    func validate() throws {
        _ = try settings(port: TPROXYRuleSettings.defaultPort, requireLAN: false)
    }

    /// The settings these flags describe; `ValidationError` names the first bad flag.
    /// `requireLAN: false` skips the need for --lan-interface/--lan-prefix (for `--remove`).
    func settings(port: UInt16, requireLAN: Bool = true) throws -> TPROXYRuleSettings {
        guard let markValue = TPROXYRuleSettings.parseNumber(mark) else {
            throw ValidationError("--mark \(mark): not a number (0x2d4e or 11598)")
        }
        var settings = TPROXYRuleSettings(port: port, lanInterfaces: lanInterfaces, mark: markValue,
                                          routingTable: table, rulePriority: priority)
        settings.lanPrefixes = try lanPrefixes.map { try Self.prefix($0, flag: "--lan-prefix") }
        settings.exemptPrefixes = try exemptPrefixes.map { try Self.prefix($0, flag: "--exempt") }
        var problems = settings.problems
        if !requireLAN { problems.removeAll { $0.hasPrefix("give --lan-interface") } }
        if let first = problems.first { throw ValidationError(first) }
        return settings
    }

    private static func prefix(_ text: String, flag: String) throws -> IPPrefix {
        guard let prefix = IPPrefix(text) else {
            throw ValidationError("\(flag) \(text): not an address or CIDR prefix (192.0.2.0/24, 2001:db8::/32)")
        }
        return prefix
    }
}
