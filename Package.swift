// swift-tools-version:6.2
import PackageDescription

// One settings list for every Veilgate target (see ../shared/STYLE.md): Swift 6 mode, explicit
// existentials, imports that are internal unless a public API needs them, and warnings as errors.
let veilSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .treatAllWarnings(as: .error),
]

let package = Package(
    name: "Veilgate",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "veilgate", targets: ["veilgate"]),
        .library(name: "VeilCore", targets: ["VeilCore"]),
        .library(name: "VeilPolicy", targets: ["VeilPolicy"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        // Federation: the partner API over mutual TLS, its PKI and the alert outbox's client. Hummingbird's
        // default traits (swift-configuration, full Foundation) are not needed and cost build time.
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: []),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        // Domain vocabulary shared by every feature target. No I/O, no dependencies.
        .target(name: "VeilCore", swiftSettings: veilSettings),
        // The declarative GDPR policy language: parser, linter, compiler, pure evaluator, reports.
        .target(
            name: "VeilPolicy",
            dependencies: [
                "VeilCore",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: veilSettings
        ),
        // Tracked objects in, alerts and counts out: zones, lines, loitering, crowds. Pure; VeilCore only.
        .target(name: "VeilAnalytics", dependencies: ["VeilCore"], swiftSettings: veilSettings),
        // libsodium, imported by VeilVault alone.
        .systemLibrary(name: "CSodium", pkgConfig: "libsodium", providers: [.apt(["libsodium-dev"])]),
        // Encrypted retention: segments under libsodium secretstream, SQLite index, sweeper, audit log, exports.
        .target(
            name: "VeilVault",
            dependencies: ["VeilCore", "CSodium", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: veilSettings
        ),
        // FFmpeg 5.1 (Debian 12), imported by VeilMedia alone.
        .systemLibrary(
            name: "CFFmpeg", pkgConfig: "libavformat",
            providers: [.apt(["libavformat-dev", "libavcodec-dev", "libswscale-dev", "libavutil-dev"])]
        ),
        // libjpeg-turbo (Debian 12: libjpeg62-turbo-dev) behind a small C encoder, imported by VeilMedia alone: JPEG
        // snapshots straight from a frame's 4:2:0 planes.
        .target(name: "CJPEG", linkerSettings: [.linkedLibrary("jpeg")]),
        // Ingest, decode, re-encode and segment video with FFmpeg's libraries.
        .target(name: "VeilMedia", dependencies: ["VeilCore", "CFFmpeg", "CJPEG"], swiftSettings: veilSettings),
        // OpenCV 4.6 (Debian 12: core, imgproc, dnn, objdetect only) behind a plain C header.
        .target(
            name: "CVeilVision",
            cxxSettings: [.unsafeFlags(["-I/usr/include/opencv4", "-std=c++17", "-O2"])],
            linkerSettings: [
                .linkedLibrary("opencv_core"), .linkedLibrary("opencv_imgproc"), .linkedLibrary("opencv_dnn"),
                .linkedLibrary("opencv_objdetect"), .linkedLibrary("stdc++"), .linkedLibrary("m"),
            ]
        ),
        // Detectors, the fail-closed tracker and in-place redaction.
        .target(name: "VeilVision", dependencies: ["VeilCore", "CVeilVision"], swiftSettings: veilSettings),
        // The alert journal (the one event store: alerts and minute counts), the broker that fans it out, and the push
        // outbox; behind VeilCore's AlertSink, AlertSource and PushOutbox.
        .target(
            name: "VeilAlerts",
            dependencies: [
                "VeilCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: veilSettings
        ),
        // The partner API over mutual TLS, the site PKI, SSE alerts, the push outbox and peer gateways.
        .target(
            name: "VeilFederation",
            dependencies: [
                "VeilCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: veilSettings
        ),
        // The operator and DPO console: its own HTTPS port for operators' client certificates, an operator API and the
        // pages and scripts it serves (embedded in the binary; CodeMirror from Debian's libjs-codemirror when
        // installed).
        .target(
            name: "VeilConsole",
            dependencies: [
                "VeilCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            resources: [
                .embedInCode("Assets/index.html"), .embedInCode("Assets/console.js"),
                .embedInCode("Assets/console.css"),
            ],
            swiftSettings: veilSettings
        ),
        // The gateway's core: the one library that imports the feature targets and wires them together — camera
        // pipelines and their sinks, the policy in force, the services `veilgate serve` runs.
        .target(
            name: "VeilGateway",
            dependencies: [
                "VeilCore", "VeilPolicy", "VeilVault", "VeilMedia", "VeilVision", "VeilAnalytics", "VeilAlerts",
                "VeilFederation", "VeilConsole",
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: veilSettings
        ),
        // The `veilgate` command: argument parsing and commands only.
        .executableTarget(
            name: "veilgate",
            dependencies: [
                "VeilCore",
                "VeilPolicy",
                "VeilVault",
                "VeilMedia",
                "VeilVision",
                "VeilAnalytics",
                "VeilAlerts",
                "VeilFederation",
                "VeilGateway",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "X509", package: "swift-certificates"),
            ],
            swiftSettings: veilSettings
        ),
        // `make bench`: performance goals measured against a baseline in the same run.
        .executableTarget(
            name: "VeilBench",
            dependencies: [
                "VeilCore", "VeilPolicy", "VeilVault", "VeilMedia", "VeilVision", "VeilAlerts", "VeilFederation",
                "VeilGateway", "VeilAnalytics",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                // Reads the camera pipelines' own counters (detection passes, deferrals, resyncs).
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ],
            swiftSettings: veilSettings
        ),
        // What every test target shares: where the repository, the shared media and the models are, seeded randomness,
        // and the gate that runs CPU-heavy tests one at a time on a thread of their own.
        .target(
            name: "VeilTestSupport", dependencies: ["VeilCore"], path: "Tests/VeilTestSupport",
            swiftSettings: veilSettings),
        .testTarget(name: "VeilCoreTests", dependencies: ["VeilCore"], swiftSettings: veilSettings),
        .testTarget(
            name: "VeilAlertsTests", dependencies: ["VeilTestSupport", "VeilCore", "VeilAlerts"],
            swiftSettings: veilSettings),
        // Pure tests of the analytics, and their measurement against hand counts on real footage (through the real
        // detectors).
        .testTarget(
            name: "VeilAnalyticsTests",
            // VeilGateway: the ground-truth tests count people as the gateway does (`TrackedObject.people(in:…)`).
            dependencies: ["VeilTestSupport", "VeilCore", "VeilAnalytics", "VeilVision", "VeilMedia", "VeilGateway"],
            swiftSettings: veilSettings),
        .testTarget(
            name: "VeilPolicyTests",
            dependencies: ["VeilTestSupport", "VeilCore", "VeilPolicy"],
            swiftSettings: veilSettings
        ),
        .testTarget(
            name: "VeilVaultTests",
            dependencies: ["VeilCore", "VeilVault", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: veilSettings
        ),
        .testTarget(
            name: "VeilMediaTests", dependencies: ["VeilTestSupport", "VeilCore", "VeilMedia"],
            swiftSettings: veilSettings),
        .testTarget(
            name: "VeilVisionTests", dependencies: ["VeilTestSupport", "VeilCore", "VeilVision", "VeilMedia"],
            exclude: ["Fixtures"],
            swiftSettings: veilSettings
        ),
        .testTarget(
            name: "VeilFederationTests",
            dependencies: [
                "VeilTestSupport",
                "VeilCore", "VeilFederation", "VeilAlerts",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: veilSettings
        ),
        // The console over real TLS with operator and partner certificates, in process, its sources faked.
        .testTarget(
            name: "VeilConsoleTests",
            dependencies: [
                "VeilTestSupport", "VeilCore", "VeilConsole", "VeilFederation", "VeilAlerts",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: veilSettings
        ),
        // The gateway core without the binary: camera pipelines into memory sinks, the policy in force.
        .testTarget(
            name: "VeilGatewayTests",
            dependencies: [
                "VeilTestSupport",
                "VeilCore", "VeilGateway", "VeilPolicy", "VeilMedia", "VeilVision", "VeilAnalytics", "VeilVault",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: veilSettings
        ),
        .testTarget(
            name: "VeilgateCLITests",
            dependencies: ["VeilTestSupport", "veilgate"],
            exclude: ["Snapshots"],
            swiftSettings: veilSettings
        ),
    ]
)
