"""The grpc section: real-time replay sessions against ``ibeat-server`` on loopback.

Per load level a fresh server (``python -m ibeat_grpc.server``) on a free port, and
client processes (``python -m ibeat_cli.bench.client``) that each pace a group of
sessions; the server's memory and CPU come from :mod:`~ibeat_cli.bench.procstat`.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from .common import TARGETS, _log
from .procstat import _RssSampler, _tree, _tree_cpu_s, _tree_status

__all__ = ["GRPC_FPS", "ATTACK", "CAPACITY_SESSIONS", "bench_grpc", "bench_soak", "bench_abuse",
           "bench_capacity", "loop_frames", "parse_sessions", "session_groups", "launch_clients",
           "go", "gather_clients", "hits_on_time", "kill_clients"]

#: The rate a live (camera) client streams at.
GRPC_FPS = 30.0


def _pct(values, qs) -> list:
    v = np.asarray(values, dtype=np.float64)
    return [round(float(x), 3) for x in np.percentile(v, qs)] if v.size else [None] * len(qs)


def parse_sessions(text: str, option: str = "--sessions") -> list[int]:
    """``"1,8,32,64"`` -> ``[1, 8, 32, 64]``; every count must be >= 1 (errors name ``option``)."""
    try:
        out = [int(x) for x in str(text).split(",") if x.strip()]
    except ValueError:
        raise ValueError(f"{option} takes comma-separated counts like 1,8,32,64, got {text!r}") from None
    if not out or min(out) < 1:
        raise ValueError(f"{option} takes counts >= 1, got {text!r}")
    return out


def _n_views(path: Path) -> int:
    """Camera views of an ibeat ``.npz`` clip (1 for anything else)."""
    if path.suffix.lower() != ".npz":
        return 1
    with np.load(path) as data:
        return int(data["keypoints"].shape[0]) if data["keypoints"].ndim == 4 else 1


def loop_frames(timestamps_s, keypoints, *, fps: float = GRPC_FPS, duration_s: float = 20.0):
    """A clip resampled to ``fps`` (nearest frame) and looped forwards-backwards for ``duration_s``.

    Returns wire frames ``(timestamps [us] int64 (n,), keypoints float32 (n, J, 3))``
    on an exact ``1 / fps`` grid from 0; a forwards-backwards loop keeps the motion
    continuous where a plain loop would jump.

    Examples
    --------
    >>> t = np.arange(6) / 60.0
    >>> kp = np.arange(6, dtype=np.float32)[:, None, None] * np.ones((6, 17, 3), np.float32)
    >>> t_us, k = loop_frames(t, kp, fps=30.0, duration_s=0.2)
    >>> t_us.tolist(), k[:, 0, 0].tolist()
    ([0, 33333, 66667, 100000, 133333, 166667], [0.0, 2.0, 4.0, 2.0, 0.0, 2.0])
    """
    from ibeat_grpc.replay import clip_frames

    t = np.asarray(timestamps_s, dtype=np.float64)
    grid = np.arange(t[0], t[-1] + 1e-9, 1.0 / fps)
    idx = np.clip(np.searchsorted(t, grid), 0, len(t) - 1)
    # np.searchsorted gives the frame at or after; take the nearer one.
    prev = np.clip(idx - 1, 0, len(t) - 1)
    idx = np.where(np.abs(t[prev] - grid) <= np.abs(t[idx] - grid), prev, idx)
    cycle = np.concatenate([idx, idx[-2:0:-1]]) if len(idx) > 2 else idx
    n = max(1, int(round(duration_s * fps)))
    order = cycle[np.arange(n) % len(cycle)]
    _, kp = clip_frames(t[order], np.asarray(keypoints)[order])
    t_us = np.round(np.arange(n) / fps * 1e6).astype(np.int64)
    return t_us, kp


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _free_ports(k: int) -> int:
    """The first of ``k`` consecutive free ports (a server's workers' metrics ports)."""
    for _ in range(100):
        first = _free_port()
        if first + k - 1 > 65535:
            continue
        try:
            with contextlib.ExitStack() as held:
                for port in range(first + 1, first + k):
                    s = held.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
                    s.bind(("127.0.0.1", port))
            return first
        except OSError:
            continue
    raise RuntimeError(f"no {k} consecutive free ports on 127.0.0.1")


#: The server counters a load run reads from the workers' ``/metrics`` before and after.
_ENGINE_COUNTERS = ("ibeat_engine_cpu_seconds_total", "ibeat_engine_batch_frames_sum",
                    "ibeat_engine_batch_frames_count")


def _engine_counters(metrics_urls) -> dict[str, float]:
    """The engine's counters so far, summed over a server's workers (one ``/metrics`` URL
    each): its CPU time [s] (``ibeat_engine_cpu_seconds_total``), the frames it ran and the
    batches it ran them in (``ibeat_engine_batch_frames_sum``, ``_count``)."""
    import urllib.request

    from prometheus_client.parser import text_string_to_metric_families

    total = dict.fromkeys(_ENGINE_COUNTERS, 0.0)
    for url in metrics_urls:
        with urllib.request.urlopen(url, timeout=30) as r:
            text = r.read().decode()
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name in total:
                    total[sample.name] += sample.value
    return total


def _pin(proc: subprocess.Popen, cpus) -> subprocess.Popen:
    """Keep a child just started on ``cpus`` (None: anywhere). Set from here rather than in a
    ``preexec_fn`` (unsafe beside the threads gRPC starts in this process); the child starts
    its worker processes and threads later, and they inherit it."""
    if cpus is not None:
        os.sched_setaffinity(proc.pid, set(cpus))
    return proc


def _affinity(pid: int) -> set:
    """The CPUs a process may run on (empty once it is gone)."""
    try:
        return os.sched_getaffinity(pid)
    except OSError:
        return set()


def _start_server(max_sessions: int, workers: int = 1, cpus=None):
    """A fresh ``ibeat-server`` subprocess on a free port (every session comes from this machine:
    no per-address cap), on ``cpus`` if given; returns ``(process, target, command, metrics
    URLs)``, one URL per worker."""
    import grpc

    from ibeat_grpc.v1 import ibeat_pb2 as pb
    from ibeat_grpc.v1 import ibeat_pb2_grpc as pb_grpc

    port, metrics_port = _free_port(), _free_ports(workers)
    cmd = [sys.executable, "-m", "ibeat_grpc.server", "--host", "127.0.0.1", "--port", str(port),
           "--max-sessions", str(max_sessions), "--max-sessions-per-peer", "0",
           "--workers", str(workers), "--metrics-port", str(metrics_port),
           "--log-level", "WARNING", "--grace", "2"]
    proc = _pin(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                 text=True), cpus)
    target = f"127.0.0.1:{port}"
    metrics = [f"http://127.0.0.1:{metrics_port + k}/metrics" for k in range(workers)]
    deadline = time.monotonic() + 60
    with grpc.insecure_channel(target) as ch:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"ibeat-server exited with {proc.returncode}: "
                                   f"{proc.stderr.read()[-2000:]}")
            try:
                pb_grpc.IbeatStub(ch).GetInfo(pb.GetInfoRequest(), timeout=2)
                _engine_counters(metrics)  # and every worker's metrics endpoint answers
                break
            except (grpc.RpcError, OSError):
                if time.monotonic() > deadline:
                    proc.kill()
                    raise RuntimeError("ibeat-server did not answer within 60 s") from None
                time.sleep(0.2)
    return proc, target, cmd, metrics


def _command_line(cmd) -> str:
    """:func:`_start_server`'s command as the report shows it: the run's own ports and
    session limit as placeholders."""
    placeholders = {"--port": "<free port>", "--metrics-port": "<free port>",
                    "--max-sessions": "N"}
    out = ["ibeat-server"]
    for prev, arg in zip(cmd[2:], cmd[3:]):
        out.append(placeholders.get(prev, arg))
    return " ".join(out)


def _stop_server(proc):
    from ibeat_grpc.spawn import stop_server_process
    stop_server_process(proc)


#: Niceness of a bench client process. The clients stand for players' machines: sharing the
#: server's cores here, they give way to it when both are ready to run, as they would not
#: take its CPU at all elsewhere. They need a fraction of a core, so they still run on time.
CLIENT_NICE = 10


def session_groups(n: int, n_views: int, *, per_process: int, fps: float, seed0: int = 0,
                   **extra) -> list[list[dict]]:
    """``n`` replay sessions (view ``k`` mod ``n_views``, seed ``seed0 + k``, start phases spread
    over one frame period), in groups of ``per_process``: one group per client process.
    ``extra`` goes into every session's spec."""
    sessions = [{"view": k % n_views, "seed": seed0 + k, "delay_s": k / n / fps, **extra}
                for k in range(n)]
    return [sessions[i:i + per_process] for i in range(0, n, per_process)]


