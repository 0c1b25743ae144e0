#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A rule of CONTRACT.md section 4 that a simulated line is meant to break.
/// Each deliberately refused line breaks exactly one rule.
public enum RefusalRule: String, CaseIterable, Sendable {
    /// A note posted in a `dm:` channel.
    case directMessage
    /// A staff field naming someone never enrolled (a mistyped supervisor id).
    case unknownStaff
    /// An `escalationRequested` after `ticketResolved`.
    case ticketClosed
    /// A note by someone other than the ticket's current owner.
    case notOwner
    /// Feedback given by the agent's superior's superior instead of the direct superior.
    case notDirectSuperior
    /// A transfer from the owner to the owner.
    case selfTransfer
    /// A `callbackCompleted` with no callback open.
    case noCallbackScheduled
    /// A `callbackScheduled` whose `dueBy` is not later than `at`.
    case callbackInPast
    /// A `personalDataErased` while a legal hold is placed.
    case legalHold
    /// A note whose `expectedVersion` is not the ticket stream's version.
    case conflict
    /// A note reusing the `id` of an earlier accepted line.
    case duplicateId
    /// A `staffReassigned` written by a supervisor, or a legal hold placed by a team lead.
    case notAuthorized
    /// A team lead reassigned to report to one of their own agents.
    case reportingCycle
    /// A `legalHoldReleased` for a matter never placed (`M-00000`).
    case noLegalHold

    /// Position in `allCases`.
    var code: UInt8 {
        switch self {
        case .directMessage: 0
        case .unknownStaff: 1
        case .ticketClosed: 2
        case .notOwner: 3
        case .notDirectSuperior: 4
        case .selfTransfer: 5
        case .noCallbackScheduled: 6
        case .callbackInPast: 7
        case .legalHold: 8
        case .conflict: 9
        case .duplicateId: 10
        case .notAuthorized: 11
        case .reportingCycle: 12
        case .noLegalHold: 13
        }
    }
}

/// What a run wrote: line counts by type, and the lines meant to be refused, by rule.
public struct SimulationTally: Sendable, Hashable {
    /// Lines written.
    public var lines = 0
    /// Calls (tickets) generated.
    public var calls = 0
    /// Lines meant to be accepted by the ledger.
    public var accepted: Int { lines - refused }
    /// Lines meant to be refused.
    public var refused: Int { refusedByRule.values.reduce(0, +) }
    /// Lines written, by `type` (refused ones included).
    public var byType: [String: Int] = [:]
    /// Lines meant to be refused, by rule name (`directMessage`, `notOwner`, ...).
    public var refusedByRule: [String: Int] = [:]
    /// `at` of the first line (the staff enrolment), nil before any line.
    public var firstAt: SimulationTime?
    /// The latest `at` written so far (a natural `--now` for findings), nil before any line.
    public var lastAt: SimulationTime?
    /// Customers whose personal data was erased (`personalDataErased` lines meant to be accepted).
    public var customersErased = 0
    /// Calls opened by a customer id after that customer's erasure (a new record).
    public var callsAfterErasure = 0
    /// Calls whose customer was recorded with an id alone (no name, no phone).
    public var customersWithIDAlone = 0

    /// An empty tally.
    public init() {}
}

/// A seeded contact-centre simulation that yields interchange lines
/// (CONTRACT.md sections 2 and 3), one JSON object per event, as UTF-8 bytes
/// without the newline.
///
/// The run starts with one `staffEnrolled` per staff member (actor `system`,
/// superiors first), then calls arrive during 12-hour business days from
/// `start`. Each call is planned as a whole (following the seeds' procedures,
/// with each agent's habits deciding how well it goes) and its events are
/// queued by time; lines come out in non-decreasing `at` order overall, so a
/// ticket's events follow its `callOpened`. Memory stays bounded by the
/// number of calls in flight (about three weeks of follow-ups), not by
/// `calls`. The same configuration always gives the same bytes.
///
/// A share of lines (`refusalShare`, 0.5% by default) is deliberately
/// refused by the contract's rules; `Iterator.lastRefusal` names the rule of
/// the line just returned and `Iterator.tally` counts them.
///
///     let sim = Simulator(seed: 42, calls: 1_000)
///     var it = sim.makeIterator()
///     while let line = it.next() { /* one JSON object */ }
///     it.tally.refusedByRule["directMessage"]
///
///     let tally = try sim.write(toFileDescriptor: 1)   // JSON Lines to stdout
public struct Simulator: Sequence, Sendable {
    /// What to simulate.
    public struct Configuration: Sendable, Hashable {
        /// Fixes every choice of the run.
        public var seed: UInt64
        /// Number of calls (tickets).
        public var calls: Int
        /// The first business day starts here; staff are enrolled a day before.
        public var start: SimulationTime
        /// Share of lines meant to be refused (0 for none), about 0.005 by default.
        public var refusalShare: Double
        /// Agents in the organisation; nil picks `calls / 25` clamped to 12...240.
        public var agents: Int?
        /// Calls per agent per business day (sets the arrival rate).
        public var callsPerAgentPerDay: Double
        /// Share of ticket lines that carry a correct `expectedVersion`.
        public var expectedVersionShare: Double

