import Foundation
import GRDB
import Ledger
import LedgerBenchKit
import Simulation
import Compliance  // BundleVerifier
import PostgresNIO

// MARK: - 1. Import of interchange lines

/// Workload 1: import N simulated interchange lines, batches of 8,192 lines per transaction, durable.
///
/// - ours: `Ledger.importLines(lines, batchSize:)` on a fresh ledger (durable default): decode,
///   validate, seal personal data, chain and leaf hashes, append, id and stream indexes.
/// - raw LMDB: `mdb_put(MDB_APPEND)` of the line bytes keyed by seq, same batches, durable.
/// - SQLite: ``SQLiteLedger/importBatch(_:into:)`` (JSONSerialization parse, required fields,
///   INSERT into `events` with 3 indexes, then the tickets, callbacks, staff and scorecards
///   projections updated per event), same batches, WAL, synchronous FULL.
/// - PostgreSQL: ``PostgresLedger/importBatch(_:_:into:)``: the same parse in the client, the batch
///   sent as arrays to `import_batch` (PL/pgSQL: the same inserts and projection updates), one
///   transaction per batch, synchronous_commit on, fsync on. CPU: client + its backend.
///
/// The lines are generated before the clock starts (held in memory, same bytes for all).
enum ImportLines {
    static let workload = Workload(
        id: "import", number: 1, title: "Import of interchange lines (parse, validate, seal, hash, append, index)",
        reportsCPU: true,
        runs: { $0.importRuns ?? $0.runs },
        cases: { config in
            let label = "import \(fmtSize(config.importLines)) lines, \(fmtCount(config.importBatch))/txn, durable (lines/s)"
            return config.systems.map { system in
                Case(row: label, system: system) { ctx in
                    if system == .postgres { return try await postgres(ctx) }
                    return try measure(system, ctx)
                }
            }
        }
    )

    static func postgres(_ ctx: Context) async throws -> Sample {
        guard let target = ctx.config.pg else { throw BenchError("no PostgreSQL server (--pg-socket)") }
        let lines = Lines.inMemory(count: ctx.config.importLines, seed: ctx.config.seed)
        let n = lines.count, batch = ctx.config.importBatch
        let db = try await PGDatabase.create(target, label: "import")
        do {
            let c = try await db.connect(durability: .durable)
            try await PostgresLedger.create(c)
            let backend = try await PG.backendPID(c)
            var tally = ImportTally()
            let cpu0 = PG.cpuSeconds(pids: [backend])
            let meter = Meter.start()
            for s in stride(from: 0, to: n, by: batch) {
                try await PostgresLedger.importBatch(c, lines[s..<min(s + batch, n)], into: &tally)
            }
            let reading = meter.stop()
            let cpu1 = PG.cpuSeconds(pids: [backend])
            try await c.close()
            guard tally.appended + tally.duplicates + tally.refused == n else { throw BenchError("PostgreSQL tally does not add up") }
            var sample = Sample(events: n, reading)
            addServerCPU(&sample, cpu0, cpu1)
            sample.extra["appended"] = Double(tally.appended)
            sample.extra["refused"] = Double(tally.refused)
            sample.diskBytes = await db.diskBytes()
            await db.remove()
            return sample
        } catch {
            await db.remove()
            throw error
        }
    }

