import DNSForward
import RawUDP

/// Who asked, and which server they thought they were asking. UDP replies go
/// through the raw socket with `originalDestination` as their source; TCP
/// replies go back on the accepted connection, whose local address it already is.
public enum ClientContext: Sendable {
    case udp(client: IPEndpoint, originalDestination: IPEndpoint)
    case tcp(connection: UInt64, client: IPEndpoint, originalDestination: IPEndpoint)

    var client: IPEndpoint {
        switch self {
        case .udp(let client, _), .tcp(_, let client, _): return client
        }
    }

    var originalDestination: IPEndpoint {
        switch self {
        case .udp(_, let destination), .tcp(_, _, let destination): return destination
        }
    }

    var transport: Transport {
        if case .tcp = self { return .tcp }
        return .udp
    }
}

/// The per-client in-flight quota counts a client by its address: UDP and
/// TCP queries from one host, from any port, share one quota.
extension ClientContext: ForwarderClient {
    public var quotaKey: IPAddress { client.address }

    public var policyEndpoints: PolicyEndpoints? {
        PolicyEndpoints(client: PolicyAddress(client.address), target: PolicyAddress(originalDestination.address))
    }
}
