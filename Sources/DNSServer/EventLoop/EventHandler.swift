import RawUDP

/// What a registration's descriptor reports goes to its handler. Each handler
/// owns its descriptors and state; the loop only dispatches (unbound's comm
/// points, swift-nio's ChannelHandler).
protocol EventHandler: AnyObject {
    /// `registration` tells the handler which of its descriptors is ready.
    func handle(_ event: EventPoller.Event, on registration: LoopRegistration)
}
