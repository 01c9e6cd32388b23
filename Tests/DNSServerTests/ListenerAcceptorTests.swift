import DNSForward
import Glibc
import Logging
import RawUDP
import Testing
@testable import DNSServer

/// The accept step's answers to running out of descriptors, driven with a
/// scripted accept on a real loop (a loopback listener stands in for the
/// registration, so pausing and resuming go through epoll).
@Suite("Listener acceptor")
struct ListenerAcceptorTests {
    private final class Bench {
        let loop: EventLoop
        let listener: TCPListener
        let acceptor: ListenerAcceptor
        let log = CapturedLog()

        init(reserve: DescriptorReserve = .unlimited) throws {
            loop = try EventLoop()
            listener = try TCPListener(endpoint: IPEndpoint("127.0.0.1:0", defaultPort: 0)!)
            acceptor = ListenerAcceptor(name: "metrics", loop: loop, reserve: reserve,
                                        warnings: RateLimitedLogger(logger: log.logger))
            acceptor.registration = try loop.register(listener.socket.rawValue, handler: Ignore())
        }
    }

    private final class Ignore: EventHandler {
        func handle(_ event: EventPoller.Event, on registration: LoopRegistration) {}
    }

    @Test func emfileStopsAcceptingForAMomentInsteadOfSpinning() throws {
        let bench = try Bench()
        let now = MonotonicInstant.now
        var attempts = 0
        bench.acceptor.acceptQueued(limit: 16, now: now, accept: { () throws(SystemCallError) -> Int32? in
            attempts += 1
            throw SystemCallError(call: "accept4", errno: EMFILE)
        }, descriptor: { $0 }, take: { _ in Issue.record("nothing to take") })
        #expect(attempts == 1, "the round ends at the first EMFILE")
        #expect(bench.acceptor.pausedUntil == now + ListenerAcceptor.defaultPause)
        #expect(bench.acceptor.pauses == 1)
        bench.acceptor.resumeIfDue(now: now + .milliseconds(100))
        #expect(bench.acceptor.pausedUntil != nil, "still paused")
        bench.acceptor.resumeIfDue(now: now + ListenerAcceptor.defaultPause)
        #expect(bench.acceptor.pausedUntil == nil, "watched again")
        #expect(bench.log.messages == ["out of descriptors: not accepting metrics connections for a moment"])
    }

    @Test func otherAcceptErrorsAreLoggedWithoutPausing() throws {
        let bench = try Bench()
        bench.acceptor.acceptQueued(limit: 16, now: .now, accept: { () throws(SystemCallError) -> Int32? in
            throw SystemCallError(call: "accept4", errno: ECONNABORTED)
        }, descriptor: { $0 }, take: { _ in })
        #expect(bench.acceptor.pausedUntil == nil)
        #expect(bench.log.messages == ["accepting a metrics connection failed"])
    }

    @Test func aConnectionIntoTheReserveIsDroppedAndAcceptingPauses() throws {
        let bench = try Bench(reserve: DescriptorReserve(limit: 100, reserve: 20))
        var queue: [Int32] = [50, 79, 80, 81]
        var taken: [Int32] = []
        bench.acceptor.acceptQueued(limit: 16, now: .now, accept: { () throws(SystemCallError) -> Int32? in
            queue.isEmpty ? nil : queue.removeFirst()
        }, descriptor: { $0 }, take: { taken.append($0) })
        #expect(taken == [50, 79], "descriptor 80 would leave fewer than 20 of 100 free")
        #expect(bench.acceptor.refusedForReserve == 1)
        #expect(bench.acceptor.pausedUntil != nil)
        #expect(queue == [81], "the rest waits for the pause to end")
    }

    @Test func theReserveIsAnEighthOfTheLimitAndAtLeast64() {
        #expect(DescriptorReserve(limit: 1_024).reserve == 128)
        #expect(DescriptorReserve(limit: 256).reserve == 64)
        #expect(DescriptorReserve(limit: 1_024).leavesRoom(afterAccepting: 895))
        #expect(!DescriptorReserve(limit: 1_024).leavesRoom(afterAccepting: 896))
    }
}