    static func measure(_ system: System, _ ctx: Context) throws -> Sample {
        let config = ctx.config
        let lines = Lines.inMemory(count: config.importLines, seed: config.seed)
        let n = lines.count, batch = config.importBatch
        let scratch = try ctx.scratch("\(system.rawValue)-import")
        defer { scratch.remove() }
        var sample: Sample
        switch system {
        case .ours:
            var options = Ledger.Options()
            options.durability = .durable
            options.mapSize = config.mapSize
            let ledger = try Ledger.open(at: scratch.file("ledger"), options: options)
            let meter = Meter.start()
            let report = try ledger.importLines(lines, batchSize: batch)
            let reading = meter.stop()
            guard report.lines == n, report.appended + report.duplicates + report.refused.count == n, report.appended > n / 2 else {
                throw BenchError("ours imported \(report.appended) + \(report.duplicates) dup + \(report.refused.count) refused of \(n)")
            }
            sample = Sample(events: n, reading)
            sample.extra["appended"] = Double(report.appended)
            sample.extra["refused"] = Double(report.refused.count)
        case .rawLMDB:
            let store = try RawLMDBStore(path: scratch.file("raw"), durability: .durable, mapSize: config.mapSize)
            let meter = Meter.start()
            for s in stride(from: 0, to: n, by: batch) {
                try store.appendBatch(lines[s..<min(s + batch, n)], firstSeq: UInt64(s + 1))
            }
            let reading = meter.stop()
            guard try store.count() == n else { throw BenchError("raw LMDB holds \(try store.count()) of \(n)") }
            sample = Sample(events: n, reading)
        case .sqlite:
            let db = try SQLiteLedger(path: scratch.file("events.sqlite"), durability: .durable)
            var tally = ImportTally()
            let meter = Meter.start()
            for s in stride(from: 0, to: n, by: batch) {
                try db.importBatch(lines[s..<min(s + batch, n)], into: &tally)
            }
            let reading = meter.stop()
            guard tally.appended + tally.duplicates + tally.refused == n else { throw BenchError("SQLite tally does not add up") }
            sample = Sample(events: n, reading)
            sample.extra["appended"] = Double(tally.appended)
            sample.extra["refused"] = Double(tally.refused)
        case .postgres:
            throw BenchError("unreachable")
        }
        sample.diskBytes = scratch.diskBytes()
        return sample
    }
}

// MARK: - 4. Projection rebuild

/// Workload 4: rebuild every projection of a prebuilt ledger from its log, each measurement in
/// its own child process (peak RSS is the rebuild's: opening the ledger plus the rebuild).
///
/// - ours: `ledger.projector.rebuild()` (tickets, staff, accountable index; into the inactive
///   generation, then swapped in).
/// - SQLite: ``SQLiteLedger/rebuildProjections()``: in one transaction, empty the tickets,
///   callbacks, staff and scorecards projections, read every event back in seq order, parse its
///   payload again and apply the same per-event projection statements as the import.
/// - PostgreSQL: ``PostgresLedger/rebuildProjections(_:)``: the same in one transaction: TRUNCATE,
///   pages of 8,192 events read back, parsed in the client, folded by `project_batch` (PL/pgSQL).
///   CPU: client + its backend.
///
/// Both SQL peers fold what their import maintains (see SQLPeers.swift): less than ours (no
/// findings, deadlines, accountability index or escalation cost) but the same shape of work.
enum Rebuild {
    static let workload = Workload(
        id: "rebuild", number: 4, title: "Full projection rebuild",
        reportsPeakMemory: true, reportsCPU: true, isolated: true,
        prepare: { config in
            for n in config.rebuildSizes {
                try LedgerCache.ensure(config, lines: n)
                if config.systems.contains(.postgres) { _ = try await LedgerCache.ensurePostgres(config, lines: n) }
            }
        },
        cases: { config in
            config.rebuildSizes.flatMap { size in
                config.systems.filter { $0 != .rawLMDB }.map { system in
                    Case(row: "projection rebuild, \(fmtSize(size))-line ledger (events/s)", system: system) { ctx in
                        try await measure(system, lines: size, ctx)
                    }
                }
            }
        }
    )

