/// The fixed texts of the simulation: names, issues, goals, notes.
/// Rendered once into a `ByteTable` (JSON-escaped) so lines are built by copying bytes.
enum Vocabulary {
    static let firstNames = [
        "Amara", "Ben", "Chloé", "Dmitri", "Elif", "Fatima", "George", "Hannah", "Ines", "James",
        "Kofi", "Lena", "Mateo", "Niamh", "Oliver", "Priya", "Quinn", "Rosa", "Sipho", "Tomasz",
        "Uma", "Victor", "Wen", "Ximena", "Yusuf", "Zoë", "Aoife", "Björn", "Carmen", "Deepak",
        "Emeka", "Farah", "Grace", "Hiroshi", "Ivana", "José", "Kai", "Leila", "Marcus", "Nadia",
    ]
    static let lastNames = [
        "Adeyemi", "Brennan", "Castillo", "Dubois", "Eriksen", "Fernández", "Grant", "Hussain",
        "Ivanova", "Jensen", "Kowalski", "Lindqvist", "Mensah", "Nakamura", "O'Brien", "Patel",
        "Quintero", "Rossi", "Schmidt", "Tanaka", "Ueda", "Varga", "Walsh", "Xu", "Yilmaz",
        "Zhang", "Okafor", "Müller", "Nguyễn", "Smith", "Jones", "García", "Kaur", "Murphy",
    ]
    static let areaCodes = ["212", "303", "312", "415", "503", "617", "702", "808", "917", "206"]

    /// Queues, one ASK channel each (seed 003: everything in the ASK channel).
    static let channels = [
        "ask:billing-escalations", "ask:tech-support-escalations", "ask:delivery-escalations",
        "ask:retention-escalations", "ask:complaints-escalations",
    ]
    /// Channel of staff set-up lines.
    static let orgChannel = "ask:workforce-admin"
    /// Channel of legal holds and erasures.
    static let complianceChannel = "ask:compliance-requests"

    /// Issues by queue (same order as `channels`).
    static let issues: [[String]] = [
        [
            "Disputed late-payment fee on the March invoice",
            "Charged twice for the same order",
            "Refund not received 14 days after cancellation",
            "Direct debit taken on the wrong date",
            "Promotional discount missing from the bill",
            "Customer quoted the contract: \"no price rises for 24 months\"",
        ],
        [
            "Broadband drops every evening after 7 pm",
            "Replacement router never arrived",
            "App login fails since the last update",
            "Engineer visit cancelled without notice",
            "Speed far below the advertised 500 Mb/s",
        ],
        [
            "Parcel marked delivered but not received",
            "Asks for a special delivery slot outside policy",
            "Second failed delivery in a week",
            "Damaged item, courier refused the return",
            "Wrong item delivered, collection not arranged",
        ],
        [
            "Wants to cancel without the early-termination fee",
            "Competitor offer: asks for a price match",
            "Moving abroad, asks to end the contract early",
            "Bereavement: account closure for a relative",
        ],
        [
            "Engineer missed two appointments",
            "Previous agent promised a call back that never came",
            "Unhappy with how the last complaint was handled",
            "Data shared with the wrong account holder",
            "Treatment in store described as rude",
        ],
    ]

    /// What the customer wants, by queue.
    static let goals: [[String]] = [
        ["Fee waived and removed from the account", "Full refund of the duplicate charge £49.99",
         "Refund paid today", "Compensation credit on the next bill"],
        ["A working connection by the weekend", "Engineer visit within 48 hours",
         "Bill credit for the outage days", "Upgrade to fibre at no extra cost"],
        ["Redelivery tomorrow morning", "Full refund without returning the item",
         "Courier collection at a set time", "Replacement sent by express post"],
        ["Contract ended with no fee", "Same price as the competitor", "Account closed this week",
         "Retention discount of 30%"],
        ["Written apology and compensation", "Talk to someone senior about the service",
         "Guarantee it will not happen again", "Complaint reopened and reviewed"],
    ]

