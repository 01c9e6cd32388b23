// swift-tools-version:6.0
import Foundation
import PackageDescription

// `tproxy-dns --version`. The version is this line (scripts/package.sh checks that
// debian/changelog's top entry says the same). The git revision comes from the build's
// environment, TPROXY_DNS_REVISION, which scripts/package.sh sets from `git describe`:
// SwiftPM re-evaluates the manifest when the environment changes, but not when the git
// HEAD moves, so a revision the manifest read from git itself would go stale in
// incremental builds. A build without it says "unknown" rather than guess.
let tproxyDNSVersion = "0.1.0"
let tproxyDNSRevision = ProcessInfo.processInfo.environment["TPROXY_DNS_REVISION"] ?? "unknown"

// Release builds of the per-packet code. The event loop (tproxy-dns) drives generic
// DNSForward code (Forwarder<ClientContext>): without cross-module optimization that code
// runs unspecialized, asking the runtime for generic metadata per query. Dynamic
// exclusivity checks (a thread-local access set consulted on every class property access)
// were a tenth of a cache hit's user time; debug builds, and so `swift test` and the
// sanitizer runs, keep them.
let hotPathSettings: [SwiftSetting] = [
    .unsafeFlags(["-cross-module-optimization", "-enforce-exclusivity=unchecked"], .when(configuration: .release)),
]

let package = Package(
    name: "tproxy-dns",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "tproxy-dns", targets: ["tproxy-dns"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // libldns through pkg-config; Debian: libldns-dev.
        .systemLibrary(
            name: "CLdns",
            pkgConfig: "ldns",
            providers: [.apt(["libldns-dev"])]
        ),
        // OpenSSL through pkg-config for DNS over TLS upstreams; Debian: libssl-dev.
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]
        ),
        // CMSG_* macros and the _GNU_SOURCE calls (recvmmsg/sendmmsg) Glibc does not export.
        .target(name: "CRawUDP"),
        .target(
            name: "CBuildInfo",
            cSettings: [
                .define("TPROXY_DNS_VERSION", to: "\"\(tproxyDNSVersion)\""),
                .define("TPROXY_DNS_REVISION", to: "\"\(tproxyDNSRevision)\""),
            ]
        ),
        .target(
            name: "RawUDP",
            dependencies: ["CRawUDP"],
            swiftSettings: hotPathSettings
        ),
        .target(
            name: "DNSForward",
            dependencies: [
                "CLdns",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: hotPathSettings
        ),
        // The daemon: one event loop per thread and the handlers hung off it.
        .target(
            name: "DNSServer",
            dependencies: [
                "RawUDP",
                "DNSForward",
                "COpenSSL",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: hotPathSettings
        ),
        // Gateway set-up: the TPROXY rules and their policy routing (print, install,
        // remove), the kernel state they live in, and the `doctor` verdicts. Runs `nft` and
        // `ip` once per command, never per packet: no hot-path flags.
        .target(
            name: "GatewaySetup",
            dependencies: ["RawUDP", "DNSForward"]
        ),
        .executableTarget(
            name: "tproxy-dns",
            dependencies: [
                "CBuildInfo",
                "RawUDP",
                "GatewaySetup",
                "DNSForward",
                "DNSServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: hotPathSettings
        ),
        .testTarget(
            name: "RawUDPTests",
            dependencies: ["RawUDP", "CRawUDP", "GatewaySetup"],
            exclude: ["Vectors"]
        ),
        .testTarget(name: "DNSForwardTests", dependencies: ["DNSForward"]),
        .testTarget(name: "DNSServerTests", dependencies: ["DNSServer", "DNSForward", "RawUDP", "tproxy-dns"]),
        .testTarget(name: "GatewaySetupTests", dependencies: ["GatewaySetup", "DNSForward"]),
        .testTarget(name: "TProxyDNSTests", dependencies: ["tproxy-dns", "DNSServer"]),
    ],
    swiftLanguageModes: [.v6]
)
