#if canImport(Glibc)
import Glibc
#endif

/// Unpredictable 16-bit IDs for upstream queries (RFC 5452 9.2), and the bits
/// that randomize their names' letter case (DNS 0x20), from the
/// kernel's CSPRNG 4 KiB at a time. `UInt16.random` makes one getrandom call
/// per ID, which was a twentieth of a cache miss's user time; this makes one
/// getentropy call (getrandom underneath, 256 bytes at most) per 128 IDs. The IDs are as unpredictable; they are only held in memory
/// a little longer before use.
final class QueryIDSource {
    private var buffer = [UInt16](repeating: 0, count: 2048)
    private var position = 2048

    func next() -> UInt16 {
        if position == buffer.count { refill() }
        defer { position += 1 }
        return buffer[position]
    }

    /// 64 random bits (four IDs' worth): the letter cases of an upstream query name (DNS 0x20).
    func nextBits() -> UInt64 {
        (0..<4).reduce(0) { bits, _ in bits << 16 | UInt64(next()) }
    }

    private func refill() {
        buffer.withUnsafeMutableBytes { bytes in
            var filled = 0
            while filled < bytes.count {
                let chunk = min(256, bytes.count - filled)
                if getentropy(bytes.baseAddress! + filled, chunk) == 0 {
                    filled += chunk
                } else {
                    // No getrandom in this kernel: the standard library's generator.
                    var generator = SystemRandomNumberGenerator()
                    for index in filled..<bytes.count { bytes[index] = generator.next() }
                    filled = bytes.count
                }
            }
        }
        position = 0
    }
}