    static func measure(_ system: System, lines: Int, _ ctx: Context) async throws -> Sample {
        let built = try LedgerCache.ensure(ctx.config, lines: lines)
        switch system {
        case .ours:
            var options = Ledger.Options()
            options.mapSize = 1 << 30
            let ledger = try Ledger.open(at: built.ledgerPath, options: options)
            let events = Int(try ledger.log.head().seq)
            let meter = Meter.start()
            try ledger.projector.rebuild()
            let reading = meter.stop()
            guard try ledger.projector.checkpoint() == UInt64(events) else { throw BenchError("rebuild stopped short of the head") }
            return Sample(events: events, reading)
        case .sqlite:
            let db = try SQLiteLedger(path: built.sqlitePath, durability: .durable, create: false)
            let events = try db.count()
            let meter = Meter.start()
            let folded = try db.rebuildProjections()
            let reading = meter.stop()
            guard folded == events else { throw BenchError("SQLite rebuild read \(folded) of \(events) events") }
            let tickets = try db.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM tickets") ?? 0 }
            var s = Sample(events: events, reading)
            s.extra["tickets"] = Double(tickets)
            return s
        case .postgres:
            let db = try await LedgerCache.ensurePostgres(ctx.config, lines: lines)
            return try await db.with(durability: .durable) { c in
                let events = try await PG.int(c, "SELECT count(*) FROM events")
                let backend = try await PG.backendPID(c)
                let cpu0 = PG.cpuSeconds(pids: [backend])
                let meter = Meter.start()
                let folded = try await PostgresLedger.rebuildProjections(c)
                let reading = meter.stop()
                let cpu1 = PG.cpuSeconds(pids: [backend])
                guard folded == events else { throw BenchError("PostgreSQL rebuild read \(folded) of \(events) events") }
                var s = Sample(events: events, reading)
                addServerCPU(&s, cpu0, cpu1)
                s.extra["tickets"] = Double(try await PG.int(c, "SELECT count(*) FROM tickets"))
                return s
            }
        case .rawLMDB:
            throw BenchError("no raw LMDB peer for a rebuild")
        }
    }
}

// MARK: - 5. As-of ticket view and scorecard lookup

/// Workload 5: latency of one ticket's as-of view and of one staff member's scorecard, on
/// prebuilt ledgers of several sizes. The queries (ticket, historical seq; staff id) are picked
/// with a fixed seed before the clock starts; the clock covers each call.
///
/// - ours, as-of: `ledger.ticket(id, at: point)` with a historical point (`projector.ticket(id, asOf:)`:
///   the ticket's stream folded up to the seq, staff as they were). The ticket is the one of the
///   event at a random seq, the point a random seq after it (so the ticket exists there).
/// - ours, scorecard: `ledger.withProjections(at: head) { $0.scorecards(clock:staff:) }` for a
///   random staff id (stored projection, caught up).
/// - SQLite, as-of: `SELECT payload FROM events WHERE stream = ? AND seq <= ? ORDER BY version`,
///   each payload parsed with JSONSerialization and folded (event count, last type).
/// - SQLite, scorecard: the stored projection: `SELECT ... FROM staff LEFT JOIN scorecards ...
///   WHERE staff = ?` (two primary-key look-ups: name, role and the 15 counters the peer keeps;
///   see SQLPeers.swift). Ours also computes callbacks overdue at the clock, findings and the
///   escalation cost.
/// - PostgreSQL: the same two queries (`$1`), one round trip each, on one connection.
enum AsOfViews {
    static let workload = Workload(
        id: "as-of", number: 5, title: "Ticket as-of view and scorecard lookup latency",
        prepare: { config in
            for n in config.asOfSizes {
                try LedgerCache.ensure(config, lines: n)
                if config.systems.contains(.postgres) { _ = try await LedgerCache.ensurePostgres(config, lines: n) }
            }
        },
        cases: { config in
            let systems = config.systems.filter { $0 != .rawLMDB }
            var cases: [Case] = []
            for size in config.asOfSizes {
                for system in systems {
                    cases.append(Case(row: "as-of ticket view, \(fmtSize(size))-line ledger (lookups/s)", system: system) { ctx in
                        try await asOf(system, lines: size, ctx)
                    })
                }
                for system in systems {
                    cases.append(Case(row: "scorecard lookup, \(fmtSize(size))-line ledger (lookups/s)", system: system) { ctx in
                        try await scorecard(system, lines: size, ctx)
                    })
                }
            }
            return cases
        },
        derive: { config, rows in
            guard let small = config.asOfSizes.min(), let large = config.asOfSizes.max(), large > small else { return [] }
            var out: [Row] = []
            for kind in ["as-of ticket view", "scorecard lookup"] {
                guard let a = rows.first(where: { $0.label.hasPrefix("\(kind), \(fmtSize(small))-") }),
                      let b = rows.first(where: { $0.label.hasPrefix("\(kind), \(fmtSize(large))-") }) else { continue }
                var cells: [String: Cell] = [:]
                for (key, cell) in b.cells {
                    if let p99b = cell.latencyP99Ms, let p99a = a.cells[key]?.latencyP99Ms, p99a > 0 { cells[key] = Cell(ratio: p99b / p99a) }
                }
                out.append(Row(workload: 5, workloadID: "as-of", label: "\(kind): p99 \(fmtSize(large)) ÷ p99 \(fmtSize(small))",
                               cells: cells, note: kind == "as-of ticket view" ? "target for ours: ≤ 1.5×" : ""))
            }
            return out
        }
    )

