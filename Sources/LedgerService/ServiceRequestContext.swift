import Hummingbird
import NIOCore

/// The request context of every route: Hummingbird's basic context, plus the client's address
/// as the connection shows it (the web view's sign-in limit counts failures per address).
struct ServiceRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// The peer of the connection (a reverse proxy's address, when there is one in front).
    let remoteAddress: SocketAddress?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    /// The client's IP address as text ("127.0.0.1", "::1"), or "unknown".
    var clientAddress: String { remoteAddress?.ipAddress ?? "unknown" }
}
