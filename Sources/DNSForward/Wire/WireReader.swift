/// Bounds-checked reads over DNS wire bytes. Every method returns nil instead
/// of reading past the end, so hostile lengths and pointers end a parse, never
/// the process.
struct WireReader {
    let bytes: UnsafeRawBufferPointer

    func u16(at offset: Int) -> UInt16? {
        guard offset >= 0, offset + 2 <= bytes.count else { return nil }
        return UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
    }

    func u32(at offset: Int) -> UInt32? {
        guard let high = u16(at: offset), let low = u16(at: offset + 2) else { return nil }
        return UInt32(high) << 16 | UInt32(low)
    }

    func recordType(at offset: Int) -> RecordType? { u16(at: offset).map(RecordType.init(rawValue:)) }

    func recordClass(at offset: Int) -> RecordClass? { u16(at: offset).map(RecordClass.init(rawValue:)) }

    /// Offset just past the (possibly compressed) name starting at `offset`.
    /// A compression pointer ends the name in place (RFC 1035 4.1.4).
    func skipName(at offset: Int) -> Int? {
        var position = offset
        var total = 0
        while position < bytes.count {
            let length = Int(bytes[position])
            switch length & 0xC0 {
            case 0x00:
                if length == 0 { return position + 1 }
                total += length + 1
                // Room for the root octet: 255 octets in all (RFC 1035 3.1). Found by fuzzing
                // once ldns no longer parsed every reply: <= let a 256-octet name through.
                guard total < 255 else { return nil }
                position += length + 1
            case 0xC0:
                guard position + 2 <= bytes.count,
                      pointerChainIsBackward(from: position, nameStart: offset, total: total) else { return nil }
                return position + 2
            default:
                // 0x40 and 0x80 label types are obsolete/undefined (RFC 6891 5).
                return nil
            }
        }
        return nil
    }

    /// Whether the pointer at `pointer` (inside the name that starts at
    /// `nameStart`) leads, hop by hop, strictly backwards and never into the
    /// header, to a name that ends in the message. Found by fuzzing: ldns
    /// accepts forward, self and header pointers, so such upstream replies were
    /// cached and relayed byte for byte. Forward ones break clients that follow
    /// RFC 1035 4.1.4 ("a prior occurrence"); header ones change meaning when
    /// ReplyRenderer rewrites the ID and flags (a pointer to the ID's low byte
    /// became a 0x34-octet label). The question, at offset 12, thus can't be
    /// compressed, which personalize's in-place question copy relies on.
    /// Each hop lands below the last, so the walk ends.
    private func pointerChainIsBackward(from pointer: Int, nameStart: Int, total: Int) -> Bool {
        var limit = nameStart
        var position = pointer
        var total = total
        while true {
            let target = Int(bytes[position] & 0x3F) << 8 | Int(bytes[position + 1])
            guard target >= DNSHeader.length, target < limit else { return false }
            limit = target
            position = target
            labels: while true {
                guard position < bytes.count else { return false }
                let length = Int(bytes[position])
                switch length & 0xC0 {
                case 0x00:
                    if length == 0 { return true }
                    total += length + 1
                    guard total < 255 else { return false }
                    position += length + 1
                case 0xC0:
                    guard position + 2 <= bytes.count else { return false }
                    break labels
                default:
                    return false
                }
            }
        }
    }

    /// Where the uncompressed name at `offset` ends; nil for a name that runs
    /// past the message, is too long, or uses compression (a query's question
    /// has nothing to point back at).
    func uncompressedNameEnd(at offset: Int) -> Int? {
        var position = offset
        while position < bytes.count {
            let length = Int(bytes[position])
            guard length & 0xC0 == 0 else { return nil }
            if length == 0 { return position + 1 }
            // RFC 1035 3.1: 255 octets at most, the root's zero octet included;
            // + 1 keeps room for it. Found by fuzzing: without it a 256-octet
            // name passed and was forwarded upstream.
            guard position + 1 + length <= bytes.count, position - offset + length + 2 <= 255 else { return nil }
            position += length + 1
        }
        return nil
    }
}