    /// The ticket ids and historical seqs (ours' seqs; SQLite's scaled to its own log).
    static func asOfQueries(_ ledger: Ledger, count: Int, seed: UInt64) throws -> [(ticket: String, seq: UInt64)] {
        let head = try ledger.log.head().seq
        var rng = SplitMix(seed: seed ^ 0xA5)
        var out: [(String, UInt64)] = []
        var attempts = 0
        while out.count < count && attempts < count * 20 {
            attempts += 1
            let s = UInt64.random(in: 1...(head - 1), using: &rng)
            guard let r = try ledger.log.event(seq: s), r.stream.hasPrefix("ticket:") else { continue }
            out.append((String(r.stream.dropFirst(7)), UInt64.random(in: s...(head - 1), using: &rng)))
        }
        return out
    }

    static func openOurs(_ path: String) throws -> Ledger {
        var options = Ledger.Options()
        options.mapSize = 1 << 30
        return try Ledger.open(at: path, options: options)
    }

    static func asOf(_ system: System, lines: Int, _ ctx: Context) async throws -> Sample {
        let built = try LedgerCache.ensure(ctx.config, lines: lines)
        let count = ctx.config.asOfLookups
        // The queries come from ours' log (same simulated tickets in both).
        let ledger = try openOurs(built.ledgerPath)
        let queries = try asOfQueries(ledger, count: count, seed: ctx.config.seed)
        let oursHead = try ledger.log.head().seq
        var latencies: [UInt64] = []
        latencies.reserveCapacity(queries.count)
        let reading: Meter.Reading
        switch system {
        case .ours:
            let points = try queries.map { try ledger.point(asOf: .seq($0.seq), now: nil) }
            guard points.allSatisfy(\.isHistorical) else { throw BenchError("a point is not historical") }
            let meter = Meter.start()
            for (q, p) in zip(queries, points) {
                let t0 = Now.ns()
                let view = try ledger.ticket(q.ticket, at: p)
                latencies.append(Now.ns() - t0)
                guard view != nil else { throw BenchError("ticket \(q.ticket) missing at seq \(q.seq)") }
            }
            reading = meter.stop()
        case .sqlite:
            let db = try SQLiteLedger(path: built.sqlitePath, durability: .durable, create: false)
            let sqliteHead = UInt64(try db.read { try Int.fetchOne($0, sql: "SELECT max(seq) FROM events") ?? 0 })
            let meter = Meter.start()
            try db.read { dbc in
                let statement = try dbc.cachedStatement(sql: "SELECT payload FROM events WHERE stream = ? AND seq <= ? ORDER BY version")
                for q in queries {
                    let seq = Int64(Double(q.seq) * Double(sqliteHead) / Double(oursHead))
                    let t0 = Now.ns()
                    var events = 0, lastType = ""
                    let cursor = try Data.fetchCursor(statement, arguments: ["ticket:" + q.ticket, seq])
                    while let payload = try cursor.next() {
                        if let o = try JSONSerialization.jsonObject(with: payload) as? [String: Any] { lastType = o["type"] as? String ?? lastType }
                        events += 1
                    }
                    latencies.append(Now.ns() - t0)
                    if events == 0 && lastType.isEmpty { continue }
                }
            }
            reading = meter.stop()
        case .postgres:
            let db = try await LedgerCache.ensurePostgres(ctx.config, lines: lines)
            let c = try await db.connect()
            do {
                let pgHead: Double = Double(try await PG.int(c, "SELECT max(seq) FROM events"))
                let scale: Double = pgHead / Double(oursHead)
                let meter = Meter.start()
                for q in queries {
                    let seq = Int64(Double(q.seq) * scale)
                    let stream = "ticket:" + q.ticket
                    let t0 = Now.ns()
                    var events = 0, lastType = ""
                    let rows = try await c.query("SELECT payload FROM events WHERE stream = \(stream) AND seq <= \(seq) ORDER BY version",
                                                 logger: PG.logger)
                    for try await payload in rows.decode(ByteBuffer.self) {
                        if let o = try JSONSerialization.jsonObject(with: Data(payload.readableBytesView)) as? [String: Any] {
                            lastType = o["type"] as? String ?? lastType
                        }
                        events += 1
                    }
                    latencies.append(Now.ns() - t0)
                    if events == 0 && lastType.isEmpty { continue }
                }
                reading = meter.stop()
                try await c.close()
            } catch {
                try? await c.close()
                throw error
            }
        case .rawLMDB:
            throw BenchError("no raw LMDB peer for as-of views")
        }
        var s = Sample(events: latencies.count, reading)
        s.setLatencies(latencies)
        return s
    }

