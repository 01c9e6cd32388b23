/// Installs and removes a `TPROXYRuleset` in the current network namespace by running
/// `nft` and `ip`. Both operations are idempotent; `apply` undoes its own additions when a
/// later step fails. What was installed is recorded in the nft table's comment, so
/// `remove` finds the routing entries even when called with other settings.
public enum TPROXYRuleInstaller {
    /// What was done, one human-readable line per step.
    public struct Report: Sendable {
        public var actions: [String] = []
        /// Things left behind that the user should know about (nothing failed outright).
        public var warnings: [String] = []
    }

    /// Installs the rules, replacing any earlier installation (whose routing entries are
    /// removed if its mark, table or priority differ).
    @discardableResult
    public static func apply(_ settings: TPROXYRuleSettings) throws(TPROXYRuleInstallerError) -> Report {
        let problems = settings.problems
        guard problems.isEmpty else { throw .invalidSettings(problems) }
        try requireNetAdmin("install TPROXY rules")
        let ruleset = TPROXYRuleset(settings)
        var report = Report()
        let previous = try recordedSettings()
        try refuseForeignRoutes(in: settings.routingTable)

        var added: [PolicyRoutingEntry] = []
        do {
            for entry in ruleset.routingEntries {
                if try isPresent(entry) {
                    report.actions.append("present: \(entry)")
                    continue
                }
                try ExternalCommand("ip", entry.addArguments).runChecked()
                added.append(entry)
                report.actions.append("added: \(entry)")
            }
            try ExternalCommand("nft", ["-f", "-"], input: ruleset.nftReplaceTransaction).runChecked()
            report.actions.append("loaded: nft table inet \(ruleset.tableName), UDP and TCP port 53 to :\(settings.port) with mark \(TPROXYRuleSettings.hex(settings.mark))")
        } catch {
            var undone: [String] = [], undoFailures: [String] = []
            for entry in added.reversed() {
                do {
                    try ExternalCommand("ip", entry.deleteArguments).runChecked()
                    undone.append("\(entry)")
                } catch {
                    undoFailures.append("\(error)")
                }
            }
            throw .commandFailed(error, undone: undone, undoFailures: undoFailures)
        }

        // A reinstall with another mark, table or priority leaves the old entries behind.
        if let previous {
            let current = ruleset.routingEntries
            for entry in TPROXYRuleset(previous).routingEntries.reversed() where !current.contains(entry) {
                do {
                    if try isPresent(entry) {
                        try ExternalCommand("ip", entry.deleteArguments).runChecked()
                        report.actions.append("removed the previous installation's \(entry)")
                    }
                } catch {
                    report.warnings.append("the previous installation's \(entry) is still there: \(error)")
                }
            }
        }
        return report
    }

    /// Deletes what `apply` installed: the nft table, then the routing entries recorded in
    /// it (or, when the table is gone, those `settings` describe). Entries that are not
    /// there are skipped, so removing twice is fine.
    @discardableResult
    public static func remove(_ settings: TPROXYRuleSettings) throws(TPROXYRuleInstallerError) -> Report {
        try requireNetAdmin("remove TPROXY rules")
        var report = Report()
        let installed = try recordedSettings() ?? settings
        let ruleset = TPROXYRuleset(installed)
        do {
            // The table first: from this moment queries flow to their servers as if the
            // daemon were not there, instead of being diverted without a route.
            if try KernelNetworkState.nftTable(ruleset.tableName) != nil {
                try ExternalCommand("nft", ["delete", "table", "inet", ruleset.tableName]).runChecked()
                report.actions.append("deleted: nft table inet \(ruleset.tableName)")
            } else {
                report.actions.append("absent: nft table inet \(ruleset.tableName)")
            }
            for entry in ruleset.routingEntries.reversed() {
                if try isPresent(entry) {
                    try ExternalCommand("ip", entry.deleteArguments).runChecked()
                    report.actions.append("deleted: \(entry)")
                } else {
                    report.actions.append("absent: \(entry)")
                }
            }
        } catch {
            throw .removalFailed(error, installed: installed)
        }
        return report
    }

    /// What an earlier `apply` recorded in the table's comment. Reading it happens before
    /// anything changes, so a failure has nothing to roll back.
    private static func recordedSettings() throws(TPROXYRuleInstallerError) -> TPROXYRuleSettings? {
        do {
            return try KernelNetworkState.installedRuleSettings()
        } catch {
            throw .commandFailed(error, undone: [], undoFailures: [])
        }
    }

    private static func requireNetAdmin(_ operation: String) throws(TPROXYRuleInstallerError) {
        guard ProcessCapabilities.current().has(.netAdmin) else { throw .missingNetAdmin(operation: operation) }
    }

    private static func isPresent(_ entry: PolicyRoutingEntry) throws(ExternalCommandError) -> Bool {
        switch entry {
        case .rule(let family, _, _, _):
            return entry.isPresent(in: try KernelNetworkState.ipRules(family))
        case .localRoute(let family, let table):
            return entry.isPresent(in: try KernelNetworkState.ipRoutes(family, table: table))
        }
    }

    /// Our `local default` route would capture whatever else uses the table; a table
    /// holding other routes belongs to someone else.
    private static func refuseForeignRoutes(in table: UInt32) throws(TPROXYRuleInstallerError) {
        for family in IPFamily.allCases {
            let routes: [IPRouteEntry]
            do {
                routes = try KernelNetworkState.ipRoutes(family, table: table)
            } catch {
                throw .commandFailed(error, undone: [], undoFailures: [])
            }
            let foreign = routes.filter { !$0.isLocalDefaultOnLoopback }
            if !foreign.isEmpty {
                throw .routingTableInUse(table: table, family: family, routes: foreign.map(\.destination))
            }
        }
    }
}
