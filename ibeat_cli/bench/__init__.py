"""``ibeat bench``: compute, gRPC latency and musical timing of the real-time engine.

Four sections, each optional:

* **compute** (one thread): the bundled clip streamed at 30 fps (a live
  client's rate) through :class:`~ibeat_core.session.Session`, every view in
  turn (a fresh session per view). Per 30 Hz grid frame: median and p99 of each stage (front end =
  resampling, body scale, directogram, deceleration flux and offset
  normaliser; VisBeatNet step; B-HMM step; MuStyleNet step; session
  bookkeeping = the rest of ``push``) and of the whole ``Session.push``; per
  beat, the drum generation (style context, DrumGenNet with genre guidance,
  sampling, hit events). The whole-push figures come from a separate pass
  without instrumentation. A push that completes no grid frame (inputs faster
  than the 30 Hz grid) is charged to the next grid frame, so the per-frame
  figures are the engine's whole cost per grid frame.
* **grpc**: ``ibeat-server`` (``python -m ibeat_grpc.server``) in a
  subprocess on a free loopback port, a fresh one per load level; N
  concurrent replay sessions of the bundled clip, resampled to 30 fps and
  looped forwards-backwards (no jump in the motion), each view and seed its
  own, paced in real time by client subprocesses of at most ``per_process``
  sessions each (their start phases spread over one frame period). Client
  and server share the machine's cores. Server processing latency comes from
  each session's final SessionStats (frame received -> its events queued);
  client latency is frame handed to gRPC -> the event it produced received;
  hit lead time is how long before its play time each hit arrived (negative
  = late); the server's RSS is sampled from ``/proc/PID/status`` every 0.1 s.
* **timing** (needs a data folder): every held-out sequence of
  :func:`ibeat_io.beat_data.build_beat_examples` (view 0), through
  :func:`~ibeat_core.session.run_session` in Poly and Mono mode: the distance
  from each generated on-beat hit (16th step 0) to the nearest offline
  visual beat (the ground truth).
* **video** (needs a data folder): the camera/video front-end on the 30 fps
  512x288 dance video played like a camera (:mod:`ibeat_video.bench_video`):
  frames captured, posed and dropped as stale, per-stage latency from capture
  to event, CPU, for each pose model.
"""

from __future__ import annotations

import json
import os
import platform
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

__all__ = ["BENCH_SECTIONS", "TARGETS", "STAGES", "bench_compute", "bench_grpc", "bench_timing", "run_bench",
           "format_bench", "loop_frames", "nearest_distances", "parse_sessions"]

#: The issue's targets.
TARGETS = {
    "frame_median_ms": 0.3,          # per-frame engine compute, median
    "beat_generation_ms": 2.0,       # per-beat drum generation (median)
    "grpc_p99_ms_1": 5.0,            # gRPC processing latency p99, 1 session
    "grpc_p99_ms_32": 10.0,          # ... 32 sessions
    "hits_on_time_share": 0.99,      # hits arriving before their play time
    "rss_mb_32": 300.0,              # server RSS at 32 sessions
}
#: Per-grid-frame stages of the compute section, in pipeline order.
STAGES = ("front_end", "visbeat", "hmm", "mustyle", "bookkeeping")
STAGE_NAMES = {
    "front_end": "resample + body scale + directogram + flux + offset normaliser",
    "visbeat": "VisBeatNet step (onnxruntime)",
    "hmm": "B-HMM step",
    "mustyle": "MuStyleNet step (onnxruntime)",
    "bookkeeping": "session bookkeeping (joints, scheduling, frame records)",
    "push": "whole Session.push (no instrumentation)",
}
GRPC_FPS = 30.0


def _log(message: str):
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def _stats_ms(values_s) -> dict:
    """Median, p99, mean and count of durations given in seconds, in ms."""
    v = 1e3 * np.asarray(values_s, dtype=np.float64)
    if not v.size:
        return {"median_ms": None, "p99_ms": None, "mean_ms": None, "n": 0}
    return {"median_ms": round(float(np.median(v)), 4), "p99_ms": round(float(np.percentile(v, 99)), 4),
            "mean_ms": round(float(v.mean()), 4), "n": int(v.size)}


def _pct(values, qs) -> list:
    v = np.asarray(values, dtype=np.float64)
    return [round(float(x), 3) for x in np.percentile(v, qs)] if v.size else [None] * len(qs)


def parse_sessions(text: str) -> list[int]:
    """``"1,8,32,64"`` -> ``[1, 8, 32, 64]``; every count must be >= 1."""
    try:
        out = [int(x) for x in str(text).split(",") if x.strip()]
    except ValueError:
        raise ValueError(f"--sessions takes comma-separated counts like 1,8,32,64, got {text!r}") from None
    if not out or min(out) < 1:
        raise ValueError(f"--sessions takes counts >= 1, got {text!r}")
    return out


