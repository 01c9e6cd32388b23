import DNSForward
import RawUDP

/// The socket of one upstream attempt: a connected UDP socket, or a TCP
/// connection carrying one framed query (the retry after a TC reply).
enum UpstreamExchange {
    case udp(ConnectedUDPSocket)
    case tcp(UpstreamTCPExchange)

    var descriptor: Int32 {
        switch self {
        case .udp(let socket): return socket.socket.rawValue
        case .tcp(let exchange): return exchange.stream.socket.rawValue
        }
    }

    var remote: IPEndpoint {
        switch self {
        case .udp(let socket): return socket.remote
        case .tcp(let exchange): return exchange.stream.remote
        }
    }
}

final class UpstreamTCPExchange {
    let stream: StreamSocket
    var output: [UInt8]
    var outputOffset = 0
    var connected = false
    var framer = DNSStreamFramer()

    init(stream: StreamSocket, framedQuery: [UInt8]) {
        self.stream = stream
        output = framedQuery
    }

    var hasPendingOutput: Bool { outputOffset < output.count }
}