    static let backgroundNotes = [
        "Escalation background: customer disputes outcome; goal and account details recorded.",
        "Customer explained the history of the issue; previous contacts listed on the account.",
        "Background logged: customer insists on a senior decision; offered own help twice.",
        "Issue, goal and steps already tried recorded before handing over.",
    ]
    static let resolutionNotes = [
        "Resolved on the call; customer confirmed the fix.",
        "Explained the charge and applied a goodwill credit.",
        "Booked the visit and sent confirmation by text.",
        "Customer happy with the explanation, no further action.",
        "Refund raised, reference given to the customer.",
    ]
    static let seniorNotes = [
        "Reviewed the account; policy exception approved and applied.",
        "Spoke with the customer, agreed next steps and a timeline.",
        "Took ownership; explained options and the decision.",
        "Customer's complaint logged formally; case review opened.",
    ]
    static let callbackNotes = [
        "Callback agreed with the customer; details passed on.",
        "Follow-up call made as agreed; outcome recorded.",
        "Customer reached on the follow-up call.",
    ]
    static let reopenNotes = [
        "Reopened: issue recurred, investigating again.",
        "Reopened at the customer's request; original fix did not hold.",
    ]
    /// Text of refused notes (they should never have been written that way).
    static let strayNotes = [
        "Sent the customer's details over DM to speed things up.",
        "Adding my view after the handover.",
        "Quick note, see chat.",
    ]
    static let referralPrefix = "Referred to "
    static let referralMiddle = " (ext "
    static let referralSuffix = "), who now owns further notes."

    static let declineReasons = [
        "Request does not meet the escalation criteria",
        "No supervisor cover until tomorrow",
        "Agent judged the issue resolvable at first line",
        "Policy already explained; escalation not warranted",
    ]
    static let reopenReasons = [
        "Customer called back: the issue came back",
        "Refund did not arrive as promised",
        "Fix confirmed on the call failed the next day",
    ]
    static let lessons = [
        "Ask twice before transferring; signpost next steps.",
        "Empathise first, then clarify the goal before offering options.",
        "Always give name and extension when transferring.",
        "Offer a callback or another party when the supervisor is busy.",
        "Log the background before handing over so the customer need not repeat it.",
        "Good handling; share the approach with the team.",
    ]
    static let positiveFeedback = [
        "Good de-escalation; the escalation was justified and well handed over.",
        "Clear notes and a warm transfer; thank you.",
        "You asked twice and offered alternatives: well done.",
    ]
    static let correctiveFeedback = [
        "Transferred after one ask; always ask twice first.",
        "Blind transfer: announce the name and extension next time.",
        "No alternative offered when the supervisor was unavailable.",
        "Declining a supervisor request after de-escalating is not allowed.",
        "Several missed chances to de-escalate on this call; let's review it.",
    ]
    static let sanctionReasons = [
        "Repeated transfers without asking twice",
        "Unannounced transfers after coaching",
        "Declined a supervisor request",
        "Multiple handling opportunities missed on an escalated call",
    ]
}

/// Many short byte strings in one contiguous block, immutable once built.
/// Entries are stored JSON-escaped (without quotes) so they can be copied
/// into a line as they are.
final class ByteTable: @unchecked Sendable {
    private let storage: UnsafeMutablePointer<UInt8>
    private let offsets: [Int]
    /// Number of entries.
    let count: Int

    init(_ strings: [String], escape: Bool = true) {
        var bytes: [UInt8] = []
        var offsets = [0]
        for s in strings {
            if escape { appendJSONEscaped(s, to: &bytes) } else { bytes.append(contentsOf: s.utf8) }
            offsets.append(bytes.count)
        }
        storage = .allocate(capacity: max(1, bytes.count))
        storage.initialize(from: bytes, count: bytes.count)
        self.offsets = offsets
        count = strings.count
    }

    deinit { storage.deallocate() }

    /// Entry `i`: its first byte and length.
    @inline(__always)
    subscript(i: Int) -> (UnsafePointer<UInt8>, Int) {
        let start = offsets[i]
        return (UnsafePointer(storage + start), offsets[i + 1] - start)
    }
}

/// Appends `s` as JSON string content (no surrounding quotes).
func appendJSONEscaped(_ s: String, to out: inout [UInt8]) {
    let hex: [UInt8] = Array("0123456789abcdef".utf8)
    for b in s.utf8 {
        switch b {
        case UInt8(ascii: "\""): out += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
        case UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
        case 0x0A: out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
        case 0x0D: out += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
        case 0x09: out += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
        case 0..<0x20:
            out += Array("\\u00".utf8)
            out.append(hex[Int(b >> 4)])
            out.append(hex[Int(b & 0xF)])
        default: out.append(b)
        }
    }
}
