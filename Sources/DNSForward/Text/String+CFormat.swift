#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension String {
    /// printf-style formatting of numbers (`%.1f`, `%ld`, `%5.1f%%`…) through the C library's `vsnprintf`.
    ///
    /// Why not `String(format:)`: it lives in full Foundation, which costs the static binary
    /// some 40 MB (issue 21); FoundationEssentials has no replacement. Integers are passed
    /// as `Int` (64 bits): use `%ld`, not `%d`. Strings are not arguments (`%s`, `%@`): interpolate them.
    public init(cFormat format: String, _ arguments: CVarArg...) {
        self = Self.formatted(format, arguments)
    }

    private static func formatted(_ format: String, _ arguments: [CVarArg]) -> String {
        // One try with a small buffer; the call reports the length it needed.
        var buffer = [CChar](repeating: 0, count: 128)
        let needed = Int(withVaList(arguments) { vsnprintf(&buffer, buffer.count, format, $0) })
        if needed >= buffer.count {
            buffer = [CChar](repeating: 0, count: needed + 1)
            _ = withVaList(arguments) { vsnprintf(&buffer, buffer.count, format, $0) }
        }
        return String(decoding: buffer.prefix(Swift.max(needed, 0)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
