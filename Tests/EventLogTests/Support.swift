import Crypto
import Foundation
import LMDB
@testable import EventLog

func temporaryDirectory() -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("log-tests-\(UUID().uuidString)").path
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

func draft(_ n: UInt64, stream: String = "s", body: String? = nil, expected: UInt64? = nil) -> EventDraft {
    let payload = Array((body ?? "{\"n\":\(n)}").utf8)
    return EventDraft(id: RecordID(high: 0xABCD, low: n), stream: stream, payload: payload,
                      digest: Array(SHA256.hash(data: payload)), expectedVersion: expected)
}

/// The directory holding the package's built executables (tools/test sets LEDGER_BIN_DIR).
func binDirectory() -> String {
    if let dir = ProcessInfo.processInfo.environment["LEDGER_BIN_DIR"] { return dir }
    var url = URL(fileURLWithPath: #filePath)
    while url.path != "/" && !FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
        url.deleteLastPathComponent()
    }
    return url.appendingPathComponent(".build/debug").path
}

/// A refusing hook: refuses the drafts at the given indexes.
struct RefuseAt: AppendHook {
    struct Refused: Error {}
    let indexes: Set<Int>
    func admit(_ index: Int, at position: Position, in txn: WriteTransaction) throws {
        if indexes.contains(index) { throw Refused() }
    }
}

/// Holds the log's writer inside a transaction until ``open()``: requests submitted meanwhile
/// are committed together, in one transaction, once it is open.
final class Gate: AppendHook, @unchecked Sendable {
    private let entered = DispatchSemaphore(value: 0)
    private let released = DispatchSemaphore(value: 0)

    func begin(in txn: WriteTransaction) throws {
        entered.signal()
        released.wait()
    }
    func admit(_ index: Int, at position: Position, in txn: WriteTransaction) throws {}

    /// Returns once the writer is held.
    func waitUntilHeld() { entered.wait() }
    func open() { released.signal() }
}
