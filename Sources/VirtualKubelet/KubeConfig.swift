import Foundation
import WeftKubernetes

/// Resolves a Kubernetes API endpoint as `kubectl` does: from a kubeconfig (`--kubeconfig`, else
/// `$KUBECONFIG`, a colon-separated list merged first-wins, else `~/.kube/config`) and its
/// current context, or from the in-cluster service account.
///
/// Supported credentials: `token`, `tokenFile`, `username`/`password`. Client certificates, `exec`
/// plugins and `auth-provider` are refused with a message naming them.
public enum KubeConfig {
    /// The service-account directory mounted in every pod.
    public static let inClusterDirectory = "/var/run/secrets/kubernetes.io/serviceaccount"

    /// The endpoint to use: the kubeconfig at `path` (or found as `kubectl` finds it), falling back
    /// to the in-cluster configuration when no kubeconfig exists and `KUBERNETES_SERVICE_HOST` is set.
    public static func resolve(path: String?, context: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment,
                               home: String = NSHomeDirectory()) throws(KubeConfigError) -> KubernetesEndpoint {
        if let path { return try load(files: [path], context: context) }
        if let list = environment["KUBECONFIG"], !list.isEmpty {
            let files = list.split(separator: ":").map(String.init).filter { FileManager.default.fileExists(atPath: $0) }
            if !files.isEmpty { return try load(files: files, context: context) }
        }
        let defaultPath = home + "/.kube/config"
        if FileManager.default.fileExists(atPath: defaultPath) { return try load(files: [defaultPath], context: context) }
        if environment["KUBERNETES_SERVICE_HOST"] != nil { return try inCluster(environment: environment) }
        throw KubeConfigError(source: defaultPath, message: "no kubeconfig (give --kubeconfig or set KUBECONFIG) and not running in a cluster (KUBERNETES_SERVICE_HOST is not set)")
    }

