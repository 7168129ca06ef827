"""The compute section: the engine's cost per 30 Hz grid frame and per beat, one thread."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from .common import TARGETS, _log
from .load import GRPC_FPS, _n_views, loop_frames

__all__ = ["STAGES", "STAGE_NAMES", "bench_compute"]

#: Per-grid-frame stages of the compute section, in pipeline order.
STAGES = ("front_end", "visbeat", "hmm", "mustyle", "bookkeeping")
STAGE_NAMES = {
    "front_end": "resample + body scale + completion + directogram + flux + offset normaliser",
    "visbeat": "VisBeatNet step (onnxruntime)",
    "hmm": "beat decoder step (B-HMM, and the groove's beat clock)",
    "mustyle": "MuStyleNet step (onnxruntime)",
    "bookkeeping": "session bookkeeping (joints, scheduling, frame records)",
    "push": "whole Session.push (no instrumentation)",
}


def _stats_ms(values_s) -> dict:
    """Median, p99, mean and count of durations given in seconds, in ms."""
    v = 1e3 * np.asarray(values_s, dtype=np.float64)
    if not v.size:
        return {"median_ms": None, "p99_ms": None, "mean_ms": None, "n": 0}
    return {"median_ms": round(float(np.median(v)), 4), "p99_ms": round(float(np.percentile(v, 99)), 4),
            "mean_ms": round(float(v.mean()), 4), "n": int(v.size)}


class _Acc:
    """Accumulated seconds per key, and the per-call durations of some keys."""

    def __init__(self):
        self.t = dict.fromkeys(STAGES, 0.0)
        self.calls: dict[str, list] = {}

    def _adder(self, key, calls: bool):
        """``add(dt)``: ``dt`` [s] onto ``key``'s total (if it is a stage) and, with ``calls``,
        onto its per-call durations."""
        t = self.t
        record = self.calls.setdefault(key, []) if calls else None

        def add(dt):
            if key in t:
                t[key] += dt
            if record is not None:
                record.append(dt)
        return add

    def timed(self, fn, key, *, calls: bool = False):
        add, clock = self._adder(key, calls), time.perf_counter

        def wrapper(*args, **kwargs):
            t0 = clock()
            try:
                return fn(*args, **kwargs)
            finally:
                add(clock() - t0)
        return wrapper

    def timed_steps(self, fn, key, *, calls: bool = True):
        """:meth:`timed` for a generator of network steps, each run timed from its first
        step to its return; the network calls its driver makes meanwhile count (the
        instrumented session runs alone: ``run_alone`` calls the network in between)."""
        add, clock = self._adder(key, calls), time.perf_counter

        def wrapper(*args, **kwargs):
            t0 = clock()
            try:
                return (yield from fn(*args, **kwargs))
            finally:
                add(clock() - t0)
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

    def timed_network(network, method, key, calls=False):
        # run_alone calls <method>, run_together <method>_batch (ibeat_core.batching).
        names = [n for n in (method, method + "_batch") if hasattr(network, n)]
        return _Proxy(network, **{n: acc.timed(getattr(network, n), key, calls=calls)
                                  for n in names})

    nets = Networks(
        beat=timed_network(networks.beat, "step", "visbeat"),
        style=timed_network(networks.style, "step", "mustyle"),
        drumgen=timed_network(networks.drumgen, "logits", "drumgen_net", calls=True),
        mono=networks.mono)
    s = Session(nets, config)
    front_end = s.tracker._front_end
    for stage in (front_end._resampler, front_end._normaliser, front_end._completion):
        stage.process_frame = acc.timed(stage.process_frame, "front_end")
    for stage in (front_end._directogram, front_end._flux):  # array stages: network steps
        stage.process_frame_steps = acc.timed_steps(stage.process_frame_steps, "front_end",
                                                    calls=False)
    front_end._scale.process_pose = acc.timed(front_end._scale.process_pose, "front_end")
    s.tracker.decoder.process_frame = acc.timed(s.tracker.decoder.process_frame, "hmm")
    s._schedule_beat = acc.timed_steps(s._schedule_beat, "generation")
    s._style_context = acc.timed(s._style_context, "style_context", calls=True)
    return s


class _PerGridFrame:
    """Push times charged to the grid frames they completed [s each]; a push that completes
    none is charged to the next one that does."""

    def __init__(self):
        self.times: list[float] = []
        self._pending = 0.0

    def new_stream(self):
        """A fresh session: what the last one's trailing pushes took is not carried over."""
        self._pending = 0.0

    def add(self, seconds: float, n_grid: int):
        self._pending += seconds
        if n_grid:
            self.times += [self._pending / n_grid] * n_grid
            self._pending = 0.0