# -- compute ----------------------------------------------------------------------------

class _Acc:
    """Accumulated seconds per key, and the per-call durations of some keys."""

    def __init__(self):
        self.t = dict.fromkeys(STAGES, 0.0)
        self.calls: dict[str, list] = {}

    def timed(self, fn, key, *, calls: bool = False):
        t, clock = self.t, time.perf_counter
        record = self.calls.setdefault(key, []) if calls else None

        def wrapper(*args, **kwargs):
            t0 = clock()
            try:
                return fn(*args, **kwargs)
            finally:
                dt = clock() - t0
                if key in t:
                    t[key] += dt
                if record is not None:
                    record.append(dt)
        return wrapper


class _Proxy:
    """A network with some methods replaced by timed ones; the rest passes through."""

    def __init__(self, inner, **methods):
        self._inner = inner
        self.__dict__.update(methods)

    def __getattr__(self, name):
        return getattr(self._inner, name)


def _instrumented(networks, config, acc: _Acc):
    """A Session whose stages add their time to ``acc``."""
    from ibeat_core.session import Networks, Session

    nets = Networks(
        beat=_Proxy(networks.beat, step=acc.timed(networks.beat.step, "visbeat")),
        style=_Proxy(networks.style, step=acc.timed(networks.style.step, "mustyle")),
        drumgen=_Proxy(networks.drumgen,
                       logits=acc.timed(networks.drumgen.logits, "drumgen_net", calls=True)),
        mono=networks.mono)
    s = Session(nets, config)
    tracker = s._beats
    for stage in (tracker._resampler, tracker._scale, tracker._directogram, tracker._flux,
                  tracker._normaliser):
        stage.process_frame = acc.timed(stage.process_frame, "front_end")
    tracker._beats.process_frame = acc.timed(tracker._beats.process_frame, "hmm")
    s._schedule_beat = acc.timed(s._schedule_beat, "generation", calls=True)
    s._style_context = acc.timed(s._style_context, "style_context", calls=True)
    return s


