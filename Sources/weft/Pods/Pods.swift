import ArgumentParser
import Foundation
import Gen
import WeftKubernetes
import WeftPodKit
import WeftRPC

/// `weft pods`: run pods through the kubelet API and follow them.
struct Pods: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply, inspect, follow and delete pods through the kubelet API.",
        subcommands: [Apply.self, Get.self, List.self, Watch.self, Logs.self, Delete.self])
}

/// Options shared by the pod commands.
struct PodScope: ParsableArguments {
    @Option(name: [.customShort("n"), .long], help: "Namespace.") var namespace = "default"
    @Option(help: "Virtual node the pods belong to.") var node = "default"
}

extension Pods {
    struct Apply: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create the pods of Kubernetes manifests (YAML or JSON; Pods with their ConfigMaps and Secrets).")
        @Option(name: [.customShort("f"), .long], help: "A manifest file, a directory of them, or - for stdin; repeatable.")
        var filename: [String] = []
        @OptionGroup var scope: PodScope
        @OptionGroup var client: ClientOptions
        @Option(name: [.customShort("o"), .long], help: "Output: table, json or yaml.") var output: OutputFormat = .table

        func validate() throws {
            if filename.isEmpty { throw ValidationError("give at least one manifest with -f FILE") }
        }

        func run() async throws {
            var set = ManifestSet()
            for f in filename { set.merge(try Self.read(f, namespace: scope.namespace)) }
            guard !set.pods.isEmpty else { throw OperationFailure("\(filename.joined(separator: ", ")): no Pod in the manifests") }
            let (rpc, transport) = try client.client()
            defer { Task { await transport.close() } }
            let kubelet = Weft_Kubelet_V1_KubeletService.Client(rpc)
            var rows: [[String]] = []
            for var submission in set.submissions() {
                if submission.pod.metadata.uid.isEmpty { submission.pod.metadata.uid = UUID().uuidString.lowercased() }
                var request = Weft_Kubelet_V1_CreatePodRequest()
                request.nodeName = scope.node
                request.submission = submission
                let meta = submission.pod.metadata
                do {
                    let response = try await kubelet.createPod(request, options: client.callOptions)
                    var report = Weft_Kubelet_V1_PodStatusReport()
                    report.pod = response.pod
                    report.remoteJobId = response.remoteJobId
                    report.status = response.status
                    switch output {
                    case .table:
                        FileHandle.standardOutput.write(Data("pod/\(meta.name) \(response.created ? "created" : "unchanged")\(response.remoteJobId.isEmpty ? "" : " (job \(response.remoteJobId))")\(response.status.phase == .failed ? ": " + PodOutput.reason(response.status) : "")\n".utf8))
                    default:
                        FileHandle.standardOutput.write(Data(try PodOutput.render(report, as: output).utf8))
                    }
                    rows.append(PodOutput.row(report))
                } catch {
                    throw failure(error, "pod \(meta.namespace)/\(meta.name)")
                }
            }
        }

