// Fuzz target `zone`: any zone-file text through LocalZones.load (ldns's zone
// parser, then LocalZone's checks), and, when it loads, queries answered from it.
//
// The input is written as the only file of a scratch directory. A load error
// is fine; a crash, a leak or a hang is not. A zone that loads is asked, for
// its first owner names and the apex: the types present, A, CNAME, ANY, and a
// name that does not exist, with and without EDNS and over TCP. Every answer
// must be well formed, authoritative, carry the query's ID and exact question,
// and fit the client's limit.

private let directory = makeTemporaryDirectory()
private let path = directory + "/fuzz.zone"

// LeakSanitizer's switch for "allocations from here on are not leaks"
// (sanitizer/lsan_interface.h), from the ASan runtime this is linked with.
@_silgen_name("__lsan_disable") private func lsanDisable()
@_silgen_name("__lsan_enable") private func lsanEnable()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzZoneLoader(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    writeFile(path, UnsafeBufferPointer(start: data, count: size))
    // ldns 1.8.3 leaks the records parsed before a syntax error (zone.c frees
    // its partial zone shallowly; ZoneFileReader.swift documents it). Inputs
    // ldns rejects run with leak detection off, so that known leak is not
    // reported; every input ldns parses is leak-checked in full, our code and
    // ldns's success path included.
    lsanDisable()
    let parses = (try? ZoneFileReader.records(inFile: path)) != nil
    if !parses {
        do {
            _ = try LocalZones.load(directory: directory)
            fuzzFailure("ldns rejects the file, LocalZones.load accepts it")
        } catch {
            fuzzTrace("zone: \(error)")
        }
    }
    lsanEnable()
    guard parses else { return 0 }

    let zones: LocalZones
    do {
        zones = try LocalZones.load(directory: directory)
    } catch {
        fuzzTrace("zone: \(error)")
        return 0
    }
    guard let records = try? ZoneFileReader.records(inFile: path), let soa = records.first(where: { $0.type == 6 }) else {
        fuzzFailure("loaded, but the file has no SOA on a second read")
    }
    var owners: [DNSName] = [soa.owner]
    for record in records where owners.count < 4 && !owners.contains(record.owner) { owners.append(record.owner) }
    var types: [UInt16] = [1, 5, 255]
    for record in records where types.count < 5 && !types.contains(record.type.rawValue) { types.append(record.type.rawValue) }
    var names = owners
    if soa.owner.wire.count + 8 <= 255 { names.append(DNSName(wire: [7] + Array("nx-fuzz".utf8) + soa.owner.wire)) }

    var answered = 0
    for name in names {
        for type in types {
            for edns in [nil, UInt16(4096)] {
                var wire = word(0xBEEF) + word(0x0100) + word(1) + word(0) + word(0) + word(edns == nil ? 0 : 1)
                wire += name.wire + word(type) + word(1)
                if let edns { wire += opt(udpSize: edns) }
                guard case .answer(var query) = wire.withUnsafeBytes({ ClientQueryParser.classify($0) }) else { continue }
                query.maximumReply = min(query.maximumReply, 1232)
                for client in [query, query.overTCP()] {
                    guard let answer = zones.answer(client) else {
                        fuzzFailure("no local answer for \(name) type \(type), a name in the zone \(soa.owner)")
                    }
                    answered += 1
                    checkClientReply(answer.bytes, query: wire, limit: client.maximumReply,
                                     question: wire[12..<client.questionEnd], context: "zone answer \(name) \(type)")
                    guard answer.bytes[2] & 0x04 != 0 else {
                        fuzzFailure("local answer without AA", input: wire, output: answer.bytes)
                    }
                }
            }
        }
    }
    fuzzTrace("zone: loaded \(zones.zoneNames) with \(zones.recordCount) records, \(answered) answers checked")
    return 0
}