def bench_compute(clip_path=None, *, max_frames: int | None = None, networks=None,
                  config=None, input_fps: float = GRPC_FPS, progress: bool = True) -> dict:
    """Per-stage and whole-push compute per grid frame, and per-beat generation, one thread.

    Parameters
    ----------
    clip_path : path-like, optional
        Default: the bundled clip; every view is streamed in turn.
    max_frames : int, optional
        Stop after this many grid frames (default: all views).
    input_fps : float
        Rate the clip is streamed at (nearest frames), as a live client would
        send it; the bundled clip is 60 fps, a camera client 30.
    """
    from ibeat_core import beat_tracking
    from ibeat_core.session import Session, SessionConfig
    from ibeat_models import load_networks

    from ibeat_io.clips import bundled_clip_path, load_clip

    path = Path(clip_path) if clip_path is not None else bundled_clip_path()
    networks = networks if networks is not None else load_networks()
    config = config if config is not None else SessionConfig()
    n_views = _n_views(path)
    clips = []
    for v in range(n_views):
        c = load_clip(path, view=v)
        t_us, kp = loop_frames(c.timestamps_s, c.keypoints, fps=input_fps,
                               duration_s=c.timestamps_s[-1] - c.timestamps_s[0])
        clips.append(replace(c, timestamps_s=t_us / 1e6, keypoints=kp))
    budget = max_frames if max_frames is not None else 10 ** 9

    # Warm-up: onnxruntime's first runs and numpy's code paths.
    warm = Session(networks, config)
    for t, kp in zip(clips[0].timestamps_s[:240], clips[0].keypoints[:240]):
        warm.push(t, kp)

    # Pass 1, clean: the whole push per grid frame.
    push_s, n_in, n_grid = [], 0, 0
    for clip in clips:
        s, pending = Session(networks, config), 0.0
        for t, kp in zip(clip.timestamps_s, clip.keypoints):
            t0 = time.perf_counter()
            n = len(s.process_frame(t, kp))
            pending += time.perf_counter() - t0
            n_in += 1
            if n:
                push_s += [pending / n] * n
                pending = 0.0
                n_grid += n
            if n_grid >= budget:
                break
        if n_grid >= budget:
            break
    if progress:
        _log(f"compute: {n_grid} grid frames ({n_in} input frames) timed clean")

    # Pass 2, instrumented: stages per grid frame, generation per beat.
    acc = _Acc()
    per_stage = {k: [] for k in STAGES}
    torso = beat_tracking.torso_length
    beat_tracking.torso_length = acc.timed(torso, "front_end")
    n_grid2 = 0
    try:
        for clip in clips:
            s = _instrumented(networks, config, acc)
            for k in acc.t:
                acc.t[k] = 0.0
            gens = acc.calls.setdefault("generation", [])
            n_gen, start = len(gens), time.perf_counter()
            for t, kp in zip(clip.timestamps_s, clip.keypoints):
                n = len(s.process_frame(t, kp))
                if n:
                    total = time.perf_counter() - start
                    gen = sum(gens[n_gen:])  # a beat's generation is counted per beat, not per frame
                    n_gen = len(gens)
                    stages = {k: acc.t[k] for k in STAGES if k != "bookkeeping"}
                    stages["bookkeeping"] = max(total - sum(stages.values()) - gen, 0.0)
                    for k in STAGES:
                        per_stage[k] += [stages[k] / n] * n
                        acc.t[k] = 0.0
                    n_grid2 += n
                    start = time.perf_counter()
                if n_grid2 >= budget:
                    break
            if n_grid2 >= budget:
                break
    finally:
        beat_tracking.torso_length = torso
    gen_calls = acc.calls.get("generation", [])
    out = {
        "clip": path.name, "views": n_views, "grid_frames": n_grid, "input_frames": n_in,
        "input_fps": input_fps,
        "mode": config.mode, "genre": config.genre, "genre_strength": config.genre_strength,
        "push": _stats_ms(push_s),
        "stages": {k: _stats_ms(v) for k, v in per_stage.items()},
        "beats": len(gen_calls),
        "generation": _stats_ms(gen_calls),
        "generation_parts": {
            "style_context": _stats_ms(acc.calls.get("style_context", [])),
            "drumgen_net_per_call": _stats_ms(acc.calls.get("drumgen_net", [])),
            "drumgen_calls_per_beat": (round(len(acc.calls.get("drumgen_net", [])) / len(gen_calls), 2)
                                       if gen_calls else None),
        },
    }
    med = out["push"]["median_ms"]
    out["targets"] = {
        "frame_median_ms": {"target": TARGETS["frame_median_ms"], "value": med,
                            "met": med is not None and med <= TARGETS["frame_median_ms"]},
        "beat_generation_ms": {"target": TARGETS["beat_generation_ms"],
                               "value": out["generation"]["median_ms"],
                               "met": bool(gen_calls) and out["generation"]["median_ms"]
                               <= TARGETS["beat_generation_ms"]},
    }
    if progress:
        _log(f"compute: push median {med} ms, generation median "
             f"{out['generation']['median_ms']} ms over {len(gen_calls)} beats")
    return out


def _n_views(path: Path) -> int:
    """Camera views of an ibeat ``.npz`` clip (1 for anything else)."""
    if path.suffix.lower() != ".npz":
        return 1
    with np.load(path) as data:
        return int(data["keypoints"].shape[0]) if data["keypoints"].ndim == 4 else 1


