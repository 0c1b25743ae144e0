import Projections

extension Scorecard {
    /// The `findings` cell of a scorecard's CSV row (`ledger scorecard --format csv` and
    /// `GET /v1/scorecards?format=csv` alike): each kind the member is accountable for with its
    /// count, `kind=n`, by kind, separated by `;` (e.g. `callbackOverdue=2;noDebrief=1`); empty
    /// when there are none. The JSON's `findings` object, flattened into one cell.
    public var findingsCell: String {
        findings.keys.sorted().map { "\($0.rawValue)=\(findings[$0]!)" }.joined(separator: ";")
    }
}
