import ArgumentParser
import GatewaySetup

struct RulesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rules",
        abstract: "Print, install or remove the nftables TPROXY rules and policy routing the daemon needs.",
        discussion: """
        Without --apply or --remove, prints a shell script: an nftables table (inet \
        \(TPROXYRuleSettings.nftTableName)) diverting UDP and TCP port-53 queries to --port, and the \
        `ip rule`/`ip route` commands, IPv4 and IPv6, that deliver the marked packets locally. \
        Only prerouting is hooked, so the gateway's own DNS traffic is never diverted; replies \
        (conntrack reply direction, or a DNS header with QR=1) never are either.

        --apply installs it in the current network namespace: the table in one nft \
        transaction, the rules and routes only where missing; a failing step deletes what \
        this run added. The table's comment records the mark, table and priority, so \
        --remove deletes exactly the table, that rule (both families) and the local route \
        in that table, whatever flags it is given. Both are idempotent and need CAP_NET_ADMIN.
        """
    )

    @Option(help: "Port the daemon listens on (serve --port), UDP and TCP.")
    var port: UInt16 = TPROXYRuleSettings.defaultPort

    @OptionGroup var rules: TPROXYRuleOptions

    @Flag(help: "Install the rules (idempotent; rolls back on failure).")
    var apply = false

    @Flag(help: "Remove what --apply installed (idempotent).")
    var remove = false

    @Flag(help: "Also reject LAN traffic to TCP and UDP port 853 (DNS over TLS, DNS over QUIC), so those clients fall back to port 53 where the gateway sees them. --remove deletes it with the table.")
    var blockDot = false

    func validate() throws {
        if apply && remove { throw ValidationError("--apply and --remove exclude each other") }
        _ = try rules.settings(port: port, requireLAN: !remove)
    }

    func run() throws {
        var settings = try rules.settings(port: port, requireLAN: !remove)
        settings.blockDoT = blockDot
        guard apply || remove else {
            print(TPROXYRuleset(settings).shellScript, terminator: "")
            return
        }
        let report: TPROXYRuleInstaller.Report
        do {
            if apply {
                report = try TPROXYRuleInstaller.apply(settings)
            } else {
                report = try TPROXYRuleInstaller.remove(settings)
            }
        } catch {
            printError("tproxy-dns: rules \(apply ? "--apply" : "--remove"): \(error)")
            if case .missingNetAdmin = error { throw ExitCode(77) }
            throw ExitCode(1)
        }
        for action in report.actions { print(action) }
        for warning in report.warnings { printError("tproxy-dns: warning: \(warning)") }
    }
}
