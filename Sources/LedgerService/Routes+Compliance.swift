import EscalationDomain
import Foundation
import Hummingbird
import Ledger

extension LedgerService {
    /// Compliance over HTTP, as `ledger erase` and `ledger hold` (a compliance or admin token that
    /// acts as a staff id, which is the events' operator): the answer is the import report.
    /// `POST /v1/customers/{id}/erase[?reason=TEXT]`, `POST /v1/customers/{id}/holds?action=place|release&matter=M`.
    /// Reveals are the queries' `reveal=true&purpose=TEXT`.
    func addComplianceRoutes(_ router: Router<ServiceRequestContext>) {
        router.post("/v1/customers/:id/erase") { request, context -> Response in
            let staff = try self.complianceOperator(request)
            let customer = try context.parameters.require("id")
            let q = try request.query(allowing: ["reason"])
            return try await self.appendCompliance(.personalDataErased(.init(customer: customer, reason: q["reason"])), operator: staff)
        }
        router.post("/v1/customers/:id/holds") { request, context -> Response in
            let staff = try self.complianceOperator(request)
            let customer = try context.parameters.require("id")
            let q = try request.query(allowing: ["action", "matter"])
            guard let matter = q["matter"], !matter.isEmpty else { throw ServiceError.badRequest("a hold needs matter=M") }
            let hold = Event.LegalHold(customer: customer, matter: matter)
            switch q["action"] {
            case "place": return try await self.appendCompliance(.legalHoldPlaced(hold), operator: staff)
            case "release": return try await self.appendCompliance(.legalHoldReleased(hold), operator: staff)
            default: throw ServiceError.badRequest("action takes place or release")
            }
        }
    }

    func complianceOperator(_ request: Request) throws -> String {
        let token = try authorize(request, .compliance)
        guard let staff = token.staff else {
            throw ServiceError(.forbidden, "forbidden", "this token acts as no staff member (ledger token create --staff STAFF)")
        }
        return staff
    }

    func appendCompliance(_ body: Event.Body, operator staff: String) async throws -> Response {
        let report: ImportReport = try await Blocking.runAppend { [ledger = self.ledger] in
            ImportReport(line: try ledger.appendCompliance(body, operator: staff))
        }
        metrics.appendReport(report)
        var w = JSONWriter()
        JSONShape.importReport(report, atomic: false, into: &w)
        return .json(w.bytes + [0x0A], status: report.refused.isEmpty ? .ok : .unprocessableContent)
    }
}