def launch_clients(target: str, groups, *, fps: float, duration_s: float, clip,
                   cpus=None) -> list[subprocess.Popen]:
    """One client process per group of sessions (:mod:`~ibeat_cli.bench.client`), each
    loaded and waiting for :func:`go`."""
    clients = []
    try:
        for g in groups:
            c = _pin(subprocess.Popen([sys.executable, "-m", "ibeat_cli.bench.client"],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True),
                     cpus)
            clients.append(c)
            c.stdin.write(json.dumps({"target": target, "sessions": g, "fps": fps,
                                      "duration_s": duration_s, "clip": str(clip)}) + "\n")
            c.stdin.flush()
        for c in clients:
            if c.stdout.readline().strip() != "ready":
                raise RuntimeError("a bench client failed to start")
    except BaseException:
        kill_clients(clients)
        raise
    return clients


def go(clients, *, in_s: float = 0.5) -> float:
    """Start every client's sessions at one wall time [time.time() s], ``in_s`` from now."""
    at = time.time() + in_s
    for c in clients:
        c.stdin.write(f"go {at}\n")
        c.stdin.flush()
    return at


def gather_clients(clients, *, timeout_s: float) -> list[dict]:
    """Each client's answer (``{"cpu_s", "sessions"}``), in order, once it has finished."""
    answers = []
    for c in clients:
        out, _ = c.communicate(timeout=timeout_s)
        if c.returncode != 0:
            raise RuntimeError(f"a bench client exited with {c.returncode}")
        answers.append(json.loads(out.strip().splitlines()[-1]))
    return answers


