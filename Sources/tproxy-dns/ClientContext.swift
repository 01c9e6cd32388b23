import RawUDP

/// Who asked, and which server they thought they were asking: the reply goes
/// to `client` with `originalDestination` as its source.
struct ClientContext: Sendable {
    let client: IPEndpoint
    let originalDestination: IPEndpoint
}
