// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "dit-pipe",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "dit", targets: ["Launcher"]),
        .library(name: "Tensors", targets: ["Tensors"]),
        .library(name: "Stages", targets: ["Stages"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "5.0.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.0.0"),
    ],
    targets: [
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CDNNL", path: "Sources/CDNNL", providers: [.apt(["libdnnl-dev"])]),
        .systemLibrary(name: "CMPI", path: "Sources/CMPI", pkgConfig: "ompi",
                       providers: [.apt(["libopenmpi-dev"])]),
        .systemLibrary(name: "CHDF5", path: "Sources/CHDF5", pkgConfig: "hdf5",
                       providers: [.apt(["libhdf5-dev"])]),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
                       providers: [.apt(["zlib1g-dev"])]),
        .target(name: "Tensors", dependencies: ["CBLAS", "CDNNL", "CZlib", .product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "Stages", dependencies: ["Tensors", .product(name: "Yams", package: "Yams")]),
        .executableTarget(
            name: "Launcher",
            dependencies: [
                "Stages", "Tensors", "CMPI", "CHDF5",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .testTarget(name: "TensorsTests", dependencies: ["Tensors"]),
        .testTarget(name: "StagesTests", dependencies: ["Stages", "Tensors"]),
        .testTarget(name: "LauncherTests", dependencies: ["Launcher", "Stages", "Tensors"]),
    ],
    swiftLanguageModes: [.v5]
)
