import RawUDP
import Testing
@testable import DNSServer

/// Records what the loop hands it; on its first event it may unregister another registration.
private final class RecordingHandler: EventHandler {
    var events: [LoopRegistration] = []
    var onEvent: ((LoopRegistration) -> Void)?

    func handle(_ event: EventPoller.Event, on registration: LoopRegistration) {
        events.append(registration)
        onEvent?(registration)
    }
}

@Suite("Event loop registrations and dispatch")
struct EventLoopTests {
    @Test func deliversEachEventToItsHandlerWithItsRegistration() throws {
        let loop = try EventLoop()
        let a = RecordingHandler(), b = RecordingHandler()
        let wakeA = try WakeEvent(), wakeB = try WakeEvent()
        let registrationA = try loop.register(wakeA.descriptor.rawValue, handler: a)
        let registrationB = try loop.register(wakeB.descriptor.rawValue, handler: b)
        #expect(registrationA != registrationB)
        wakeB.signal()
        try loop.turn(timeoutMilliseconds: 1000)
        #expect(a.events.isEmpty)
        #expect(b.events == [registrationB])
        wakeA.signal()
        wakeB.consume()
        try loop.turn(timeoutMilliseconds: 1000)
        #expect(a.events == [registrationA])
        #expect(b.events == [registrationB])
        #expect(loop.registrationCount == 2)
    }

    @Test func anUnregisteredDescriptorIsSilentAndItsSlotComesBackWithANewGeneration() throws {
        let loop = try EventLoop()
        let handler = RecordingHandler()
        let wake = try WakeEvent()
        let first = try loop.register(wake.descriptor.rawValue, handler: handler)
        loop.unregister(first)
        #expect(loop.registrationCount == 0)
        wake.signal()
        try loop.turn(timeoutMilliseconds: 0)
        #expect(handler.events.isEmpty)
        let second = try loop.register(wake.descriptor.rawValue, handler: handler)
        #expect(second.slot == first.slot)
        #expect(second.generation != first.generation)
        #expect(second.token != first.token)
        // The old handle no longer reaches the new registration.
        loop.unregister(first)
        try loop.turn(timeoutMilliseconds: 1000)
        #expect(handler.events == [second])
    }

    // Two descriptors ready in one epoll_wait: the first handler closes the
    // second's registration; the event already fetched for it must not arrive.
    @Test func anEventFetchedForARegistrationEndedInTheSameRoundIsDropped() throws {
        let loop = try EventLoop()
        let closer = RecordingHandler(), victim = RecordingHandler()
        let wakeCloser = try WakeEvent(), wakeVictim = try WakeEvent()
        _ = try loop.register(wakeCloser.descriptor.rawValue, handler: closer)
        let victimRegistration = try loop.register(wakeVictim.descriptor.rawValue, handler: victim)
        victim.onEvent = { _ in loop.unregister(victimRegistration) }
        closer.onEvent = { _ in loop.unregister(victimRegistration) }
        wakeCloser.signal()
        wakeVictim.signal()
        try loop.turn(timeoutMilliseconds: 1000)
        // Whichever came first, the victim is heard at most once and only if it came first.
        #expect(closer.events.count == 1)
        #expect(victim.events.count <= 1)
        #expect(loop.registrationCount == 1)
    }

    @Test func modifyChangesInterest() throws {
        let loop = try EventLoop()
        let handler = RecordingHandler()
        let wake = try WakeEvent()
        let registration = try loop.register(wake.descriptor.rawValue, interest: [], handler: handler)
        wake.signal()
        try loop.turn(timeoutMilliseconds: 0)
        #expect(handler.events.isEmpty, "no interest, no event")
        try loop.modify(registration, interest: .readable)
        try loop.turn(timeoutMilliseconds: 1000)
        #expect(handler.events == [registration])
    }

    @Test func registeringAClosedDescriptorThrowsWithTheCall() throws {
        let loop = try EventLoop()
        #expect(throws: SystemCallError.self) { _ = try loop.register(-1, handler: RecordingHandler()) }
        #expect(loop.registrationCount == 0)
    }

    @Test func tokensRoundTrip() {
        let registration = LoopRegistration(slot: 4_000_000, generation: .max)
        #expect(LoopRegistration(token: registration.token) == registration)
    }
}
