import ArgumentParser
import DNSForward
import DNSServer
import RawUDP

struct PolicyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Inspect the routing policy (--forward-zone, --route, --block-list, bypass canaries).",
        subcommands: [PolicyExplainCommand.self]
    )
}

struct PolicyExplainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Print which rule decides a query and where it would go, without a running daemon.",
        discussion: """
        Give the daemon's settings as a --config file or as `serve` flags (any that are not \
        this command's own are taken as serve's), e.g. \
        `tproxy-dns policy explain --upstream 192.0.2.53 --route 8.8.8.8=passthrough --client 192.168.1.20 --target 8.8.8.8 www.example.com`. \
        Order of decision: local zones, block lists and canaries, forward zones, routes, default upstreams.
        """
    )

    @Option(help: ArgumentHelp("The serve --config file to read.", valueName: "file"))
    var config: String?

    @Option(help: ArgumentHelp("The client's address.", valueName: "ip"))
    var client: String

    @Option(help: ArgumentHelp("The server the client targeted (the original destination).", valueName: "ip"))
    var target: String

    /// NAME [TYPE] (the type only shown: the policy decides by name and addresses), among serve's flags.
    @Argument(parsing: .allUnrecognized, help: ArgumentHelp("NAME [TYPE], and serve flags", valueName: "name"))
    var arguments: [String] = []

    func run() throws {
        let (serveFlags, query) = Self.split(arguments)
        guard let name = query.first, query.count <= 2 else { throw ValidationError("give the query NAME [TYPE]") }
        let type = query.count == 2 ? query[1] : "A"
        guard let clientAddress = IPAddress(client), let targetAddress = IPAddress(target) else {
            throw ValidationError("--client and --target take IP addresses")
        }
        guard let wire = BlockListParser.wireName(name) else { throw ValidationError("\(name) is not a domain name") }
        let serve: ServeCommand
        do {
            serve = try config.map { try ServeConfiguration.merge(file: $0, commandLine: serveFlags) } ?? ServeCommand.parse(serveFlags)
        } catch let error as ConfigFileError {
            printError("tproxy-dns: config: \(error)")
            throw ExitCode(1)
        }
        let configuration = try serve.daemonConfiguration()
        guard let policy = configuration.forwarder.policy else { return }
        print("query:    \(name) \(type.uppercased()) from \(clientAddress) to \(targetAddress)")
        if let directory = serve.zones, try LocalZones.load(directory: directory).mayAnswer(name: wire, class: .in) {
            print("rule:     local-zone")
            print("decision: answered from the local zones in \(directory)")
            return
        }
        var suffixes = NameSuffixes()
        let endpoints = PolicyEndpoints(client: PolicyAddress(clientAddress), target: PolicyAddress(targetAddress))
        let decision = wire.withUnsafeBytes { policy.decide(name: $0, endpoints: endpoints, suffixes: &suffixes) }
        print("rule:     \(policy.ruleNames[decision.rule]) (#\(decision.rule))")
        print("decision: \(policy.describe(decision, upstreamNames: configuration.upstreams.map(\.description)))")
        print("cache:    \(decision.cacheScope.map { "scope \($0)" } ?? "not cached (the daemon's own answer)")")
    }

    /// Serve's flags apart from NAME [TYPE]: a word not starting with `--` that
    /// no serve option before it takes as its value.
    static func split(_ arguments: [String]) -> (serveFlags: [String], query: [String]) {
        var flags: [String] = [], query: [String] = []
        var expectsValue = false
        for argument in arguments {
            if expectsValue {
                flags.append(argument)
                expectsValue = false
            } else if argument.hasPrefix("--") {
                flags.append(argument)
                let name = String(argument.dropFirst(2))
                if !name.contains("="), let kind = ServeConfiguration.keys[name] { expectsValue = kind == .value || kind == .list }
                if name == "config" { expectsValue = true }
            } else {
                query.append(argument)
            }
        }
        return (flags, query)
    }
}
