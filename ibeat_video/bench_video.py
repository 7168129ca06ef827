"""``ibeat bench --sections video``: the camera front-end in real time, per pose model.

For each bundled pose model, the dance video is played through
:func:`ibeat_video.live.run_live` exactly as ``ibeat live --video`` does
(paced at its frame rate like a camera, stale frames skipped, no audio, no
preview): frames captured, posed and dropped, per-stage latency (capture ->
pose done, pose done -> events, end-to-end capture -> event), the lead hits
keep before their play time, and the CPU the process used. Then, for the
ceiling, the same video offline (every frame, no pacing): how many frames per
second the model can pose on this machine.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

__all__ = ["VIDEO", "bench_video", "format_video"]

#: The shared dance video, relative to the data root (AIST Dance DB via
#: Dance2Music test set: 512x288, 30 fps, 9.6 s).
VIDEO = Path("dance-videos") / "aist_dance2music_test_0.mp4"


def _log(message: str):
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def _offline_fps(video, model: str) -> dict:
    """Pose every frame of ``video`` as fast as possible: frames/s and CPU cores."""
    from .capture import PosePipeline, open_source
    from .pose import PoseConfig, PoseEstimator

    with open_source(video) as source, PoseEstimator(PoseConfig(model=model)) as est:
        cpu0, t0 = time.process_time(), time.monotonic()
        pipeline = PosePipeline(source, est, realtime=False)
        n = sum(1 for _ in pipeline)
        wall = time.monotonic() - t0
        cpu = time.process_time() - cpu0
    return {"frames": n, "fps": round(n / wall, 1), "cpu_cores": round(cpu / wall, 2),
            "pose_ms": pipeline.stats["pose_ms"]}


def bench_video(video=None, *, data_dir=None, models=("lite", "full"), offline: bool = True,
                networks=None, progress: bool = True) -> dict:
    """Measure the live video path on one video per pose model.

    Parameters
    ----------
    video : path-like, optional
        Default: :data:`VIDEO` under ``data_dir``.
    data_dir : path-like, optional
        The shared data root (needed when ``video`` is None).
    models : tuple of str
        Pose models to run (:data:`ibeat_video.pose.POSE_MODELS`).
    offline : bool
        Also measure the offline posing rate.
    networks : ibeat_core.session.Networks, optional

    Returns
    -------
    dict
        ``video``, and per model the :func:`~ibeat_video.live.run_live` summary
        (``realtime``) and, with ``offline``, the offline rate.
    """
    from ibeat_core.session import SessionConfig

    from .live import run_live
    from .pose import PoseConfig

    if video is None:
        if data_dir is None:
            raise FileNotFoundError("bench_video needs a video or a data directory")
        video = Path(data_dir) / VIDEO
    video = Path(video)
    if not video.is_file():
        raise FileNotFoundError(f"no video at {video}")
    if networks is None:
        from ibeat_models import load_networks
        networks = load_networks()
    out = {"video": str(video), "models": {}}
    for model in models:
        if progress:
            _log(f"video: {video.name} in real time, pose model {model}")
        rt = run_live(video, session_config=SessionConfig(), pose_config=PoseConfig(model=model),
                      audio=False, preview=False, networks=networks, status_every_s=None)
        entry = {"realtime": rt}
        if offline:
            if progress:
                _log(f"video: {video.name} offline, pose model {model}")
            entry["offline"] = _offline_fps(video, model)
        out["models"][model] = entry
    return out


def _f(v, digits=1) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def format_video(report: dict) -> str:
    """The markdown section of :func:`bench_video`'s report."""
    models = report["models"]
    any_rt = next(iter(models.values()))["realtime"]
    lines = ["## Camera front-end (video in real time)", "",
             f"`{Path(report['video']).name}` ({any_rt['width']}x{any_rt['height']}, "
             f"{any_rt['source_fps']:g} fps, {any_rt['duration_s']:.1f} s) played like a camera "
             "through `ibeat live --video` (no audio, no preview): a producer thread decodes and "
             "poses (MediaPipe PoseLandmarker, bundled model), skipping frames that went stale "
             "while it was busy; the consumer runs the engine. Latency in ms, p50 / p99: "
             "capture -> pose done (waiting behind the previous pose included), pose done -> "
             "events (hand-off + `Session.push`), end-to-end capture -> event (frames that "
             "produced events). Hit lead: play time - the moment the hit left the engine "
             "(p1 / p50). CPU: the whole process. Offline: every frame posed, no pacing.", "",
             "| pose model | captured / posed / dropped stale | posed fps | pose call | "
             "capture -> pose done | pose done -> events | end-to-end | hit lead p1 / p50 | "
             "CPU [cores] | offline fps (CPU) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for model, entry in models.items():
        s, off = entry["realtime"], entry.get("offline")
        lat, fr = s["latency_ms"], s["frames"]

        def pair(d):
            return f"{_f(d['p50'])} / {_f(d['p99'])}"

        lines.append(
            f"| {model} | {fr['captured']} / {fr['posed']} / {fr['dropped_stale']} | "
            f"{_f(s['posed_fps'])} | {pair(s['pose_ms'])} | {pair(lat['capture_to_posed'])} | "
            f"{pair(lat['posed_to_events'])} | {pair(lat['end_to_end'])} | "
            f"{_f(lat['hit_lead']['p1'])} / {_f(lat['hit_lead']['p50'])} | {s['cpu_cores']} | "
            + (f"{off['fps']} ({off['cpu_cores']}) |" if off else "- |"))
    lines.append("")
    return "\n".join(lines)
