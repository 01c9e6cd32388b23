/// Takes the connections a listener has queued, `limit` at most per wake-up
/// so one listener cannot monopolise the loop. `accept` returns nil when the
/// queue is empty; its error ends the round (logged by `failed`).
func acceptQueued<Connection>(limit: Int, accept: () throws -> Connection?, failed: (any Error) -> Void,
                              take: (Connection) -> Void) {
    for _ in 0..<limit {
        let connection: Connection
        do {
            guard let accepted = try accept() else { return }
            connection = accepted
        } catch {
            failed(error)
            return
        }
        take(connection)
    }
}