def hits_on_time(sessions) -> float | None:
    """Share of the sessions' hits that arrived before their play time (None: no hits); a hit
    the server did not send because it was already late counts as not on time."""
    leads = [x for s in sessions for x in s["lead_ms"]]
    late = sum(s["hits_dropped_late"] for s in sessions)
    if not leads and not late:
        return None
    return round(float(np.sum(np.asarray(leads) >= 0) / (len(leads) + late)), 4)


def kill_clients(clients):
    """Kill the client processes still running (after an error, or ones left behind)."""
    for c in clients:
        if c.poll() is None:
            c.kill()
            c.wait()


#: The gap-amplification attack of the abuse section: frames just under the restart
#: gap (each costs the engine 2 s of grid frames), sent as fast as the server takes them.
ATTACK = {"streams": 6, "frames": 400, "gap_us": 1_990_000}


def _run_load(n: int, *, duration_s: float, per_process: int, fps: float, clip=None,
              workers: int = 1, progress: bool = True, attackers: int = 0,
              rss_every_s: float | None = None, server_cpus=None, client_cpus=None) -> dict:
    """N concurrent real-time sessions against a fresh server; pooled measurements.

    ``attackers`` more streams (one client process) send :data:`ATTACK`'s frames
    beside them; the figures are the N healthy sessions'. ``rss_every_s``: also
    report the server's RSS at that spacing (``rss_series_mb``). ``server_cpus``,
    ``client_cpus``: the CPUs the server and the clients may run on (default: any).
    """
    from ibeat_io.clips import bundled_clip_path

    path = Path(clip) if clip is not None else bundled_clip_path()
    n_views = _n_views(path)
    proc, target, server_cmd, metrics = _start_server(max(n + attackers, 1), workers, server_cpus)
    clients = []
    try:
        time.sleep(1.0)  # the other workers finish loading
        idle = _tree_status(proc.pid)
        groups = session_groups(n, n_views, per_process=per_process, fps=fps)
        if attackers:
            groups.append([{"view": 0, "seed": 1000 + k, "delay_s": 0.0, "attack": ATTACK}
                           for k in range(attackers)])
        clients += launch_clients(target, groups, fps=fps, duration_s=duration_s, clip=path,
                                  cpus=client_cpus)
        sampler = _RssSampler(proc.pid)
        sampler.start()
        cpu0, wall0 = _tree_cpu_s(proc.pid), time.monotonic()
        engine0 = _engine_counters(metrics)
        go(clients)
        if progress:
            _log(f"grpc: {n} session(s) x {duration_s:g} s at {fps:g} fps, "
                 f"{len(clients)} client process(es)")
        answers = gather_clients(clients, timeout_s=duration_s + 300)
        results, attack_results = [], []
        for k, answer in enumerate(answers):
            if attackers and k == len(answers) - 1:
                attack_results = answer["sessions"]
            else:
                results += answer["sessions"]
        client_cpu_s = sum(answer["cpu_s"] for answer in answers)
        wall = time.monotonic() - wall0
        cpu1 = _tree_cpu_s(proc.pid)
        engine = {k: v - engine0[k] for k, v in _engine_counters(metrics).items()}
        sampler.stop()
        end = _tree_status(proc.pid)
        allowed = sorted(set().union(*(_affinity(p) for p in _tree(proc.pid))))
    finally:
        kill_clients(clients)
        _stop_server(proc)
    client_ms = [x for r in results for x in r["client_ms"]]
    leads = [x for r in results for x in r["lead_ms"]]
    engine_leads = [x for r in results for x in r["engine_lead_ms"]]
    late_engine = [e for x, e in zip(leads, engine_leads) if x < 0]
    p50s = [r["server_p50_us"] / 1e3 for r in results if r["server_p50_us"] is not None]
    p99s = [r["server_p99_us"] / 1e3 for r in results if r["server_p99_us"] is not None]
    maxes = [r["server_max_us"] / 1e3 for r in results if r["server_max_us"] is not None]
    cp50, cp99 = _pct(client_ms, [50, 99])
    lp1, lp50 = _pct(leads, [1, 50])
    behind = [r["send_behind_ms"] for r in results if r["send_behind_ms"] is not None]
    rss_peak_kb = max(sampler.samples) if sampler.samples else None
    dropped_late = sum(r["hits_dropped_late"] for r in results)
    on_time = hits_on_time(results)
    frames_acknowledged = sum(r["frames_acknowledged"] for r in results)
    extra = {}
    if attackers:
        done = [r for r in attack_results if r is not None]
        extra["attack"] = {
            **ATTACK, "streams": attackers, "finished": len(done),
            "frames_acknowledged": sum(r["frames_acknowledged"] for r in done),
            "statuses": {s: sum(r["status"] == s for r in done) for s in {r["status"] for r in done}}}
    if rss_every_s:
        series, next_t = [], 0.0
        for t, kb in sampler.series:
            if t >= next_t:
                series.append([round(t, 1), round(kb / 1024, 1)])
                next_t = t + rss_every_s
        extra["rss_series_mb"] = series
    return {
        "sessions": n, "client_processes": len(clients), "duration_s": duration_s, "fps": fps,
        "wall_s": round(wall, 2),
        "statuses": {s: sum(r["status"] == s for r in results) for s in {r["status"] for r in results}},
        "frames_expected": sum(r["frames_expected"] for r in results),
        "frames_sent": sum(r["frames_sent"] for r in results),
        "frames_acknowledged": frames_acknowledged,
        "events_dropped": sum(r["events_dropped"] or 0 for r in results),
        "beats": sum(r["beats"] for r in results), "hits": len(leads),
        "server_latency_ms": {
            "p50_median_session": round(float(np.median(p50s)), 3) if p50s else None,
            "p99_median_session": round(float(np.median(p99s)), 3) if p99s else None,
            "p99_worst_session": round(float(max(p99s)), 3) if p99s else None,
            "max": round(float(max(maxes)), 3) if maxes else None},
        "client_latency_ms": {"p50": cp50, "p99": cp99, "n": len(client_ms)},
        "hit_lead_ms": {"p1": lp1, "p50": lp50,
                        "min": round(float(min(leads)), 3) if leads else None},
        "engine_lead_ms": {"p1": _pct(engine_leads, [1])[0],
                           "min": round(float(min(engine_leads)), 3) if engine_leads else None},
        "late_hits": len(late_engine),
        # Late hits the engine committed less than one frame before their play time.
        "late_hits_last_moment": int(sum(e < 1e3 / fps for e in late_engine)),
        "late_hits_engine_lead_ms": [round(float(e), 1) for e in sorted(late_engine)[:20]],
        "hits_dropped_late": dropped_late,
        "hits_on_time_share": on_time,
        "send_behind_ms_max": round(float(max(behind)), 2) if behind else None,
        "server_rss_mb": {"idle": round(idle.get("VmRSS", 0) / 1024, 1),
                          "peak_sampled": round(rss_peak_kb / 1024, 1) if rss_peak_kb else None,
                          "peak_hwm": round(end.get("VmHWM", 0) / 1024, 1) or None},
        "server_threads_end": end.get("Threads"),
        "server_cpus_allowed": allowed,
        "server_cpu_cores": (round((cpu1 - cpu0) / wall, 2)
                             if cpu0 is not None and cpu1 is not None and wall > 0 else None),
        "server_cpu_ms_per_frame": (round(1e3 * (cpu1 - cpu0) / max(1, frames_acknowledged), 3)
            if cpu0 is not None and cpu1 is not None else None),
        # Of it, the engine's (the rest reads, writes and schedules messages).
        "server_engine_cpu_ms_per_frame": round(1e3 * engine["ibeat_engine_cpu_seconds_total"]
                                                / max(1, frames_acknowledged), 3),
        "engine_batch_frames_mean": (round(engine["ibeat_engine_batch_frames_sum"]
                                           / engine["ibeat_engine_batch_frames_count"], 1)
                                     if engine["ibeat_engine_batch_frames_count"] else None),
        "client_cpu_cores": round(client_cpu_s / wall, 2) if wall > 0 else None,
        "server_command": _command_line(server_cmd),
        **extra,
    }


