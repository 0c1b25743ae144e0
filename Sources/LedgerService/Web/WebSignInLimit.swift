import Foundation

/// Slows down guessing tokens at `/web/signin`: after `limit` failed sign-ins (a token that is not
/// valid) from one client address within `window` seconds, that address's further sign-ins are
/// refused (429) without their token being checked, until the oldest of those failures is
/// `window` old. Successful sign-ins are neither limited nor counted, and do not clear failures
/// (so a valid low-role token cannot be used to reset the count while guessing another).
///
/// Memory is bounded: each address keeps at most `limit` failure times, entries whose failures
/// are all older than the window are dropped, and the table holds at most `capacity` addresses
/// (when it is full of recent failures, the tenth whose last failures are the oldest are dropped).
final class SignInLimiter: @unchecked Sendable {
    let limit: Int
    let window: TimeInterval
    let capacity: Int
    private let lock = NSLock()
    /// Per address, the times (monotonic seconds) of its last failures, oldest first, at most `limit`.
    private var failures: [String: [TimeInterval]] = [:]

    init(limit: Int, window: TimeInterval, capacity: Int = 10_000) {
        self.limit = max(1, limit)
        self.window = max(0.001, window)
        self.capacity = max(1, capacity)
    }

    /// Monotonic seconds (not moved by changes to the wall clock).
    static func now() -> TimeInterval { ProcessInfo.processInfo.systemUptime }

    /// Seconds until `address` may try again, or nil when it may now.
    func wait(_ address: String, now: TimeInterval = SignInLimiter.now()) -> TimeInterval? {
        lock.lock(); defer { lock.unlock() }
        guard let times = failures[address] else { return nil }
        let recent = times.filter { now - $0 < window }
        guard recent.count >= limit else { return nil }
        return recent[recent.count - limit] + window - now
    }

    /// Records a failed sign-in from `address`.
    func fail(_ address: String, now: TimeInterval = SignInLimiter.now()) {
        lock.lock(); defer { lock.unlock() }
        var times = (failures[address] ?? []).filter { now - $0 < window }
        times.append(now)
        if times.count > limit { times.removeFirst(times.count - limit) }
        failures[address] = times
        if failures.count > capacity {
            // Stale addresses first; if the table is still full, the tenth idle longest (at once, so
            // that a flood of new addresses costs a sort per tenth of the table, not one per failure).
            failures = failures.filter { now - ($0.value.last ?? 0) < window }
            if failures.count > capacity {
                let keep = capacity - capacity / 10
                for (address, _) in failures.sorted(by: { ($0.value.last ?? 0) < ($1.value.last ?? 0) }).prefix(failures.count - keep) {
                    failures[address] = nil
                }
            }
        }
    }

    /// How many addresses the table holds (for tests).
    var count: Int { lock.lock(); defer { lock.unlock() }; return failures.count }
}
