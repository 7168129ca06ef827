"""What every section of ``ibeat bench`` shares: the issue's targets and progress lines."""

from __future__ import annotations

import sys

__all__ = ["TARGETS"]

#: The issue's targets.
TARGETS = {
    "frame_median_ms": 0.3,          # per-frame engine compute, median
    "beat_generation_ms": 2.0,       # per-beat drum generation (median)
    "grpc_p99_ms_1": 5.0,            # gRPC processing latency p99, 1 session
    "grpc_p99_ms_32": 10.0,          # ... 32 sessions
    "hits_on_time_share": 0.99,      # hits arriving before their play time
    "rss_mb_32": 300.0,              # server RSS at 32 sessions
    "soak_rss_growth_mb": 5.0,       # soak: RSS growth over the last half of the run
}


def _log(message: str):
    print(f"[bench] {message}", file=sys.stderr, flush=True)
