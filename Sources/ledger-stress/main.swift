// Test support: appends durably to an event log until killed, printing each
// acknowledged event id on its own line ("ack <hex id> <seq>") only after the
// append returned. Crash tests kill it with SIGKILL at random moments and check
// that every acknowledged event survived.
//
// usage: ledger-stress DIR WRITER_TAG [TASKS] [COUNT]
// With COUNT, each task stops after COUNT appends and the process exits 0.
import EventLog
import Crypto
import Foundation
import LMDB

let args = CommandLine.arguments
guard args.count >= 3 else {
    FileHandle.standardError.write("usage: ledger-stress DIR WRITER_TAG [TASKS]\n".data(using: .utf8)!)
    exit(1)
}
let dir = args[1]
let tag = UInt64(args[2]) ?? 1
let tasks = args.count > 3 ? Int(args[3]) ?? 4 : 4
let count = args.count > 4 ? UInt64(args[4]) ?? .max : .max
var options = Environment.Options()
options.mapSize = 1 << 20

let log = try EventLog(path: dir, options: options)
let out = FileHandle.standardOutput

await withTaskGroup(of: Void.self) { group in
    for t in 0..<tasks {
        group.addTask {
            var n: UInt64 = 0
            while n < count {
                n += 1
                let id = RecordID(high: tag << 32 | UInt64(t), low: n)
                let payload = Array("{\"n\":\(n),\"task\":\(t),\"writer\":\(tag)}".utf8)
                let draft = EventDraft(id: id, stream: "stress:\(tag):\(t)", payload: payload,
                                       digest: Array(SHA256.hash(data: payload)))
                do {
                    let report = try await log.append([draft])
                    if case .appended(let p) = report.outcomes[0] {
                        out.write("ack \(id.uuidString) \(p.seq)\n".data(using: .utf8)!)
                    }
                } catch {
                    FileHandle.standardError.write("append failed: \(error)\n".data(using: .utf8)!)
                    exit(2)
                }
            }
        }
    }
}
