import Foundation

/// A failure the tool reports itself: a message for standard error and an exit status.
///
/// Thrown anywhere in a command; ``LedgerTool/main()`` prints it and exits.
struct CommandFailure: Error, CustomStringConvertible {
    var message: String
    var status: Int32

    init(_ message: String, status: Int32 = ExitStatus.failure) {
        self.message = message
        self.status = status
    }

    var description: String { message }

    /// A readable one-line reason for any error (never a stack trace or a type dump).
    static func describe(_ error: any Error) -> String {
        switch error {
        case let f as CommandFailure: return f.message
        case let e as LocalizedError where e.errorDescription != nil: return e.errorDescription!
        case let e as CustomStringConvertible: return e.description
        default:
            let ns = error as NSError
            return ns.localizedDescription
        }
    }
}

/// The exit statuses of CONTRACT.md section 8.
enum ExitStatus {
    static let success: Int32 = 0
    /// Any failure not listed below.
    static let failure: Int32 = 1
    /// `import` refused at least one line.
    static let refused: Int32 = 3
    /// `verify` found damage.
    static let damaged: Int32 = 4
    /// The ledger, ticket, staff member, customer, event or file asked for does not exist.
    static let notFound: Int32 = 5
}