def bench_grpc(sessions=(1, 8, 32, 64), *, duration_s: float = 20.0, per_process: int = 8,
               fps: float = GRPC_FPS, clip=None, workers: int = 1, progress: bool = True) -> dict:
    """Real-time replay sessions against ``ibeat-server`` on loopback, one load level at a time."""
    levels = []
    for n in sessions:
        level = _run_load(int(n), duration_s=duration_s, per_process=per_process, fps=fps,
                          clip=clip, workers=workers, progress=progress)
        if progress:
            _log(f"grpc: {n} session(s): server p99 {level['server_latency_ms']['p99_worst_session']} ms "
                 f"(worst session), client p99 {level['client_latency_ms']['p99']} ms, on time "
                 f"{level['hits_on_time_share']}, RSS peak {level['server_rss_mb']['peak_sampled']} MB")
        levels.append(level)
    targets = {}
    for lv in levels:
        p99 = lv["server_latency_ms"]["p99_worst_session"]
        if lv["sessions"] in (1, 32):
            t = TARGETS[f"grpc_p99_ms_{lv['sessions']}"]
            targets[f"server_p99_ms_{lv['sessions']}_sessions"] = {
                "target": t, "value": p99, "met": p99 is not None and p99 <= t}
        share = lv["hits_on_time_share"]
        targets[f"hits_on_time_{lv['sessions']}_sessions"] = {
            "target": TARGETS["hits_on_time_share"], "value": share,
            "met": None if share is None else share >= TARGETS["hits_on_time_share"]}
        if lv["sessions"] == 32:
            rss = lv["server_rss_mb"]["peak_sampled"]
            targets["server_rss_mb_32_sessions"] = {"target": TARGETS["rss_mb_32"], "value": rss,
                                                    "met": rss is not None and rss <= TARGETS["rss_mb_32"]}
    return {"levels": levels, "per_process": per_process, "targets": targets}


