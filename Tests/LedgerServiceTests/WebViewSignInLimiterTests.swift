import Testing
@testable import LedgerService

/// The sign-in limiter's counting and its memory bound, with a clock the test controls
/// (WebViewSignInLimitTests checks it over HTTP).
@Suite struct WebViewSignInLimiterTests {
    @Test("failures within the window count per address; the oldest one leaving the window lifts the refusal")
    func counting() {
        let limiter = SignInLimiter(limit: 3, window: 60)
        for t in [0.0, 10, 20] {
            #expect(limiter.wait("a", now: t) == nil)
            limiter.fail("a", now: t)
        }
        #expect(limiter.wait("a", now: 21) == 39, "refused until the first failure is 60 s old")
        #expect(limiter.wait("b", now: 21) == nil, "another address is not")
        #expect(limiter.wait("a", now: 60) == nil, "at 60 s the first failure has left the window")
        limiter.fail("a", now: 61)
        #expect(limiter.wait("a", now: 62) == 8, "failures at 10, 20 and 61: refused until 70")
        // Failures spread wider than the window never add up.
        let slow = SignInLimiter(limit: 3, window: 60)
        for t in stride(from: 0.0, to: 600, by: 31) { slow.fail("c", now: t); #expect(slow.wait("c", now: t) == nil) }
    }

    @Test("the table holds at most its capacity: stale addresses go first, then the one idle longest")
    func bounded() {
        let limiter = SignInLimiter(limit: 5, window: 60, capacity: 100)
        for i in 0..<1_000 { limiter.fail("10.0.\(i / 256).\(i % 256)", now: Double(i) / 100) }
        #expect(limiter.count <= 100)
        // The newest addresses are the ones kept.
        for _ in 0..<4 { limiter.fail("10.0.3.231", now: 10) }
        #expect(limiter.wait("10.0.3.231", now: 10) != nil, "the latest address is still counted (5 failures)")
        // Long after, stale entries are dropped as new ones come.
        for i in 0..<101 { limiter.fail("192.168.0.\(i)", now: 1_000) }
        #expect(limiter.count <= 100 && limiter.wait("10.0.3.231", now: 1_000) == nil)
    }
}
