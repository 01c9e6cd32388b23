import RawUDP

/// One thread's poller and the table of who listens to what. Handlers
/// register their descriptors here and get their events back; the loop knows
/// nothing of DNS. The owner runs `turn` in a loop and does its per-round work
/// (flushing batches, timers) between turns.
final class EventLoop {
    private struct Slot {
        var generation: UInt32 = 0
        var descriptor: Int32 = -1
        var handler: EventHandler?
    }

    private let poller: EventPoller
    private var slots: [Slot] = []
    private var freeSlots: [Int] = []

    init() throws(SystemCallError) {
        poller = try EventPoller()
    }

    /// Registrations currently held.
    var registrationCount: Int { slots.count - freeSlots.count }

    func register(_ descriptor: Int32, interest: EventPoller.Interest = .readable,
                  handler: EventHandler) throws(SystemCallError) -> LoopRegistration {
        let slot = freeSlots.popLast() ?? appendSlot()
        slots[slot].generation &+= 1
        let registration = LoopRegistration(slot: slot, generation: slots[slot].generation)
        do {
            try poller.register(descriptor, token: registration.token, interest: interest)
        } catch {
            freeSlots.append(slot)
            throw error
        }
        slots[slot].descriptor = descriptor
        slots[slot].handler = handler
        return registration
    }

    func modify(_ registration: LoopRegistration, interest: EventPoller.Interest) throws(SystemCallError) {
        guard let slot = live(registration) else { return }
        try poller.modify(slots[slot].descriptor, token: registration.token, interest: interest)
    }

    /// Must come before the descriptor is closed. Unknown or stale handles are ignored.
    func unregister(_ registration: LoopRegistration) {
        guard let slot = live(registration) else { return }
        poller.unregister(slots[slot].descriptor)
        slots[slot].descriptor = -1
        slots[slot].handler = nil
        // Bumped now, so events already fetched for this slot are dropped.
        slots[slot].generation &+= 1
        freeSlots.append(slot)
    }

    /// Waits up to `timeoutMilliseconds` (-1: until something is ready) and
    /// hands each event to its registration's handler.
    func turn(timeoutMilliseconds: Int32) throws(SystemCallError) {
        try poller.wait(timeoutMilliseconds: timeoutMilliseconds) { event in
            let registration = LoopRegistration(token: event.token)
            guard let slot = live(registration), let handler = slots[slot].handler else { return }
            handler.handle(event, on: registration)
        }
    }

    /// Drops every handler (they hold the loop, the loop holds them).
    func removeAllHandlers() {
        for index in slots.indices where slots[index].handler != nil {
            unregister(LoopRegistration(slot: index, generation: slots[index].generation))
        }
    }

    private func live(_ registration: LoopRegistration) -> Int? {
        let slot = registration.slot
        guard slot >= 0, slot < slots.count, slots[slot].generation == registration.generation,
              slots[slot].handler != nil else { return nil }
        return slot
    }

    private func appendSlot() -> Int {
        slots.append(Slot())
        return slots.count - 1
    }
}
