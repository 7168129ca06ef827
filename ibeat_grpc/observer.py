"""What the servicer reports as streams come and go: the hooks a metrics exporter fills in.

The servicer calls a :class:`StreamObserver`; this one does nothing, so serving
needs no metrics library. :class:`ibeat_grpc.metrics.ServerMetrics` counts
them for Prometheus. Every method is called on the server's event loop and
must return at once.
"""

from __future__ import annotations

__all__ = ["StreamObserver"]


class StreamObserver:
    """What the servicer tells an observer; every method does nothing here."""

    def session_opened(self):
        """A Session stream was accepted."""

    def session_refused(self, code: str):
        """A Session stream was refused at open with this status name (RESOURCE_EXHAUSTED, ...)."""

    def session_ended(self, code: str):
        """An accepted Session stream ended with this status name (OK, CANCELLED, ...)."""

    def frame(self, latency_s: float):
        """A frame went through the engine in ``latency_s`` [s] (received -> events queued)."""

    def batch(self, frames: int, cpu_s: float):
        """The engine ran ``frames`` streams' frames together (:mod:`ibeat_grpc.batcher`),
        taking ``cpu_s`` [s] of the loop thread's CPU time."""

    def hits(self, sent: int, dropped_late: int):
        """A hits message went out with ``sent`` hits; ``dropped_late`` were already late."""

    def restart(self):
        """A stream's engine restarted after a gap."""

    def loop_lag(self, lag_s: float):
        """The event loop ran its monitor's timer ``lag_s`` [s] late."""
