"""Accounting ingestion benchmark: one publisher streams N job records to `weft up`, which
commits each batch durably in SQLite (WAL, synchronous=FULL) together with the live summaries.

Reported, all in one run on this machine:
- Weft: records/s from the first batch sent to the last acknowledgement (each acknowledgement
  means "durably committed, summaries updated"), ack latency p50/p99 (batch sent → ack), summary
  query latency over the whole data set, and the server's peak RSS;
- baseline: the same records loaded row by row with `INSERT … ON CONFLICT DO UPDATE` into SQLite
  (APEL's REPLACE-per-record loader; committed per 1000-record message, as APEL commits per
  message, same WAL/FULL durability), then APEL's summariser step as one GROUP BY over all rows.

The publisher is a grpcio client generated from proto/ that pre-encodes its batches, so the
figure is the server's, not Python's. Usage: run.py --records 1000000 --weft PATH.
"""

import argparse
import datetime
import importlib
import os
import random
import resource
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import grpc

REPO = Path(__file__).resolve().parents[2]
PROTO = REPO / "proto"


def stubs(out):
    import grpc_tools
    wkt = Path(grpc_tools.__file__).parent / "_proto"
    files = ["weft/accounting/v1/accounting.proto", "weft/accounting/v1/records.proto", "weft/common/v1/common.proto"]
    subprocess.run([sys.executable, "-m", "grpc_tools.protoc", "-I", str(PROTO), "-I", str(wkt), f"--python_out={out}",
                    f"--grpc_python_out={out}", *files], cwd=PROTO, check=True)
    sys.path.insert(0, str(out))
    return (importlib.import_module("weft.accounting.v1.accounting_pb2"), importlib.import_module("weft.accounting.v1.records_pb2"),
            importlib.import_module("weft.accounting.v1.accounting_pb2_grpc"))


def jobs(n, seed=7, diverse=False):
    """N job records: 4 sites, 6 VOs, 200 users, the last ~80 days.

    Default shape, as sites look to APEL: each user has a home site, VO and CE, runs single-core or
    8-core jobs, and each site has two benchmarked sub-clusters, so APEL's summary key groups ~1,000
    records each (a few thousand summary rows for 1M records). `diverse`: VO, cores (1–64) and
    benchmark drawn per job, so nearly every record opens its own summary row (the worst case for
    the live summaries: ~40% as many rows as records).
    """
    rnd = random.Random(seed)
    now = datetime.datetime.now(datetime.timezone.utc)
    base = int(datetime.datetime(now.year, now.month, 1, tzinfo=datetime.timezone.utc).timestamp())
    vos = ["atlas", "cms", "lhcb", "alice", "dteam", "ops"]
    for i in range(n):
        end = base - rnd.randrange(0, 80 * 86400)
        wall = rnd.randrange(60, 86400)
        user = i % 200
        if diverse:
            cores, vo, hs23 = rnd.choice([1, 1, 2, 4, 8, 16, 64]), rnd.choice(vos), rnd.choice([10.0, 12.5, 15.0])
        else:
            cores, vo, hs23 = rnd.choice([1, 8]), vos[user % 6], [10.0, 12.5, 15.0, 17.5][i % 4] + rnd.choice([0.0, 1.0])
        yield dict(site=f"SITE-{i % 4}", local_job_id=f"{i}", local_user_id=f"u{user}", global_user_name=f"/DC=org/CN=user{user}",
                   fqan=f"/{vo}/Role=NULL/Capability=NULL", submit_host=f"ce{user % 3}.site{i % 4}.org", machine_name="wn",
                   queue="long", processors=cores, node_count=1, wall=wall, cpu=int(wall * cores * 0.8), start=end - wall, end=end,
                   infra="grid", desc="APEL-BENCH", hs23=hs23)


def summary_groups(rows):
    """Distinct APEL summary keys (site, month, user, VO, CE, cores, benchmark) among the rows."""
    return len({(r["site"], time.gmtime(r["end"])[:2], r["global_user_name"], r["fqan"], r["submit_host"], r["processors"], r["hs23"]) for r in rows})


