// The benchmark messages as swift-protobuf types, and swift-protobuf's encode/decode loops
// (the same code as WeftShapes.swift; this file imports only swift-protobuf's generated module).

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SwiftProtobufBenchProtos
import SwiftProtobuf

enum SwiftProtobufShapes {
    static func container(_ c: ContainerValues) -> Weft_Bench_Container {
        var m = Weft_Bench_Container()
        m.name = c.name
        m.image = c.image
        m.command = c.command
        m.args = c.args
        m.env = c.env.map { k, v in
            var e = Weft_Bench_EnvVar()
            e.name = k
            e.value = v
            return e
        }
        var r = Weft_Bench_Resources()
        for (k, v) in c.requests { r.requests[k] = v }
        for (k, v) in c.limits { r.limits[k] = v }
        m.resources = r
        m.volumeMounts = c.mounts.map { mount in
            var v = Weft_Bench_VolumeMount()
            v.name = mount.name
            v.mountPath = mount.path
            v.readOnly = mount.readOnly
            return v
        }
        m.workingDir = c.workingDir
        m.ports = c.ports
        return m
    }

    static func pod() -> Weft_Bench_Pod {
        var meta = Weft_Bench_ObjectMeta()
        meta.name = Values.podName
        meta.namespace = Values.podNamespace
        meta.uid = Values.podUID
        for (k, v) in Values.labels { meta.labels[k] = v }
        for (k, v) in Values.annotations { meta.annotations[k] = v }
        meta.creationTimestamp = Values.creationTimestamp
        var p = Weft_Bench_Pod()
        p.metadata = meta
        p.initContainers = Values.initContainers.map(container)
        p.containers = Values.containers.map(container)
        p.restartPolicy = Values.restartPolicy
        for (k, v) in Values.nodeSelector { p.nodeSelector[k] = v }
        p.phase = Values.phase
        return p
    }

    static func jobRecord() -> Weft_Bench_JobRecord {
        var j = Weft_Bench_JobRecord()
        j.site = Values.site
        j.submitHost = Values.submitHost
        j.machineName = Values.machineName
        j.queue = Values.queue
        j.localJobID = Values.localJobId
        j.localUserID = Values.localUserId
        j.globalUserName = Values.globalUserName
        j.fqan = Values.fqan
        j.vo = Values.vo
        j.wallDuration = Values.wallDuration
        j.cpuDuration = Values.cpuDuration
        j.processors = Values.processors
        j.nodeCount = Values.nodeCount
        j.startTime = Values.startTime
        j.endTime = Values.endTime
        j.infrastructure = Values.infrastructure
        j.memoryReal = Values.memoryReal
        j.memoryVirtual = Values.memoryVirtual
        j.serviceLevel = Values.serviceLevel
        j.serviceLevelType = Values.serviceLevelType
        j.exitStatus = Values.exitStatus
        return j
    }

    static func blob() -> Weft_Bench_Blob {
        var b = Weft_Bench_Blob()
        b.payload = Values.payload
        return b
    }

    static let podMessage = pod()
    static let jobMessage = jobRecord()
    static let blobMessage = blob()

    static func bytes(_ shape: Shape) -> [UInt8] {
        switch shape {
        case .pod: podMessage.spBytes()
        case .jobRecord: jobMessage.spBytes()
        case .blob: blobMessage.spBytes()
        }
    }

    /// Whether `bytes` decodes into a message equal to this side's `shape`.
    static func decodesEqual(_ shape: Shape, _ bytes: [UInt8]) -> Bool {
        do {
            switch shape {
            case .pod: return try Weft_Bench_Pod(serializedBytes: bytes) == podMessage
            case .jobRecord: return try Weft_Bench_JobRecord(serializedBytes: bytes) == jobMessage
            case .blob: return try Weft_Bench_Blob(serializedBytes: bytes) == blobMessage
            }
        } catch {
            print("error: swift-protobuf cannot decode \(shape): \(error)")
            return false
        }
    }

    /// Encodes `shape` `n` times; returns the sum of the sizes.
    static func encode(_ shape: Shape, _ n: Int) -> Int {
        switch shape {
        case .pod: encodeLoop(podMessage, n)
        case .jobRecord: encodeLoop(jobMessage, n)
        case .blob: encodeLoop(blobMessage, n)
        }
    }

    /// Decodes `bytes` as `shape` `n` times; returns a sum over a field of the results.
    static func decode(_ shape: Shape, _ bytes: [UInt8], _ n: Int) -> Int {
        switch shape {
        case .pod: decodeLoop(Weft_Bench_Pod.self, bytes, n) { $0.containers.count &+ $0.metadata.name.utf8.count }
        case .jobRecord: decodeLoop(Weft_Bench_JobRecord.self, bytes, n) { Int($0.wallDuration) &+ $0.site.utf8.count }
        case .blob: decodeLoop(Weft_Bench_Blob.self, bytes, n) { $0.payload.count }
        }
    }

    @inline(__always)
    static func encodeLoop<M: SwiftProtobuf.Message>(_ m: M, _ n: Int) -> Int {
        var sum = 0
        for _ in 0..<n { sum &+= m.spBytes().count }
        return sum
    }

    @inline(__always)
    static func decodeLoop<M: SwiftProtobuf.Message>(_: M.Type, _ bytes: [UInt8], _ n: Int, _ use: (M) -> Int) -> Int {
        var sum = 0
        for _ in 0..<n {
            guard let m = try? M(serializedBytes: bytes) else { fatalError("swift-protobuf decode failed") }
            sum &+= use(m)
        }
        return sum
    }
}

extension SwiftProtobuf.Message {
    /// The binary encoding as `[UInt8]` (swift-protobuf's encoder does not throw for these messages).
    @inline(__always)
    func spBytes() -> [UInt8] {
        do { return try serializedBytes() } catch { fatalError("swift-protobuf encode failed: \(error)") }
    }
}
