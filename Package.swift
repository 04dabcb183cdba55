// swift-tools-version:6.0
import PackageDescription

/// grpc++ is linked by name: SwiftPM's pkg-config walk over abseil overflows the link line.
let grpcLinks: [LinkerSetting] = [
    .linkedLibrary("grpc++"), .linkedLibrary("grpc"), .linkedLibrary("gpr"),
    .linkedLibrary("absl_synchronization"),
]

let package = Package(
    name: "VisionFleet",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "vf", targets: ["vf"]),
        .executable(name: "vf-ingest", targets: ["vf-ingest"]),
        .executable(name: "vf-train", targets: ["vf-train"]),
        .executable(name: "vf-registry", targets: ["vf-registry"]),
        .executable(name: "vf-serve", targets: ["vf-serve"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-protobuf.git", exact: "1.39.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "5.0.1"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        // C layer
        .target(
            name: "CGRPCShim",
            path: "Sources/CGRPCShim",
            cxxSettings: [.unsafeFlags(["-O2"])],
            linkerSettings: grpcLinks
        ),

        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS"),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        .systemLibrary(name: "COpenSSL", path: "Sources/COpenSSL"),
        .systemLibrary(name: "CFileSync", path: "Sources/CFileSync"),
        .target(
            name: "CDNNL",
            path: "Sources/CDNNL",
            cSettings: [.unsafeFlags(["-O3"])],
            linkerSettings: [.linkedLibrary("dnnl"), .linkedLibrary("gomp")]
        ),
        .target(
            name: "CVectorKernels",
            path: "Sources/CVectorKernels",
            cSettings: [.unsafeFlags(["-O3", "-fno-math-errno"])]
        ),
        .target(
            name: "CHNSW",
            path: "Sources/CHNSW",
            cxxSettings: [.unsafeFlags(["-O3"])]
        ),
        .target(
            name: "CImageCodecs",
            path: "Sources/CImageCodecs",
            cSettings: [.unsafeFlags(["-O2"])],
            linkerSettings: [.linkedLibrary("png16"), .linkedLibrary("turbojpeg")]
        ),

        // compute
        .target(
            name: "Tensors",
            dependencies: ["CBLAS", "CDNNL", "CVectorKernels"],
            swiftSettings: [.unsafeFlags(["-Ounchecked"])]
        ),

        // vision
        .target(
            name: "VisionModels",
            dependencies: ["Tensors", "VisionData", "VectorIndex", .product(name: "Yams", package: "Yams")]
        ),
        .target(
            name: "VisionData",
            dependencies: ["Tensors", "CZlib", "CImageCodecs", "COpenSSL", .product(name: "Yams", package: "Yams")]
        ),
        .target(name: "VisionEval"),
        .target(name: "VectorIndex", dependencies: ["CBLAS", "CHNSW"]),

        // wire
        .target(
            name: "FleetProtos",
            dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")]
        ),

        // rpc
        .target(
            name: "FleetRPC",
            dependencies: [
                "CGRPCShim",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),

        // storage
        .target(name: "FleetStore", dependencies: ["COpenSSL", "CFileSync", .product(name: "GRDB", package: "GRDB.swift"),
                                                 .product(name: "GRDBSQLite", package: "GRDB.swift")]),

        // services
        .target(
            name: "IngestService",
            dependencies: ["FleetRPC", "FleetProtos", "FleetStore", "VisionData", .product(name: "GRDB", package: "GRDB.swift"),
                           .product(name: "GRDBSQLite", package: "GRDB.swift"), .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "TrainingService",
            dependencies: ["FleetRPC", "FleetProtos", "FleetStore", "Tensors", "VisionData", "VisionModels", "VisionEval", "VectorIndex",
                           .product(name: "GRDB", package: "GRDB.swift"), .product(name: "Logging", package: "swift-log"),
                           .product(name: "SwiftProtobuf", package: "swift-protobuf")]
        ),
        .target(
            name: "RegistryService",
            dependencies: ["FleetRPC", "FleetProtos", "FleetStore", .product(name: "GRDB", package: "GRDB.swift"),
                           .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "InferenceService",
            dependencies: ["FleetRPC", "FleetProtos", "ServiceRuntime", "Tensors", "VisionData", "VisionModels", "VectorIndex", "CZlib",
                           .product(name: "Logging", package: "swift-log"),
                           .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                           .product(name: "Hummingbird", package: "hummingbird"),
                           .product(name: "Prometheus", package: "swift-prometheus")]
        ),
        .target(
            name: "ServiceRuntime",
            dependencies: [
                "FleetRPC", "FleetProtos", "FleetStore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),

        // executables
        .executableTarget(name: "vf-ingest", dependencies: ["ServiceRuntime", "IngestService", "FleetStore"]),
        .executableTarget(name: "vf-train", dependencies: ["ServiceRuntime", "TrainingService", "FleetRPC", "FleetProtos", "FleetStore", "Tensors"]),
        .executableTarget(name: "vf-registry", dependencies: ["ServiceRuntime", "RegistryService", "FleetStore"]),
        .executableTarget(name: "vf-serve", dependencies: ["ServiceRuntime", "InferenceService", "FleetRPC", "FleetProtos", "FleetStore",
                                                          .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")]),
        .executableTarget(
            name: "vf",
            dependencies: [
                "FleetRPC", "FleetProtos", "ServiceRuntime", "Tensors", "VisionModels", "VisionData", "VisionEval",
                "TrainingService", "VectorIndex", "FleetStore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // tests
        .target(name: "TestSupport", dependencies: ["FleetRPC"], path: "Tests/TestSupport"),
        .testTarget(name: "TensorsTests", dependencies: ["Tensors", "VisionModels", "TestSupport"], exclude: ["Python"]),
        .testTarget(
            name: "VisionTests",
            dependencies: ["Tensors", "VisionModels", "VisionData", "VisionEval", "TrainingService", "CZlib", "TestSupport", "VectorIndex"],
            exclude: ["Python"]
        ),
        .testTarget(
            name: "FleetRPCTests",
            dependencies: [
                "FleetRPC", "FleetProtos", "ServiceRuntime",
                "IngestService", "TrainingService", "RegistryService", "InferenceService", "TestSupport",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            exclude: ["Python"]
        ),
        .testTarget(
            name: "IngestTests",
            dependencies: [
                "FleetRPC", "FleetProtos", "FleetStore", "IngestService", "ServiceRuntime", "TestSupport", "VisionData",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"), .product(name: "GRDB", package: "GRDB.swift"),
            ],
            exclude: ["Python"]
        ),
        .testTarget(
            name: "TrainingServiceTests",
            dependencies: [
                "FleetRPC", "FleetProtos", "FleetStore", "IngestService", "TrainingService", "RegistryService", "ServiceRuntime", "TestSupport",
                "VisionData", "VisionModels", .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        .testTarget(name: "OneClickTests", dependencies: ["TestSupport", "VisionData", .product(name: "Yams", package: "Yams")]),
        .testTarget(
            name: "ServeTests",
            dependencies: [
                "FleetRPC", "FleetProtos", "InferenceService", "RegistryService", "ServiceRuntime", "TestSupport", "TrainingService",
                "VisionModels", "VisionData", "Tensors", "VectorIndex", .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            exclude: ["Python"]
        ),
        .testTarget(
            name: "RegistryTests",
            dependencies: [
                "FleetRPC", "FleetProtos", "FleetStore", "RegistryService", "IngestService", "ServiceRuntime", "TestSupport",
                "VisionModels", "VisionData", "Tensors",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            exclude: ["Python"]
        ),
    ],
    swiftLanguageModes: [.v6],
    cxxLanguageStandard: .cxx17
)
