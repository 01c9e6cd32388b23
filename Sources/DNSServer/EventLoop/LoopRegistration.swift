/// A descriptor's place in an event loop: the handle a handler keeps to change
/// or end its interest. The epoll token is the slot and a generation, so an
/// event still queued for a slot that was freed and reused in the same round
/// is recognised as stale and not delivered to the new owner.
struct LoopRegistration: Hashable, Sendable {
    let slot: Int
    let generation: UInt32

    var token: UInt64 { UInt64(generation) << 32 | UInt64(UInt32(slot)) }

    init(slot: Int, generation: UInt32) {
        self.slot = slot
        self.generation = generation
    }

    init(token: UInt64) {
        slot = Int(UInt32(truncatingIfNeeded: token))
        generation = UInt32(truncatingIfNeeded: token >> 32)
    }
}
