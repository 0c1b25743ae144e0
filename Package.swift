// swift-tools-version: 6.0
import PackageDescription

// Data flows one way: interchange line → validated event (EscalationDomain)
// → log (EventLog, over the LMDB layer) → projections and exports.
let package = Package(
    name: "EscalationLedger",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "Ledger", targets: ["Ledger"]),
        .library(name: "EventLog", targets: ["EventLog"]),
        .library(name: "LMDB", targets: ["LMDB"]),
        .library(name: "Simulation", targets: ["Simulation"]),
        .library(name: "Compliance", targets: ["Compliance"]),
        .library(name: "Privacy", targets: ["Privacy"]),
        .library(name: "Projections", targets: ["Projections"]),
        .library(name: "EscalationDomain", targets: ["EscalationDomain"]),
        .executable(name: "ledger", targets: ["ledger"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.0.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        // The HTTP service (`ledger serve`, Sources/LedgerService) only.
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        // The C library, found by pkg-config (Debian: liblmdb-dev).
        .systemLibrary(
            name: "CLMDB",
            pkgConfig: "lmdb",
            providers: [.apt(["liblmdb-dev"])]
        ),
        // The only module that touches LMDB's C API.
        .target(name: "LMDB", dependencies: ["CLMDB"]),
        // Append-only, hash-chained event log with group commit.
        .target(
            name: "EventLog",
            dependencies: ["LMDB", .product(name: "Crypto", package: "swift-crypto")]
        ),
        // Events, the interchange line, rules and findings: pure Swift, no storage.
        .target(name: "EscalationDomain"),
        // A seeded contact-centre simulation that writes interchange lines (demo and benchmarks).
        .target(name: "Simulation", dependencies: ["EscalationDomain"]),
        // Ticket state, scorecards, findings and audit trail, kept in LMDB.
        .target(name: "Projections", dependencies: ["EscalationDomain", "EventLog", "LMDB"]),
        // Merkle trees (RFC 9162), signed checkpoints, export bundles and their verification.
        .target(
            name: "Compliance",
            dependencies: ["EventLog", "EscalationDomain", .product(name: "Crypto", package: "swift-crypto")]
        ),
        // Personal data: random pseudonyms, per-customer keys, sealing and physical erasure (docs/PRIVACY.md).
        .target(
            name: "Privacy",
            dependencies: ["LMDB", "EscalationDomain", .product(name: "Crypto", package: "swift-crypto")]
        ),
        // The ledger: ties the log, the rules, personal-data sealing, projections and exports together.
        .target(
            name: "Ledger",
            dependencies: [
                "LMDB", "EventLog", "EscalationDomain", "Projections", "Compliance", "Privacy",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // The HTTP service: routes, bearer tokens and roles, the live feed, tiles and metrics.
        .target(
            name: "LedgerService",
            dependencies: [
                "Ledger", "LMDB", "EventLog", "EscalationDomain", "Projections", "Compliance",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .executableTarget(
            name: "ledger",
            dependencies: [
                "Ledger", "LedgerService", "Simulation", "EscalationDomain", "EventLog", "Projections", "Compliance",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Test support: a child process that appends durably until killed (crash tests).
        .executableTarget(name: "ledger-stress", dependencies: ["EventLog"]),
        .testTarget(name: "LMDBTests", dependencies: ["LMDB"]),
        // Test support: writes ledgers of earlier formats (the upgrade's tests).
        .target(name: "FormatFixtures", dependencies: ["EventLog", "LMDB"], path: "Tests/FormatFixtures"),
        .testTarget(name: "EventLogTests", dependencies: ["EventLog", "LMDB", "FormatFixtures"]),
        .testTarget(name: "EscalationDomainTests", dependencies: ["EscalationDomain"]),
        .testTarget(name: "ProjectionsTests", dependencies: ["Projections", "EscalationDomain"]),
        .testTarget(name: "ComplianceTests", dependencies: ["Compliance"]),
        .testTarget(name: "LedgerTests", dependencies: ["Ledger", "EventLog", "Privacy", "Simulation", "LMDB", "FormatFixtures"]),
        .testTarget(name: "SimulationTests", dependencies: ["Simulation"]),
        .testTarget(name: "CLITests", dependencies: []),
        .testTarget(name: "LedgerServiceTests", dependencies: ["LedgerService"]),
    ]
)
