"""`weft kubelet` (the virtual kubelet) against a fake Kubernetes API server: node registration
with capacity from the kubelet API's Ping, the node Lease, pods bound to the node run through
`weft up` (ConfigMap env, Secret volume, service account token, a missing ConfigMap that appears
later), status written back as merge patches, deletion, and re-adoption after a restart."""

import base64
import copy
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

REPO = Path(__file__).resolve().parents[2]
WEFT = Path(os.environ.get("WEFT_BIN", REPO / ".build" / "debug" / "weft"))
CERTS = REPO / "Tests" / "interop" / "certs"  # test-only CA and server certificate (SAN 127.0.0.1)
NODE = "vk-test"
NS = "vk-ns"
pytestmark = [
    pytest.mark.skipif(not WEFT.exists(), reason=f"{WEFT} is not built (run swift build)"),
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed (scripts/bootstrap.sh)"),
]


def now():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def merge_patch(target, patch):
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


def status(code, reason, message):
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message, "reason": reason, "code": code}


class FakeKubernetes:
    """Enough of the Kubernetes API for one virtual kubelet: nodes, leases, pods (list, watch,
    status patch, delete), ConfigMaps, Secrets and TokenRequests. Every mutating request is
    recorded as (method, path, query, body)."""

    def __init__(self, tls=False):
        self.lock = threading.Condition()
        self.rv = 100
        self.nodes, self.leases, self.pods, self.configmaps, self.secrets = {}, {}, {}, {}, {}
        self.events = []  # (rv, type, object)
        self.requests = []
        self.stopping = False
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                fake.handle(self, "GET")

            def do_POST(self):
                fake.handle(self, "POST")

            def do_PUT(self):
                fake.handle(self, "PUT")

            def do_PATCH(self):
                fake.handle(self, "PATCH")

            def do_DELETE(self):
                fake.handle(self, "DELETE")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(CERTS / "server.pem", CERTS / "server.key")
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.server.server_address[1]}"
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        with self.lock:
            self.stopping = True
            self.lock.notify_all()
        self.server.shutdown()

    # -- state helpers (call with the lock held) --

    def next_rv(self):
        self.rv += 1
        return str(self.rv)

    def stamp(self, obj, new=False):
        meta = obj.setdefault("metadata", {})
        if new:
            meta.setdefault("uid", str(uuid.uuid4()))
            meta.setdefault("creationTimestamp", now())
        meta["resourceVersion"] = self.next_rv()
        return obj

    def pod_event(self, kind, pod):
        self.events.append((int(pod["metadata"]["resourceVersion"]), kind, copy.deepcopy(pod)))
        self.lock.notify_all()

    def add_pod(self, pod):
        with self.lock:
            key = (pod["metadata"]["namespace"], pod["metadata"]["name"])
            self.pods[key] = self.stamp(pod, new=True)
            self.pod_event("ADDED", pod)
            return pod["metadata"]["uid"]

    def mark_deleting(self, name, grace=2):
        with self.lock:
            pod = self.pods[(NS, name)]
            pod["metadata"]["deletionTimestamp"] = now()
            pod["metadata"]["deletionGracePeriodSeconds"] = grace
            self.stamp(pod)
            self.pod_event("MODIFIED", pod)

    def add_configmap(self, name, data):
        with self.lock:
            self.configmaps[(NS, name)] = self.stamp({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": NS}, "data": data}, new=True)

    def recorded(self, method=None, prefix=""):
        with self.lock:
            return [r for r in self.requests if (method is None or r[0] == method) and r[1].startswith(prefix)]

    def pod(self, name):
        with self.lock:
            p = self.pods.get((NS, name))
            return copy.deepcopy(p) if p else None

    # -- HTTP --

    def reply(self, h, code, obj):
        body = json.dumps(obj).encode()
        h.send_response(code)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def handle(self, h, method):
        url = urlparse(h.path)
        path, query = url.path, {k: v[-1] for k, v in parse_qs(url.query).items()}
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        if method != "GET":
            with self.lock:
                self.requests.append((method, path, query, body, h.headers.get("Content-Type")))
        parts = path.strip("/").split("/")
        try:
            if path == "/api/v1/pods" and method == "GET":
                return self.watch(h, query) if query.get("watch") == "true" else self.list_pods(h, query)
            if parts[:3] == ["api", "v1", "nodes"]:
                return self.node(h, method, parts[3:], body)
            if parts[:6] == ["apis", "coordination.k8s.io", "v1", "namespaces", "kube-node-lease", "leases"]:
                return self.lease(h, method, parts[6:], body)
            if parts[:3] == ["api", "v1", "namespaces"] and len(parts) >= 6:
                ns, kind, name = parts[3], parts[4], parts[5]
                if kind in ("configmaps", "secrets") and method == "GET":
                    store = self.configmaps if kind == "configmaps" else self.secrets
                    with self.lock:
                        obj = store.get((ns, name))
                    if obj is None:
                        return self.reply(h, 404, status(404, "NotFound", f'{kind} "{name}" not found'))
                    return self.reply(h, 200, obj)
                if kind == "serviceaccounts" and parts[6:] == ["token"] and method == "POST":
                    return self.reply(h, 201, {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": body["spec"],
                                               "status": {"token": f"fake-token-for-{name}", "expirationTimestamp": now()}})
                if kind == "pods":
                    return self.pod_request(h, method, ns, name, parts[6:], body)
            self.reply(h, 404, status(404, "NotFound", f"no route for {method} {path}"))
        except (BrokenPipeError, ConnectionResetError):
            pass

    def node(self, h, method, rest, body):
        with self.lock:
            if method == "POST" and not rest:
                name = body["metadata"]["name"]
                if name in self.nodes:
                    return self.reply(h, 409, status(409, "AlreadyExists", f'nodes "{name}" already exists'))
                self.nodes[name] = self.stamp(body, new=True)
                return self.reply(h, 201, self.nodes[name])
            name = rest[0]
            node = self.nodes.get(name)
            if node is None:
                return self.reply(h, 404, status(404, "NotFound", f'nodes "{name}" not found'))
            if method == "GET":
                return self.reply(h, 200, node)
            if method == "PATCH":
                self.nodes[name] = self.stamp(merge_patch(node, body))
                return self.reply(h, 200, self.nodes[name])
        self.reply(h, 405, status(405, "MethodNotAllowed", method))

    def lease(self, h, method, rest, body):
        with self.lock:
            if method == "POST" and not rest:
                name = body["metadata"]["name"]
                if name in self.leases:
                    return self.reply(h, 409, status(409, "AlreadyExists", "exists"))
                self.leases[name] = self.stamp(body, new=True)
                return self.reply(h, 201, self.leases[name])
            name = rest[0]
            lease = self.leases.get(name)
            if lease is None:
                return self.reply(h, 404, status(404, "NotFound", f'leases.coordination.k8s.io "{name}" not found'))
            if method == "GET":
                return self.reply(h, 200, lease)
            if method == "PUT":
                if body["metadata"].get("resourceVersion") != lease["metadata"]["resourceVersion"]:
                    return self.reply(h, 409, status(409, "Conflict", "the object has been modified"))
                self.leases[name] = self.stamp(body)
                return self.reply(h, 200, self.leases[name])
        self.reply(h, 405, status(405, "MethodNotAllowed", method))

    def selected(self, pod, query):
        return query.get("fieldSelector") == f"spec.nodeName={pod['spec'].get('nodeName')}"

    def list_pods(self, h, query):
        with self.lock:
            items = [copy.deepcopy(p) for p in self.pods.values() if self.selected(p, query)]
            rv = str(self.rv)
        self.reply(h, 200, {"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": rv}, "items": items})

    def watch(self, h, query):
        since = int(query.get("resourceVersion") or 0)
        deadline = time.time() + min(int(query.get("timeoutSeconds") or 60), 60)
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        while True:
            with self.lock:
                pending = [e for e in self.events if e[0] > since and self.selected(e[2], query)]
                if not pending:
                    if self.stopping or time.time() >= deadline:
                        break
                    self.lock.wait(0.2)
                    continue
            for rv, kind, obj in pending:
                line = json.dumps({"type": kind, "object": obj}).encode() + b"\n"
                h.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
                since = rv
            h.wfile.flush()
        h.wfile.write(b"0\r\n\r\n")
        h.wfile.flush()

    def pod_request(self, h, method, ns, name, rest, body):
        with self.lock:
            pod = self.pods.get((ns, name))
            if pod is None:
                return self.reply(h, 404, status(404, "NotFound", f'pods "{name}" not found'))
            if method == "PATCH" and rest == ["status"]:
                patched = merge_patch(pod, {"status": body.get("status")})
                self.pods[(ns, name)] = self.stamp(patched)
                self.pod_event("MODIFIED", patched)
                return self.reply(h, 200, patched)
            if method == "DELETE" and not rest:
                uid = ((body or {}).get("preconditions") or {}).get("uid")
                if uid and uid != pod["metadata"]["uid"]:
                    return self.reply(h, 409, status(409, "Conflict", "uid precondition failed"))
                del self.pods[(ns, name)]
                self.stamp(pod)
                self.pod_event("DELETED", pod)
                return self.reply(h, 200, pod)
            if method == "GET" and not rest:
                return self.reply(h, 200, pod)
        self.reply(h, 405, status(405, "MethodNotAllowed", method))


# Kubernetes mounts the service account volume at /var/run/secrets/kubernetes.io/serviceaccount;
# on hosts where /var/run is a symlink to /run, the sandbox's `host` image cannot create a mount
# point under a symlinked directory yet, so the test mounts it at the symlink's target.
SA_MOUNT = "/run/secrets/kubernetes.io/serviceaccount" if os.path.islink("/var/run") else "/var/run/secrets/kubernetes.io/serviceaccount"


def api_pod(name, command, env=(), volumes=(), mounts=(), grace=30):
    """A v1 Pod as the API server returns it once the scheduler bound it to the node."""
    sa_volume = "kube-api-access-x7k2p"
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": name, "namespace": NS, "labels": {"app": name},
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"},
            "managedFields": [{"manager": "kubectl-client-side-apply", "operation": "Update", "apiVersion": "v1", "time": now(),
                               "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {}}}],
        },
        "spec": {
            "containers": [{
                "name": "main", "image": "host", "command": ["sh", "-c", command],
                "env": list(env), "resources": {},
                "volumeMounts": list(mounts) + [{"name": sa_volume, "mountPath": SA_MOUNT, "readOnly": True}],
                "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File", "imagePullPolicy": "IfNotPresent",
            }],
            "volumes": list(volumes) + [{"name": sa_volume, "projected": {"defaultMode": 420, "sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
            ]}}],
            "restartPolicy": "Never", "terminationGracePeriodSeconds": grace, "dnsPolicy": "ClusterFirst",
            "serviceAccountName": "default", "serviceAccount": "default", "nodeName": NODE, "securityContext": {},
            "schedulerName": "default-scheduler", "enableServiceLinks": True, "priority": 0, "preemptionPolicy": "PreemptLowerPriority",
            "tolerations": [
                {"key": "virtual-node.interlink/no-schedule", "operator": "Exists", "effect": "NoSchedule"},
                {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
            ],
        },
        "status": {"phase": "Pending", "qosClass": "BestEffort",
                   "conditions": [{"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": now()}]},
    }


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what, predicate, timeout=20, interval=0.1):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


