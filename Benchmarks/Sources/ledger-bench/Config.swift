import Foundation
import LedgerBenchKit

/// Everything a run is parameterised by; every flag maps to one field.
struct Config: Codable, Sendable {
    var quick = false
    var runs = 3
    var seed: UInt64 = 20_260_301
    var source = CorpusSource.all[0].name
    /// Workload 2: events appended per run, and the batch sizes (events per transaction).
    var batchEvents = 200_000
    var batchSizes = [1_000, 10_000]
    var durabilities: [Durability] = [.relaxed, .durable]
    /// Workload 3: concurrent writers, and a run's cap in events and in seconds.
    var writers = [1, 8, 64]
    var durableEvents = 12_800
    var durableSeconds = 4.0
    var systems = System.allCases
    /// The PostgreSQL server for the postgres peer (tools/bench starts one and passes --pg-socket).
    var pg: PGTarget?
    /// Why tools/bench could not give a PostgreSQL server (printed under the table).
    var pgSkipped: String?
    /// Workload 1: interchange lines imported per run, lines per transaction, runs (default: --runs).
    var importLines = 1_000_000
    var importBatch = 8_192
    var importRuns: Int?
    /// Workload 4: ledger sizes (lines) rebuilt; workload 5: ledger sizes queried, lookups per run.
    var rebuildSizes = [1_000_000]
    var asOfSizes = [100_000, 1_000_000]
    var asOfLookups = 2_000
    var scorecardLookups = 200
    /// Workload 6: lines in the exported ledger.
    var exportLines = 1_000_000
    /// Adds the 10M-line ledger to workloads 4 and 5 (built once in --cache: several minutes).
    var full = false
    /// Where prebuilt ledgers (ours and SQLite, per seed and size) are kept between runs.
    var cacheDir = Config.defaultScratchBase + "/ledger-bench-cache"
    /// Workload ids or numbers to run (empty: all).
    var only: [String] = []
    var scratchBase = Config.defaultScratchBase
    /// LMDB map size for ours and raw LMDB (sparse; large enough that no run grows it).
    var mapSize = 4 << 30
    var jsonPath: String?
    var markdownPath: String?
    /// Run every measurement in a child process (peak RSS per measurement, no shared heap).
    var isolate = false
    /// Child mode: run one case once and write its sample here.
    var childCase: String?
    var childOut: String?
    /// Print this many corpus events and exit.
    var showCorpus: Int?

    static var defaultScratchBase: String {
        let t = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
        return t.hasSuffix("/") && t.count > 1 ? String(t.dropLast()) : t
    }

    static let usage = """
        ledger-bench: every workload for ours and the baselines, on the same event bytes, in one process run.

        USAGE: ledger-bench [options]

          --quick                 smaller sizes (batch-events 20000, durable-events 2000, durable-seconds 1.5,
                                  100k-line ledgers for workloads 1, 4, 5, 6)
          --runs N                measurements per case; the table shows the median (default 3)
          --seed N                corpus seed (default 20260301)
          --source NAME           corpus source: \(CorpusSource.all.map(\.name).joined(separator: ", "))
          --batch-events N        workload 2: events per run (default 200000)
          --batch-sizes A,B       workload 2: events per transaction (default 1000,10000)
          --durability L          workload 2: relaxed,durable (default both)
          --writers A,B,C         workload 3: concurrent writers (default 1,8,64)
          --durable-events N      workload 3: at most N events per run (default 12800)
          --durable-seconds S     workload 3: at most S seconds per run (default 4)
          --systems L             ours,raw-lmdb,sqlite,postgres (default all; postgres only with --pg-socket or --pg-host)
          --pg-socket DIR         PostgreSQL's unix socket directory (tools/bench starts a throwaway server there)
          --pg-host HOST          PostgreSQL over TCP instead (no TLS, trust or no password)
          --pg-port N             PostgreSQL port (default 5432; also names the socket file .s.PGSQL.N)
          --pg-user NAME          PostgreSQL role (default postgres)
          --import-lines N        workload 1: interchange lines per run (default 1000000)
          --import-batch N        workload 1: lines per transaction (default 8192)
          --import-runs N         workload 1: runs (default --runs)
          --rebuild-sizes A,B     workload 4: ledger sizes in lines (default 1000000; --full adds 10000000)
          --asof-sizes A,B        workload 5: ledger sizes in lines (default 100000,1000000; --full adds 10000000)
          --asof-lookups N        workload 5: as-of ticket views per run (default 2000)
          --scorecard-lookups N   workload 5: scorecard lookups per run (default 200)
          --export-lines N        workload 6: lines in the exported ledger (default 1000000)
          --full                  add the 10M-line ledger to workloads 4 and 5 (built once, minutes)
          --cache PATH            prebuilt ledgers, kept between runs (default $TMPDIR/ledger-bench-cache)
          --only L                workloads by number or id (e.g. 2 or batch-append)
          --dir PATH              where scratch stores go (default $TMPDIR or /tmp); each is deleted after use
          --map-size BYTES        LMDB map size for ours and raw LMDB (default 4 GiB, sparse)
          --json PATH             write every sample, the machine and the config as JSON
          --markdown PATH         also write the table to PATH
          --isolate               run each measurement in a child process (adds peak RSS per measurement)
          --list                  list the workloads and exit
          --show-corpus N         print the first N corpus events (stream, version, payload) and exit
          --help
        """

