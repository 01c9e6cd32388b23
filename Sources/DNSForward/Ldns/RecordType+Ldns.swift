internal import CLdns
#if canImport(Glibc)
import Glibc
#endif

extension RecordType {
    /// A type mnemonic ("AAAA", "TYPE65") as ldns knows it; nil if unknown.
    public init?(mnemonic: String) {
        let type = ldns_get_rr_type_by_name(mnemonic.uppercased())
        let value = UInt16(truncatingIfNeeded: type.rawValue)
        guard value != 0 else { return nil }
        self.init(rawValue: value)
    }

    /// The mnemonic ldns prints for this type (it knows more than `mnemonic`).
    public var ldnsMnemonic: String {
        guard let text = ldns_rr_type2str(ldns_rr_type(rawValue: UInt32(rawValue))) else { return mnemonic }
        defer { free(text) }
        return String(cString: text)
    }
}
