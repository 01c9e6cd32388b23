import RawUDP

/// Queries per original destination: which servers LAN clients believed they
/// were asking. Bounded, so a client spraying random addresses cannot grow it
/// without limit: past `capacity` addresses the rest count as "other".
struct DestinationCounts {
    private(set) var counts: [IPAddress: Int] = [:]
    private(set) var other = 0
    let capacity: Int

    init(capacity: Int = 4096) { self.capacity = capacity }

    mutating func record(_ address: IPAddress) {
        // One hash lookup while there is room (the usual case), two once full.
        if counts.count < capacity || counts[address] != nil {
            counts[address, default: 0] += 1
        } else {
            other += 1
        }
    }

    /// Most asked first.
    var ranked: [(address: String, queries: Int)] {
        var rows = counts.map { (address: $0.key.description, queries: $0.value) }
            .sorted { $0.queries == $1.queries ? $0.address < $1.address : $0.queries > $1.queries }
        if other > 0 { rows.append((address: "other", queries: other)) }
        return rows
    }
}
