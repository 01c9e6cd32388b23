/// Whoever asked a query, as the forwarder needs to know them: opaque except
/// for who they count as under the per-client in-flight quota
/// (`ForwarderConfiguration.maximumInFlightPerClient`).
public protocol ForwarderClient: Sendable {
    associatedtype QuotaKey: Hashable & Sendable
    /// The client's address, not its port: one host can use any number of
    /// source ports, and the quota is about that host.
    var quotaKey: QuotaKey { get }
    /// Who asked and which server they targeted, for `--route`; nil when not known.
    var policyEndpoints: PolicyEndpoints? { get }
}

extension ForwarderClient {
    public var policyEndpoints: PolicyEndpoints? { nil }
}