    static func scorecard(_ system: System, lines: Int, _ ctx: Context) async throws -> Sample {
        let built = try LedgerCache.ensure(ctx.config, lines: lines)
        let count = ctx.config.scorecardLookups
        let ledger = try openOurs(built.ledgerPath)
        let head = try ledger.log.head().seq
        let point = try ledger.point(asOf: .seq(head), now: nil)
        let staff = try ledger.withProjections(at: point) { try $0.staffRecords().map(\.info.staff) }.sorted()
        guard !staff.isEmpty else { throw BenchError("no staff in the projection") }
        var rng = SplitMix(seed: ctx.config.seed ^ 0x5C)
        let picks = (0..<count).map { _ in staff[Int.random(in: 0..<staff.count, using: &rng)] }
        var latencies: [UInt64] = []
        let reading: Meter.Reading
        switch system {
        case .ours:
            let meter = Meter.start()
            for id in picks {
                let t0 = Now.ns()
                let cards = try ledger.withProjections(at: point) { try $0.scorecards(clock: point.clock, staff: id) }
                latencies.append(Now.ns() - t0)
                guard cards.count == 1 else { throw BenchError("scorecard for \(id): \(cards.count) cards") }
            }
            reading = meter.stop()
        case .sqlite:
            let db = try SQLiteLedger(path: built.sqlitePath, durability: .durable, create: false)
            let meter = Meter.start()
            var found = 0
            try db.read { dbc in
                let statement = try dbc.cachedStatement(sql: SQLiteLedger.scorecardSQL)
                for id in picks {
                    let t0 = Now.ns()
                    let row = try GRDB.Row.fetchOne(statement, arguments: [id])
                    latencies.append(Now.ns() - t0)
                    if row != nil { found += 1 }
                }
            }
            reading = meter.stop()
            guard found > 0 else { throw BenchError("SQLite: no scorecard found for \(picks.count) staff") }
        case .postgres:
            let db = try await LedgerCache.ensurePostgres(ctx.config, lines: lines)
            let c = try await db.connect()
            var found = 0
            do {
                let meter = Meter.start()
                for id in picks {
                    var binds = PostgresBindings(capacity: 1)
                    binds.append(id)
                    let t0 = Now.ns()
                    let rows = try await c.query(PostgresQuery(unsafeSQL: PostgresLedger.scorecardSQL, binds: binds), logger: PG.logger)
                    var n = 0
                    for try await _ in rows { n += 1 }
                    latencies.append(Now.ns() - t0)
                    if n > 0 { found += 1 }
                }
                reading = meter.stop()
                try await c.close()
            } catch {
                try? await c.close()
                throw error
            }
            guard found > 0 else { throw BenchError("PostgreSQL: no scorecard found for \(picks.count) staff") }
        case .rawLMDB:
            throw BenchError("no raw LMDB peer for scorecards")
        }
        var s = Sample(events: latencies.count, reading)
        s.setLatencies(latencies)
        return s
    }
}

