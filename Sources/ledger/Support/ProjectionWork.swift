import Ledger

/// Bringing the stored projections up to date, with progress.
enum ProjectionWork {
    /// Applies the log's new events to the projections.
    static func catchUp(_ ledger: Ledger, label: String) throws {
        let bar = ProgressBar(label, unit: "events")
        try ledger.projector.catchUp { done, total in
            bar.total = Double(total)
            bar.update(Double(done))
        }
        bar.finish()
    }
}
