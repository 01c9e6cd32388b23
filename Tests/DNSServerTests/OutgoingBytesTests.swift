import Glibc
import RawUDP
import Testing
@testable import DNSServer

@Suite("Outgoing bytes on a non-blocking stream")
struct OutgoingBytesTests {
    @Test func writesWhatTheSocketTakesAndKeepsTheRest() throws {
        var output = OutgoingBytes()
        output.append([1, 2, 3, 4, 5])
        var written: [UInt8] = []
        var accepts = [2, nil, 3] as [Int?]
        let write: ([UInt8], Int) throws(SystemCallError) -> Int? = { bytes, offset in
            let take = accepts.removeFirst()
            guard let take else { return nil }
            written += bytes[offset..<offset + take]
            return take
        }
        try output.flush(through: write)
        #expect(written == [1, 2])
        #expect(output.pendingCount == 3, "EAGAIN keeps the rest queued")
        output.append([6])
        accepts = [4]
        try output.flush(through: write)
        #expect(written == [1, 2, 3, 4, 5, 6])
        #expect(output.pendingCount == 0)
    }

    @Test func aDeadPeerThrows() {
        var output = OutgoingBytes()
        output.append([1])
        #expect(throws: SystemCallError.self) {
            try output.flush { _, _ throws(SystemCallError) in throw SystemCallError(call: "write", errno: EPIPE) }
        }
        #expect(output.pendingCount == 1)
    }
}
