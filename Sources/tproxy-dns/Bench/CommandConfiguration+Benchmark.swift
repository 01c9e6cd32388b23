import ArgumentParser

extension CommandConfiguration {
    /// A benchmark helper's configuration. Hidden from `--help`: only scripts/bench.sh and
    /// the lab's bench smoke test run these, and an operator has no use for them.
    static func benchmark(_ commandName: String, abstract: String) -> CommandConfiguration {
        CommandConfiguration(commandName: commandName, abstract: abstract, shouldDisplay: false)
    }
}
