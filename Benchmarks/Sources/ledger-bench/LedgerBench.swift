import Foundation
import LedgerBenchKit

@main
struct LedgerBench {
    static func main() async {
        do {
            guard let (config, listOnly) = try Config.parse(Array(CommandLine.arguments.dropFirst())) else { return }
            if let key = config.childCase {
                guard let out = config.childOut else { throw BenchError("--case needs --case-out") }
                try await Runner.runChild(config: config, key: key, out: out)
                return
            }
            if let n = config.showCorpus {
                let corpus = Corpus(source: CorpusSource.named(config.source)!, count: n, seed: config.seed)
                for e in corpus.events { print("\(e.stream) v\(e.version) \(e.payload.count) B: \(String(decoding: e.payload, as: UTF8.self))") }
                return
            }
            if listOnly {
                for w in Workloads.all { print("\(w.number)  \(w.id)  \(w.title)") }
                return
            }
            let workloads = try Workloads.selected(config)
            let machine = MachineInfo.read(scratch: config.scratchBase)
            log("ledger-bench: \(workloads.map { "\($0.number) \($0.id)" }.joined(separator: ", ")); \(config.runs) runs; "
                + "\(machine.cores) cores, \(machine.memoryGiB) GiB, \(machine.disk), load \(machine.loadAverage)")
            let fsyncBefore = try FsyncProbe.measure(directory: config.scratchBase)
            log(String(format: "fsync probe (4 KiB append + fdatasync): p50 %.2f ms, p99 %.2f ms", fsyncBefore.p50Ms, fsyncBefore.p99Ms))
            let start = Now.ns()
            let rows = try await Runner(config: config).run(workloads)
            let fsyncAfter = try FsyncProbe.measure(directory: config.scratchBase)
            let table = Report.markdown(rows: rows, config: config)
            var notes = Report.footnotes(rows: rows, config: config)
            notes.append(String(format: "Scratch disk, 4 KiB append + fdatasync: p50 %.2f / p99 %.2f ms before the run, p50 %.2f / p99 %.2f ms after.",
                                fsyncBefore.p50Ms, fsyncBefore.p99Ms, fsyncAfter.p50Ms, fsyncAfter.p99Ms))
            notes.append("Load average (1/5/15 min) on \(machine.cores) cores: \(machine.loadAverage) at the start, \(MachineInfo.loadAverageNow()) at the end.")
            let text = table + "\n\n" + notes.joined(separator: "\n") + "\n"
            print(text, terminator: "")
            log(String(format: "ledger-bench: done in %.0f s", Double(Now.ns() - start) / 1e9))
            if let path = config.markdownPath {
                try text.write(toFile: path, atomically: true, encoding: .utf8)
            }
            if let path = config.jsonPath {
                let doc = Report.Document(command: CommandLine.arguments.joined(separator: " "), machine: machine,
                                          fsyncBefore: fsyncBefore, fsyncAfter: fsyncAfter,
                                          config: config, rows: rows, table: text)
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
                try encoder.encode(doc).write(to: URL(fileURLWithPath: path))
                log("ledger-bench: wrote \(path)")
            }
        } catch {
            log("ledger-bench: \(error)")
            exit(1)
        }
    }
}
