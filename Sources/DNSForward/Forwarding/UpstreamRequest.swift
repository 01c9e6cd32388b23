/// One query for the upstream transport to send: which attempt, where, with which ID.
///
/// The ID travels beside the bytes so the transport can file the query under
/// it (a shared socket matches replies by ID) without reading the wire again.
public struct UpstreamRequest: Sendable {
    /// The attempt's token: replies, failures and the close come back with it.
    public let token: UInt64
    /// Index of the upstream in the configuration.
    public let upstream: Int
    /// The query's ID, the first two bytes of `bytes`.
    public let id: UInt16
    public let bytes: [UInt8]
    public let transport: Transport
    /// Passthrough (`--route CIDR=passthrough`): send to this address, port 53,
    /// instead of the configured upstream `upstream` names.
    public let passthroughTarget: PolicyAddress?
    /// The attempt's query once more, on the socket it already waits on
    /// (`ForwarderConfiguration.upstreamRetransmits`).
    public let isRetransmission: Bool

    public init(token: UInt64, upstream: Int, id: UInt16, bytes: [UInt8], transport: Transport,
                passthroughTarget: PolicyAddress? = nil, isRetransmission: Bool = false) {
        self.passthroughTarget = passthroughTarget
        self.isRetransmission = isRetransmission
        self.token = token
        self.upstream = upstream
        self.id = id
        self.bytes = bytes
        self.transport = transport
    }
}
