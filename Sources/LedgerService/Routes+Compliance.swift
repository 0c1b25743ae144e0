import Hummingbird

extension LedgerService {
    func addComplianceRoutes(_ router: Router<BasicRequestContext>) {}
}