def encode_batches(records_pb2, accounting_pb2, rows, batch=1000):
    out, current = [], []
    for seq, r in enumerate(rows):
        j = records_pb2.JobRecord(site=r["site"], local_job_id=r["local_job_id"], local_user_id=r["local_user_id"],
                                  global_user_name=r["global_user_name"], fqan=r["fqan"], submit_host=r["submit_host"],
                                  machine_name=r["machine_name"], queue=r["queue"], processors=r["processors"], node_count=1,
                                  infrastructure_type=r["infra"], infrastructure_description=r["desc"])
        j.wall_duration.seconds = r["wall"]
        j.cpu_duration.seconds = r["cpu"]
        j.start_time.seconds = r["start"]
        j.end_time.seconds = r["end"]
        j.service_levels["HEPscore23"] = r["hs23"]
        current.append(records_pb2.UsageRecord(job=j))
        if len(current) == batch:
            out.append(current)
            current = []
    if current:
        out.append(current)
    return out


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_weft(binary, in_flight, pb, per_site):
    accounting_pb2, records_pb2, accounting_grpc = pb
    data = tempfile.mkdtemp(prefix="weft-bench-acct-")
    port = free_port()
    proc = subprocess.Popen([binary, "up", "--listen", f"127.0.0.1:{port}", "--data-dir", data, "--log-level", "warning"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        channel = grpc.insecure_channel(f"127.0.0.1:{port}", options=[("grpc.max_receive_message_length", 64 << 20)])
        grpc.channel_ready_future(channel).result(timeout=60)
        stub = accounting_grpc.AccountingServiceStub(channel)
        publish = channel.stream_stream("/weft.accounting.v1.AccountingService/PublishRecords",
                                        request_serializer=lambda b: b if isinstance(b, bytes) else b.SerializeToString(),
                                        response_deserializer=accounting_pb2.PublishRecordsResponse.FromString)
        # One session per site (a publisher publishes its own site's records), sites one after another.
        sent_at, acked_at = {}, {}
        total = 0
        # Serialised before the clock starts; the calls send these bytes as they are.
        sessions = {site: [accounting_pb2.PublishRecordsRequest(batch=accounting_pb2.RecordBatch(sequence=i + 1, records=b)).SerializeToString()
                           for i, b in enumerate(site_batches)]
                    for site, site_batches in per_site.items()}
        cpu_start = cpu_seconds(proc.pid)
        client_start = resource.getrusage(resource.RUSAGE_SELF)
        start = time.perf_counter()
        for site, encoded in sessions.items():
            window = threading.Semaphore(in_flight)
            requests = [accounting_pb2.PublishRecordsRequest(start=accounting_pb2.PublishStart(publisher_id=f"bench-{site}", site=site))]

            def gen():
                yield requests[0]
                for i, req in enumerate(encoded):
                    window.acquire()
                    sent_at[(site, i + 1)] = time.perf_counter()
                    yield req

            for resp in publish(gen()):
                if resp.WhichOneof("message") == "ack":
                    acked_at[(site, resp.ack.sequence)] = time.perf_counter()
                    total += resp.ack.accepted_count
                    assert not resp.ack.rejections, resp.ack.rejections[:3]
                    window.release()
                    if resp.ack.sequence == len(encoded):
                        break
        elapsed = time.perf_counter() - start
        cpu = cpu_seconds(proc.pid) - cpu_start
        client_end = resource.getrusage(resource.RUSAGE_SELF)
        client_cpu = (client_end.ru_utime - client_start.ru_utime) + (client_end.ru_stime - client_start.ru_stime)
        lat = sorted((acked_at[k] - sent_at[k]) * 1000 for k in acked_at)
        q = accounting_pb2.QuerySummariesRequest(kind=accounting_pb2.SUMMARY_KIND_JOB, group_by=[accounting_pb2.GROUP_BY_KEY_SITE, accounting_pb2.GROUP_BY_KEY_MONTH, accounting_pb2.GROUP_BY_KEY_VO], page_size=1000)
        query_ms = []
        for _ in range(20):
            t = time.perf_counter()
            rows = stub.QuerySummaries(q).rows
            query_ms.append((time.perf_counter() - t) * 1000)
        jobs_total = sum(r.job.number_of_jobs for r in rows)
        channel.close()
        return dict(records=total, seconds=elapsed, rate=total / elapsed, p50=statistics.median(lat), p99=lat[int(len(lat) * 0.99) - 1] if lat else 0,
                    query_ms=statistics.median(query_ms), cpu_us=cpu / total * 1e6, client_cpu_us=client_cpu / total * 1e6, rss=peak_rss_mib(proc.pid), jobs_in_summaries=jobs_total)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(data, ignore_errors=True)


def run_baseline(rows, batch=1000):
    path = tempfile.mktemp(prefix="apel-baseline-", suffix=".sqlite")
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("""CREATE TABLE JobRecords (Site TEXT, SubmitHost TEXT, MachineName TEXT, Queue TEXT, LocalJobId TEXT, LocalUserId TEXT,
        GlobalUserName TEXT, FQAN TEXT, VO TEXT, VOGroup TEXT, VORole TEXT, WallDuration INTEGER, CpuDuration INTEGER, Processors INTEGER,
        NodeCount INTEGER, StartTime INTEGER, EndTime INTEGER, InfrastructureDescription TEXT, InfrastructureType TEXT, ServiceLevelType TEXT,
        ServiceLevel REAL, PRIMARY KEY (Site, LocalJobId, EndTime))""")
    sql = """INSERT INTO JobRecords VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
             ON CONFLICT(Site, LocalJobId, EndTime) DO UPDATE SET WallDuration=excluded.WallDuration, CpuDuration=excluded.CpuDuration"""
    start = time.perf_counter()
    db.execute("BEGIN")
    for i, r in enumerate(rows):
        vo = r["fqan"].split("/")[1]
        db.execute(sql, (r["site"], r["submit_host"], r["machine_name"], r["queue"], r["local_job_id"], r["local_user_id"], r["global_user_name"],
                         r["fqan"], vo, "/" + vo, "Role=NULL", r["wall"], r["cpu"], r["processors"], 1, r["start"], r["end"], r["desc"], r["infra"],
                         "HEPscore23", r["hs23"]))
        if (i + 1) % batch == 0:
            db.execute("COMMIT")
            db.execute("BEGIN")
    db.execute("COMMIT")
    load = time.perf_counter() - start
    t = time.perf_counter()
    db.execute("""SELECT Site, strftime('%Y-%m', EndTime, 'unixepoch') AS Month, VO, COUNT(*), SUM(WallDuration), SUM(CpuDuration),
                  SUM(WallDuration * Processors), SUM(WallDuration * ServiceLevel) FROM JobRecords GROUP BY Site, Month, VO""").fetchall()
    summarise = time.perf_counter() - t
    db.close()
    for suffix in ("", "-wal", "-shm"):
        try:
            os.unlink(path + suffix)
        except FileNotFoundError:
            pass
    return dict(records=len(rows), seconds=load, rate=len(rows) / load, summarise_ms=summarise * 1000)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--in-flight", type=int, action="append",
                    help="batches the publisher keeps unacknowledged (default 8, as `weft accounting publish`); repeat to compare")
    ap.add_argument("--weft", action="append", help="weft binary (default: the release build); repeat to compare builds")
    ap.add_argument("--runs", type=int, default=1, help="runs of every (binary, in-flight) pair, interleaved; medians printed")
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--diverse", action="store_true", help="nearly one summary row per record (see jobs())")
    args = ap.parse_args()
    binaries = args.weft or [str(REPO / ".build-release" / "release" / "weft")]
    windows = args.in_flight or [8]
    pb = stubs(tempfile.mkdtemp(prefix="weft-bench-gen-"))
    rows = list(jobs(args.records, diverse=args.diverse))
    per_site = {}
    for r in rows:
        per_site.setdefault(r["site"], []).append(r)
    t = time.perf_counter()
    per_site_batches = {s: encode_batches(pb[1], pb[0], rs) for s, rs in sorted(per_site.items())}
    print(f"prepared {args.records} records ({summary_groups(rows)} APEL summary groups) in {time.perf_counter() - t:.1f} s (not timed)")
    configs = [(b, w) for b in binaries for w in windows]
    header = (f"{'':34} {'records/s':>10} {'seconds':>8} {'ack p50 ms':>10} {'ack p99 ms':>10} {'summary query ms':>17} "
              f"{'peak RSS MiB':>12} {'server CPU µs/rec':>17} {'client CPU µs/rec':>17}")

    def label(binary, window):
        name = os.path.basename(binary) if len(binaries) > 1 else "weft up"
        return f"{name} (1000/batch, {window} in flight)"

    def line(name, w):
        return (f"{name:34} {w['rate']:>10.0f} {w['seconds']:>8.2f} {w['p50']:>10.1f} {w['p99']:>10.1f} {w['query_ms']:>17.1f} "
                f"{w['rss']:>12.0f} {w['cpu_us']:>17.2f} {w['client_cpu_us']:>17.2f}")

    results = {c: [] for c in configs}
    baselines = []

    def baseline_line(b):
        return f"{'SQLite row-by-row INSERT…ON CONFLICT':34} {b['rate']:>10.0f} {b['seconds']:>8.2f} {'':>10} {'':>10} {b['summarise_ms']:>17.1f} {'':>12}"

    print(header)
    for _ in range(args.runs):
        for binary, window in configs:
            weft = run_weft(binary, window, pb, per_site_batches)
            assert weft["records"] == args.records, weft
            assert weft["jobs_in_summaries"] == args.records, weft
            results[(binary, window)].append(weft)
            print(line(label(binary, window), weft), flush=True)
        # The baseline takes its turn in every round: the machine's speed drifts between rounds.
        if not args.no_baseline:
            baselines.append(run_baseline(rows))
            print(baseline_line(baselines[-1]), flush=True)
    summary = {c: {k: statistics.median(r[k] for r in runs) for k in runs[0]} for c, runs in results.items()}
    if args.runs > 1:
        print(f"medians of {args.runs} interleaved runs:")
        for c, runs in results.items():
            print(line(label(*c), summary[c]) + "   per run records/s: " + " ".join(f"{r['rate']:.0f}" for r in runs))
    if baselines:
        base = {k: statistics.median(b[k] for b in baselines) for k in baselines[0]}
        if args.runs > 1:
            print(baseline_line(base) + "   per run records/s: " + " ".join(f"{b['rate']:.0f}" for b in baselines))
        weft = summary[configs[0]]
        print(f"ratio weft/baseline: ingest {weft['rate'] / base['rate']:.2f}x; summary query {base['summarise_ms'] / weft['query_ms']:.0f}x faster "
              f"(a live summary read vs. APEL's summariser GROUP BY over all records)")


if __name__ == "__main__":
    main()
