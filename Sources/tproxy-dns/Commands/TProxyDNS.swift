import ArgumentParser

@main
struct TProxyDNS: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tproxy-dns",
        abstract: "Transparent DNS forwarder for Linux gateways.",
        discussion: """
        nftables TPROXY hands the daemon every port-53 query a LAN client sends to any \
        server. The daemon learns the address the client targeted, forwards the query to \
        the configured upstream resolvers, and answers through a raw socket with that \
        address as the source, so `dig @203.0.113.53 example.com` sees its answer come \
        from 203.0.113.53.
        """,
        version: BuildInfo.versionLine,
        subcommands: [ServeCommand.self, CacheCommand.self, TopCommand.self, ZonesCommand.self, RulesCommand.self, PolicyCommand.self, DoctorCommand.self, LimitResponderCommand.self,
                      DNSWorkBenchCommand.self, CacheFileBenchCommand.self, PolicyBenchCommand.self]
    )
}
