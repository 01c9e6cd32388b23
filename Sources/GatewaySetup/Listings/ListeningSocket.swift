/// One line of `ss -Hlunp` / `ss -Hltnp`:
/// `UNCONN 0 0 *:5353 *:* users:(("tproxy-dns",pid=4242,fd=7))`.
public struct ListeningSocket: Equatable, Sendable {
    public struct Owner: Equatable, Sendable {
        public var name: String
        public var pid: Int
    }

    public var localAddress: String
    /// Empty when ss could not see the owner (another user's socket, without root).
    public var owners: [Owner]

    public var port: UInt16? {
        guard let colon = localAddress.lastIndex(of: ":") else { return nil }
        return UInt16(localAddress[localAddress.index(after: colon)...])
    }

    public static func parseListing(_ text: String) -> [ListeningSocket] {
        text.split(separator: "\n").compactMap { parse(String($0)) }
    }

    public static func parse(_ line: String) -> ListeningSocket? {
        let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        // State, Recv-Q, Send-Q, Local, Peer[, Process]
        guard fields.count >= 5, Int(fields[1]) != nil else { return nil }
        var socket = ListeningSocket(localAddress: fields[3], owners: [])
        if let process = fields.dropFirst(5).first(where: { $0.hasPrefix("users:") }) {
            socket.owners = owners(process)
        }
        return socket
    }

    /// `users:(("knotd",pid=42,fd=5),("knotd",pid=43,fd=5))`
    private static func owners(_ text: String) -> [Owner] {
        var result: [Owner] = []
        var rest = Substring(text)
        while let open = rest.firstRange(of: "(\"") {
            rest = rest[open.upperBound...]
            guard let close = rest.firstIndex(of: "\"") else { break }
            let name = String(rest[..<close])
            rest = rest[close...]
            var pid = 0
            if let pidStart = rest.firstRange(of: "pid=") {
                let digits = rest[pidStart.upperBound...].prefix { $0.isASCII && $0.isWholeNumber }
                pid = Int(digits) ?? 0
                rest = rest[pidStart.upperBound...]
            }
            if !result.contains(Owner(name: name, pid: pid)) { result.append(Owner(name: name, pid: pid)) }
        }
        return result
    }
}