# -- gRPC -------------------------------------------------------------------------------

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


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants (the server's worker processes)."""
    pids, i = [pid], 0
    while i < len(pids):
        try:
            for task in os.listdir(f"/proc/{pids[i]}/task"):
                with open(f"/proc/{pids[i]}/task/{task}/children") as f:
                    pids += [int(c) for c in f.read().split()]
        except OSError:
            pass
        i += 1
    return pids


def _tree_status(pid: int) -> dict:
    """VmRSS, VmHWM [kB] summed over the process tree (an upper bound: shared pages count twice)."""
    out = {}
    for p in _tree(pid):
        for key, value in _proc_status(p).items():
            out[key] = out.get(key, 0) + value
    return out


def _tree_cpu_s(pid: int) -> float | None:
    values = [_proc_cpu_s(p) for p in _tree(pid)]
    return sum(v for v in values if v is not None) if values[0] is not None else None


def _proc_status(pid: int) -> dict:
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:", "Threads:")):
                    key, value = line.split(":", 1)
                    out[key] = int(value.split()[0])
    except OSError:
        pass
    return out


def _proc_cpu_s(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


class _RssSampler(threading.Thread):
    def __init__(self, pid: int, interval_s: float = 0.1):
        super().__init__(daemon=True)
        self.pid, self.interval_s = pid, interval_s
        self.samples: list[int] = []
        self._stop_event = threading.Event()

    def run(self):
        while not self._stop_event.is_set():
            rss = _tree_status(self.pid).get("VmRSS")
            if rss is not None:
                self.samples.append(rss)
            self._stop_event.wait(self.interval_s)

    def stop(self):
        self._stop_event.set()
        self.join()


def _start_server(max_sessions: int, workers: int = 1):
    import grpc

    from ibeat_grpc.v1 import ibeat_pb2 as pb
    from ibeat_grpc.v1 import ibeat_pb2_grpc as pb_grpc

    port = _free_port()
    cmd = [sys.executable, "-m", "ibeat_grpc.server", "--host", "127.0.0.1", "--port", str(port),
           "--max-sessions", str(max_sessions), "--workers", str(workers),
           "--log-level", "WARNING", "--grace", "2"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    target = f"127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    with grpc.insecure_channel(target) as ch:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"ibeat-server exited with {proc.returncode}: "
                                   f"{proc.stderr.read()[-2000:]}")
            try:
                pb_grpc.IbeatStub(ch).GetInfo(pb.GetInfoRequest(), timeout=2)
                break
            except grpc.RpcError:
                if time.monotonic() > deadline:
                    proc.kill()
                    raise RuntimeError("ibeat-server did not answer within 60 s") from None
                time.sleep(0.2)
    return proc, target, cmd


def _stop_server(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _client_main():
    """A client process: spec (JSON) on stdin, 'ready', wait for 'go <epoch>', run, JSON out."""
    import grpc

    from ibeat_grpc.replay import replay
    from ibeat_grpc.v1 import ibeat_pb2 as pb

    from ibeat_io.clips import bundled_clip_path, load_clip

    spec = json.loads(sys.stdin.readline())
    frames = {}
    for s in spec["sessions"]:
        if s["view"] not in frames:
            clip = load_clip(spec.get("clip") or bundled_clip_path(), view=s["view"])
            frames[s["view"]] = loop_frames(clip.timestamps_s, clip.keypoints, fps=spec["fps"],
                                            duration_s=spec["duration_s"])
    print("ready", flush=True)
    start_epoch = float(sys.stdin.readline().split()[1])
    import resource
    usage0 = resource.getrusage(resource.RUSAGE_SELF)
    results = [None] * len(spec["sessions"])

    def run(i, s):
        t_us, kp = frames[s["view"]]
        time.sleep(max(0.0, start_epoch + s["delay_s"] - time.time()))
        config = pb.SessionConfig(layout=pb.SKELETON_LAYOUT_COCO17, mode=pb.DRUM_MODE_POLY,
                                  genre="any", seed=int(s["seed"]), nominal_fps=spec["fps"])
        # Own TCP connection per session, as separate clients would have.
        channel = grpc.insecure_channel(spec["target"],
                                        options=[("grpc.use_local_subchannel_pool", 1)])
        with channel:
            r = replay(channel, t_us, kp, config=config, speed=1.0,
                       timeout_s=spec["duration_s"] + 120)
        results[i] = _session_result(r)

    threads = [threading.Thread(target=run, args=(i, s), daemon=True)
               for i, s in enumerate(spec["sessions"])]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    usage1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu_s = (usage1.ru_utime + usage1.ru_stime) - (usage0.ru_utime + usage0.ru_stime)
    print(json.dumps({"cpu_s": cpu_s, "sessions": results}), flush=True)


def _session_result(r) -> dict:
    """Raw measurements of one replay (ms), for pooling across sessions."""
    from ibeat_grpc.replay import client_latencies_ms, hit_leads_ms

    client_ms = client_latencies_ms(r)
    leads = hit_leads_ms(r) or []
    # How far ahead the engine scheduled each hit: play time - the timestamp of the
    # input frame whose arrival produced it (same order as the leads).
    engine_leads = [(h.time_us - int(r.timestamps_us[m.hits.frame_id])) / 1e3
                    for m in r.messages if m.HasField("hits") for h in m.hits.hits]
    # How far behind real time the sending fell: last hand-over vs its due time.
    behind_ms = None
    if r.start and r.sent_at:
        last = max(r.sent_at)
        due = r.start[0] + (int(r.timestamps_us[last]) - int(r.timestamps_us[0])) / 1e6
        behind_ms = 1e3 * (r.sent_at[last] - due)
    st = r.last_stats
    return {"status": r.status.name, "details": r.details, "frames_sent": len(r.sent_at),
            "frames_expected": int(len(r.timestamps_us)),
            "frames_acknowledged": int(st.frames_processed) if st else 0,
            "final_stats": bool(st and st.final),
            "server_p50_us": int(st.latency_p50_us) if st else None,
            "server_p99_us": int(st.latency_p99_us) if st else None,
            "server_max_us": int(st.latency_max_us) if st else None,
            "events_dropped": int(st.events_dropped) if st else None,
            "beats": len(r.beats), "hits": len(r.hits),
            "client_ms": client_ms, "lead_ms": leads, "engine_lead_ms": engine_leads,
            "send_behind_ms": behind_ms}


def _run_load(n: int, *, duration_s: float, per_process: int, fps: float, clip=None,
              workers: int = 1, progress: bool = True) -> dict:
    """N concurrent real-time sessions against a fresh server; pooled measurements."""
    from ibeat_io.clips import bundled_clip_path

    path = Path(clip) if clip is not None else bundled_clip_path()
    n_views = _n_views(path)
    proc, target, server_cmd = _start_server(max(n, 1), workers)
    clients = []
    try:
        time.sleep(1.0)  # the other workers finish loading
        idle = _tree_status(proc.pid)
        sessions = [{"view": k % n_views, "seed": k, "delay_s": k / n / fps} for k in range(n)]
        groups = [sessions[i:i + per_process] for i in range(0, n, per_process)]
        for g in groups:
            c = subprocess.Popen([sys.executable, "-m", "ibeat_cli.bench", "--client"],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            c.stdin.write(json.dumps({"target": target, "sessions": g, "fps": fps,
                                      "duration_s": duration_s, "clip": str(path)}) + "\n")
            c.stdin.flush()
            clients.append(c)
        for c in clients:
            if c.stdout.readline().strip() != "ready":
                raise RuntimeError("a bench client failed to start")
        sampler = _RssSampler(proc.pid)
        sampler.start()
        cpu0, wall0 = _tree_cpu_s(proc.pid), time.monotonic()
        go = time.time() + 0.5
        for c in clients:
            c.stdin.write(f"go {go}\n")
            c.stdin.flush()
        if progress:
            _log(f"grpc: {n} session(s) x {duration_s:g} s at {fps:g} fps, "
                 f"{len(clients)} client process(es)")
        results, client_cpu_s = [], 0.0
        for c in clients:
            out, _ = c.communicate(timeout=duration_s + 300)
            if c.returncode != 0:
                raise RuntimeError(f"a bench client exited with {c.returncode}")
            answer = json.loads(out.strip().splitlines()[-1])
            results += answer["sessions"]
            client_cpu_s += answer["cpu_s"]
        wall = time.monotonic() - wall0
        cpu1 = _tree_cpu_s(proc.pid)
        sampler.stop()
        end = _tree_status(proc.pid)
    finally:
        for c in clients:
            if c.poll() is None:
                c.kill()
                c.wait()
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
    return {
        "sessions": n, "client_processes": len(clients), "duration_s": duration_s, "fps": fps,
        "wall_s": round(wall, 2),
        "statuses": {s: sum(r["status"] == s for r in results) for s in {r["status"] for r in results}},
        "frames_expected": sum(r["frames_expected"] for r in results),
        "frames_sent": sum(r["frames_sent"] for r in results),
        "frames_acknowledged": sum(r["frames_acknowledged"] for r in results),
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
        "hits_on_time_share": round(float(np.mean(np.asarray(leads) >= 0)), 4) if leads else None,
        "send_behind_ms_max": round(float(max(behind)), 2) if behind else None,
        "server_rss_mb": {"idle": round(idle.get("VmRSS", 0) / 1024, 1),
                          "peak_sampled": round(rss_peak_kb / 1024, 1) if rss_peak_kb else None,
                          "peak_hwm": round(end.get("VmHWM", 0) / 1024, 1) or None},
        "server_threads_end": end.get("Threads"),
        "server_cpu_cores": (round((cpu1 - cpu0) / wall, 2)
                             if cpu0 is not None and cpu1 is not None and wall > 0 else None),
        "server_cpu_ms_per_frame": (round(1e3 * (cpu1 - cpu0) / max(1, sum(
            r["frames_acknowledged"] for r in results)), 3)
            if cpu0 is not None and cpu1 is not None else None),
        "client_cpu_cores": round(client_cpu_s / wall, 2) if wall > 0 else None,
        "server_command": " ".join(["ibeat-server"] + server_cmd[3:]).replace(
            f"--port {target.rsplit(':', 1)[1]}", "--port <free port>").replace(
            f"--max-sessions {max(n, 1)}", "--max-sessions N"),
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


# -- musical timing -----------------------------------------------------------------------

def nearest_distances(times_s, reference_s) -> np.ndarray:
    """|t - nearest reference time| for each t (seconds); empty without references.

    Examples
    --------
    >>> nearest_distances([0.9, 2.2], [1.0, 2.0]).round(3).tolist()
    [0.1, 0.2]
    """
    t = np.asarray(times_s, dtype=np.float64)
    ref = np.sort(np.asarray(reference_s, dtype=np.float64))
    if not ref.size or not t.size:
        return np.zeros(0)
    idx = np.clip(np.searchsorted(ref, t), 1, max(len(ref) - 1, 1))
    lo = ref[np.clip(idx - 1, 0, len(ref) - 1)]
    hi = ref[np.clip(idx, 0, len(ref) - 1)]
    return np.minimum(np.abs(t - lo), np.abs(t - hi))


def bench_timing(data_dir, *, networks=None, seed: int = 0, progress: bool = True) -> dict:
    """On-beat hits (step 0) vs the offline visual beats, Poly and Mono, held-out clips (view 0)."""
    from ibeat_core.session import SessionConfig, run_session
    from ibeat_models import load_networks
    from ibeat_io.beat_data import build_beat_examples

    networks = networks if networks is not None else load_networks()
    examples = [e for e in build_beat_examples(data_dir, split="validation", mocap_views=1,
                                               progress=progress) if e.view == 0]
    if not examples:
        raise FileNotFoundError(f"{data_dir} holds no held-out sequence")
    rng = np.random.default_rng(seed)
    modes = {}
    for mode in ("poly", "mono"):
        config = SessionConfig(mode=mode, seed=seed)
        dist, chance, per_source, n_seq = [], [], {}, 0
        for e in examples:
            gt = e.beat_times_s
            if len(gt) < 2:
                continue
            n_seq += 1
            r = run_session(networks, e.timestamps_s, e.keypoints, config=config)
            on_beat = np.array([h.time_s for h in r.hits if h.step == 0])
            # Only hits inside the span the ground truth covers (plus half a beat) are judged.
            half = 0.5 * float(np.median(np.diff(gt)))
            on_beat = on_beat[(on_beat >= gt[0] - half) & (on_beat <= gt[-1] + half)]
            d = 1e3 * nearest_distances(on_beat, gt)
            dist += d.tolist()
            per_source.setdefault(e.source, []).extend(d.tolist())
            chance += (1e3 * nearest_distances(rng.uniform(gt[0], gt[-1], max(len(on_beat), 1)),
                                               gt)).tolist()
        d = np.asarray(dist)
        modes[mode] = {
            "hits": int(d.size), "sequences": n_seq,
            "median_ms": round(float(np.median(d)), 1) if d.size else None,
            "p90_ms": round(float(np.percentile(d, 90)), 1) if d.size else None,
            "within_70ms_share": round(float(np.mean(d <= 70)), 3) if d.size else None,
            "chance_median_ms": round(float(np.median(chance)), 1) if chance else None,
            "per_source": {s: {"hits": len(v), "median_ms": round(float(np.median(v)), 1)}
                           for s, v in per_source.items() if v},
        }
        if progress:
            _log(f"timing: {mode}: {d.size} on-beat hits, median {modes[mode]['median_ms']} ms")
    return {"data": str(data_dir), "sequences": sorted({f"{e.source}:{e.sequence}" for e in examples}),
            "modes": modes}


# -- report -------------------------------------------------------------------------------

def _machine() -> dict:
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    versions = {}
    for name in ("numpy", "onnxruntime", "grpcio"):
        try:
            from importlib.metadata import version
            versions[name] = version(name)
        except Exception:  # pragma: no cover - reporting only
            versions[name] = None
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform(), **versions}


def _ok(flag) -> str:
    return "n/a" if flag is None else "met" if flag else "**not met**"


def _f(v, digits=3) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def format_bench(report: dict) -> str:
    """The markdown summary of :func:`run_bench`'s report."""
    m = report["machine"]
    lines = ["# Performance", "",
             f"Measured with `{report['command']}` (wall time {report['wall_s']:.0f} s) on "
             f"{m['cpu']}, {m['cores']} cores, Python {m['python']}, onnxruntime "
             f"{m['onnxruntime']}, grpcio {m['grpcio']}, numpy {m['numpy']}, "
             f"{report['date']}.", ""]
    c = report.get("compute")
    if c:
        lines += ["## Compute, one thread", "",
                  f"The bundled clip (`{c['clip']}`, {c['views']} views, a fresh session per view, "
                  f"{c['grid_frames']} grid frames at 30 Hz from {c['input_frames']} input frames "
                  f"streamed at {c['input_fps']:g} fps, a live client's rate), mode {c['mode']}, genre {c['genre']}. Per grid frame; a push that "
                  "completes no grid frame is charged to the next one. Stages come from an "
                  "instrumented pass (a timer around each stage); the whole push from a clean pass.", "",
                  "| per grid frame | median [ms] | p99 [ms] | mean [ms] |", "|---|---|---|---|"]
        for k in STAGES:
            s = c["stages"][k]
            lines.append(f"| {STAGE_NAMES[k]} | {_f(s['median_ms'])} | {_f(s['p99_ms'])} | "
                         f"{_f(s['mean_ms'])} |")
        p = c["push"]
        lines.append(f"| **{STAGE_NAMES['push']}** | **{_f(p['median_ms'])}** | {_f(p['p99_ms'])} | "
                     f"{_f(p['mean_ms'])} |")
        g, gp = c["generation"], c["generation_parts"]
        lines += ["", "| per beat | median [ms] | p99 [ms] |", "|---|---|---|",
                  f"| **drum generation** ({c['beats']} beats: style context, DrumGenNet with genre "
                  f"guidance, sampling, hit events) | **{_f(g['median_ms'])}** | {_f(g['p99_ms'])} |",
                  f"| of which the style context | {_f(gp['style_context']['median_ms'])} | "
                  f"{_f(gp['style_context']['p99_ms'])} |",
                  f"| of which one DrumGenNet run ({_f(gp['drumgen_calls_per_beat'], 1)} per beat: "
                  f"conditional + unconditional for guidance) | "
                  f"{_f(gp['drumgen_net_per_call']['median_ms'])} | "
                  f"{_f(gp['drumgen_net_per_call']['p99_ms'])} |", ""]
        for key, t in c["targets"].items():
            name = {"frame_median_ms": "per-frame engine compute, median",
                    "beat_generation_ms": "per-beat generation, median"}[key]
            lines.append(f"- Target {name} <= {t['target']} ms: {_f(t['value'])} ms, {_ok(t['met'])}.")
        lines.append("")
    gr = report.get("grpc")
    if gr:
        lv = gr["levels"]
        lines += ["## gRPC on loopback", "",
                  f"A fresh `{lv[0]['server_command']}` per load level; N replay sessions of the "
                  f"bundled clip at 30 fps in real time ({lv[0]['duration_s']:g} s each, the clip "
                  "resampled to 30 fps and looped forwards-backwards, session k on view k mod 9 "
                  f"with seed k, start phases spread over one frame period), from "
                  f"client processes of at most {gr['per_process']} sessions each (one thread pair "
                  "and one TCP connection per session). Clients and server share the machine's "
                  f"{m['cores']} cores. Server RSS and CPU are summed over its processes (the "
                  "kernel spreads connections over the workers; shared pages count once per "
                  "process, so the RSS is an upper bound). Server latency: frame received by the session's reader -> "
                  "its events queued, from each session's final SessionStats (p99 per session; "
                  "the worst session and the median session); it leaves out the time a frame waits "
                  "in gRPC's queues before the session's reader takes it. Client latency: frame "
                  "handed to gRPC -> the event it produced received (frames with events only), "
                  "queueing included. Hit lead: "
                  "play time - arrival, in wall time (lead time asked: 100 ms).", "",
                  "| sessions | client procs | frames sent / ack / expected | server p50 [ms] | "
                  "server p99 median / worst session [ms] | client p50 / p99 [ms] | hits | "
                  "hit lead p1 / p50 [ms] | hits on time | server RSS peak [MB] | server CPU "
                  "[cores] | client CPU [cores] |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for x in lv:
            s, cl, hl = x["server_latency_ms"], x["client_latency_ms"], x["hit_lead_ms"]
            share = "-" if x["hits_on_time_share"] is None else f"{100 * x['hits_on_time_share']:.1f}%"
            lines.append(
                f"| {x['sessions']} | {x['client_processes']} | {x['frames_sent']} / "
                f"{x['frames_acknowledged']} / {x['frames_expected']} | {_f(s['p50_median_session'], 2)} | "
                f"{_f(s['p99_median_session'], 2)} / {_f(s['p99_worst_session'], 2)} | "
                f"{_f(cl['p50'], 2)} / {_f(cl['p99'], 2)} | {x['hits']} | {_f(hl['p1'], 1)} / "
                f"{_f(hl['p50'], 1)} | {share} | {_f(x['server_rss_mb']['peak_sampled'], 1)} | "
                f"{_f(x['server_cpu_cores'], 2)} | {_f(x['client_cpu_cores'], 2)} |")
        bad = [x for x in lv if set(x["statuses"]) != {"OK"}]
        lines.append("")
        for x in lv:
            lines.append(f"- {x['sessions']} session(s): statuses {x['statuses']}, events dropped "
                         f"{x['events_dropped']}, {x['late_hits']} late hit(s), "
                         f"{x['late_hits_last_moment']} of them committed by the engine less than "
                         f"one frame before their play time (smallest engine leads "
                         f"of those, play time - timestamp of the input frame that "
                         f"produced it: {x['late_hits_engine_lead_ms'][:5]} ms; "
                         f"engine lead p1 over all hits {_f(x['engine_lead_ms']['p1'], 1)} ms), "
                         f"server RSS idle {x['server_rss_mb']['idle']} MB, "
                         f"high-water {x['server_rss_mb']['peak_hwm']} MB, server CPU "
                         f"{_f(x['server_cpu_ms_per_frame'], 3)} ms per frame, slowest sender ended "
                         f"{_f(x['send_behind_ms_max'], 1)} ms behind its real-time schedule.")
        if bad:
            lines.append(f"- Streams that did not end OK: {[x['sessions'] for x in bad]} sessions.")
        lines.append("")
        names = {"server_p99_ms_1_sessions": "server p99 with 1 session <= 5 ms",
                 "server_p99_ms_32_sessions": "server p99 with 32 sessions <= 10 ms",
                 "server_rss_mb_32_sessions": "server RSS at 32 sessions <= 300 MB"}
        for key, t in gr["targets"].items():
            name = names.get(key) or (f">= 99% of hits on time with {key.split('_')[3]} session(s)")
            value = (f"{100 * t['value']:.1f}%" if key.startswith("hits") and t["value"] is not None
                     else _f(t["value"], 2))
            worst = " (worst session)" if key.startswith("server_p99") else ""
            lines.append(f"- Target {name}: {value}{worst}, {_ok(t['met'])}.")
        lines.append("")
    tm = report.get("timing")
    if tm:
        lines += ["## Musical timing on held-out clips", "",
                  f"{len(tm['sequences'])} held-out sequences of `{tm['data']}` "
                  "(`build_beat_examples(split=\"validation\")`, view 0 / one virtual camera each), "
                  "streamed through `run_session` (seed 0, genre any). Distance from each generated "
                  "on-beat hit (16th step 0) to the nearest offline visual beat (the ground truth), "
                  "hits within the ground truth's span (+- half a beat). Chance: uniform random "
                  "times in the same span.", "",
                  "| mode | on-beat hits | median [ms] | p90 [ms] | within 70 ms | chance median [ms] | "
                  "per source (hits, median ms) |", "|---|---|---|---|---|---|---|"]
        for mode, v in tm["modes"].items():
            per = ", ".join(f"{s} {x['hits']} / {x['median_ms']:.0f}" for s, x in v["per_source"].items())
            within = "-" if v["within_70ms_share"] is None else f"{100 * v['within_70ms_share']:.0f}%"
            lines.append(f"| {mode.capitalize()} | {v['hits']} | {_f(v['median_ms'], 1)} | "
                         f"{_f(v['p90_ms'], 1)} | {within} | {_f(v['chance_median_ms'], 1)} | {per} |")
        lines.append("")
        lines.append("Poly counts every drum of a step-0 hit (several drums may share a beat); "
                     "Mono has at most one per beat.")
        for mode, v in tm["modes"].items():
            if v["median_ms"] is not None and v["chance_median_ms"]:
                ratio = v["median_ms"] / v["chance_median_ms"]
                lines.append(f"- {mode.capitalize()}: median distance {ratio:.0%} of chance"
                             + (" (about chance level)." if ratio > 0.8 else "."))
        lines.append("")
    if report.get("video"):
        from ibeat_video.bench_video import format_video
        lines.append(format_video(report["video"]))
    return "\n".join(lines)


#: Every section of ``ibeat bench``, in the order they run.
BENCH_SECTIONS = ("compute", "grpc", "timing", "video")


def run_bench(*, sections=BENCH_SECTIONS, sessions=(1, 8, 32, 64),
              duration_s: float = 20.0, compute_frames: int | None = None, per_process: int = 8,
              workers: int = 1, data_dir=None, command: str = "ibeat bench",
              progress: bool = True):
    """Everything ``ibeat bench`` prints: returns (markdown text, report dict)."""
    t0 = time.monotonic()
    report = {"command": command, "date": time.strftime("%Y-%m-%d"), "machine": _machine(),
              "targets": TARGETS}
    if "compute" in sections:
        report["compute"] = bench_compute(max_frames=compute_frames, progress=progress)
    if "grpc" in sections and sessions:
        report["grpc"] = bench_grpc(sessions, duration_s=duration_s, per_process=per_process,
                                    workers=workers, progress=progress)
    if "timing" in sections and data_dir is not None:
        report["timing"] = bench_timing(data_dir, progress=progress)
    if "video" in sections and data_dir is not None:
        from ibeat_video.bench_video import bench_video
        report["video"] = bench_video(data_dir=data_dir, progress=progress)
    report["wall_s"] = round(time.monotonic() - t0, 1)
    return format_bench(report), report


if __name__ == "__main__":
    if sys.argv[1:] == ["--client"]:
        _client_main()
    else:
        print("ibeat_cli.bench: run `ibeat bench`", file=sys.stderr)
        sys.exit(2)
