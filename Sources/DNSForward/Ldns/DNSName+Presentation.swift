internal import CLdns

extension DNSName {
    /// Parses presentation text ("www.example.test", escapes allowed) with ldns;
    /// nil when it is not a valid name. A missing final dot is implied.
    public init?(presentation text: String) {
        guard let rdf = ldns_dname_new_frm_str(text) else { return nil }
        defer { ldns_rdf_deep_free(rdf) }
        guard let data = ldns_rdf_data(rdf) else { return nil }
        self.init(wire: Array(UnsafeBufferPointer(start: data, count: ldns_rdf_size(rdf))))
    }

    /// Lowercased wire form, as cache keys hold names.
    public var lowercasedWire: [UInt8] { wire.map(DNSName.foldCase) }
}
