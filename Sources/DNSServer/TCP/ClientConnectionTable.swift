import DNSForward
import RawUDP

/// The TCP front end's open connections: by id, by registration, and how many
/// each client address holds. Picks whom to evict when full and whom the
/// sweep closes; the front end does the closing.
struct ClientConnectionTable {
    private var byID: [UInt64: ClientConnection] = [:]
    private var byRegistration: [LoopRegistration: UInt64] = [:]
    /// Each client address's connections, oldest first (at most its share, so short).
    private var perClient: [IPAddress: [UInt64]] = [:]

    var count: Int { byID.count }

    var all: [ClientConnection] { Array(byID.values) }

    subscript(id: UInt64) -> ClientConnection? { byID[id] }

    func connection(registeredAs registration: LoopRegistration) -> ClientConnection? {
        byRegistration[registration].flatMap { byID[$0] }
    }

    func count(from client: IPAddress) -> Int { perClient[client]?.count ?? 0 }

    /// Of `client`'s connections, the one idle longest between messages
    /// (nothing owed, nothing half-read). A client whose share is used up
    /// gives up one of these for its newcomer: it is most often a connection
    /// the client has already closed and whose end we have not read yet.
    func idleConnection(from client: IPAddress) -> ClientConnection? {
        (perClient[client] ?? []).lazy.compactMap { byID[$0] }
            .filter { $0.owesNothing && $0.messageStartedAt == nil }
            .min { $0.lastActivity < $1.lastActivity }
    }

    mutating func insert(_ connection: ClientConnection) {
        byID[connection.id] = connection
        byRegistration[connection.registration] = connection.id
        perClient[connection.stream.remote.address, default: []].append(connection.id)
    }

    /// False when it was not (or no longer) in the table.
    @discardableResult
    mutating func remove(_ connection: ClientConnection) -> Bool {
        guard byID.removeValue(forKey: connection.id) != nil else { return false }
        byRegistration[connection.registration] = nil
        let client = connection.stream.remote.address
        var left = perClient[client] ?? []
        left.removeAll { $0 == connection.id }
        perClient[client] = left.isEmpty ? nil : left
        return true
    }

    /// Who makes room for a new connection: of those owing their client
    /// nothing, the one that has kept us waiting longest. Nil when every
    /// connection has a query being answered.
    func evictionCandidate() -> ClientConnection? {
        byID.values.filter(\.owesNothing).min { $0.waitingSince < $1.waitingSince }
    }

    /// Idle past `idleTimeout` (RFC 7766 6.2.3), or a message begun more than `messageTimeout` ago.
    func expired(now: MonotonicInstant, idleTimeout: Duration, messageTimeout: Duration) -> [ClientConnection] {
        byID.values.filter { connection in
            if let started = connection.messageStartedAt, started.duration(to: now) >= messageTimeout { return true }
            return connection.lastActivity.duration(to: now) >= idleTimeout
        }
    }
}
