/// Why `TPROXYRuleInstaller` could not finish, with what it undid and what is left.
public enum TPROXYRuleInstallerError: Error, CustomStringConvertible {
    case invalidSettings([String])
    case missingNetAdmin(operation: String)
    case routingTableInUse(table: UInt32, family: IPFamily, routes: [String])
    /// A step of `apply` failed; what it had added was deleted again (`undone`).
    case commandFailed(any Error, undone: [String], undoFailures: [String])
    /// A step of `remove` failed; `installed` says what is left to remove.
    case removalFailed(any Error, installed: TPROXYRuleSettings)

    public var description: String {
        switch self {
        case .invalidSettings(let problems):
            return problems.joined(separator: "; ")
        case .missingNetAdmin(let operation):
            return "cannot \(operation) without CAP_NET_ADMIN: run as root (nftables and policy routing are the kernel's to change)"
        case .routingTableInUse(let table, let family, let routes):
            return "routing table \(table) already has \(family) routes tproxy-dns did not add (\(routes.joined(separator: ", "))): pick another --table"
        case .commandFailed(let error, let undone, let undoFailures):
            var text = "\(error)"
            if !undone.isEmpty { text += "; rolled back: " + undone.joined(separator: ", ") }
            if !undoFailures.isEmpty { text += "; could not roll back: " + undoFailures.joined(separator: ", ") }
            return text
        case .removalFailed(let error, let installed):
            let s = installed
            return "\(error); to finish, run `tproxy-dns rules --remove --mark \(TPROXYRuleSettings.hex(s.mark)) --table \(s.routingTable) --priority \(s.rulePriority)`"
        }
    }
}