def format_bytes(n):
    for suffix, unit in (("Ti", 1 << 40), ("Gi", 1 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)):
        if n >= unit and n % unit == 0:
            return f"{n // unit}{suffix}"
    return str(n)


class Cluster:
    """The fake API server, `weft up` and `weft kubelet`."""

    def __init__(self, root, tls=False, ca=None):
        self.root = root
        self.fake = FakeKubernetes(tls=tls)
        self.port = free_port()
        self.kubeconfig = root / "kubeconfig"
        self.kubeconfig.write_text(
            "apiVersion: v1\nkind: Config\ncurrent-context: fake\n"
            f"clusters:\n- name: fake\n  cluster:\n    server: {self.fake.url}\n"
            + (f"    certificate-authority-data: {base64.b64encode(ca).decode()}\n" if ca else "")
            + "users:\n- name: vk\n  user:\n    token: test-token\n"
            "contexts:\n- name: fake\n  context: {cluster: fake, user: vk}\n")
        self.up_log = open(root / "up.log", "ab")
        self.up = subprocess.Popen([str(WEFT), "up", "--listen", f"127.0.0.1:{self.port}", "--data-dir", str(root / "up"), "--log-level", "debug"],
                                   stdout=self.up_log, stderr=subprocess.STDOUT)
        wait_for("weft up to listen", self.listening, timeout=30, interval=0.05)
        self.kubelet = None
        self.kubelet_runs = 0

    def listening(self):
        assert self.up.poll() is None, self.log("up.log")
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return True
        except OSError:
            return False

    def start_kubelet(self):
        self.kubelet_runs += 1
        log = open(self.root / f"kubelet-{self.kubelet_runs}.log", "ab")
        self.kubelet = subprocess.Popen(
            [str(WEFT), "kubelet", "--kubeconfig", str(self.kubeconfig), "--node-name", NODE, "--server", f"127.0.0.1:{self.port}",
             "--status-interval", "2", "--lease-interval", "1", "--log-level", "debug"],
            stdout=log, stderr=subprocess.STDOUT)

    def log(self, name):
        return (self.root / name).read_text(errors="replace")

    def weft(self, *args):
        return subprocess.run([str(WEFT), *args, "--server", f"127.0.0.1:{self.port}"], capture_output=True, text=True, timeout=60)

    def pod_names(self):
        """Names of the pods the kubelet API has for the node."""
        r = self.weft("pods", "list", "--node", NODE, "-n", NS, "-o", "json")
        assert r.returncode == 0, r.stderr
        return {p["pod"]["metadata"]["name"] for p in json.loads(r.stdout or "{}").get("pods", [])}

    def stop(self):
        for p in (self.kubelet, self.up):
            if p is not None and p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    p.kill()
        self.fake.stop()


