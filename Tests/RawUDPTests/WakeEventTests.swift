import RawUDP
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// As a stop signal every poller that registered the event must see it, for good:
/// bench-limit's workers stop on it without reading it, and one that polls late must not
/// miss it. As a doorbell its owner consumes it and hears the next ring.
@Suite struct WakeEventTests {
    private func readyTokens(_ poller: EventPoller) throws -> [UInt64] {
        var tokens: [UInt64] = []
        try poller.wait(timeoutMilliseconds: 0) { tokens.append($0.token) }
        return tokens
    }

    @Test func quietUntilSignalled() throws {
        let event = try WakeEvent()
        let poller = try EventPoller()
        try poller.register(event.descriptor.rawValue, token: 7)
        #expect(try readyTokens(poller).isEmpty)
    }

    @Test func everyPollerSeesItAndKeepsSeeingIt() throws {
        let event = try WakeEvent()
        let pollers = try (0..<3).map { _ in try EventPoller() }
        for poller in pollers { try poller.register(event.descriptor.rawValue, token: 7) }
        event.signal()
        event.signal()
        for poller in pollers {
            #expect(try readyTokens(poller) == [7])
            #expect(try readyTokens(poller) == [7])
        }
        let late = try EventPoller()
        try late.register(event.descriptor.rawValue, token: 9)
        #expect(try readyTokens(late) == [9])
    }

    @Test func consumedItFallsQuietUntilTheNextSignal() throws {
        let event = try WakeEvent()
        let poller = try EventPoller()
        try poller.register(event.descriptor.rawValue, token: 3)
        event.signal()
        event.signal()
        #expect(try readyTokens(poller) == [3])
        event.consume()
        #expect(try readyTokens(poller).isEmpty)
        event.consume()
        event.signal()
        #expect(try readyTokens(poller) == [3])
    }
}
