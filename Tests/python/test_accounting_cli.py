"""`weft accounting` against `weft up`: import APEL messages through the durable outbox,
publish, query, export; a bad message refuses its file; a server that is down keeps the
records queued until `publish` succeeds."""

import json
import os
import socket
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
WEFT = Path(os.environ.get("WEFT_BIN", REPO / ".build" / "debug" / "weft"))
pytestmark = pytest.mark.skipif(not WEFT.exists(), reason=f"{WEFT} is not built (run swift build)")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"weft up exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"port {port} did not open")


@pytest.fixture
def server(tmp_path):
    if subprocess.run([str(WEFT), "accounting", "--help"], capture_output=True).returncode != 0:
        pytest.skip("this weft has no `accounting` command")
    port = free_port()
    log = open(tmp_path / "up.log", "wb")
    proc = subprocess.Popen([str(WEFT), "up", "--listen", f"127.0.0.1:{port}", "--data-dir", str(tmp_path / "data")],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_port(port, proc)
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def weft(*args, server=None, check=True):
    extra = ["--server", server] if server else []
    r = subprocess.run([str(WEFT), "accounting", *args, *extra], capture_output=True, text=True, timeout=120)
    if check:
        assert r.returncode == 0, f"exit {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}"
    return r


def this_month_end_times(n):
    now = int(datetime.now(timezone.utc).timestamp())
    start_of_month = int(datetime.now(timezone.utc).replace(day=1, hour=0, minute=0, second=0, microsecond=0).timestamp())
    return [max(start_of_month + 7200, now - 3600 - i) for i in range(n)]


def job_message(site, ids, vo="atlas", end_times=None, bad_index=None):
    end_times = end_times or this_month_end_times(len(ids))
    lines = ["APEL-individual-job-message: v0.3"]
    for i, (job_id, end) in enumerate(zip(ids, end_times)):
        start = end - 3600 if i != bad_index else end + 10
        lines += [f"Site: {site}", "SubmitHost: ce01.example.org", f"LocalJobId: {job_id}", "GlobalUserName: /CN=alice",
                  f"FQAN: /{vo}/Role=production/Capability=NULL", "WallDuration: 3600", "CpuDuration: 3000", "Processors: 4",
                  "NodeCount: 1", f"StartTime: {start}", f"EndTime: {end}", "ServiceLevelType: HEPSPEC", "ServiceLevel: 10", "%%"]
    return "\n".join(lines) + "\n"


def total_jobs(server, site="SITE-A"):
    rows = json.loads(weft("query", "--site", site, "--group-by", "site", "-o", "json", server=server).stdout).get("rows", [])
    return int(rows[0]["job"]["numberOfJobs"]) if rows else 0


def test_import_publishes_and_query_and_export_show_it(tmp_path, server):
    f = tmp_path / "jobs.txt"
    f.write_text(job_message("SITE-A", [f"a{i}" for i in range(2500)]))
    r = weft("import", str(f), "--outbox", str(tmp_path / "outbox"), server=server)
    assert "published 2,500 records in 3 batches" in r.stdout
    assert "\r" not in r.stderr  # no progress bar when piped
    assert total_jobs(server) == 2500
    table = weft("query", "--group-by", "site,month,vo", server=server).stdout
    assert "SITE-A" in table and "atlas" in table and "2,500" in table
    export = weft("export", server=server).stdout
    assert export.startswith("APEL-normalised-summary-message: v0.4\n")
    assert "NumberOfJobs: 2500" in export
    # Grouped as APEL's repository takes them: node count and processors are kept.
    assert "Processors: 4" in export and "NodeCount: 1" in export
    out = tmp_path / "export"
    weft("export", "--format", "summary-v0.2", "--out", str(out), server=server)
    files = sorted(out.iterdir())
    assert len(files) == 1 and files[0].read_text().startswith("APEL-summary-job-message: v0.2\n")
    # Importing the same file again stores nothing twice (records are unique by their APEL key).
    weft("import", str(f), "--outbox", str(tmp_path / "outbox"), server=server)
    assert total_jobs(server) == 2500


def test_bad_message_refuses_its_file_and_queues_nothing_of_it(tmp_path, server):
    good, bad = tmp_path / "good.txt", tmp_path / "bad.txt"
    good.write_text(job_message("SITE-A", ["g1", "g2"]))
    bad.write_text(job_message("SITE-A", ["b1", "b2", "b3"], bad_index=1))
    r = weft("import", str(bad), "--outbox", str(tmp_path / "outbox"), "--no-publish", check=False)
    assert r.returncode == 1
    # Record 2 starts on line 16 (a header line, then 14 lines per record); its EndTime is line 26.
    assert f"{bad}:26: record 2: EndTime: " in r.stderr
    assert not (tmp_path / "outbox").exists() or "nothing to publish" in weft("publish", "--outbox", str(tmp_path / "outbox"), server=server).stdout
    r = weft("import", str(good), str(bad), "--outbox", str(tmp_path / "outbox"), server=server, check=False)
    assert r.returncode == 1 and "record 2: EndTime" in r.stderr and "published 2 records" in r.stdout
    assert total_jobs(server) == 2


def test_mixed_sites_are_refused(tmp_path, server):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text(job_message("SITE-A", ["a1"]))
    b.write_text(job_message("SITE-B", ["b1"]))
    r = weft("import", str(a), str(b), "--outbox", str(tmp_path / "outbox"), server=server, check=False)
    assert r.returncode == 1 and "several sites" in r.stderr and "SITE-B" in r.stderr
    assert total_jobs(server) == 0


def test_records_stay_queued_while_the_server_is_down(tmp_path, server):
    f = tmp_path / "jobs.txt"
    f.write_text(job_message("SITE-A", [f"q{i}" for i in range(1200)]))
    outbox = str(tmp_path / "outbox")
    weft("import", str(f), "--outbox", outbox, "--no-publish")
    down = f"127.0.0.1:{free_port()}"
    r = weft("publish", "--outbox", outbox, "--max-retries", "1", server=down, check=False)
    assert r.returncode == 1 and "stay in" in r.stderr
    r = weft("publish", "--outbox", outbox, server=server)
    assert "published 1,200 records in 2 batches" in r.stdout
    assert total_jobs(server) == 1200
    assert "nothing to publish" in weft("publish", "--outbox", outbox, server=server).stdout