        /// Reads a manifest file, a directory of `.yaml`/`.yml`/`.json` files, or stdin.
        static func read(_ path: String, namespace: String) throws -> ManifestSet {
            if path == "-" {
                let data = FileHandle.standardInput.readDataToEndOfFile()
                return try decode(String(decoding: data, as: UTF8.self), file: "<stdin>", namespace: namespace)
            }
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw OperationFailure("\(path): no such file or directory") }
            if isDir.boolValue {
                var set = ManifestSet()
                let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
                for name in names.sorted() where [".yaml", ".yml", ".json"].contains(where: name.hasSuffix) {
                    set.merge(try read(path + "/" + name, namespace: namespace))
                }
                return set
            }
            guard let data = FileManager.default.contents(atPath: path) else { throw OperationFailure("\(path): cannot read") }
            return try decode(String(decoding: data, as: UTF8.self), file: path, namespace: namespace)
        }

        static func decode(_ text: String, file: String, namespace: String) throws -> ManifestSet {
            do {
                return try ManifestDecoder.decode(text, file: file, defaultNamespace: namespace)
            } catch {
                throw OperationFailure("\(error)")
            }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the status of pods by name.")
        @Argument(help: "Pod names.") var names: [String]
        @OptionGroup var scope: PodScope
        @OptionGroup var client: ClientOptions
        @Option(name: [.customShort("o"), .long], help: "Output: table, json or yaml.") var output: OutputFormat = .table

        func run() async throws {
            let (rpc, transport) = try client.client()
            defer { Task { await transport.close() } }
            var request = Weft_Kubelet_V1_BatchGetPodStatusesRequest()
            request.nodeName = scope.node
            request.pods = names.map { name in
                var r = Weft_Kubelet_V1_PodRef()
                r.name = name
                r.namespace = scope.namespace
                return r
            }
            let response: Weft_Kubelet_V1_BatchGetPodStatusesResponse
            do { response = try await Weft_Kubelet_V1_KubeletService.Client(rpc).batchGetPodStatuses(request, options: client.callOptions) } catch { throw failure(error, "get") }
            switch output {
            case .table:
                if !response.statuses.isEmpty { print(PodOutput.table(response.statuses.map { PodOutput.row($0) }), terminator: "") }
            default:
                for s in response.statuses { print(try PodOutput.render(s, as: output), terminator: "") }
            }
            if !response.notFound.isEmpty {
                throw OperationFailure("not found: " + response.notFound.map { "pod/\($0.name)" }.joined(separator: ", "))
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the pods of a node.")
        @Option(name: [.customShort("n"), .long], help: "Only this namespace (all when omitted).") var namespace: String?
        @Option(help: "Virtual node.") var node = "default"
        @Option(name: [.customShort("l"), .long], help: "Label selector key=value[,key=value].") var selector: String?
        @OptionGroup var client: ClientOptions
        @Option(name: [.customShort("o"), .long], help: "Output: table, json or yaml.") var output: OutputFormat = .table

        func run() async throws {
            var labels: [String: String] = [:]
            for part in (selector ?? "").split(separator: ",") {
                let kv = part.split(separator: "=", maxSplits: 1).map(String.init)
                guard kv.count == 2 else { throw ValidationError("selector \"\(part)\" is not key=value") }
                labels[kv[0]] = kv[1]
            }
            let (rpc, transport) = try client.client()
            defer { Task { await transport.close() } }
            let kubelet = Weft_Kubelet_V1_KubeletService.Client(rpc)
            var pods: [Weft_Kubelet_V1_ListedPod] = []
            var request = Weft_Kubelet_V1_ListPodsRequest()
            request.nodeName = node
            request.namespace = namespace ?? ""
            request.labelSelector = labels
            repeat {
                let page: Weft_Kubelet_V1_ListPodsResponse
                do { page = try await kubelet.listPods(request, options: client.callOptions) } catch { throw failure(error, "list") }
                pods += page.pods
                request.pageToken = page.nextPageToken
            } while !request.pageToken.isEmpty
            switch output {
            case .table:
                let rows = pods.map { p -> [String] in
                    var r = Weft_Kubelet_V1_PodStatusReport()
                    r.pod.name = p.pod.metadata.name
                    r.pod.namespace = p.pod.metadata.namespace
                    r.pod.uid = p.pod.metadata.uid
                    r.remoteJobId = p.remoteJobId
                    r.status = p.pod.status
                    return PodOutput.row(r)
                }
                print(PodOutput.table(rows), terminator: "")
            default:
                var all = Weft_Kubelet_V1_ListPodsResponse()
                all.pods = pods
                print(try PodOutput.render(all, as: output), terminator: "")
            }
        }
    }

    struct Watch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Follow pod status changes as they happen.")
        @Argument(help: "Pod names (all pods of the node when omitted).") var names: [String] = []
        @Option(name: [.customShort("n"), .long], help: "Namespace.") var namespace = "default"
        @Option(help: "Virtual node.") var node = "default"
        @Flag(name: .customLong("until-done"), help: "Exit when every named pod has succeeded or failed (exit 1 if one failed).")
        var untilDone = false
        @OptionGroup var client: ClientOptions
        @Option(name: [.customShort("o"), .long], help: "Output: table, json or yaml.") var output: OutputFormat = .table

        func validate() throws {
            if untilDone && names.isEmpty { throw ValidationError("--until-done needs pod names") }
        }

        func run() async throws {
            let (rpc, transport) = try client.client()
            defer { Task { await transport.close() } }
            var request = Weft_Kubelet_V1_WatchPodStatusesRequest()
            request.nodeName = node
            request.namespace = namespace
            request.pods = names.map { name in
                var r = Weft_Kubelet_V1_PodRef()
                r.name = name
                r.namespace = namespace
                return r
            }
            let untilDone = self.untilDone
            let names = Set(self.names)
            let output = self.output
            var printedHeader = false
            var done: [String: Weft_Kubelet_V1_PodPhase] = [:]
            var missing: Set<String> = []
            do {
                try await Weft_Kubelet_V1_KubeletService.Client(rpc).watchPodStatuses(request) { stream in
                    var seen = Set<String>()
                    for try await m in stream {
                        if m.changeType == .synced {
                            missing = names.subtracting(seen)
                            if untilDone && !missing.isEmpty { return }
                            continue
                        }
                        let r = m.report
                        seen.insert(r.pod.name)
                        if output == .table {
                            // Rows arrive one at a time, so columns have fixed widths (wide enough for typical names).
                            let widths = [9, 12, 24, 10, 6, 9, 6, 20]
                            func line(_ cells: [String]) -> String {
                                cells.enumerated().map { i, c in i < widths.count ? c.padding(toLength: max(widths[i], c.count), withPad: " ", startingAt: 0) : c }
                                    .joined(separator: " ") + "\n"
                            }
                            if !printedHeader { emit(line(["EVENT"] + PodOutput.header)); printedHeader = true }
                            let event = m.changeType == .current ? "CURRENT" : m.changeType == .deleted ? "DELETED" : m.changeType == .added ? "ADDED" : "MODIFIED"
                            emit(line([event] + PodOutput.row(r)))
                        } else {
                            emit(try PodOutput.render(m, as: output))
                        }
                        if m.changeType == .deleted { done[r.pod.name] = .failed }
                        if r.status.phase == .succeeded || r.status.phase == .failed { done[r.pod.name] = r.status.phase }
                        if untilDone && names.isSubset(of: Set(done.keys)) { return }
                    }
                }
            } catch {
                throw failure(error, "watch")
            }
            if !missing.isEmpty { throw OperationFailure("not found: " + missing.sorted().map { "pod/\($0)" }.joined(separator: ", ")) }
            if untilDone && done.values.contains(.failed) { throw ExitCode(1) }
        }
    }

    struct Logs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a container's log.")
        @Argument(help: "Pod name.") var name: String
        @Option(name: [.customShort("c"), .long], help: "Container (needed when the pod has several).") var container = ""
        @Flag(name: [.customShort("f"), .long], help: "Follow the log until the container ends.") var follow = false
        @Option(help: "Only the last N lines.") var tail: Int64?
        @Option(help: "Only lines newer than this (e.g. 30s, 5m, 2h).") var since: String?
        @Option(name: .customLong("since-time"), help: "Only lines at or after this RFC 3339 time.") var sinceTime: String?
        @Flag(help: "Prefix each line with its RFC 3339 time.") var timestamps = false
        @Option(name: .customLong("limit-bytes"), help: "Stop after this many bytes.") var limitBytes: Int64?
        @Flag(name: [.customShort("p"), .long], help: "The previous run of a restarted container.") var previous = false
        @OptionGroup var scope: PodScope
        @OptionGroup var client: ClientOptions

        func run() async throws {
            var options = Weft_Kubelet_V1_LogOptions()
            if let tail { options.tailLines = tail }
            if let limitBytes { options.limitBytes = limitBytes }
            if let since {
                guard let seconds = Self.seconds(since) else { throw ValidationError("--since \"\(since)\" is not a duration like 30s, 5m or 2h") }
                options.sinceSeconds = seconds
            }
            if let sinceTime {
                guard let nanos = RFC3339.parse(sinceTime) else { throw ValidationError("--since-time \"\(sinceTime)\" is not an RFC 3339 time") }
                options.sinceTime = .init(unixNanos: nanos)
            }
            options.timestamps = timestamps
            options.previous = previous
            options.follow = follow
            var request = Weft_Kubelet_V1_GetContainerLogsRequest()
            request.nodeName = scope.node
            request.pod.name = name
            request.pod.namespace = scope.namespace
            request.containerName = container
            request.options = options
            let (rpc, transport) = try client.client()
            defer { Task { await transport.close() } }
            do {
                try await Weft_Kubelet_V1_KubeletService.Client(rpc).getContainerLogs(request) { stream in
                    for try await chunk in stream { FileHandle.standardOutput.write(chunk.chunk.data) }
                }
            } catch {
                throw failure(error, "logs of pod \(scope.namespace)/\(name)")
            }
        }

        static func seconds(_ s: String) -> Int64? {
            let units: [Character: Int64] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
            guard let unit = s.last.flatMap({ units[$0] }), let n = Int64(s.dropLast()), n >= 0 else { return Int64(s) }
            return n * unit
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete pods: stop their containers and forget them.")
        @Argument(help: "Pod names.") var names: [String]
        @Option(name: .customLong("grace-period"), help: "Seconds between SIGTERM and SIGKILL (the pod's own when omitted).") var gracePeriod: Double?
        @OptionGroup var scope: PodScope
        @OptionGroup var client: ClientOptions

        func run() async throws {
            let (rpc, transport) = try client.client()
            defer { Task { await transport.close() } }
            let kubelet = Weft_Kubelet_V1_KubeletService.Client(rpc)
            var missing: [String] = []
            for name in names {
                var request = Weft_Kubelet_V1_DeletePodRequest()
                request.nodeName = scope.node
                request.pod.name = name
                request.pod.namespace = scope.namespace
                if let gracePeriod { request.gracePeriod = .init(seconds: gracePeriod) }
                let response: Weft_Kubelet_V1_DeletePodResponse
                do { response = try await kubelet.deletePod(request, options: CallOptions(timeout: .seconds(Int64(client.timeout + (gracePeriod ?? 30))))) } catch { throw failure(error, "delete pod \(name)") }
                if response.found { print("pod/\(name) deleted") } else { missing.append(name) }
            }
            if !missing.isEmpty { throw OperationFailure("not found: " + missing.map { "pod/\($0)" }.joined(separator: ", ")) }
        }
    }
}

/// Writes to stdout at once (no stdio buffering), so that followers of a pipe see each event as it happens.
func emit(_ text: String) { FileHandle.standardOutput.write(Data(text.utf8)) }
