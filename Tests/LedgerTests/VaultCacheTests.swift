import EventLog
import Foundation
import LMDB
import Ledger
import Privacy
import Testing

/// The vault caches opened customer records. Readers work on snapshots, so a reader that
/// began before an erasure committed still finds the record; it must not leave it in the
/// cache for the readers after the commit (nor for the erasing transaction itself).
@Suite struct VaultCacheTests {
    @Test func aReaderOfAnOlderSnapshotDoesNotBringAnErasedCustomerBack() throws {
        let ledger = try Ledger.open(at: temporaryDirectory())
        var s = Script()
        #expect(try ledger.importStrings(s.organisation() + [s.open("T1", 1, customer: "c1")]).refused.isEmpty)
        let vault = ledger.vault, environment = ledger.log.environment
        let p = try environment.read { txn in try #require(try vault.customerOfTicket("T1", in: txn)) }
        try environment.write { txn in
            vault.beginTransaction()
            try vault.erase(pseudonym: p, in: txn)
            #expect(try vault.customer(pseudonym: p, in: txn) == nil, "erased in this transaction")
            // Another thread reads its own snapshot, taken before this commit: the customer is still there.
            let seen = Latch<Bool>()
            let reader = Thread {
                seen.set((try? environment.read { try vault.customer(pseudonym: p, in: $0) }) != nil)
            }
            reader.start()
            #expect(seen.wait(), "a snapshot from before the commit still holds the record")
            #expect(try vault.customer(pseudonym: p, in: txn) == nil, "still erased in this transaction, whatever readers cached")
            #expect(try !vault.isLive(pseudonym: p, in: txn))
            try vault.prepareCommit(txn)
        }
        try vault.didCommit()
        try environment.read { (txn) throws -> Void in
            #expect(try vault.customer(pseudonym: p, in: txn) == nil, "erased for every reader after the commit")
            #expect(try !vault.isLive(pseudonym: p, in: txn))
        }
    }
}
