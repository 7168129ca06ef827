"""Prometheus metrics of one server process (``ibeat-server --metrics-port N``).

The servicer reports what happens through a
:class:`~ibeat_grpc.observer.StreamObserver` (a no-op by default, so the
servicer never imports prometheus_client);
:class:`ServerMetrics` is the observer that counts it into its own
``CollectorRegistry`` (two servers in one process do not share counters) and
serves ``/metrics`` over HTTP from a daemon thread.

Names (Prometheus conventions: ``_total`` for counters, base units):

=====================================  =====================================================
``ibeat_sessions_active``              open Session streams now (the autoscaler's metric)
``ibeat_sessions_max``                 ``--max-sessions``
``ibeat_listeners_active``             open Subscribe streams now
``ibeat_sessions_opened_total``        Session streams accepted
``ibeat_sessions_refused_total``       Session streams refused at open, by ``code``
``ibeat_sessions_ended_total``         Session streams ended, by ``code`` (OK, CANCELLED, ...)
``ibeat_frames_total``                 PoseFrames run through the engine
``ibeat_frame_latency_seconds``        frame received -> its events queued (histogram)
``ibeat_engine_batch_frames``          frames of different streams run together (histogram)
``ibeat_engine_cpu_seconds_total``     CPU time in the engine (the rest of the process's CPU
                                       time moves messages: gRPC and the event loop)
``ibeat_hits_sent_total``              drum hits sent
``ibeat_hits_dropped_late_total``      hits not sent: already late on the client's clock
``ibeat_stream_restarts_total``        engine restarts after gaps
``ibeat_loop_lag_seconds``             how late the event loop ran its timer (histogram)
``process_cpu_seconds_total``, ...     the process's CPU time, memory and files (Linux):
                                       prometheus_client's process collector
=====================================  =====================================================
"""

from __future__ import annotations

from prometheus_client import (CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector,
                               start_http_server)

from .observer import StreamObserver

__all__ = ["ServerMetrics"]


class ServerMetrics(StreamObserver):
    """The counters of one server process and their HTTP endpoint.

    The gauges read the servicer at each scrape, once :meth:`watch` named it.
    """

    def __init__(self):
        self.registry = r = CollectorRegistry()
        self._active = Gauge("ibeat_sessions_active", "Open Session streams", registry=r)
        self._max = Gauge("ibeat_sessions_max",
                          "Concurrent Session streams allowed (--max-sessions)", registry=r)
        self._listeners = Gauge("ibeat_listeners_active", "Open Subscribe streams", registry=r)
        self._opened = Counter("ibeat_sessions_opened", "Session streams accepted", registry=r)
        self._refused = Counter("ibeat_sessions_refused", "Session streams refused at open",
                                ["code"], registry=r)
        self._ended = Counter("ibeat_sessions_ended", "Session streams ended, by status",
                              ["code"], registry=r)
        self._frames = Counter("ibeat_frames", "PoseFrames run through the engine", registry=r)
        self._latency = Histogram(
            "ibeat_frame_latency_seconds", "Frame received -> its events queued",
            buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25), registry=r)
        self._batch = Histogram(
            "ibeat_engine_batch_frames", "Frames of different streams run through the engine "
            "together (one network call per round for all)",
            buckets=(1, 2, 4, 8, 16, 32, 64), registry=r)
        self._engine_cpu = Counter(
            "ibeat_engine_cpu_seconds", "CPU time of the event loop's thread in the engine "
            "(network steps and the streams' own work, not reading and writing messages)",
            registry=r)
        self._hits_sent = Counter("ibeat_hits_sent", "Drum hits sent", registry=r)
        self._hits_late = Counter("ibeat_hits_dropped_late",
                                  "Hits not sent: their play time had passed on the client's clock",
                                  registry=r)
        self._restarts = Counter("ibeat_stream_restarts", "Engine restarts after gaps",
                                 registry=r)
        self._lag = Histogram(
            "ibeat_loop_lag_seconds", "How late the event loop ran a 20-ms timer",
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0), registry=r)
        ProcessCollector(registry=r)  # the engine's CPU time beside the whole process's
        self._http = None

    def watch(self, servicer):
        """Read the gauges from ``servicer`` (an :class:`~ibeat_grpc.servicer.IbeatServicer`)."""
        self._active.set_function(lambda: servicer.active_sessions)
        self._max.set_function(lambda: servicer.registry.max_sessions)
        self._listeners.set_function(lambda: servicer.listeners)

    def session_opened(self):
        self._opened.inc()

    def session_refused(self, code: str):
        self._refused.labels(code=code).inc()

    def session_ended(self, code: str):
        self._ended.labels(code=code).inc()

    def frame(self, latency_s: float):
        self._frames.inc()
        self._latency.observe(latency_s)

    def batch(self, frames: int, cpu_s: float):
        self._batch.observe(frames)
        self._engine_cpu.inc(cpu_s)

    def hits(self, sent: int, dropped_late: int):
        if sent:
            self._hits_sent.inc(sent)
        if dropped_late:
            self._hits_late.inc(dropped_late)

    def restart(self):
        self._restarts.inc()

    def loop_lag(self, lag_s: float):
        self._lag.observe(lag_s)

    def serve(self, host: str, port: int) -> int:
        """Serve ``/metrics`` on ``host:port`` (0: any free port); returns the bound port.

        Raises
        ------
        OSError
            The address could not be bound.
        """
        try:
            self._http, _ = start_http_server(port, addr=host, registry=self.registry)
        except OSError as e:
            raise OSError(f"could not serve metrics on {host}:{port}: {e.strerror or e}; "
                          f"choose another --metrics-port") from None
        return self._http.server_port

    def stop(self):
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None
