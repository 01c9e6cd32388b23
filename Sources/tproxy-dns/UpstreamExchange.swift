import DNSForward
import RawUDP

/// Where one upstream attempt waits: a query ID on a pooled UDP socket, or a
/// TCP connection of its own carrying one framed query (the retry after a TC reply).
enum UpstreamExchange {
    case udp(member: Int, id: UInt16)
    case tcp(UpstreamTCPExchange)
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
