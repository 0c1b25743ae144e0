import ArgumentParser
import EventLog
import Foundation
import Ledger

/// `ledger verify [--deep]` on the ledger itself (not a bundle or a proof): opens the ledger
/// read-only, runs the plain or the deep check, and reports. Damage of any kind, including a
/// ledger that cannot be opened because its files are damaged, is exit 4 with the JSON of
/// CONTRACT.md section 8.
enum LedgerVerify {
    static func run(global: GlobalOptions, deep: Bool, checkpoint: String?, key: String?, json: Bool) throws {
        let (result, headHash) = try check(global: global, deep: deep)
        if result.ok, let checkpoint {
            return try ProofCheck.checkpoint(checkpoint, key: key, global: global, json: json)
        }
        if json {
            var w = JSONWriter()
            JSONShape.verify(result, into: &w)
            Terminal.printBytes(w.bytes)
        } else if result.ok {
            Terminal.print("ok: \(Format.count(result.checked)) events verified" + (deep ? ", and every index, the rules' state, "
                           + "the personal-data links and the projections agree with the log" : "") + "; head hash \(headHash)")
        } else {
            Terminal.print("DAMAGED" + (result.firstBadSeq.map { " at seq \($0)" } ?? "") + ": \(result.problem ?? "unknown problem"); "
                           + "\(Format.count(result.checked)) events before it verified")
        }
        if !result.ok { throw ExitCode(ExitStatus.damaged) }
    }

    /// The result and the head hash (hex) of the check; the ledger is closed when it returns.
    private static func check(global: GlobalOptions, deep: Bool) throws -> (VerifyResult, String) {
        let ledger: Ledger
        switch try open(global) {
        case .failure(let damaged): return (damaged.result, "")
        case .success(let l): ledger = l
        }
        let head = try ledger.log.head()
        let result: VerifyResult
        if deep {
            var bar = ProgressBar(Ledger.DeepVerifyPhase.chain.rawValue, unit: "events", total: Double(head.seq))
            var phase = Ledger.DeepVerifyPhase.chain
            result = try ledger.verifyDeep { p, done, total in
                if p != phase {
                    bar.finish()
                    bar = ProgressBar(p.rawValue, unit: "events", total: Double(total))
                    phase = p
                }
                bar.update(Double(done))
            }
            bar.finish()
        } else {
            let bar = ProgressBar("verifying", unit: "events", total: Double(head.seq))
            result = try ledger.log.verify { done, _ in bar.update(Double(done)) }
            bar.finish()
        }
        return (result, head.hash.hex)
    }

    struct Damaged: Error { let result: VerifyResult }

    /// Opens the ledger read-only; a ledger whose files are too damaged to open is a result, not a failure.
    private static func open(_ global: GlobalOptions) throws -> Result<Ledger, Damaged> {
        guard GlobalOptions.holdsLedger(global.path) else { return .success(try global.openForQuery(readOnly: true)) }
        var options = Ledger.Options()
        options.create = false
        options.readOnly = true
        do {
            return .success(try Ledger.open(at: global.path, options: options))
        } catch {
            if let why = Ledger.damage(error) {
                return .failure(Damaged(result: .damaged(checked: 0, at: nil, "the ledger cannot be opened: " + why)))
            }
            if case LogError.badFormat = error, let stored = try? EventLog.storedFormat(path: global.path + "/log"),
               !EventLog.earlierFormats.contains(stored) {
                return .failure(Damaged(result: .damaged(checked: 0, at: nil, "meta: the format reads \(stored.debugDescription), "
                                                         + "which no version of this software wrote")))
            }
            throw CommandFailure("cannot open the ledger at \(global.path): \(CommandFailure.describe(error))")
        }
    }
}
