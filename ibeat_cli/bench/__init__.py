"""``ibeat bench``: compute, gRPC latency and musical timing of the real-time engine.

Eight sections, each optional:

* **compute** (:mod:`~ibeat_cli.bench.compute`, one thread): the bundled clip
  streamed at 30 fps (a live client's rate) through
  :class:`~ibeat_core.session.Session`, every view in turn (a fresh session per
  view). Per 30 Hz grid frame: median and p99 of each stage (front end =
  resampling, body scale, directogram, deceleration flux and offset
  normaliser; VisBeatNet step; B-HMM step; MuStyleNet step; session
  bookkeeping = the rest of ``push``) and of the whole ``Session.push``; per
  beat, the drum generation (style context, bar count, DrumGenNet,
  sampling, hit events). The whole-push figures come from a separate pass
  without instrumentation. A push that completes no grid frame (inputs faster
  than the 30 Hz grid) is charged to the next grid frame, so the per-frame
  figures are the engine's whole cost per grid frame.
* **grpc** (:mod:`~ibeat_cli.bench.load`): ``ibeat-server``
  (``python -m ibeat_grpc.server``) in a subprocess on a free loopback port, a
  fresh one per load level; N concurrent replay sessions of the bundled clip,
  resampled to 30 fps and looped forwards-backwards (no jump in the motion),
  each view and seed its own, paced in real time by client subprocesses
  (:mod:`~ibeat_cli.bench.client`) of at most ``per_process`` sessions each
  (their start phases spread over one frame period). Client and server share
  the machine's cores. Server processing latency comes from each session's
  final SessionStats (frame received -> its events queued); client latency is
  frame handed to gRPC -> the event it produced received; hit lead time is how
  long before its play time each hit arrived (negative = late); the server's
  RSS is sampled from ``/proc/PID/status`` every 0.1 s
  (:mod:`~ibeat_cli.bench.procstat`).
* **soak** (only when asked): 64 such sessions (``soak_sessions``) for 10
  minutes; the server's RSS every 10 s, hits on time, errors.
* **abuse** (only when asked): 16 such sessions (``duration_s`` each) on one server process beside 6
  streams sending frames 1.99 s apart as fast as they can (each frame makes the
  engine fill 2 s of grid frames): the healthy sessions' hits on time.
* **capacity** (only when asked): one server process pinned to one CPU, its
  clients to the others, at 16 to 96 real-time sessions (``capacity_sessions``,
  ``duration_s`` each, ``capacity_runs`` times): the most it holds in every run with
  >= 99% of hits on time and every stream OK, the most with server p99 <= 10 ms as
  well, and what nodes of 1-16 cores hold at one worker per core.
* **cluster** (:mod:`~ibeat_cli.bench.cluster`, only when asked; needs the
  repository's ``deploy/`` and the deploy extra): ``cluster_sessions`` sessions
  through the real Envoy to 3 replicas on loopback: the spread, a replica killed
  (reconnects, untouched sessions), a rolling restart with drain (sessions lost).
* **timing** (:mod:`~ibeat_cli.bench.timing`, needs a data folder): every
  held-out sequence of :func:`ibeat_io.beat_data.build_beat_examples` (view 0),
  through :func:`~ibeat_core.session.run_session` in Poly and Mono mode: the
  distance from each generated on-beat hit (16th step 0) to the nearest offline
  visual beat (the ground truth).
* **video** (needs a data folder): the camera/video front-end on the 30 fps
  512x288 dance video played like a camera (:mod:`ibeat_video.bench_video`):
  frames captured, posed and dropped as stale, per-stage latency from capture
  to event, CPU, for each pose model.

The issue's targets are in :mod:`~ibeat_cli.bench.common`; machine facts and the
markdown summary in :mod:`~ibeat_cli.bench.report`.
"""

from __future__ import annotations

import time

from .common import TARGETS
from .compute import STAGES, bench_compute
from .load import (CAPACITY_RUNS, CAPACITY_SESSIONS, bench_abuse, bench_capacity, bench_grpc,
                   bench_soak, loop_frames, parse_sessions)
from .report import _machine, format_bench
from .timing import bench_timing, nearest_distances

__all__ = ["BENCH_SECTIONS", "DEFAULT_SECTIONS", "TARGETS", "STAGES", "bench_compute", "bench_grpc", "bench_timing", "run_bench",
           "format_bench", "loop_frames", "nearest_distances", "parse_sessions"]

#: Every section of ``ibeat bench``, in the order they run.
BENCH_SECTIONS = ("compute", "grpc", "soak", "abuse", "capacity", "cluster", "timing", "video")
#: What ``ibeat bench`` runs unless told (the soak takes 10 minutes).
DEFAULT_SECTIONS = ("compute", "grpc", "timing", "video")


def run_bench(*, sections=DEFAULT_SECTIONS, sessions=(1, 8, 32, 64),
              duration_s: float = 20.0, compute_frames: int | None = None, per_process: int = 8,
              workers: int = 1, data_dir=None, command: str = "ibeat bench",
              soak_duration_s: float = 600.0, soak_sessions: int = 64,
              capacity_sessions=CAPACITY_SESSIONS, capacity_runs: int = CAPACITY_RUNS,
              cluster_sessions: int = 96, progress: bool = True):
    """Everything ``ibeat bench`` prints: returns (markdown text, report dict)."""
    t0 = time.monotonic()
    report = {"command": command, "date": time.strftime("%Y-%m-%d"), "machine": _machine(),
              "targets": TARGETS}
    if "compute" in sections:
        report["compute"] = bench_compute(max_frames=compute_frames, progress=progress)
    if "grpc" in sections and sessions:
        report["grpc"] = bench_grpc(sessions, duration_s=duration_s, per_process=per_process,
                                    workers=workers, progress=progress)
    if "soak" in sections:
        report["soak"] = bench_soak(soak_sessions, duration_s=soak_duration_s,
                                    per_process=per_process,
                                    workers=workers, progress=progress)
    if "abuse" in sections:
        report["abuse"] = bench_abuse(16, duration_s=duration_s, per_process=per_process,
                                      progress=progress)
    if "capacity" in sections:
        report["capacity"] = bench_capacity(capacity_sessions, duration_s=duration_s,
                                            per_process=per_process, runs=capacity_runs,
                                            progress=progress)
    if "cluster" in sections:
        from .cluster import bench_cluster
        report["cluster"] = bench_cluster(cluster_sessions, per_process=per_process,
                                          progress=progress)
    if "timing" in sections and data_dir is not None:
        report["timing"] = bench_timing(data_dir, progress=progress)
    if "video" in sections and data_dir is not None:
        from ibeat_video.bench_video import bench_video
        report["video"] = bench_video(data_dir=data_dir, progress=progress)
    report["wall_s"] = round(time.monotonic() - t0, 1)
    return format_bench(report), report