def bench_soak(sessions: int = 64, *, duration_s: float = 600.0, per_process: int = 8,
               fps: float = GRPC_FPS, workers: int = 2, rss_every_s: float = 10.0,
               progress: bool = True) -> dict:
    """``sessions`` real-time sessions for ``duration_s``: memory over time, hits on time, errors.

    The plateau figure is the RSS growth over the last half of the run (last sample
    minus the smallest sample of that half) [MB].
    """
    level = _run_load(int(sessions), duration_s=duration_s, per_process=per_process, fps=fps,
                      workers=workers, progress=progress, rss_every_s=rss_every_s)
    series = level["rss_series_mb"]
    half = [mb for t, mb in series if t >= series[-1][0] / 2] if series else []
    growth = round(half[-1] - min(half), 1) if half else None
    errors = sum(v for k, v in level["statuses"].items() if k != "OK")
    level["rss_growth_last_half_mb"] = growth
    level["errors"] = errors
    if progress:
        _log(f"soak: {sessions} sessions x {duration_s:g} s: RSS growth over the last half "
             f"{growth} MB, on time {level['hits_on_time_share']}, {errors} error(s)")
    targets = {
        "soak_rss_growth_mb": {"target": TARGETS["soak_rss_growth_mb"], "value": growth,
                               "met": growth is not None and growth < TARGETS["soak_rss_growth_mb"]},
        "soak_hits_on_time": {"target": 1.0, "value": level["hits_on_time_share"],
                              "met": level["hits_on_time_share"] == 1.0},
        "soak_errors": {"target": 0, "value": errors, "met": errors == 0}}
    return {"level": level, "targets": targets}


