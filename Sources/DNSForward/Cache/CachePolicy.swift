/// Decides whether and for how long a response may be cached.
enum CachePolicy {
    enum Decision: Equatable {
        case store(kind: CachedAnswer.Kind, lifetime: UInt32)
        case skip(String)
    }

    static func decide(header: DNSHeader, layout: MessageLayout, configuration: CacheConfiguration) -> Decision {
        // A truncated reply is not the answer, only a pointer to TCP.
        if header.isTruncated { return .skip("truncated") }
        let code = header.responseCode
        let decision: Decision
        switch code {
        case .noError where header.answerCount > 0:
            guard let ttl = layout.minimumTTL else { return .skip("no TTL") }
            decision = .store(kind: .positive,
                              lifetime: min(configuration.maximumTTL, max(configuration.minimumTTL, ttl)))
        case .noError, .nameError:
            // RFC 2308 5: a negative answer without SOA must not be cached.
            guard let ttl = layout.negativeTTL else { return .skip("negative answer without SOA") }
            decision = .store(kind: code == .nameError ? .nameError : .noData,
                              lifetime: min(configuration.maximumNegativeTTL, ttl))
        case .serverFailure:
            decision = .store(kind: .serverFailure, lifetime: configuration.serverFailureTTL)
        default:
            // FORMERR, NOTIMP, REFUSED: about this upstream, not about the name.
            return .skip("\(code)")
        }
        if case .store(_, 0) = decision { return .skip("TTL 0") }
        return decision
    }
}
