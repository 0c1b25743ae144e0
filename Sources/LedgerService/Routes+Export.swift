import EscalationDomain
import Foundation
import HTTPTypes
import Hummingbird
import Ledger
import Logging

extension LedgerService {
    /// `POST /v1/exports?purpose=TEXT[&from=SEQ|TIME][&to=SEQ|TIME][&ticket=T][&staff=S][&customer=C][&pseudonymize=true]`:
    /// `ledger export` over HTTP, the token's staff id as `--operator`. The bundle is written as
    /// the command writes it (into a private temporary directory), recorded in the ledger as the
    /// command records it (`exportMade`, and `personalDataRevealed` when it shows customers in
    /// clear), and then streamed as one ustar archive holding the directory `ledger-export-SEQ/`
    /// (SEQ is the exportMade's seq); the temporary copy is removed once sent or abandoned.
    func addExportRoutes(_ router: Router<ServiceRequestContext>) {
        router.post("/v1/exports") { request, _ -> Response in
            let staff = try self.complianceOperator(request)
            let q = try request.query(allowing: ["purpose", "from", "to", "ticket", "staff", "customer", "pseudonymize"])
            guard let purpose = q["purpose"], !purpose.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw ServiceError.badRequest("an export needs purpose=TEXT: it is recorded in exportMade")
            }
            for name in ["from", "to"] {
                if let v = q[name], AsOf(v) == nil {
                    throw ServiceError.badRequest("\(name) '\(v)' is neither a seq (a whole number) nor an RFC 3339 time such as 2026-03-05T17:00:00Z")
                }
            }
            for name in ["ticket", "staff", "customer"] where q[name]?.isEmpty == true {
                throw ServiceError.badRequest("\(name) needs a value")
            }
            let pseudonymize = try LedgerService.flag(q["pseudonymize"], name: "pseudonymize")
            // The selection recorded in exportMade, spelled as `ledger export` spells it.
            var filter: [String] = []
            for name in ["from", "to", "ticket", "staff"] { if let v = q[name] { filter.append("--\(name) " + v) } }
            let exportRequest = Ledger.ExportRequest(from: q["from"].flatMap(AsOf.init), to: q["to"].flatMap(AsOf.init), ticket: q["ticket"],
                                                     staff: q["staff"], customer: q["customer"], pseudonymize: pseudonymize,
                                                     operator: staff, purpose: purpose, filter: filter.joined(separator: " "))
            var headers = HTTPFields()
            return try await self.exportArchive(exportRequest, by: staff, log: "export", headers: &headers)
        }
    }

    /// Writes the export into a private scratch directory (0700) exactly as `ledger export` does,
    /// then streams it as a tar archive `ledger-export-<exportMade seq>/…` and removes the copy.
    /// Shared by `POST /v1/exports` and the web view's download.
    func exportArchive(_ exportRequest: Ledger.ExportRequest, by staff: String, log message: Logger.Message,
                       headers: inout HTTPFields) async throws -> Response {
        let fm = FileManager.default
        let scratch = fm.temporaryDirectory.appendingPathComponent("ledger-export-" + UUID().uuidString).path
        try fm.createDirectory(atPath: scratch, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let bundle = scratch + "/bundle"
        let summary: Ledger.ExportSummary
        do {
            summary = try await Blocking.run { [ledger = self.ledger] in try ledger.export(to: bundle, exportRequest) }
        } catch {
            try? fm.removeItem(atPath: scratch)
            throw error
        }
        logger.info(message, metadata: ["operator": "\(staff)", "count": "\(summary.count)", "exportMadeSeq": "\(summary.recordedAt.seq)"])
        let name = "ledger-export-\(summary.recordedAt.seq)"
        headers[.contentDisposition] = "attachment; filename=\"\(name).tar\""
        headers[HTTPField.Name("Ledger-Export-Seq")!] = String(summary.recordedAt.seq)
        headers[HTTPField.Name("Ledger-Export-Count")!] = String(summary.count)
        headers[HTTPField.Name("Ledger-Merkle-Root")!] = summary.merkleRoot
        return try await Response.streamed(contentType: "application/x-tar", headers: headers) { pipe in
            defer { try? FileManager.default.removeItem(atPath: scratch) }
            let tar = TarWriter(sink: { try pipe.put($0) })
            try tar.directory(name)
            for file in try FileManager.default.contentsOfDirectory(atPath: bundle).sorted() {
                try tar.file(name + "/" + file, path: bundle + "/" + file)
            }
            try tar.finish()
        }
    }
}