        /// A configuration; out-of-range shares are clamped to `0 ... 1`.
        public init(seed: UInt64, calls: Int, start: SimulationTime = .defaultStart, refusalShare: Double = 0.005,
                    agents: Int? = nil, callsPerAgentPerDay: Double = 5, expectedVersionShare: Double = 0.02) {
            self.seed = seed
            self.calls = Swift.max(0, calls)
            self.start = start
            self.refusalShare = Swift.min(Swift.max(refusalShare, 0), 1)
            self.agents = agents
            self.callsPerAgentPerDay = Swift.max(0.01, callsPerAgentPerDay)
            self.expectedVersionShare = Swift.min(Swift.max(expectedVersionShare, 0), 1)
        }

        /// The number of agents actually used.
        public var agentCount: Int { Swift.max(1, agents ?? Swift.min(240, Swift.max(12, calls / 25))) }
    }

    /// What this simulator runs.
    public let configuration: Configuration
    /// The staff chart used by the run.
    public let organisation: Organisation
    let tables: RenderTables

    /// A simulator for `configuration` (builds the organisation chart).
    public init(_ configuration: Configuration) {
        self.configuration = configuration
        organisation = Organisation(seed: configuration.seed, agents: configuration.agentCount)
        tables = RenderTables(organisation)
    }

    /// A run of `calls` calls from `seed` (see `Configuration` for the rest).
    public init(seed: UInt64, calls: Int, start: SimulationTime = .defaultStart, refusalShare: Double = 0.005,
                agents: Int? = nil) {
        self.init(Configuration(seed: seed, calls: calls, start: start, refusalShare: refusalShare, agents: agents))
    }

    /// A fresh run from the first line.
    public func makeIterator() -> Iterator { Iterator(self) }

    /// Yields the lines one by one.
    public struct Iterator: IteratorProtocol {
        var engine: Engine
        let writer = ByteWriter(capacity: 4096)

        init(_ simulator: Simulator) { engine = Engine(simulator) }

        /// The next line (UTF-8 JSON object, no newline), or nil at the end.
        public mutating func next() -> [UInt8]? {
            writer.count = 0
            guard engine.writeNext(into: writer) else { return nil }
            return writer.bytes
        }

        /// Appends the next line (without newline) to `buffer`; false at the end.
        public mutating func appendNext(to buffer: inout [UInt8]) -> Bool {
            writer.count = 0
            guard engine.writeNext(into: writer) else { return false }
            buffer.append(contentsOf: UnsafeBufferPointer(start: writer.base, count: writer.count))
            return true
        }

        /// The rule the line last returned is meant to break, or nil when it should be accepted.
        public var lastRefusal: RefusalRule? { engine.lastRefusal }

        /// Counts of what has been returned so far.
        public var tally: SimulationTally { engine.tally }

        /// Events planned but not yet returned (the simulator's working set).
        public var pending: Int { engine.heap.count }
    }

    /// Runs the whole simulation, handing JSON Lines (each line ending in
    /// `\n`) to `body` in chunks of about `chunkSize` bytes.
    @discardableResult
    public func forEachChunk(chunkSize: Int = 1 << 20,
                             _ body: (UnsafeRawBufferPointer) throws -> Void) rethrows -> SimulationTally {
        var engine = Engine(self)
        let size = Swift.max(4096, chunkSize)
        let writer = ByteWriter(capacity: size + 8192)
        while engine.writeNext(into: writer) {
            writer.put(UInt8(ascii: "\n"))
            if writer.count >= size {
                try body(UnsafeRawBufferPointer(start: writer.base, count: writer.count))
                writer.count = 0
            }
        }
        if writer.count > 0 { try body(UnsafeRawBufferPointer(start: writer.base, count: writer.count)) }
        return engine.tally
    }

    /// Writes the run as JSON Lines to an open file descriptor (1 for standard output).
    @discardableResult
    public func write(toFileDescriptor fd: Int32, chunkSize: Int = 1 << 20) throws(SimulationWriteError) -> SimulationTally {
        do {
            return try forEachChunk(chunkSize: chunkSize) { chunk in
                var p = chunk.baseAddress!
                var left = chunk.count
                while left > 0 {
                    let n = systemWrite(fd, p, left)
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw SimulationWriteError(errno: errno, path: nil)
                    }
                    p += n
                    left -= n
                }
            }
        } catch let error as SimulationWriteError {
            throw error
        } catch {
            throw SimulationWriteError(errno: EIO, path: nil)
        }
    }

    /// Writes the run as JSON Lines to a file, created or truncated.
    @discardableResult
    public func write(toPath path: String, chunkSize: Int = 1 << 20) throws(SimulationWriteError) -> SimulationTally {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw SimulationWriteError(errno: errno, path: path) }
        let tally: SimulationTally
        do {
            tally = try write(toFileDescriptor: fd, chunkSize: chunkSize)
        } catch {
            _ = close(fd)
            throw SimulationWriteError(errno: error.errno, path: path)
        }
        guard close(fd) == 0 else { throw SimulationWriteError(errno: errno, path: path) }
        return tally
    }
}

/// A failed write of simulation output.
public struct SimulationWriteError: Error, Sendable, CustomStringConvertible {
    /// The system error number.
    public var errno: Int32
    /// The file, when writing to a path.
    public var path: String?

    /// `cannot write PATH: reason`.
    public var description: String {
        let reason = String(cString: strerror(errno))
        return path.map { "cannot write \($0): \(reason)" } ?? "cannot write simulation output: \(reason)"
    }
}

@inline(__always)
private func systemWrite(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int {
    write(fd, p, n)
}