@pytest.fixture
def cluster(tmp_path):
    c = Cluster(tmp_path)
    yield c
    c.stop()


def status_patches(fake, name):
    return [r[3]["status"] for r in fake.recorded("PATCH", f"/api/v1/namespaces/{NS}/pods/{name}/status")]


def test_virtual_kubelet_runs_pods_from_kubernetes(cluster):
    fake = cluster.fake
    fake.add_configmap("greetings", {"greeting": "hello from a configmap"})
    fake.add_configmap("kube-root-ca.crt", {"ca.crt": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"})
    with fake.lock:
        fake.secrets[(NS, "pw")] = fake.stamp({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "pw", "namespace": NS}, "type": "Opaque",
                                               "data": {"pw": base64.b64encode(b"s3cr3t-from-a-secret").decode()}}, new=True)
    hello = fake.add_pod(api_pod(
        "hello", f"echo $GREETING; cat /secret/pw; echo; echo token=$(cat {SA_MOUNT}/token)",
        env=[{"name": "GREETING", "valueFrom": {"configMapKeyRef": {"name": "greetings", "key": "greeting"}}}],
        volumes=[{"name": "pw", "secret": {"secretName": "pw", "defaultMode": 420}}],
        mounts=[{"name": "pw", "mountPath": "/secret", "readOnly": True}]))
    sleeper = fake.add_pod(api_pod("sleeper", "echo started; exec sleep 300", grace=2))
    late = fake.add_pod(api_pod("late", "echo $LATE", env=[{"name": "LATE", "valueFrom": {"configMapKeyRef": {"name": "late-config", "key": "v"}}}]))
    # A pod the kubelet API has for the node but Kubernetes does not: deleted at the first resync.
    (cluster.root / "orphan.yaml").write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: orphan}\nspec:\n  restartPolicy: Never\n"
                                              "  containers: [{name: main, image: host, command: [sleep, '300']}]\n")
    applied = cluster.weft("pods", "apply", "-f", str(cluster.root / "orphan.yaml"), "--node", NODE, "-n", NS)
    assert applied.returncode == 0, applied.stderr
    assert "orphan" in cluster.pod_names()
    cluster.start_kubelet()

    # The node: created once (GET 404 then POST) with the labels, the taint and capacity from Ping.
    created = wait_for("the node to be created", lambda: fake.recorded("POST", "/api/v1/nodes"))
    assert len(created) == 1
    node = created[0][3]
    assert node["metadata"]["name"] == NODE
    assert node["metadata"]["labels"]["type"] == "virtual-kubelet"
    assert node["metadata"]["labels"]["kubernetes.io/role"] == "agent"
    assert node["metadata"]["labels"]["weft.io/backend"] == "sandbox", "node labels from Ping"
    assert {"key": "virtual-node.interlink/no-schedule", "value": "true", "effect": "NoSchedule"} in node["spec"]["taints"]
    with fake.lock:
        stored = copy.deepcopy(fake.nodes[NODE])
    capacity = stored["status"]["capacity"]
    assert capacity["cpu"] == str(os.cpu_count())
    assert capacity["memory"] == format_bytes(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    assert capacity["pods"] == "110"
    ready = next(c for c in stored["status"]["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "True", ready
    assert {"type": "InternalIP", "address": "127.0.0.1"} in stored["status"]["addresses"]
    assert stored["status"]["nodeInfo"]["kubeletVersion"].startswith("v1.")

    wait_for("the orphan to be deleted from the kubelet API", lambda: "orphan" not in cluster.pod_names())

    # The lease: created, then renewed with a later renewTime.
    lease_path = f"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases"
    lease = wait_for("the lease", lambda: fake.recorded("POST", lease_path))[0][3]
    assert lease["spec"]["holderIdentity"] == NODE
    assert lease["metadata"]["ownerReferences"][0]["kind"] == "Node"
    renewals = wait_for("lease renewals", lambda: len(fake.recorded("PUT", f"{lease_path}/{NODE}")) >= 2 and fake.recorded("PUT", f"{lease_path}/{NODE}"))
    assert renewals[-1][3]["spec"]["renewTime"] > lease["spec"]["renewTime"]

    # The pod runs, and its status reaches Succeeded through merge patches.
    def succeeded():
        p = fake.pod("hello")
        return p if p and p["status"].get("phase") == "Succeeded" else None
    done = wait_for("pod hello to succeed", succeeded, timeout=25)
    assert all(r[4] == "application/merge-patch+json" for r in fake.recorded("PATCH", f"/api/v1/namespaces/{NS}/pods/hello/status"))
    phases = [s["phase"] for s in status_patches(fake, "hello")]
    assert phases[-1] == "Succeeded" and "Pending" not in phases[phases.index("Succeeded"):], phases
    main = done["status"]["containerStatuses"][0]
    assert main["name"] == "main" and main["image"] == "host"
    assert main["state"]["terminated"]["exitCode"] == 0 and main["state"]["terminated"]["reason"] == "Completed"
    conditions = {c["type"]: c["status"] for c in done["status"]["conditions"]}
    assert conditions["PodScheduled"] == "True" and conditions["Ready"] == "False", conditions
    assert done["status"]["hostIP"] == "127.0.0.1" and "startTime" in done["status"]

    # Its logs, through the kubelet API: the ConfigMap value, the Secret file and the projected token.
    logs = cluster.weft("pods", "logs", "hello", "--node", NODE, "-n", NS)
    assert logs.returncode == 0, logs.stderr
    assert "hello from a configmap" in logs.stdout and "s3cr3t-from-a-secret" in logs.stdout, logs.stdout
    assert "token=fake-token-for-default" in logs.stdout, logs.stdout
    token_requests = fake.recorded("POST", f"/api/v1/namespaces/{NS}/serviceaccounts/default/token")
    assert any(r[3]["spec"]["boundObjectRef"] == {"apiVersion": "v1", "kind": "Pod", "name": "hello", "uid": hello} for r in token_requests), token_requests

    # A pod whose ConfigMap is missing waits in CreateContainerConfigError, then runs once it exists.
    config_error = wait_for("the config error", lambda: [s for s in status_patches(fake, "late") if s.get("reason") == "CreateContainerConfigError"])
    assert config_error[0]["phase"] == "Pending"
    assert config_error[0]["containerStatuses"][0]["state"]["waiting"]["reason"] == "CreateContainerConfigError"
    assert 'configmap "late-config" not found' in config_error[0]["message"]
    fake.add_configmap("late-config", {"v": "late value"})
    wait_for("pod late to succeed", lambda: (fake.pod("late") or {}).get("status", {}).get("phase") == "Succeeded", timeout=25)
    assert fake.pod("late")["status"].get("reason") is None, "the config error reason is cleared"

    # The sleeper runs; then the virtual kubelet is killed and restarted: it re-adopts every pod
    # without running any again.
    wait_for("pod sleeper to run", lambda: (fake.pod("sleeper") or {}).get("status", {}).get("phase") == "Running")
    cluster.kubelet.send_signal(signal.SIGKILL)
    cluster.kubelet.wait(timeout=10)
    patches_before = len(fake.recorded("PATCH"))
    cluster.start_kubelet()
    wait_for("the restarted kubelet to adopt the sleeper", lambda: "pod adopted" in cluster.log("kubelet-2.log") and "sleeper" in cluster.log("kubelet-2.log"))
    wait_for("status patches after the restart", lambda: len(fake.recorded("PATCH")) > patches_before)
    assert len(fake.recorded("POST", "/api/v1/nodes")) == 1, "the node is not created twice"
    assert "pod created on the kubelet API" not in cluster.log("kubelet-2.log")
    up_log = cluster.log("up.log")
    for uid in (hello, sleeper, late):
        assert up_log.count(f"uid={uid}") >= 1
        assert sum(1 for line in up_log.splitlines() if "pod accepted" in line and uid in line) == 1, f"pod {uid} accepted more than once"
    again = cluster.weft("pods", "logs", "hello", "--node", NODE, "-n", NS).stdout
    assert again.count("hello from a configmap") == 1, again
    assert cluster.weft("pods", "logs", "sleeper", "--node", NODE, "-n", NS).stdout.count("started") == 1

    # Deletion: a deletionTimestamp makes the kubelet delete the pods from the kubelet API, then
    # remove them from Kubernetes with gracePeriodSeconds 0.
    fake.mark_deleting("sleeper")
    fake.mark_deleting("hello")
    for name in ("sleeper", "hello"):
        deletes = wait_for(f"the DELETE of {name}", lambda: fake.recorded("DELETE", f"/api/v1/namespaces/{NS}/pods/{name}"), timeout=20)
        assert deletes[0][3]["gracePeriodSeconds"] == 0
        assert fake.pod(name) is None
    names = cluster.pod_names()
    assert "hello" not in names and "sleeper" not in names, names
    assert "late" in names, names

    # SIGTERM stops it cleanly.
    cluster.kubelet.send_signal(signal.SIGTERM)
    assert cluster.kubelet.wait(timeout=15) == 0


def test_virtual_kubelet_verifies_the_api_server_with_the_kubeconfig_ca(tmp_path):
    """HTTPS with the cluster's own CA (certificate-authority-data), which the system does not trust."""
    c = Cluster(tmp_path, tls=True, ca=(CERTS / "ca.pem").read_bytes())
    try:
        c.fake.add_configmap("kube-root-ca.crt", {"ca.crt": "x"})
        c.fake.add_pod(api_pod("tls-pod", "echo over tls"))
        c.start_kubelet()
        wait_for("the node over TLS", lambda: c.fake.recorded("POST", "/api/v1/nodes"))
        wait_for("the pod to succeed over TLS", lambda: (c.fake.pod("tls-pod") or {}).get("status", {}).get("phase") == "Succeeded", timeout=25)
        assert c.fake.recorded("PATCH", f"/api/v1/namespaces/{NS}/pods/tls-pod/status")[0][4] == "application/merge-patch+json"
    finally:
        c.stop()


def test_virtual_kubelet_refuses_an_api_server_its_ca_does_not_sign(tmp_path):
    """A CA that did not sign the server's certificate: nothing is sent, the log says why."""
    wrong_ca = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(tmp_path / "k.pem"), "-subj", "/CN=other CA",
                               "-days", "1", "-out", "/dev/stdout"], capture_output=True, check=True).stdout
    c = Cluster(tmp_path, tls=True, ca=wrong_ca)
    try:
        c.start_kubelet()
        wait_for("the TLS failure in the log", lambda: "not trusted" in c.log("kubelet-1.log"), timeout=15)
        assert not c.fake.recorded()
        assert "certificate verify failed" in c.log("kubelet-1.log") or "unable to get local issuer certificate" in c.log("kubelet-1.log")
    finally:
        c.stop()
