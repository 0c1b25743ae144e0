import EscalationDomain
import Foundation

/// New customers' pseudonyms: `cus_` and 32 lowercase hex digits, of which
/// - the first 3 are the record's shard (docs/FORMAT.md), the same for runs of ``run`` customers
///   made one after another in this process and then the next shard, from a random first one;
/// - the next 13 are the time in microseconds since 1970 (UTC);
/// - the last 16 are random (64 bits from the system's generator).
///
/// Why not 32 random digits: `privacy.customers` is keyed by pseudonym, and random keys put each
/// new customer of a batch on a different leaf page of the table, so once the table outgrows a
/// batch every commit wrote about one 4 KiB page per new customer (the most of what an import
/// wrote). Minted this way, a batch's new customers go to a few shards and, within each shard's
/// key range (which an erasure rotates), after every record made before them: the commit writes
/// the few pages at those ranges' ends. Each shard still gets an even share of the customers over
/// time, so an erasure re-seals as many records as before.
///
/// Nothing here derives from the customer's id: knowing an id gives nothing of its pseudonym. The
/// time is what the log shows anyway (the `recordedAt` of the event that made the customer).
final class PseudonymMint: @unchecked Sendable {
    static let shared = PseudonymMint()

    /// Customers in a row that share a shard.
    static let run = 64

    private let lock = NSLock()
    private var shard: Int
    private var inRun = 0

    init() {
        let r = RandomPool.shared.take(2)
        shard = (Int(r[0]) << 8 | Int(r[1])) % KeyEncryptionKeys.shardCount
    }

    func next() -> String {
        lock.lock()
        let s = shard
        inRun += 1
        if inRun == Self.run {
            inRun = 0
            shard = (shard + 1) % KeyEncryptionKeys.shardCount
        }
        lock.unlock()
        let micros = UInt64(max(0, Timestamp.now().microsecondsSinceEpoch))
        // 16 bytes as before: the shard (12 bits) and the time (52 bits), big-endian, then 8 random.
        let head = UInt64(s) << 52 | micros & (1 << 52 - 1)
        return "cus_" + PersonalDataVault.hex(withUnsafeBytes(of: head.bigEndian) { Array($0) } + RandomPool.shared.take(8))
    }
}
