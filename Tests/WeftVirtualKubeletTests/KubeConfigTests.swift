import Foundation
import Testing
import WeftKubernetes
import WeftVirtualKubelet

struct KubeConfigTests {
    static func temporaryDirectory() throws -> String {
        let dir = NSTemporaryDirectory() + "weft-vk-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    static let config = """
        apiVersion: v1
        kind: Config
        current-context: prod
        clusters:
        - name: prod-cluster
          cluster:
            server: https://k8s.example.org:6443
            certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUIKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo=
            tls-server-name: api.internal
        - name: dev-cluster
          cluster:
            server: http://127.0.0.1:8001
            certificate-authority: ca.pem
        users:
        - name: robot
          user:
            token: abc.def
        - name: files
          user:
            tokenFile: secrets/token
        - name: certs
          user:
            client-certificate-data: AAAA
            client-key-data: BBBB
        - name: plugin
          user:
            exec: {command: aws}
        contexts:
        - name: prod
          context: {cluster: prod-cluster, user: robot}
        - name: dev
          context: {cluster: dev-cluster, user: files}
        - name: certs
          context: {cluster: prod-cluster, user: certs}
        - name: plugin
          context: {cluster: prod-cluster, user: plugin}
        - name: anonymous
          context: {cluster: prod-cluster}
        """

    static func write(_ text: String, in dir: String, name: String = "config") throws -> String {
        let path = dir + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func currentContextWithTokenAndCAData() throws {
        let dir = try Self.temporaryDirectory()
        let endpoint = try KubeConfig.load(files: [try Self.write(Self.config, in: dir)])
        #expect(endpoint.server.absoluteString == "https://k8s.example.org:6443")
        #expect(endpoint.usesTLS)
        #expect(endpoint.credential == .token("abc.def"))
        #expect(endpoint.tlsServerName == "api.internal")
        #expect(String(decoding: endpoint.certificateAuthorityPEM ?? Data(), as: UTF8.self).hasPrefix("-----BEGIN CERTIFICATE-----"))
        #expect(try endpoint.authorizationHeader() == "Bearer abc.def")
        #expect(endpoint.origin.contains("context prod"))
    }

    @Test func relativeFilesAreRelativeToTheKubeconfig() throws {
        let dir = try Self.temporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir + "/secrets", withIntermediateDirectories: true)
        try "tok-from-file\n".write(toFile: dir + "/secrets/token", atomically: true, encoding: .utf8)
        try "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n".write(toFile: dir + "/ca.pem", atomically: true, encoding: .utf8)
        let endpoint = try KubeConfig.load(files: [try Self.write(Self.config, in: dir)], context: "dev")
        #expect(endpoint.server.absoluteString == "http://127.0.0.1:8001")
        #expect(!endpoint.usesTLS)
        #expect(endpoint.credential == .tokenFile(dir + "/secrets/token"))
        #expect(try endpoint.authorizationHeader() == "Bearer tok-from-file")
        #expect(endpoint.certificateAuthorityPEM.map { String(decoding: $0, as: UTF8.self) }?.contains("MIIB") == true)
    }

    @Test func clientCertificatesAndPluginsAreRefusedByName() throws {
        let dir = try Self.temporaryDirectory()
        let path = try Self.write(Self.config, in: dir)
        #expect {
            try KubeConfig.load(files: [path], context: "certs")
        } throws: { error in
            "\(error)".contains("client certificate") && "\(error)".contains("client-certificate")
        }
        #expect {
            try KubeConfig.load(files: [path], context: "plugin")
        } throws: { error in
            "\(error)".contains("exec")
        }
    }

    @Test func anonymousAndMissingThings() throws {
        let dir = try Self.temporaryDirectory()
        let path = try Self.write(Self.config, in: dir)
        #expect(try KubeConfig.load(files: [path], context: "anonymous").credential == .none)
        #expect {
            try KubeConfig.load(files: [path], context: "nope")
        } throws: { error in
            "\(error)".contains("context \"nope\" is not defined")
        }
        #expect(throws: KubeConfigError.self) { try KubeConfig.load(files: [dir + "/absent"]) }
        let noContext = try Self.write("apiVersion: v1\nclusters: []\n", in: dir, name: "empty")
        #expect {
            try KubeConfig.load(files: [noContext])
        } throws: { error in
            "\(error)".contains("no current-context")
        }
    }

    @Test func mergedFilesFirstWins() throws {
        let dir = try Self.temporaryDirectory()
        let first = try Self.write("""
            current-context: mine
            contexts: [{name: mine, context: {cluster: c, user: u}}]
            users: [{name: u, user: {token: first}}]
            """, in: dir, name: "a")
        let second = try Self.write("""
            current-context: other
            clusters: [{name: c, cluster: {server: "http://10.0.0.1:8080"}}]
            users: [{name: u, user: {token: second}}]
            """, in: dir, name: "b")
        let endpoint = try KubeConfig.resolve(path: nil, environment: ["KUBECONFIG": "\(first):\(second)"], home: dir)
        #expect(endpoint.credential == .token("first"))
        #expect(endpoint.server.absoluteString == "http://10.0.0.1:8080")
    }

    @Test func inClusterServiceAccount() throws {
        let dir = try Self.temporaryDirectory()
        try "sa-token".write(toFile: dir + "/token", atomically: true, encoding: .utf8)
        try "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n".write(toFile: dir + "/ca.crt", atomically: true, encoding: .utf8)
        let endpoint = try KubeConfig.inCluster(environment: ["KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"], directory: dir)
        #expect(endpoint.server.absoluteString == "https://10.96.0.1:443")
        #expect(try endpoint.authorizationHeader() == "Bearer sa-token")
        #expect(endpoint.certificateAuthorityPEM != nil)
        let v6 = try KubeConfig.inCluster(environment: ["KUBERNETES_SERVICE_HOST": "fd00::1"], directory: dir)
        #expect(v6.server.absoluteString == "https://[fd00::1]:443")
        #expect(throws: KubeConfigError.self) { try KubeConfig.inCluster(environment: [:], directory: dir) }
        let home = try Self.temporaryDirectory()
        #expect {
            try KubeConfig.resolve(path: nil, environment: [:], home: home)
        } throws: { error in
            "\(error)".contains("no kubeconfig")
        }
    }
}
