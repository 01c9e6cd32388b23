@testable import DNSForward

// The tests name clients by strings ("client", "a") and, in the concurrency
// tests, by thread numbers: each is its own quota key.
extension String: ForwarderClient {
    public var quotaKey: String { self }
}

extension Int: ForwarderClient {
    public var quotaKey: Int { self }
}