def _clean_push(networks, config, streams, budget: int):
    """Whole ``Session.process_frame`` time per grid frame over ``streams`` of
    ``(timestamps_s, keypoints)``, a fresh session each: ``(seconds per grid frame, input
    frames, grid frames)``; a push that completes no grid frame is charged to the next one."""
    from ibeat_core.session import Session

    push, n_in = _PerGridFrame(), 0
    for timestamps_s, keypoints in streams:
        s = Session(networks, config)
        push.new_stream()
        for t, kp in zip(timestamps_s, keypoints):
            t0 = time.perf_counter()
            n = len(s.process_frame(t, kp))
            push.add(time.perf_counter() - t0, n)
            n_in += 1
            if len(push.times) >= budget:
                return push.times, n_in, len(push.times)
    return push.times, n_in, len(push.times)


def _together_push(networks, config, streams, budget: int):
    """Whole push per grid frame with the streams' frames of each instant run together
    (:func:`~ibeat_core.batching.run_together`: one network call per round for all, as a
    loaded server runs them): ``(seconds per grid frame, grid frames)``; an instant is
    charged evenly to the grid frames it completed."""
    from ibeat_core.batching import StepFailed, run_together
    from ibeat_core.session import Session

    sessions = [Session(networks, config) for _ in streams]
    push = _PerGridFrame()
    for i in range(min(len(t) for t, _ in streams)):
        t0 = time.perf_counter()
        frames = run_together([s.process_frame_steps(t[i], kp[i])
                               for s, (t, kp) in zip(sessions, streams)])
        seconds = time.perf_counter() - t0
        failed = [f.error for f in frames if isinstance(f, StepFailed)]
        if failed:
            raise failed[0]
        push.add(seconds, sum(len(f) for f in frames))
        if len(push.times) >= budget:
            break
    return push.times, len(push.times)


#: 3D inputs timed beside the camera clip: name -> what the client sends
#: (:data:`ibeat_io.clips3d.BODIES`).
BODIES_3D = {"3D full body (COCO-17 3D)": "full", "3D head + hands": "head-hands"}
#: Rate [Hz] of the 3D inputs timed (a headset's).
HEADSET_HZ = 90.0


def _bench_3d(networks, config, budget: int) -> dict:
    """The whole push per grid frame for 3D bodies at a headset's rate: the generated
    exercise suite's first clips (no data needed), each as every :data:`BODIES_3D`."""
    from ibeat_core.body3d import Body3DConfig
    from ibeat_io.clips3d import BODY_LAYOUTS, client_frames
    from ibeat_io.exercise import exercise_suite

    clips = exercise_suite(seed=0, n_clips=4)
    out = {}
    for name, body in BODIES_3D.items():
        streams = [client_frames(c.mocap, body=body, rate_hz=HEADSET_HZ)[:2] for c in clips]
        layout = BODY_LAYOUTS[body]
        push_s, n_in, n_grid = _clean_push(
            networks, replace(config, body3d=Body3DConfig(layout=layout)), streams, budget)
        out[name] = {"layout": layout, "input_fps": HEADSET_HZ, "input_frames": n_in,
                     "grid_frames": n_grid, "push": _stats_ms(push_s),
                     # All push time over all input frames: the cost of each headset frame.
                     "per_input_frame_mean_ms": float(np.sum(push_s) / max(n_in, 1) * 1e3)}
    return out


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
    push_s, n_in, n_grid = _clean_push(networks, config,
                                       [(c.timestamps_s, c.keypoints) for c in clips], budget)
    if progress:
        _log(f"compute: {n_grid} grid frames ({n_in} input frames) timed clean")
    together_s, n_together = _together_push(
        networks, config, [(c.timestamps_s, c.keypoints) for c in clips], budget)

    # Pass 2, instrumented: stages per grid frame, generation per beat.
    acc = _Acc()
    per_stage = {k: [] for k in STAGES}
    n_grid2 = 0
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
    gen_calls = acc.calls.get("generation", [])
    out = {
        "clip": path.name, "views": n_views, "grid_frames": n_grid, "input_frames": n_in,
        "input_fps": input_fps,
        "mode": config.mode, "genre": config.genre, "genre_strength": config.genre_strength,
        "push": _stats_ms(push_s),
        "push_together": {"streams": len(clips), "grid_frames": n_together,
                          "push": _stats_ms(together_s)},
        "push_3d": _bench_3d(networks, config, budget),
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
