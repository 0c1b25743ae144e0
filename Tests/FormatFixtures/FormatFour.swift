import EventLog
import LMDB

/// Writes ledgers of earlier formats, for the tests of the upgrade: this software only reads
/// them. The layout is docs/FORMAT.md's, "Formats 4 and 3", implemented here from the document.
public enum FormatFour {
    /// Rewrites the log in `environment` (format 5, no other handle open on its tables) as
    /// format 4 laid it out: every stream position in `stream_events`, 16-byte `streams`
    /// entries, no `stream_links` or `stream_marks`; each id entry followed by its content
    /// digest, `digests(id)`, when given (else left as it is); with `format` 3, no id runs either
    /// (every id must then be in `ids`).
    public static func rewrite(_ environment: Environment, digests: (([UInt8]) -> [UInt8])? = nil,
                               format: String = "escalation-ledger/4") throws {
        try environment.write { txn in
            let streams = try txn.database("streams"), events = try txn.database("events")
            let positions = try txn.database("stream_events")
            var heads: [([UInt8], [UInt8])] = []
            try txn.withCursor(streams) { c in
                var e = try c.first()
                while let entry = e { heads.append((Array(entry.key), Array(entry.value.prefix(16)))); e = try c.next() }
            }
            for (k, v) in heads { try txn.put(streams, key: k, value: v) }
            let numbers = Dictionary(uniqueKeysWithValues: heads.map { ($0.0, Array($0.1.prefix(8))) })
            try txn.withCursor(events) { c in
                var e = try c.first()
                while let entry = e {
                    guard let r = RecordView(entry.value), let number = numbers[Array(r.streamBytes)] else { throw FixtureError.unreadable }
                    try txn.put(positions, key: number + BigEndianKey.bytes(r.version), value: BigEndianKey.bytes(r.seq))
                    e = try c.next()
                }
            }
            try txn.drop(try txn.database("stream_links"))
            try txn.drop(try txn.database("stream_marks"))
            if let digests {
                for db in [try txn.database("ids"), try txn.database("id_run_entries")] {
                    var entries: [([UInt8], [UInt8])] = []
                    try txn.withCursor(db) { c in
                        var e = try c.first()
                        while let entry = e {
                            entries.append((Array(entry.key), Array(entry.value.prefix(8)) + digests(Array(entry.key.suffix(16)))))
                            e = try c.next()
                        }
                    }
                    for (k, v) in entries { try txn.put(db, key: k, value: v) }
                }
            }
            if format == "escalation-ledger/3" {
                guard try txn.count(try txn.database("id_run_entries")) == 0 else { throw FixtureError.runsInFormatThree }
                try txn.drop(try txn.database("id_runs"))
                try txn.drop(try txn.database("id_run_entries"))
            }
            try txn.put(try txn.database("meta"), key: Array("format".utf8), value: Array(format.utf8))
        }
    }

    public enum FixtureError: Error { case unreadable, runsInFormatThree }
}