    /// Parses `arguments` (without the program name). Returns nil after printing help or a list.
    static func parse(_ arguments: [String]) throws -> (Config, listOnly: Bool)? {
        var c = Config()
        var explicit = Set<String>()
        var i = 0
        func value(_ flag: String) throws -> String {
            i += 1
            guard i < arguments.count else { throw BenchError("\(flag) needs a value") }
            return arguments[i]
        }
        func int(_ flag: String) throws -> Int {
            let v = try value(flag)
            guard let n = Int(v.replacingOccurrences(of: "_", with: "")), n > 0 else { throw BenchError("\(flag): not a positive integer: \(v)") }
            return n
        }
        func ints(_ flag: String) throws -> [Int] {
            let v = try value(flag)
            let list = v.split(separator: ",").compactMap { Int($0.replacingOccurrences(of: "_", with: "")) }
            guard !list.isEmpty, list.allSatisfy({ $0 > 0 }) else { throw BenchError("\(flag): expected positive integers, got \(v)") }
            return list
        }
        var listOnly = false
        while i < arguments.count {
            let a = arguments[i]
            explicit.insert(a)
            switch a {
            case "--quick": c.quick = true
            case "--runs": c.runs = try int(a)
            case "--seed":
                let v = try value(a)
                guard let s = UInt64(v) else { throw BenchError("--seed: not an unsigned integer: \(v)") }
                c.seed = s
            case "--source":
                c.source = try value(a)
                guard CorpusSource.named(c.source) != nil else { throw BenchError("unknown --source \(c.source)") }
            case "--batch-events": c.batchEvents = try int(a)
            case "--batch-sizes": c.batchSizes = try ints(a)
            case "--durability":
                c.durabilities = try value(a).split(separator: ",").map {
                    guard let d = Durability(rawValue: String($0)) else { throw BenchError("--durability: relaxed or durable, not \($0)") }
                    return d
                }
            case "--writers": c.writers = try ints(a)
            case "--durable-events": c.durableEvents = try int(a)
            case "--durable-seconds":
                let v = try value(a)
                guard let s = Double(v), s > 0 else { throw BenchError("--durable-seconds: not a positive number: \(v)") }
                c.durableSeconds = s
            case "--systems":
                c.systems = try value(a).split(separator: ",").map {
                    guard let s = System(rawValue: String($0)) else {
                        throw BenchError("--systems: one of \(System.allCases.map(\.rawValue).joined(separator: ", ")), not \($0)")
                    }
                    return s
                }
            case "--pg-socket": c.pg = c.pg ?? PGTarget(); c.pg!.socketDir = try value(a)
            case "--pg-host": c.pg = c.pg ?? PGTarget(); c.pg!.host = try value(a)
            case "--pg-port": c.pg = c.pg ?? PGTarget(); c.pg!.port = try int(a)
            case "--pg-user": c.pg = c.pg ?? PGTarget(); c.pg!.user = try value(a)
            case "--pg-skipped": c.pgSkipped = try value(a)
            case "--import-lines": c.importLines = try int(a)
            case "--import-batch": c.importBatch = try int(a)
            case "--import-runs": c.importRuns = try int(a)
            case "--rebuild-sizes": c.rebuildSizes = try ints(a)
            case "--asof-sizes": c.asOfSizes = try ints(a)
            case "--asof-lookups": c.asOfLookups = try int(a)
            case "--scorecard-lookups": c.scorecardLookups = try int(a)
            case "--export-lines": c.exportLines = try int(a)
            case "--full": c.full = true
            case "--cache": c.cacheDir = try value(a)
            case "--only": c.only = try value(a).split(separator: ",").map(String.init)
            case "--dir": c.scratchBase = try value(a)
            case "--map-size": c.mapSize = try int(a)
            case "--json": c.jsonPath = try value(a)
            case "--markdown": c.markdownPath = try value(a)
            case "--isolate": c.isolate = true
            case "--case": c.childCase = try value(a)
            case "--case-out": c.childOut = try value(a)
            case "--list": listOnly = true
            case "--show-corpus": c.showCorpus = try int(a)
            case "--help", "-h":
                print(usage)
                return nil
            default:
                throw BenchError("unknown option \(a)\n\n\(usage)")
            }
            i += 1
        }
        if c.systems.contains(.postgres) && c.pg == nil {
            guard !explicit.contains("--systems") else {
                throw BenchError("--systems postgres needs a server: --pg-socket DIR or --pg-host HOST (tools/bench starts one)")
            }
            c.systems.removeAll { $0 == .postgres }
            log("ledger-bench: no --pg-socket or --pg-host: running without the PostgreSQL peer")
        }
        if c.quick {
            if !explicit.contains("--batch-events") { c.batchEvents = 20_000 }
            if !explicit.contains("--durable-events") { c.durableEvents = 2_000 }
            if !explicit.contains("--durable-seconds") { c.durableSeconds = 1.5 }
            if !explicit.contains("--import-lines") { c.importLines = 100_000 }
            if !explicit.contains("--rebuild-sizes") { c.rebuildSizes = [100_000] }
            if !explicit.contains("--asof-sizes") { c.asOfSizes = [100_000] }
            if !explicit.contains("--export-lines") { c.exportLines = 100_000 }
            if !explicit.contains("--asof-lookups") { c.asOfLookups = 500 }
            if !explicit.contains("--scorecard-lookups") { c.scorecardLookups = 50 }
        }
        if c.full {
            if !explicit.contains("--rebuild-sizes") { c.rebuildSizes.append(10_000_000) }
            if !explicit.contains("--asof-sizes") { c.asOfSizes.append(10_000_000) }
        }
        return (c, listOnly)
    }
}
