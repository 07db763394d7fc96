// The benchmark's message values, shared by the Weft and swift-protobuf builders.
// bench/codec/c/bench.c holds the same values; the runner checks that protobuf-c's encodings decode
// (with Weft) equal to these messages.

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

struct ContainerValues {
    var name: String
    var image: String
    var command: [String]
    var args: [String]
    var env: [(String, String)]
    var requests: [(String, String)]
    var limits: [(String, String)]
    var mounts: [(name: String, path: String, readOnly: Bool)]
    var workingDir: String
    var ports: [Int32]
}

enum Values {
    // Pod.
    static let podName = "api-server-7d9f8b6c5-x2k4p"
    static let podNamespace = "production"
    static let podUID = "3f8e2a1c-6b4d-4e9f-a7c2-9d1e5f3b8a60"
    static let labels: [(String, String)] = [
        ("app", "api-server"),
        ("app.kubernetes.io/name", "api-server"),
        ("app.kubernetes.io/version", "2.14.3"),
        ("pod-template-hash", "7d9f8b6c5"),
        ("tier", "backend"),
        ("environment", "production"),
    ]
    static let annotations: [(String, String)] = [
        ("prometheus.io/scrape", "true"),
        ("prometheus.io/port", "9090"),
        ("kubectl.kubernetes.io/restartedAt", "2024-05-14T09:21:07Z"),
        ("cluster-autoscaler.kubernetes.io/safe-to-evict", "false"),
    ]
    static let creationTimestamp: Int64 = 1_715_678_467
    static let restartPolicy = "Always"
    static let nodeSelector: [(String, String)] = [
        ("kubernetes.io/os", "linux"),
        ("node.kubernetes.io/instance-type", "m5.xlarge"),
    ]
    static let phase = "Running"

    static let serviceAccountMount = (name: "kube-api-access-5x7qz", path: "/var/run/secrets/kubernetes.io/serviceaccount", readOnly: true)

    static let initContainers: [ContainerValues] = [
        ContainerValues(
            name: "migrate",
            image: "registry.example.com/platform/api-server:2.14.3",
            command: ["/usr/local/bin/api-server"],
            args: ["migrate", "--config=/etc/api/config.yaml", "--timeout=120s"],
            env: [
                ("DATABASE_URL", "postgres://api@db.production.svc.cluster.local:5432/api"),
                ("DATABASE_PASSWORD_FILE", "/etc/api/secrets/db-password"),
                ("LOG_FORMAT", "json"),
                ("LOG_LEVEL", "info"),
                ("MIGRATIONS_DIR", "/app/migrations"),
                ("POD_NAME", "api-server-7d9f8b6c5-x2k4p"),
                ("POD_NAMESPACE", "production"),
                ("TZ", "UTC"),
            ],
            requests: [("cpu", "100m"), ("memory", "128Mi")],
            limits: [("cpu", "500m"), ("memory", "256Mi")],
            mounts: [(name: "config", path: "/etc/api", readOnly: true), serviceAccountMount],
            workingDir: "/app",
            ports: []
        )
    ]

    static let containers: [ContainerValues] = [
        ContainerValues(
            name: "api",
            image: "registry.example.com/platform/api-server:2.14.3",
            command: ["/usr/local/bin/api-server"],
            args: ["serve", "--config=/etc/api/config.yaml", "--port=8080", "--metrics-port=9090"],
            env: [
                ("DATABASE_URL", "postgres://api@db.production.svc.cluster.local:5432/api"),
                ("REDIS_ADDR", "redis.production.svc.cluster.local:6379"),
                ("LOG_FORMAT", "json"),
                ("GOMAXPROCS", "2"),
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://otel-collector.observability.svc:4317"),
                ("POD_NAME", "api-server-7d9f8b6c5-x2k4p"),
                ("POD_NAMESPACE", "production"),
                ("FEATURE_FLAGS", "new-billing,fast-path,audit-log"),
            ],
            requests: [("cpu", "500m"), ("memory", "512Mi"), ("ephemeral-storage", "1Gi")],
            limits: [("cpu", "2"), ("memory", "1Gi")],
            mounts: [
                (name: "config", path: "/etc/api", readOnly: true),
                (name: "tmp", path: "/tmp", readOnly: false),
                serviceAccountMount,
            ],
            workingDir: "/app",
            ports: [8080, 9090]
        ),
        ContainerValues(
            name: "envoy",
            image: "docker.io/envoyproxy/envoy:v1.30.1",
            command: ["/usr/local/bin/envoy"],
            args: ["-c", "/etc/envoy/envoy.yaml", "--concurrency", "2", "--drain-time-s", "45"],
            env: [
                ("ENVOY_UID", "101"),
                ("ENVOY_GID", "101"),
                ("ENVOY_LOG_LEVEL", "warn"),
                ("ENVOY_ADMIN_PORT", "15000"),
                ("SERVICE_CLUSTER", "api-server"),
                ("SERVICE_NODE", "api-server-7d9f8b6c5-x2k4p.production"),
                ("POD_IP", "10.42.3.117"),
                ("HOST_IP", "192.168.12.34"),
            ],
            requests: [("cpu", "100m"), ("memory", "128Mi")],
            limits: [("cpu", "1"), ("memory", "256Mi")],
            mounts: [(name: "envoy-config", path: "/etc/envoy", readOnly: true), serviceAccountMount],
            workingDir: "",
            ports: [15001, 15000, 15090]
        ),
    ]

    // JobRecord (an APEL individual job record).
    static let site = "UKI-NORTHGRID-MAN-HEP"
    static let submitHost = "ce01.tier2.hep.manchester.ac.uk:8443/cream-pbs-long"
    static let machineName = "wn2204.tier2.hep.manchester.ac.uk"
    static let queue = "long"
    static let localJobId = "8812345.ce01.tier2.hep.manchester.ac.uk"
    static let localUserId = "atlasprd042"
    static let globalUserName = "/DC=ch/DC=cern/OU=Organic Units/OU=Users/CN=atlpilo1/CN=614260/CN=Robot: ATLAS Pilot1"
    static let fqan = "/atlas/Role=production/Capability=NULL"
    static let vo = "atlas"
    static let wallDuration: Int64 = 86_123
    static let cpuDuration: Int64 = 672_345
    static let processors: Int32 = 8
    static let nodeCount: Int32 = 1
    static let startTime: Int64 = 1_715_590_000
    static let endTime: Int64 = 1_715_676_123
    static let infrastructure = "APEL-CREAM-HTCONDOR"
    static let memoryReal: Int64 = 16_384_000
    static let memoryVirtual: Int64 = 20_971_520
    static let serviceLevel = 10.87
    static let serviceLevelType = "HEPSPEC"
    static let exitStatus: UInt32 = 1

    // Blob: 1 MiB of a fixed pseudo-random pattern (same formula in bench.c).
    static let blobSize = 1 << 20
    static let payload: Data = {
        var bytes = [UInt8](repeating: 0, count: blobSize)
        var x: UInt32 = 0x1234_5678
        for i in 0..<blobSize {
            x = x &* 1_664_525 &+ 1_013_904_223
            bytes[i] = UInt8(truncatingIfNeeded: x >> 24)
        }
        return Data(bytes)
    }()
}
