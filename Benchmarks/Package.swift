// swift-tools-version: 6.1
// Benchmarks for the escalation ledger, kept in their own package so that the
// benchmark framework, GRDB (the SQLite peer) and the malloc interposer never
// reach the ledger's own dependency graph.
//
//   tools/bench                        # build in release, run everything, print one table
//   swift run -c release ledger-bench --help
//   swift package benchmark            # ordo-one/benchmark suites (Benchmarks/<Name>/), malloc counts
import Foundation
import PackageDescription

// The root package is a path dependency, whose identity is the name of its
// folder ("main" here, but whatever a clone happens to be called).
let root = URL(fileURLWithPath: Context.packageDirectory).deletingLastPathComponent().lastPathComponent.lowercased()

let package = Package(
    name: "EscalationLedgerBenchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        // Already in the root's graph (EventLog uses it); here for the drafts' content digests.
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.0.0"),
        // The PostgreSQL peer (a real server that tools/bench starts on a unix socket).
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        // Workload data, the four stores (ours, raw LMDB, SQLite, PostgreSQL), timing and
        // statistics: shared by ledger-bench and the ordo-one suites.
        .target(
            name: "LedgerBenchKit",
            dependencies: [
                .product(name: "EventLog", package: root),
                .product(name: "LMDB", package: root),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]
        ),
        // One process run: every workload for ours and the baselines on the same
        // event bytes, printed as one markdown table plus a JSON file.
        // Workloads 1, 4, 5 and 6 drive the real library (Ledger) on simulated interchange lines
        // (Simulation) and verifies bundles (Compliance's BundleVerifier).
        .executableTarget(
            name: "ledger-bench",
            dependencies: [
                "LedgerBenchKit",
                .product(name: "Ledger", package: root),
                .product(name: "Simulation", package: root),
                .product(name: "Compliance", package: root),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]
        ),
        // ordo-one/benchmark suites (`swift package benchmark`): percentiles, malloc counts.
        .executableTarget(
            name: "LogAppend",
            dependencies: ["LedgerBenchKit", .product(name: "Benchmark", package: "benchmark")],
            path: "Benchmarks/LogAppend",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