    /// Loads and merges kubeconfig files (the first file setting a name wins, as in `kubectl`).
    public static func load(files: [String], context: String? = nil) throws(KubeConfigError) -> KubernetesEndpoint {
        var documents: [(JSONValue, String)] = []
        for file in files {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw KubeConfigError(source: file, message: "cannot read the kubeconfig")
            }
            do {
                documents.append((try JSONValue(yaml: text), file))
            } catch {
                throw KubeConfigError(source: file, message: error.message)
            }
        }
        return try parse(documents, context: context)
    }

    /// Resolves parsed kubeconfig documents, each with the file it came from (relative paths in a
    /// document are relative to its file's directory).
    public static func parse(_ documents: [(JSONValue, String)], context: String? = nil) throws(KubeConfigError) -> KubernetesEndpoint {
        let sourceName = documents.map(\.1).joined(separator: ":")
        var clusters: [String: (JSONValue, String)] = [:]
        var users: [String: (JSONValue, String)] = [:]
        var contexts: [String: JSONValue] = [:]
        var current: String?
        for (doc, file) in documents {
            guard doc.objectValue != nil || doc == .null else { throw KubeConfigError(source: file, message: "a kubeconfig must be a mapping") }
            let dir = (file as NSString).deletingLastPathComponent
            for entry in doc["clusters"]?.arrayValue ?? [] {
                if let name = entry["name"]?.stringValue, clusters[name] == nil, let c = entry["cluster"] { clusters[name] = (c, dir) }
            }
            for entry in doc["users"]?.arrayValue ?? [] {
                if let name = entry["name"]?.stringValue, users[name] == nil { users[name] = (entry["user"] ?? [:], dir) }
            }
            for entry in doc["contexts"]?.arrayValue ?? [] {
                if let name = entry["name"]?.stringValue, contexts[name] == nil, let c = entry["context"] { contexts[name] = c }
            }
            if current == nil, let c = doc["current-context"]?.stringValue, !c.isEmpty { current = c }
        }
        guard let contextName = context ?? current else {
            throw KubeConfigError(source: sourceName, message: "no current-context (give --context)")
        }
        guard let ctx = contexts[contextName] else {
            throw KubeConfigError(source: sourceName, message: "context \"\(contextName)\" is not defined")
        }
        guard let clusterName = ctx["cluster"]?.stringValue, let clusterEntry = clusters[clusterName] else {
            throw KubeConfigError(source: sourceName, message: "context \"\(contextName)\" names cluster \"\(ctx["cluster"]?.stringValue ?? "")\", which is not defined")
        }
        let (cluster, clusterDir) = clusterEntry
        guard let serverText = cluster["server"]?.stringValue, let server = URL(string: serverText), let scheme = server.scheme?.lowercased(),
              scheme == "https" || scheme == "http", server.host != nil
        else {
            throw KubeConfigError(source: sourceName, message: "cluster \"\(clusterName)\" has no usable server URL (https://HOST:PORT or http://HOST:PORT)")
        }
        var endpoint = KubernetesEndpoint(server: server, origin: "kubeconfig \(sourceName), context \(contextName)")
        if let data = cluster["certificate-authority-data"]?.stringValue {
            guard let pem = Data(base64Encoded: data.filter { !$0.isWhitespace }) else {
                throw KubeConfigError(source: sourceName, message: "cluster \"\(clusterName)\": certificate-authority-data is not base64")
            }
            endpoint.certificateAuthorityPEM = pem
        } else if let file = cluster["certificate-authority"]?.stringValue {
            let path = resolvePath(file, relativeTo: clusterDir)
            guard let pem = FileManager.default.contents(atPath: path) else {
                throw KubeConfigError(source: sourceName, message: "cluster \"\(clusterName)\": cannot read certificate-authority \(path)")
            }
            endpoint.certificateAuthorityPEM = pem
        }
        endpoint.tlsServerName = cluster["tls-server-name"]?.stringValue
        endpoint.insecureSkipTLSVerify = cluster["insecure-skip-tls-verify"]?.boolValue ?? false
        if let userName = ctx["user"]?.stringValue, !userName.isEmpty {
            guard let userEntry = users[userName] else {
                throw KubeConfigError(source: sourceName, message: "context \"\(contextName)\" names user \"\(userName)\", which is not defined")
            }
            endpoint.credential = try credential(userEntry.0, name: userName, directory: userEntry.1, source: sourceName)
        }
        return endpoint
    }

    private static func credential(_ user: JSONValue, name: String, directory: String, source: String) throws(KubeConfigError) -> KubernetesEndpoint.Credential {
        for unsupported in ["client-certificate", "client-certificate-data", "client-key", "client-key-data"] where user[unsupported] != nil {
            throw KubeConfigError(source: source, message: "user \"\(name)\" authenticates with a client certificate (\(unsupported)), which weft kubelet does not support; use a bearer token (token or tokenFile), e.g. a service account token")
        }
        for unsupported in ["exec", "auth-provider"] where user[unsupported] != nil {
            throw KubeConfigError(source: source, message: "user \"\(name)\" uses an \(unsupported) credential plugin, which weft kubelet does not support; use a bearer token (token or tokenFile)")
        }
        if let token = user["token"]?.stringValue, !token.isEmpty { return .token(token) }
        if let file = user["tokenFile"]?.stringValue, !file.isEmpty { return .tokenFile(resolvePath(file, relativeTo: directory)) }
        if let u = user["username"]?.stringValue, let p = user["password"]?.stringValue { return .basic(username: u, password: p) }
        return .none
    }

    /// The in-cluster endpoint: `https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT` with the
    /// service account's token (re-read before each request) and CA.
    public static func inCluster(environment: [String: String] = ProcessInfo.processInfo.environment,
                                 directory: String = inClusterDirectory) throws(KubeConfigError) -> KubernetesEndpoint {
        guard let host = environment["KUBERNETES_SERVICE_HOST"], !host.isEmpty else {
            throw KubeConfigError(source: directory, message: "KUBERNETES_SERVICE_HOST is not set (not running in a pod)")
        }
        let port = environment["KUBERNETES_SERVICE_PORT"].flatMap { $0.isEmpty ? nil : $0 } ?? "443"
        let hostPart = host.contains(":") ? "[\(host)]" : host
        guard let url = URL(string: "https://\(hostPart):\(port)") else {
            throw KubeConfigError(source: directory, message: "KUBERNETES_SERVICE_HOST/PORT do not form a URL (\(host), \(port))")
        }
        let tokenPath = directory + "/token"
        guard FileManager.default.isReadableFile(atPath: tokenPath) else {
            throw KubeConfigError(source: directory, message: "cannot read the service account token \(tokenPath)")
        }
        guard let ca = FileManager.default.contents(atPath: directory + "/ca.crt") else {
            throw KubeConfigError(source: directory, message: "cannot read the cluster CA \(directory)/ca.crt")
        }
        return KubernetesEndpoint(server: url, certificateAuthorityPEM: ca, credential: .tokenFile(tokenPath), origin: "in-cluster service account (\(directory))")
    }

    private static func resolvePath(_ path: String, relativeTo directory: String) -> String {
        if path.hasPrefix("/") || directory.isEmpty { return path }
        if path.hasPrefix("~/") { return NSHomeDirectory() + String(path.dropFirst(1)) }
        return directory + "/" + path
    }
}
