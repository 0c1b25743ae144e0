import ArgumentParser
import Foundation
import Ledger
import Simulation

extension LedgerTool {
    /// `ledger demo [--calls N] [--seed S] [--force]`: a simulated contact centre in a fresh ledger.
    struct DemoCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "demo",
            abstract: "Simulate a contact centre into a fresh ledger and summarise it.",
            discussion: """
            Generates a seeded simulation of a contact centre (agents, SMEs, team leads, \
            supervisors, managers, a director; calls, escalation requests, de-escalation \
            attempts, transfers, callbacks, debriefs, feedback and sanctions, legal holds \
            and erasures) and writes it through the same import path as real data. About \
            0.5% of the lines deliberately break a rule; the summary checks that the \
            ledger refused exactly those. Then it rebuilds the projections, verifies the \
            chain and prints a summary: volumes, outcomes, the best and worst \
            de-escalators, findings by kind, and the costliest escalation sources.

            The demo writes to a fresh directory: --ledger DIR if given, else \
            \(DemoCommand.defaultPath) (so that a real ./escalations.ledger is never touched). \
            It refuses a directory that exists and is not empty, unless --force is given \
            and the directory holds a ledger, which is then replaced.

            The same --calls and --seed always give the same events. Memory stays \
            bounded whatever --calls is (the simulation and the import both stream).

            Examples:
              ledger demo
              ledger demo --calls 1000000 --seed 7 --ledger /tmp/big.ledger
              ledger demo --force            # replace ./demo.ledger
              ledger --ledger \(DemoCommand.defaultPath) findings --kind noDebrief
            """
        )

        static let defaultPath = "./demo.ledger"

        @OptionGroup var global: GlobalOptions

        @Option(help: "Number of simulated calls (tickets).")
        var calls = 20_000

        @Option(help: "Seed of the simulation: the same seed gives the same events.")
        var seed: UInt64 = 42

        @Flag(help: "Replace the target directory if it already holds a ledger.")
        var force = false

        @Option(name: .customLong("lines-out"), help: ArgumentHelp(
            "Write the simulated interchange lines to FILE (JSON Lines, `-` for standard output) and stop: no ledger is made.",
            discussion: "Sample data for `ledger import`, benchmarks and profiles. The same --calls and --seed give the same bytes.",
            valueName: "file"))
        var linesOut: String?

        func validate() throws {
            guard calls >= 1 else { throw ValidationError("--calls must be at least 1") }
            guard calls <= 50_000_000 else { throw ValidationError("--calls must be at most 50,000,000") }
        }

        var path: String { global.directory ?? DemoCommand.defaultPath }

        func run() throws {
            if let linesOut { return try writeLines(to: linesOut) }
            try prepareDirectory()
            let ledger: Ledger
            do {
                var options = Ledger.Options()
                options.signingKeyPath = SigningOptions.environmentPath  // $LEDGER_SIGNING_KEY, as for import
                ledger = try Ledger.open(at: path, options: options)
            } catch {
                throw CommandFailure("cannot create the demo ledger at \(path): \(CommandFailure.describe(error))")
            }
            let simulator = Simulator(seed: seed, calls: calls)
            Terminal.error("Simulating \(Format.count(calls)) calls (seed \(seed), \(simulator.configuration.agentCount) agents, "
                           + "\(simulator.organisation.members.count) staff) into \(path)")

            // 1. Generate and import, streaming, through the import path of real data.
            let recorder = DemoRecorder()
            let importBar = ProgressBar("importing", unit: "calls", total: Double(calls))
            let importStart = Date()
            let report = try ledger.importLines(DemoLines(simulator: simulator, recorder: recorder)) { _ in
                importBar.update(Double(recorder.calls))
            }
            importBar.finish()
            let importSeconds = Date().timeIntervalSince(importStart)

            // 2. Rebuild every projection from the log (what `ledger replay` does).
            let head = try ledger.log.head()
            let replayBar = ProgressBar("replaying", unit: "events", total: Double(head.seq))
            let replayStart = Date()
            try ledger.projector.rebuild { done, total in
                replayBar.total = Double(total)
                replayBar.update(Double(done))
            }
            replayBar.finish()
            let replaySeconds = Date().timeIntervalSince(replayStart)

            // 3. Verify the chain.
            let verifyBar = ProgressBar("verifying", unit: "events", total: Double(head.seq))
            let verifyStart = Date()
            let verified = try ledger.log.verify { done, _ in verifyBar.update(Double(done)) }
            verifyBar.finish()
            let verifySeconds = Date().timeIntervalSince(verifyStart)

            // 4. Summarise, as of the end of the simulated period.
            var summary = DemoSummary(path: path, calls: calls, seed: seed, report: report, recorder: recorder, head: head,
                                      verified: verified, importSeconds: importSeconds, replaySeconds: replaySeconds,
                                      verifySeconds: verifySeconds)
            try summary.measure(ledger)
            Terminal.print(summary.render())
            if !verified.ok { throw ExitCode(ExitStatus.damaged) }
        }

        /// `--lines-out`: the simulation's lines, written in 1 MiB chunks (memory stays bounded).
        func writeLines(to file: String) throws {
            let handle: FileHandle
            if file == "-" {
                handle = .standardOutput
            } else {
                guard FileManager.default.createFile(atPath: file, contents: nil), let h = FileHandle(forWritingAtPath: file) else {
                    throw CommandFailure("cannot create \(file)")
                }
                handle = h
            }
            var buffer = [UInt8]()
            buffer.reserveCapacity(1 << 20 + 65_536)
            var count = 0
            do {
                for line in Simulator(seed: seed, calls: calls) {
                    buffer.append(contentsOf: line)
                    buffer.append(0x0A)
                    count += 1
                    if buffer.count >= 1 << 20 { try handle.write(contentsOf: buffer); buffer.removeAll(keepingCapacity: true) }
                }
                try handle.write(contentsOf: buffer)
                if file != "-" { try handle.synchronize(); try handle.close() }
            } catch {
                throw CommandFailure("cannot write \(file): \(CommandFailure.describe(error))")
            }
            Terminal.error("Wrote \(Format.count(count)) simulated lines (\(Format.count(calls)) calls, seed \(seed)) to \(file)")
        }

        /// Makes sure `path` is a fresh directory (removing an old ledger with --force).
        func prepareDirectory() throws {
            let fm = FileManager.default
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: path, isDirectory: &isDirectory) else { return }
            guard isDirectory.boolValue else { throw CommandFailure("\(path) exists and is not a directory") }
            let contents = (try? fm.contentsOfDirectory(atPath: path)) ?? []
            if contents.isEmpty { return }
            guard force else {
                throw CommandFailure("\(path) is not empty: the demo needs a fresh directory. "
                                     + "Use --force to replace a ledger there, or choose another with --ledger DIR")
            }
            guard GlobalOptions.holdsLedger(path) else {
                throw CommandFailure("\(path) is not empty and holds no ledger: --force only replaces a ledger directory")
            }
            do {
                try fm.removeItem(atPath: path)
            } catch {
                throw CommandFailure("cannot remove the old ledger at \(path): \(CommandFailure.describe(error))")
            }
        }
    }
}

/// What the simulation meant to happen, noted while its lines stream by.
final class DemoRecorder {
    /// Calls generated so far (updated every few thousand lines, for progress).
    var calls = 0
    /// Line number → the rule that line is meant to break (about 0.5% of the lines).
    var intended: [Int: String] = [:]
    /// The simulator's final counts.
    var tally = SimulationTally()
}

/// The simulator's lines as a sequence for ``Ledger/importLines(_:atomic:batchSize:progress:)``,
/// noting each line's intended refusal by line number (the importer numbers lines the same way).
struct DemoLines: Sequence {
    let simulator: Simulator
    let recorder: DemoRecorder

    struct Iterator: IteratorProtocol {
        var lines: Simulator.Iterator
        let recorder: DemoRecorder
        var number = 0

        mutating func next() -> [UInt8]? {
            guard let line = lines.next() else {
                recorder.tally = lines.tally
                recorder.calls = recorder.tally.calls
                return nil
            }
            number += 1
            if let rule = lines.lastRefusal { recorder.intended[number] = rule.rawValue }
            if number & 4095 == 0 { recorder.calls = lines.tally.calls }
            return line
        }
    }

    func makeIterator() -> Iterator { Iterator(lines: simulator.makeIterator(), recorder: recorder) }
}
