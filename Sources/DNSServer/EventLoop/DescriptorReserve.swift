/// Descriptors kept free for upstream sockets: a listener (TCP clients,
/// metrics, control) must not take the last ones, or every cache miss gets
/// SERVFAIL because its upstream socket cannot be opened.
///
/// Counting what is open costs nothing here: the kernel always hands out the
/// lowest free number, so an accepted descriptor numbered N means 0..<N are
/// all in use. N is a lower bound on what is open, read off the connection
/// just accepted without a syscall. Gaps above N (closed upstream sockets)
/// can hide a few more; the listeners' connection caps bound those.
struct DescriptorReserve: Sendable {
    /// The soft RLIMIT_NOFILE in force.
    let limit: Int
    /// Descriptors no listener may take.
    let reserve: Int

    /// An eighth of the limit, 64 at least: room for every loop's upstream
    /// pools, one-off sockets and TCP retries.
    init(limit: Int, reserve: Int? = nil) {
        self.limit = limit
        self.reserve = reserve ?? max(64, limit / 8)
    }

    /// For tests and hosts without a limit: nothing is refused.
    static let unlimited = DescriptorReserve(limit: Int.max, reserve: 0)

    /// Whether a connection accepted on `descriptor` may be kept.
    func leavesRoom(afterAccepting descriptor: Int32) -> Bool {
        Int(descriptor) < limit - reserve
    }
}
