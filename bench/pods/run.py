#!/usr/bin/env python3
"""Pods through the kubelet API and the local sandbox sidecar (`weft up`), driven by a grpcio
client generated from proto/:

- pods/s created: N CreatePod calls with C in flight;
- exit → watcher latency: each container prints `date +%s%N` as its last act and exits; a
  WatchPodStatuses stream opened before the run records when the terminal status arrives
  (interLink's virtual kubelet polls /status every 5 s: 2.5 s on average, 5 s at worst);
- memory of the server (VmHWM / VmRSS of `weft up`).

Usage: bench/pods/run.py [--pods 1000] [--concurrency 32] [--rate PODS_PER_S] [--weft PATH]

Unpaced, the run measures how fast pods are taken and started (on 2 cores the machine's process
creation is the limit: every container is a bubblewrap sandbox, a shell and `date`); paced below
that, the exit → watcher latency is the push path's own, not CPU queueing.
"""

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def generate(out):
    from grpc_tools import protoc
    import grpc_tools
    include = str(Path(grpc_tools.__file__).parent / "_proto")
    files = ["weft/common/v1/common.proto", "weft/kubelet/v1/pod.proto", "weft/kubelet/v1/kubelet.proto"]
    Path(out).mkdir(parents=True, exist_ok=True)
    rc = protoc.main(["protoc", f"-I{REPO / 'proto'}", f"-I{include}", f"--python_out={out}", f"--grpc_python_out={out}", *files])
    if rc != 0:
        sys.exit("protoc failed")
    sys.path.insert(0, str(out))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def memory(pid):
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        k, _, v = line.partition(":")
        if k in ("VmRSS", "VmHWM"):
            fields[k] = int(v.split()[0]) // 1024
    return fields


def percentile(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pods", type=int, default=1000)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--rate", type=float, default=0, help="pods per second to create (0: as fast as the server takes them)")
    ap.add_argument("--weft", default=os.environ.get("WEFT_BIN", str(REPO / ".build" / "release" / "weft")))
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="weft-bench-pods-"))
    generate(work / "gen")
    import grpc
    from weft.kubelet.v1 import kubelet_pb2, kubelet_pb2_grpc, pod_pb2
    from weft.common.v1 import common_pb2

    port = free_port()
    server = subprocess.Popen([args.weft, "up", "--listen", f"127.0.0.1:{port}", "--data-dir", str(work / "data"), "--log-level", "warning"],
                              stdout=subprocess.DEVNULL, stderr=open(work / "server.log", "w"))
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    grpc.channel_ready_future(channel).result(timeout=60)
    stub = kubelet_pb2_grpc.KubeletServiceStub(channel)
    idle = memory(server.pid)

    arrived = {}
    synced = threading.Event()
    done = threading.Event()

    def watch():
        for m in stub.WatchPodStatuses(kubelet_pb2.WatchPodStatusesRequest(node_name="bench")):
            now = time.time_ns()
            if m.change_type == common_pb2.CHANGE_TYPE_SYNCED:
                synced.set()
                continue
            phase = m.report.status.phase
            if phase in (pod_pb2.POD_PHASE_SUCCEEDED, pod_pb2.POD_PHASE_FAILED) and m.report.pod.uid not in arrived:
                arrived[m.report.pod.uid] = now
                if len(arrived) == args.pods:
                    done.set()
                    return

    threading.Thread(target=watch, daemon=True).start()
    synced.wait(30)

    def pod(i):
        p = pod_pb2.Pod()
        p.metadata.name = f"bench-{i}"
        p.metadata.namespace = "bench"
        p.metadata.uid = str(uuid.uuid4())
        p.spec.restart_policy = pod_pb2.RESTART_POLICY_NEVER
        c = p.spec.containers.add()
        c.name = "main"
        c.image = "host"
        c.command.extend(["/bin/sh", "-c", "echo $(date +%s%N)"])
        return p

    pods = [pod(i) for i in range(args.pods)]
    start = time.time()
    in_flight = []
    failures = 0
    for i, p in enumerate(pods):
        if args.rate > 0:
            delay = start + i / args.rate - time.time()
            if delay > 0:
                time.sleep(delay)
        req = kubelet_pb2.CreatePodRequest(node_name="bench", submission=pod_pb2.PodSubmission(pod=p))
        in_flight.append(stub.CreatePod.future(req, timeout=120))
        if len(in_flight) >= args.concurrency:
            try:
                in_flight.pop(0).result()
            except grpc.RpcError as e:
                failures += 1
                print("create failed:", e.code(), e.details(), file=sys.stderr)
    for f in in_flight:
        try:
            f.result()
        except grpc.RpcError as e:
            failures += 1
            print("create failed:", e.code(), e.details(), file=sys.stderr)
    created = time.time() - start
    done.wait(300)
    finished = time.time() - start
    peak = memory(server.pid)

    latencies = []
    for p in pods:
        if p.metadata.uid not in arrived:
            continue
        req = kubelet_pb2.GetContainerLogsRequest(node_name="bench", pod=pod_pb2.PodRef(name=p.metadata.name, namespace="bench", uid=p.metadata.uid), container_name="main")
        text = b"".join(r.chunk.data for r in stub.GetContainerLogs(req)).decode().strip()
        if text.isdigit():
            latencies.append((arrived[p.metadata.uid] - int(text)) / 1e6)
    server.terminate()
    server.wait(timeout=30)

    n = args.pods
    print(f"pods: {n}, concurrency {args.concurrency}, rate {args.rate or 'unpaced'}, server {args.weft}")
    print(f"created: {n - failures}/{n} in {created:.2f} s = {(n - failures) / created:.0f} pods/s; all finished after {finished:.2f} s; watch saw {len(arrived)}")
    if latencies:
        p50, p99, worst = percentile(latencies, 50), percentile(latencies, 99), max(latencies)
        print(f"exit -> watcher latency (ms): p50 {p50:.1f}, p99 {p99:.1f}, max {worst:.1f} over {len(latencies)} pods")
        print(f"interLink's 5 s status poll: 2500 ms average, 5000 ms worst -> Weft p50 is {2500 / max(p50, 0.001):.0f}x sooner, p99 {5000 / max(p99, 0.001):.0f}x sooner than its worst")
    print(f"server memory (MiB): idle RSS {idle.get('VmRSS')}, peak {peak.get('VmHWM')}, after run RSS {peak.get('VmRSS')}")
    if failures or len(arrived) < n:
        sys.exit(1)


if __name__ == "__main__":
    main()
