import EscalationDomain
import Foundation
import Simulation
import Testing
@testable import Ledger

/// The whole-log audit is read in chunks on several threads and handed out in order; a page
/// (a small limit) or a ticket's stream is read chunk after chunk on the calling thread. Both
/// must give the same entries.
@Suite struct AuditTests {
    @Test func theParallelAuditEqualsThePagedOneAcrossManyChunks() throws {
        let ledger = try Ledger.open(at: temporaryDirectory())
        let lines = Array(Simulator(seed: 57, calls: 3_000)).map { String(decoding: $0, as: UTF8.self) }
        _ = try ledger.importStrings(lines)
        let head = try ledger.log.head().seq
        #expect(head > 3 * UInt64(Ledger.auditChunk), "the test needs several chunks; it has \(head) events")

        for filter in [Ledger.AuditFilter(), Ledger.AuditFilter(staff: "sup-001"), Ledger.AuditFilter(afterSeq: 5_000),
                       Ledger.AuditFilter(channel: "ask:billing-escalations")] {
            let whole = try ledger.audit(filter)  // limit .max: the parallel reader
            // The same trail a page of 1,000 at a time: the sequential reader.
            var paged: [Ledger.AuditEntry] = []
            var f = filter
            while true {
                let page = try ledger.audit(f, limit: 1_000)
                paged += page
                guard page.count == 1_000, let last = page.last else { break }
                f.afterSeq = last.seq
            }
            #expect(whole.count == paged.count, "\(filter)")
            #expect(whole.map(\.seq) == paged.map(\.seq), "\(filter)")
            #expect(whole.map(\.summary) == paged.map(\.summary), "\(filter)")
            #expect(whole.map(\.hash) == paged.map(\.hash), "\(filter)")
            #expect(zip(whole.map(\.seq), whole.map(\.seq).dropFirst()).allSatisfy { $0 < $1 }, "in seq order")
            if filter.staff == nil, filter.channel == nil {
                #expect(whole.count == Int(head - filter.afterSeq), "every event once")
            }
        }
        // A limit above one chunk stops at the limit.
        let limited = try ledger.audit(Ledger.AuditFilter(), limit: Ledger.auditChunk + 7)
        #expect(limited.map(\.seq) == Array(1...UInt64(Ledger.auditChunk + 7)))
    }
}
