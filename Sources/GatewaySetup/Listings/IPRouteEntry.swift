/// One line of `ip route show table T`, e.g. `local default dev lo scope host`.
public struct IPRouteEntry: Equatable, Sendable {
    /// unicast when the line does not name a type.
    public var type = "unicast"
    public var destination: String
    public var device: String?

    /// The route TPROXY needs: every destination is local, delivered on lo.
    public var isLocalDefaultOnLoopback: Bool {
        type == "local" && ["default", "0.0.0.0/0", "::/0"].contains(destination) && device == "lo"
    }

    private static let types: Set<String> = [
        "unicast", "local", "broadcast", "multicast", "throw", "unreachable", "prohibit", "blackhole", "nat", "anycast",
    ]

    public static func parseListing(_ text: String) -> [IPRouteEntry] {
        text.split(separator: "\n").compactMap { parse(String($0)) }
    }

    public static func parse(_ line: String) -> IPRouteEntry? {
        var tokens = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)[...]
        guard var first = tokens.popFirst() else { return nil }
        var type = "unicast"
        if types.contains(first) {
            type = first
            guard let next = tokens.popFirst() else { return nil }
            first = next
        }
        var entry = IPRouteEntry(type: type, destination: first)
        while let token = tokens.popFirst() {
            if token == "dev" { entry.device = tokens.popFirst() }
        }
        return entry
    }
}