// MARK: - 6. Export with Merkle root, and verification

/// Workload 6: export a prebuilt ledger as a signed bundle, then verify the bundle.
///
/// - ours: `ledger.export(to:_:)` of the whole log (events.jsonl with chain hashes, events.csv,
///   personal.jsonl, the RFC 9162 Merkle root, a signed manifest; it appends one `exportMade`
///   event to the ledger). The derived row times `BundleVerifier.verify(directory:)` on that
///   bundle (hashes every file, rebuilds the chain and the Merkle root, checks the signature).
/// - SQLite: `SELECT seq, stream, version, payload FROM events ORDER BY seq` written as JSON lines
///   (no hashes, no Merkle root, no CSV): for scale.
/// - PostgreSQL: the same query streamed by PostgresNIO, the same JSON lines, fsync at the end.
///   CPU: client + its backend.
enum ExportBundle {
    static let workload = Workload(
        id: "export", number: 6, title: "Export with Merkle root, and bundle verification",
        reportsCPU: true,
        prepare: { config in
            try LedgerCache.ensure(config, lines: config.exportLines)
            if config.systems.contains(.postgres) { _ = try await LedgerCache.ensurePostgres(config, lines: config.exportLines) }
        },
        cases: { config in
            config.systems.filter { $0 != .rawLMDB }.map { system in
                Case(row: "export \(fmtSize(config.exportLines))-line ledger (events/s)", system: system) { ctx in
                    if system == .postgres { return try await postgres(ctx) }
                    return try measure(system, ctx)
                }
            }
        },
        derive: { _, rows in
            guard let export = rows.first, let ours = export.cell(.ours) else { return [] }
            let samples = ours.samples.compactMap { s -> Sample? in
                guard let secs = s.extra["verify_s"], let checked = s.extra["verified"] else { return nil }
                var v = Sample(events: Int(checked), seconds: secs)
                v.cpuSeconds = s.extra["verify_cpu_s"]
                return v
            }
            guard !samples.isEmpty else { return [] }
            return [Row(workload: 6, workloadID: "export", label: "verify that bundle (BundleVerifier) (events/s)",
                        cells: [System.ours.rawValue: Cell(samples: samples)], showCPU: true)]
        }
    )

