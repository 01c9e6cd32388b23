import RawUDP

#if canImport(Glibc)
import Glibc
#endif

/// The control socket or the metrics endpoint could not be opened. Names the
/// option, so an address in use is not mistaken for a --port clash.
public struct ListenerOpenError: Error, CustomStringConvertible {
    /// "--control" or "--metrics".
    public let option: String
    /// The path or address given.
    public let value: String
    public let underlying: SystemCallError

    public var description: String {
        switch (option, underlying.errno) {
        case ("--control", EADDRINUSE):
            "\(option) \(value): another daemon answers on this control socket; stop it, "
                + "or give this one its own --control path"
        case (_, EADDRINUSE):
            "\(option) \(value): address in use; pick another \(option) address, or stop what listens there"
        default:
            "\(option) \(value): \(underlying)"
        }
    }

    /// Runs `open`, naming `option` and `value` in what it throws.
    static func naming<Listener>(_ option: String, _ value: String,
                                 _ open: () throws(SystemCallError) -> Listener) throws(ListenerOpenError) -> Listener {
        do {
            return try open()
        } catch {
            throw ListenerOpenError(option: option, value: value, underlying: error)
        }
    }
}
