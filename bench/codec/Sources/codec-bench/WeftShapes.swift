// The benchmark messages as Weft types, and Weft's encode/decode loops.
// (This file imports only Weft's generated module, so `Weft_Bench_*` names Weft's types here;
// SwiftProtobufShapes.swift is the same for swift-protobuf.)

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import WeftBenchProtos
import WeftProtobuf

enum WeftShapes {
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
        j.localJobId = Values.localJobId
        j.localUserId = Values.localUserId
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
        case .pod: podMessage.serializedBytes()
        case .jobRecord: jobMessage.serializedBytes()
        case .blob: blobMessage.serializedBytes()
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
            print("error: Weft cannot decode \(shape): \(error)")
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
    static func encodeLoop<M: ProtoMessage>(_ m: M, _ n: Int) -> Int {
        var sum = 0
        for _ in 0..<n { sum &+= m.serializedBytes().count }
        return sum
    }

    @inline(__always)
    static func decodeLoop<M: ProtoMessage>(_: M.Type, _ bytes: [UInt8], _ n: Int, _ use: (M) -> Int) -> Int {
        var sum = 0
        for _ in 0..<n {
            guard let m = try? M(serializedBytes: bytes) else { fatalError("Weft decode failed") }
            sum &+= use(m)
        }
        return sum
    }
}