    static func measure(_ system: System, _ ctx: Context) throws -> Sample {
        let built = try LedgerCache.ensure(ctx.config, lines: ctx.config.exportLines)
        let scratch = try ctx.scratch("\(system.rawValue)-export")
        defer { scratch.remove() }
        switch system {
        case .ours:
            var options = Ledger.Options()
            options.mapSize = 1 << 30
            let ledger = try Ledger.open(at: built.ledgerPath, options: options)
            let bundle = scratch.file("bundle")
            // An export in clear needs an enrolled compliance officer, manager or director as operator.
            let point = try ledger.point(asOf: .seq(try ledger.log.head().seq), now: nil)
            let officers = try ledger.withProjections(at: point) { p in
                try p.staffRecords().filter { ["compliance", "manager", "director"].contains($0.info.role.rawValue) }.map(\.info.staff)
            }
            guard let officer = officers.sorted().first else { throw BenchError("no compliance officer, manager or director in the ledger") }
            let key = try ledger.verifierKey()  // the verifier is given the ledger's own key
            let meter = Meter.start()
            let summary = try ledger.export(to: bundle, Ledger.ExportRequest(operator: officer, purpose: "benchmark"))
            let reading = meter.stop()
            var s = Sample(events: summary.count, reading)
            s.diskBytes = scratch.diskBytes()
            let verifyMeter = Meter.start()
            let v = BundleVerifier.verify(directory: bundle, trust: BundleTrust(publicKey: key.publicKey, origin: key.name))
            let verified = verifyMeter.stop()
            guard v.ok, v.checked == summary.count else {
                throw BenchError("bundle verification failed: \(v.problem ?? "?") (checked \(v.checked) of \(summary.count))")
            }
            s.extra["verify_s"] = verified.seconds
            s.extra["verify_cpu_s"] = verified.cpuSeconds
            s.extra["verified"] = Double(v.checked)
            return s
        case .sqlite:
            let db = try SQLiteLedger(path: built.sqlitePath, durability: .durable, create: false)
            let path = scratch.file("events.jsonl")
            FileManager.default.createFile(atPath: path, contents: nil)
            guard let out = FileHandle(forWritingAtPath: path) else { throw BenchError("cannot write \(path)") }
            let meter = Meter.start()
            var count = 0
            try db.pool.read { dbc in
                var buffer = [UInt8]()
                buffer.reserveCapacity(1 << 20)
                let rows = try GRDB.Row.fetchCursor(dbc, sql: "SELECT seq, stream, version, payload FROM events ORDER BY seq")
                while let row = try rows.next() {
                    let seq: Int64 = row[0], stream: String = row[1], version: Int64 = row[2]
                    buffer += Array("{\"seq\":\(seq),\"stream\":\"\(stream)\",\"version\":\(version),\"event\":".utf8)
                    try row.withUnsafeData(atIndex: 3) { d in if let d { buffer += d } }
                    buffer += [UInt8(ascii: "}"), 0x0A]
                    count += 1
                    if buffer.count >= 1 << 20 { out.write(Data(buffer)); buffer.removeAll(keepingCapacity: true) }
                }
                out.write(Data(buffer))
            }
            try out.synchronize()
            try out.close()
            let reading = meter.stop()
            var s = Sample(events: count, reading)
            s.diskBytes = scratch.diskBytes()
            return s
        case .rawLMDB, .postgres:
            throw BenchError("no \(system.title) case here")
        }
    }

    static func postgres(_ ctx: Context) async throws -> Sample {
        let db = try await LedgerCache.ensurePostgres(ctx.config, lines: ctx.config.exportLines)
        let scratch = try ctx.scratch("postgres-export")
        defer { scratch.remove() }
        let path = scratch.file("events.jsonl")
        FileManager.default.createFile(atPath: path, contents: nil)
        guard let out = FileHandle(forWritingAtPath: path) else { throw BenchError("cannot write \(path)") }
        return try await db.with { c in
            let backend = try await PG.backendPID(c)
            let cpu0 = PG.cpuSeconds(pids: [backend])
            let meter = Meter.start()
            var count = 0
            var buffer = [UInt8]()
            buffer.reserveCapacity(1 << 20)
            let rows = try await c.query("SELECT seq, stream, version, payload FROM events ORDER BY seq", logger: PG.logger)
            for try await (seq, stream, version, payload) in rows.decode((Int64, String, Int64, ByteBuffer).self) {
                buffer += Array("{\"seq\":\(seq),\"stream\":\"\(stream)\",\"version\":\(version),\"event\":".utf8)
                buffer += payload.readableBytesView
                buffer += [UInt8(ascii: "}"), 0x0A]
                count += 1
                if buffer.count >= 1 << 20 { out.write(Data(buffer)); buffer.removeAll(keepingCapacity: true) }
            }
            out.write(Data(buffer))
            try out.synchronize()
            try out.close()
            let reading = meter.stop()
            let cpu1 = PG.cpuSeconds(pids: [backend])
            var s = Sample(events: count, reading)
            addServerCPU(&s, cpu0, cpu1)
            s.diskBytes = scratch.diskBytes()
            return s
        }
    }
}