def bench_abuse(healthy: int = 16, *, attackers: int = ATTACK["streams"], duration_s: float = 30.0,
                per_process: int = 8, fps: float = GRPC_FPS, workers: int = 1,
                progress: bool = True) -> dict:
    """``healthy`` real-time sessions beside ``attackers`` gap-amplification streams (:data:`ATTACK`)
    on one server process: what share of the healthy sessions' hits stays on time."""
    level = _run_load(int(healthy), duration_s=duration_s, per_process=per_process, fps=fps,
                      workers=workers, progress=progress, attackers=int(attackers))
    share = level["hits_on_time_share"]
    if progress:
        _log(f"abuse: {healthy} healthy sessions beside {attackers} attackers: on time {share}, "
             f"attackers' frames taken {level['attack']['frames_acknowledged']}")
    return {"level": level, "targets": {"abuse_hits_on_time": {
        "target": TARGETS["hits_on_time_share"], "value": share,
        "met": share is not None and share >= TARGETS["hits_on_time_share"]}}}


#: Load levels of the capacity section: real-time sessions on one server core.
CAPACITY_SESSIONS = (16, 32, 48, 64, 80, 96)
#: Runs of each capacity level. Near a core's limit a run's server p99 lands either side of
#: 10 ms by chance (four runs of 64 sessions on one build: 8.0 to 31.5 ms), so a level
#: counts as held only when every run holds it.
CAPACITY_RUNS = 3
#: Node sizes [cores] the capacity section extrapolates to (one worker per core).
NODE_CORES = (1, 2, 4, 8, 16)


