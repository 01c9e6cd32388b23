import DNSForward
import RawUDP

/// One loop's admission handler: the `ClientAdmission` policy in force with
/// its buckets and counts, asked by the loop's UDP and TCP front ends before
/// any query work. SIGHUP replaces the policy and keeps what it can of the old
/// one's state (`ClientAdmission.carryOver`).
final class AdmissionGate {
    private(set) var policy: ClientAdmission

    init(_ policy: ClientAdmission) {
        self.policy = policy
    }

    func admit(_ client: IPAddress, now: MonotonicInstant) -> ClientAdmission.Verdict {
        policy.admit(client, now: now)
    }

    func isAllowed(_ client: IPAddress) -> Bool {
        policy.isAllowed(client)
    }

    /// Whether `--rate-limit` is on: TCP then asks per query, not only per connection.
    var limitsRate: Bool { policy.rateLimiter != nil }

    var counters: ClientAdmission.Counters { policy.counters }

    func replace(with new: ClientAdmission) {
        var new = new
        new.carryOver(from: policy)
        policy = new
    }
}
