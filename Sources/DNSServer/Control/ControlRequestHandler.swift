import DNSForward
import Logging

/// What the control socket's requests mean: stats, cache inspection and
/// flushing, zone reloads. Socket-free, so tests drive it with request lines.
final class ControlRequestHandler {
    /// Entries one dump step renders at most.
    static let dumpChunk = 256

    /// A request's answer: reply lines now, or a dump to send in steps.
    enum Response {
        case replies([ControlReply])
        case dump(CacheDump)
    }

    private unowned let target: ControlTarget
    private let logger: Logger

    init(target: ControlTarget, logger: Logger) {
        self.target = target
        self.logger = logger
    }

    func respond(to line: ArraySlice<UInt8>, now: MonotonicInstant) -> Response {
        let request: ControlRequest
        do {
            request = try ControlCodec.decode(ControlRequest.self, from: line)
        } catch {
            return .replies([ControlReply(error: "bad request: \(error)")])
        }
        switch request.command {
        case .stats:
            return .replies([ControlReply(stats: target.stats(now: now))])
        case .dump:
            return .dump(CacheDump(keys: target.cache.keys))
        case .lookup:
            return .replies(lookup(request, now: now))
        case .flush:
            return .replies([flush(request)])
        case .zonesReload:
            switch target.reloadZones() {
            case .success(let zones):
                return .replies([ControlReply(done: ControlDone(count: zones.zoneNames.count,
                                                                message: zones.zoneNames.joined(separator: " ")))])
            case .failure(let error):
                return .replies([ControlReply(error: error.message)])
            }
        case .cacheSave:
            switch target.saveCache() {
            case .success(let save):
                return .replies([ControlReply(done: ControlDone(count: save.ticket, message: "saving to \(save.path)"))])
            case .failure(let error):
                return .replies([ControlReply(error: error.message)])
            }
        }
    }

    /// The dump's next entries, at most `dumpChunk`, closed by `done` at the end.
    /// Entries evicted or flushed since the snapshot are skipped.
    func continueDump(_ dump: inout CacheDump, now: MonotonicInstant) -> [ControlReply] {
        var replies: [ControlReply] = []
        while replies.count < Self.dumpChunk, dump.position < dump.keys.count {
            let key = dump.keys[dump.position]
            dump.position += 1
            guard let answer = target.cache.entry(for: key) else { continue }
            replies.append(ControlReply(entry: entryView(key, answer, now: now)))
            dump.sent += 1
        }
        if dump.isFinished { replies.append(ControlReply(done: ControlDone(count: dump.sent))) }
        return replies
    }

    private func lookup(_ request: ControlRequest, now: MonotonicInstant) -> [ControlReply] {
        guard let text = request.name, let name = DNSName(presentation: text) else {
            return [ControlReply(error: "lookup needs a valid domain name")]
        }
        var type: RecordType?
        if let mnemonic = request.type {
            guard let number = RecordType(mnemonic: mnemonic) else {
                return [ControlReply(error: "unknown record type \(mnemonic)")]
            }
            type = number
        }
        let wanted = name.lowercasedWire
        let keys = target.cache.keys.filter { $0.name == wanted && (type == nil || $0.type == type) }
            .sorted { ($0.type, $0.dnssecOK ? 1 : 0) < ($1.type, $1.dnssecOK ? 1 : 0) }
        var replies = keys.compactMap { key in
            target.cache.entry(for: key).map { ControlReply(entry: entryView(key, $0, now: now)) }
        }
        replies.append(ControlReply(done: ControlDone(count: replies.count)))
        return replies
    }

    private func flush(_ request: ControlRequest) -> ControlReply {
        let removed: Int
        if let text = request.name {
            guard let name = DNSName(presentation: text) else {
                return ControlReply(error: "flush needs a valid domain name")
            }
            removed = target.cache.remove(name: name.lowercasedWire, subtree: request.subtree ?? false)
        } else {
            removed = target.cache.count
            target.cache.removeAll()
        }
        logger.info("cache flushed", metadata: ["name": "\(request.name ?? "(all)")", "removed": "\(removed)"])
        return ControlReply(done: ControlDone(count: removed))
    }

    private func entryView(_ key: CacheKey, _ answer: CachedAnswer, now: MonotonicInstant) -> CacheEntryView {
        // Same arithmetic as the records' TTLs, so the header line and records agree.
        let remaining = Int(answer.lifetime) - Int(answer.age(at: now))
        return CacheEntryView(
            name: DNSName(wire: key.name).description, type: key.type.ldnsMnemonic, class: Int(key.class.rawValue),
            dnssecOK: key.dnssecOK, checkingDisabled: key.checkingDisabled, kind: answer.kind.rawValue,
            rcode: answer.responseCode.description, remainingTTL: remaining,
            ageSeconds: Int(answer.age(at: now)), hits: answer.hits,
            answeredBy: answer.upstream.map { target.upstreamName($0) } ?? "daemon",
            stale: !answer.isFresh(at: now), records: answer.presentation(at: now))
    }
}

extension CacheDump {
    var isFinished: Bool { position >= keys.count }
}