def bench_capacity(sessions=CAPACITY_SESSIONS, *, duration_s: float = 20.0, per_process: int = 8,
                   fps: float = GRPC_FPS, runs: int = CAPACITY_RUNS, progress: bool = True) -> dict:
    """How many real-time sessions one core of server holds: one server process pinned to
    one CPU, its clients pinned to the others (so they take none of its time), at each
    load level, ``runs`` times (a fresh server each). A run holds its level when >= 99% of
    hits are on time, every stream ends OK and the worst session's server p99 is <= 10 ms
    (``on_time``: the first two, whatever the latency); a level is held (on time) when every
    run is (:func:`capacity_level`). A node of N cores runs N workers (``--workers N``)."""
    if runs < 1:
        raise ValueError(f"runs must be >= 1, got {runs!r}")
    if not hasattr(os, "sched_setaffinity"):
        return {"skipped": "this platform cannot pin processes to CPUs"}
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return {"skipped": f"needs 2 CPUs (one for the server, the rest for its clients), "
                           f"this process may use {len(cpus)}"}
    server_cpus, client_cpus = cpus[:1], cpus[1:]
    levels = []
    for n in sessions:
        trials = []
        for k in range(runs):
            trial = _run_load(int(n), duration_s=duration_s, per_process=per_process, fps=fps,
                              workers=1, progress=progress, server_cpus=server_cpus,
                              client_cpus=client_cpus)
            p99 = trial["server_latency_ms"]["p99_worst_session"]
            share = trial["hits_on_time_share"]
            trial["on_time"] = bool(share is not None and share >= TARGETS["hits_on_time_share"]
                                    and set(trial["statuses"]) == {"OK"})
            trial["held"] = bool(trial["on_time"] and p99 is not None
                                 and p99 <= TARGETS["grpc_p99_ms_32"])
            if progress:
                _log(f"capacity: {n} sessions on one core, run {k + 1} of {runs}: server p99 "
                     f"{p99} ms (worst session), on time {share}, CPU "
                     f"{trial['server_cpu_cores']} -> {'held' if trial['held'] else 'not held'}")
            trials.append(trial)
        levels.append(capacity_level(trials))
    held = [lv["sessions"] for lv in levels if lv["held"]]
    per_core = max(held) if held else None
    on_time = [lv["sessions"] for lv in levels if lv["on_time"]]
    return {"levels": levels, "runs": runs, "server_cpus": server_cpus,
            "client_cpus": client_cpus, "sessions_per_core": per_core,
            "sessions_on_time_per_core": max(on_time) if on_time else None,
            "nodes": {c: (None if per_core is None else c * per_core) for c in NODE_CORES}}


def capacity_level(runs: list[dict]) -> dict:
    """One capacity level from its runs (each :func:`_run_load`'s figures with ``on_time`` and
    ``held``): held and on time only when every run is; the worst run's hits on time, the
    median run's CPU.

    >>> run = lambda p99, share, cpu, held: {"sessions": 8, "duration_s": 20.0,
    ...     "server_command": "ibeat-server", "server_latency_ms": {"p99_worst_session": p99},
    ...     "hits_on_time_share": share, "server_cpu_cores": cpu,
    ...     "server_cpu_ms_per_frame": cpu / 0.24, "server_engine_cpu_ms_per_frame": cpu / 0.4,
    ...     "engine_batch_frames_mean": 4.0, "on_time": True, "held": held}
    >>> lv = capacity_level([run(4.0, 1.0, 0.2, True), run(12.0, 0.995, 0.3, False),
    ...                      run(6.0, 1.0, 0.25, True)])
    >>> lv["p99_worst_session_ms"], lv["hits_on_time_share"], lv["server_cpu_cores"]
    ([4.0, 12.0, 6.0], 0.995, 0.25)
    >>> lv["on_time"], lv["on_time_runs"], lv["held"], lv["held_runs"]
    (True, 3, False, 2)
    """
    first = runs[0]
    shares = [r["hits_on_time_share"] for r in runs]

    def median(key):
        values = [r[key] for r in runs if r[key] is not None]
        return float(np.median(values)) if values else None

    return {"sessions": first["sessions"], "duration_s": first["duration_s"],
            "server_command": first["server_command"],
            "p99_worst_session_ms": [r["server_latency_ms"]["p99_worst_session"] for r in runs],
            "hits_on_time_share": None if None in shares else min(shares),
            "server_cpu_cores": median("server_cpu_cores"),
            "server_cpu_ms_per_frame": median("server_cpu_ms_per_frame"),
            "server_engine_cpu_ms_per_frame": median("server_engine_cpu_ms_per_frame"),
            "engine_batch_frames_mean": [r["engine_batch_frames_mean"] for r in runs],
            "on_time_runs": sum(r["on_time"] for r in runs),
            "held_runs": sum(r["held"] for r in runs),
            "on_time": all(r["on_time"] for r in runs), "held": all(r["held"] for r in runs),
            "runs": runs}
