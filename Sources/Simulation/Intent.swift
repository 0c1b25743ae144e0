/// The event types the simulator writes, in catalogue order.
enum Kind: UInt8, CaseIterable {
    case staffEnrolled, staffReassigned
    case callOpened, escalationRequested, deEscalationAttempted, supervisorAvailability, alternativeOffered
    case requestDeclined, transferred, callbackScheduled, callbackCompleted, noteLogged, ticketResolved
    case ticketReopened, debriefHeld
    case feedbackGiven, sanctionIssued
    case legalHoldPlaced, legalHoldReleased, personalDataErased

    /// The `type` spelling.
    var name: String { String(describing: self) }

    /// True for the types that carry `ticket` (ticket and discipline events).
    var hasTicket: Bool {
        switch self {
        case .staffEnrolled, .staffReassigned, .legalHoldPlaced, .legalHoldReleased, .personalDataErased: false
        default: true
        }
    }
}

/// One planned line, kept small so that the queue of future events stays
/// cheap. Field meanings depend on `kind` (see `Engine.render`); staff are
/// indices into `Organisation.members`.
struct Intent {
    /// When it happens, microseconds since the Unix epoch.
    var time: Int64
    /// Tie-break: insertion order (keeps a ticket's events in their order).
    var seq: UInt64 = 0
    /// Ticket number, or customer number on compliance lines, or staff index on staff lines.
    var ticket: Int64
    /// `dueBy` (µs) on `callbackScheduled`; `repeatOf` ticket (or -1) on `callOpened`.
    var extra: Int64 = -1
    /// Staff index of the actor; -1 for `system`.
    var actor: Int32
    var a: Int32 = -1
    var b: Int32 = -1
    var c: Int32 = -1
    var d: Int32 = -1
    /// `expectedVersion`, or -1 for none.
    var version: Int32 = -1
    var kind: Kind
    /// 0, or `RefusalRule.code + 1` for a line meant to be refused.
    var refusal: UInt8 = 0
    /// Index into `Vocabulary.channels`, or one of the special channels below.
    var channel: UInt8

    static let orgChannel: UInt8 = 250
    static let complianceChannel: UInt8 = 251
    /// `dm:<actor>`: refused (directMessage).
    static let directMessageChannel: UInt8 = 255
}

/// A min-heap of intents ordered by `(time, seq)`. The heap itself holds
/// 16-byte keys; the intents wait in a slab of reusable slots.
struct IntentHeap {
    private struct Key {
        var time: Int64
        /// `seq << 24 | slot`: unique, and ordered like `seq`.
        var order: UInt64
        @inline(__always) var slot: Int { Int(truncatingIfNeeded: order & 0xFF_FFFF) }
    }

    private var keys: [Key] = []
    private var slab: [Intent] = []
    private var free: [Int32] = []

    var isEmpty: Bool { keys.isEmpty }
    var count: Int { keys.count }
    /// The earliest time queued.
    var topTime: Int64? { keys.first?.time }

    @inline(__always)
    private static func less(_ x: Key, _ y: Key) -> Bool {
        x.time < y.time || (x.time == y.time && x.order < y.order)
    }

    /// Queues `intent`; its `seq` must grow with each push.
    mutating func push(_ intent: Intent) {
        let slot: Int
        if let f = free.popLast() {
            slot = Int(f)
            slab[slot] = intent
        } else {
            slot = slab.count
            precondition(slot < 1 << 24, "too many events in flight")
            slab.append(intent)
        }
        keys.append(Key(time: intent.time, order: intent.seq << 24 | UInt64(slot)))
        var i = keys.count - 1
        keys.withUnsafeMutableBufferPointer { h in
            let x = h[i]
            while i > 0 {
                let parent = (i - 1) >> 1
                guard Self.less(x, h[parent]) else { break }
                h[i] = h[parent]
                i = parent
            }
            h[i] = x
        }
    }

    /// Removes and returns the earliest intent.
    mutating func pop() -> Intent? {
        guard let first = keys.first else { return nil }
        let last = keys.removeLast()
        if !keys.isEmpty {
            keys.withUnsafeMutableBufferPointer { h in
                let n = h.count
                var i = 0
                while true {
                    let l = 2 * i + 1
                    if l >= n { break }
                    let r = l + 1
                    let m = r < n && Self.less(h[r], h[l]) ? r : l
                    guard Self.less(h[m], last) else { break }
                    h[i] = h[m]
                    i = m
                }
                h[i] = last
            }
        }
        free.append(Int32(first.slot))
        return slab[first.slot]
    }
}
