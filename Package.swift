// swift-tools-version: 6.2
import PackageDescription

import class Foundation.ProcessInfo

// One set of settings for every target. CI (CI=true) also turns warnings into errors.
var swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]
if ProcessInfo.processInfo.environment["CI"] == "true" {
    swiftSettings.append(.treatAllWarnings(as: .error))
}

let package = Package(
    name: "incident-log",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "incidentd", targets: ["IncidentDaemon"]),
        .executable(name: "ictl", targets: ["ictl"]),
        .executable(name: "incident-bench", targets: ["IncidentBench"]),
        .library(name: "IncidentStore", targets: ["IncidentStore"]),
        .library(name: "PostgresLibpq", targets: ["PostgresLibpq"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        // The web console's templates: logic-less, so pages hold no rules of their own.
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        // Already in the graph under async-http-client and hummingbird; named so ictl can trust a CA file.
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CLibpq",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        // One C wrapper Swift cannot import directly (see the header).
        .target(name: "CIncidentShims"),
        // The HTTP API's shapes that incidentd and ictl both speak, spelled once.
        .target(
            name: "IncidentAPI",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        // What a reader sees of the figures: the weekly digest (Markdown, HTML with SVG charts, CSV),
        // the trend chart and the municipality map, for ictl and the web console alike. Foundation
        // only. Resources/ holds the map data and its notice, embedded by scripts/embed-map-data.
        .target(name: "IncidentRendering", exclude: ["Resources"], swiftSettings: swiftSettings),
        // Which hosts are this machine: one rule for incidentd, ictl and the database check.
        .target(name: "IncidentTransport", swiftSettings: swiftSettings),
        // A libpq driver that knows nothing of incidents: connection, statements, rows, values,
        // the pool (a lifecycle service), dedicated connections, notifications, errors.
        .target(
            name: "PostgresLibpq",
            dependencies: [
                "CLibpq",
                "IncidentTransport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "IncidentStore",
            dependencies: [
                "CLibpq",
                "CIncidentShims",
                "IncidentTransport",
                "PostgresLibpq",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "IncidentDaemon",
            dependencies: [
                "IncidentAPI",
                "IncidentRendering",
                "IncidentStore",
                "IncidentTransport",
                "PostgresLibpq",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                // Webhooks: timeouts, no redirects, TLS verified with the system's roots.
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "ictl",
            dependencies: [
                "IncidentAPI",
                "IncidentRendering",
                "IncidentTransport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // The load generator of benchmarks/run.
        .executableTarget(
            name: "IncidentBench",
            dependencies: [
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // Test support: a private PostgreSQL cluster per test run, a fresh database per test.
        .target(
            name: "IncidentTesting",
            dependencies: ["IncidentStore", "PostgresLibpq", .product(name: "Logging", package: "swift-log"), .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "IncidentAPITests",
            dependencies: ["IncidentAPI"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "IncidentRenderingTests",
            dependencies: ["IncidentRendering"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "IncidentTransportTests",
            dependencies: ["IncidentTransport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "IncidentStoreTests",
            dependencies: ["IncidentStore", "PostgresLibpq"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "IncidentDaemonTests",
            dependencies: [
                "IncidentAPI", "IncidentDaemon", "IncidentStore", "IncidentTesting", "PostgresLibpq",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
        // ictl's pure parts: argument validation, output, the outbox format (no network, no database).
        .testTarget(
            name: "ictlTests",
            dependencies: [
                "ictl",
                "IncidentAPI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["IncidentStore", "IncidentTesting", "PostgresLibpq", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
    ]
)
