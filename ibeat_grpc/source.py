"""The server's own source: a camera or a video run through pose and the engine, heard by listeners.

``ibeat-server --camera N`` or ``--video FILE`` runs one source session inside
the server, and any number of clients listen to it over
``ibeat.v1.Ibeat/Subscribe`` without sending frames:

* a :class:`SourceRunner` thread pulls :class:`~ibeat_video.capture.PosedFrame`
  objects from one :class:`SourcePass` (capture + pose in its own producer
  thread, :class:`~ibeat_video.capture.PosePipeline` in real time: the newest
  frame wins), pushes them through a
  :class:`~ibeat_video.video_session.VideoSession` and turns the events into
  wire messages;
* it hands each frame's messages to the :class:`SourceHub` on the server's
  event loop (``call_soon_threadsafe``: never blocks), which copies them into
  every listener's bounded :class:`~ibeat_grpc.servicer.Outbox`. A listener
  that does not read drops its own oldest messages (counted in its stats) and
  holds up neither the source nor the other listeners.

The source runs from server start whether or not anyone listens, like a radio:
a camera's beat tracker is warm when a listener joins, and every listener
hears the same beats at the same times. A video plays once (then every
listener gets SourceStatus ENDED, a final SessionStats and status OK) or, with
``--loop``, again and again: each pass is a fresh pose estimator and a fresh
engine (StreamRestarted), beat indices keep counting up.

Clocks (the *source clock*, integer microseconds on the wire): a camera's
frames are stamped with the server's ``time.monotonic()`` at grab; a file's
with its play position, each looped pass carrying on where the last ended.
:attr:`SourceHub.clock` gives ``(server_time_us, source_time_us)`` for one
instant, sent on SourceInfo and each SessionStats so listeners can map source
times onto their own clock.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Callable, Iterator, Protocol

import grpc

from ibeat_core.session import SessionConfig
from ibeat_core.stream import STATS_INTERVAL_US, EngineStream, to_us

from .servicer import (OUTBOX_SIZE, VALUES_PER_JOINT, Outbox, StreamError, event_messages,
                       model_versions)
from .v1 import ibeat_pb2 as pb

__all__ = ["DEFAULT_MAX_LISTENERS", "SourcePass", "SourceConfig", "VideoPass",
           "video_source", "SourceHub", "SourceRunner", "source_state", "monotonic_us"]

log = logging.getLogger("ibeat_grpc")

#: Concurrent Subscribe streams allowed by default.
DEFAULT_MAX_LISTENERS = 64
#: VideoSession.status_kind -> SourceState. "several people" and "person too
#: small" still feed a person to the engine (hits may come; the message says more).
_STATES = {"tracking": pb.SOURCE_STATE_TRACKING, "several people": pb.SOURCE_STATE_TRACKING,
           "person too small": pb.SOURCE_STATE_TRACKING, "no person": pb.SOURCE_STATE_NO_PERSON,
           "too dark": pb.SOURCE_STATE_NO_PERSON}


def monotonic_us() -> int:
    """The server clock: ``time.monotonic()`` in integer microseconds."""
    return int(round(time.monotonic() * 1e6))


def source_state(status_kind: str) -> int:
    """A :attr:`VideoSession.status_kind` as a ``SourceState`` (TRACKING for unknown kinds)."""
    return _STATES.get(status_kind, pb.SOURCE_STATE_TRACKING)


class SourcePass(Protocol):
    """One pass over a source: a camera's whole life, or one play of a file.

    Attributes
    ----------
    name : str
    is_live : bool
        A camera: frames come at their own pace, the pass ends only if it is lost.
    fps : float
        Frame rate [Hz].
    width, height : int
        Frame size [px].
    frame_count : int or None
        Frames in a file, None for a camera.
    """

    name: str
    is_live: bool
    fps: float
    width: int
    height: int
    frame_count: int | None

    def frames(self) -> Iterator:
        """Start capture and pose; yield ``PosedFrame`` objects until the file ends or :meth:`stop`.

        A failing camera or file raises here (``ibeat_video.errors.SourceError``).
        """

    def stop(self):
        """End :meth:`frames` soon; callable from any thread."""

    def close(self):
        """Stop and release the camera or file and the estimator."""

    def stats(self) -> dict:
        """Counters of the pass so far: at least ``captured`` frames."""


@dataclass(frozen=True)
class SourceConfig:
    """What ``start_server(source=...)`` runs.

    Attributes
    ----------
    open_pass : callable
        ``() -> SourcePass``; called once at server start (so a missing file or
        camera fails there) and again for each pass of a looping video.
    loop : bool
        Play a file again at its end (a camera never ends on purpose).
    session : SessionConfig
        The source session's engine settings (mode, genre, seed, lead time).
    pose_model : str
        For SourceInfo: ``"lite"`` or ``"full"``.
    session_factory : callable or None
        ``(networks, SessionConfig) -> VideoSession``-like (``push(PosedFrame)
        -> events``, ``status``, ``status_kind``). None: :class:`ibeat_video.
        video_session.VideoSession`.
    """

    open_pass: Callable[[], SourcePass]
    loop: bool = False
    session: SessionConfig = field(default_factory=SessionConfig)
    pose_model: str = "lite"
    session_factory: Callable | None = None


class VideoPass:
    """A :class:`SourcePass` over a real camera or file: ``open_source``, ``PoseEstimator``, ``PosePipeline``.

    Opening checks the source and loads the pose model; capture starts at
    :meth:`frames`. A fresh estimator per pass: MediaPipe's video mode needs
    strictly increasing timestamps, and a looped file starts again at 0.

    Raises
    ------
    ibeat_video.errors.SourceError
        No such camera, a missing or unreadable file.
    ibeat_core.errors.ParameterError
        An unknown pose model.
    """

    def __init__(self, spec, *, pose_model: str = "lite"):
        # Imported here: a server without a source never loads OpenCV or MediaPipe.
        from ibeat_video.capture import open_source
        from ibeat_video.pose import PoseConfig, PoseEstimator

        self._source = open_source(spec)
        try:
            self._estimator = PoseEstimator(PoseConfig(model=pose_model))
        except BaseException:
            self._source.close()
            raise
        s = self._source
        self.name, self.is_live, self.fps = s.name, s.is_live, float(s.fps)
        self.width, self.height, self.frame_count = int(s.width), int(s.height), s.frame_count
        self._pipeline = None
        self._lock = threading.Lock()
        self._stopped = False
        self._closed = False

    def frames(self) -> Iterator:
        from ibeat_video.capture import PosePipeline

        with self._lock:
            if self._stopped:
                return iter(())
            self._pipeline = PosePipeline(self._source, self._estimator, realtime=True)
        return iter(self._pipeline)

    def stop(self):
        with self._lock:
            self._stopped = True
            pipeline = self._pipeline
        if pipeline is not None:
            pipeline.stop()

    def close(self):
        self.stop()
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._source.close()
        self._estimator.close()

    def stats(self) -> dict:
        pipeline = self._pipeline
        return dict(pipeline.stats) if pipeline is not None else {"captured": 0}


def video_source(spec, *, loop: bool = False, pose_model: str = "lite",
                 session: SessionConfig = SessionConfig()) -> SourceConfig:
    """The :class:`SourceConfig` of a camera index (``0``, ``"0"``) or a video path, with real pose."""
    return SourceConfig(open_pass=lambda: VideoPass(spec, pose_model=pose_model), loop=loop,
                        session=session, pose_model=pose_model)


def describe(p: SourcePass, *, loop: bool) -> str:
    """``"camera 0 (640x480, 30 fps)"`` or ``"video clip.mp4 (512x288, 30 fps, 9.6 s, looping)"``."""
    size = f"{p.width}x{p.height}, {p.fps:g} fps"
    if p.is_live:
        return f"{p.name} ({size})"
    length = f", {p.frame_count / p.fps:.1f} s" if p.frame_count and p.fps > 0 else ""
    return f"video {p.name} ({size}{length}{', looping' if loop else ''})"


@dataclass(eq=False)
class _Listener:
    listener_id: str
    outbox: Outbox
    peer: str = ""


class SourceHub:
    """The listeners of the source, on the server's event loop: fan-out, joining, ending.

    Every method runs on the event loop's thread (the runner calls through
    ``loop.call_soon_threadsafe``), so nothing needs a lock; :attr:`listeners`
    may be read from any thread.

    Parameters
    ----------
    info : pb.SourceInfo
        The template of each listener's first message (description, size,
        session settings); the listener id, clock and count are filled per listener.
    max_listeners, outbox_size : int
    """

    def __init__(self, info: pb.SourceInfo, *, max_listeners: int = DEFAULT_MAX_LISTENERS,
                 outbox_size: int = OUTBOX_SIZE):
        if max_listeners < 1:
            raise ValueError(f"max_listeners must be >= 1, got {max_listeners}")
        self.info = info
        self.description = info.description
        self.max_listeners = int(max_listeners)
        self.outbox_size = int(outbox_size)
        self._listeners: dict[str, _Listener] = {}
        self.status = pb.SourceStatus(state=pb.SOURCE_STATE_STARTING,
                                      message="starting: no frame yet",
                                      server_time_us=monotonic_us())
        self._anchor: tuple[int, float] | None = None  # (source us, server monotonic s) of one frame
        self._stats = pb.SessionStats()  # the source's latest counters
        self._ended: tuple[pb.SourceStatus, StreamError | None] | None = None
        self.shutting_down = False

    @property
    def listeners(self) -> int:
        return len(self._listeners)

    @property
    def clock(self) -> tuple[int, int | None]:
        """``(server_time_us, source_time_us)`` now; the source time is None before the first frame.

        The source clock runs at the server clock's rate (real time), so its
        value now is that of the last frame plus the time since it was grabbed.
        """
        now = time.monotonic()
        server_us = int(round(now * 1e6))
        if self._anchor is None:
            return server_us, None
        source_us, grabbed_at = self._anchor
        return server_us, source_us + int(round((now - grabbed_at) * 1e6))

    # -- listeners (the Subscribe handler) ---------------------------------------------
    def open(self, peer: str = "") -> _Listener:
        """A new listener with SourceInfo, the current status (and the end, if over) queued.

        Raises
        ------
        StreamError
            UNAVAILABLE while shutting down, RESOURCE_EXHAUSTED at ``max_listeners``.
        """
        if self.shutting_down:
            raise StreamError(grpc.StatusCode.UNAVAILABLE, "server is shutting down")
        if len(self._listeners) >= self.max_listeners:
            raise StreamError(grpc.StatusCode.RESOURCE_EXHAUSTED,
                              f"server at its limit of {self.max_listeners} listeners; retry later")
        listener = _Listener(uuid.uuid4().hex[:16], Outbox(self.outbox_size), peer)
        self._listeners[listener.listener_id] = listener
        info = pb.SourceInfo()
        info.CopyFrom(self.info)
        info.listener_id = listener.listener_id
        info.listeners = len(self._listeners)
        server_us, source_us = self.clock
        info.server_time_us = server_us
        if source_us is not None:
            info.source_time_us = source_us
        listener.outbox.put(pb.ServerMessage(source=info))
        if self._ended is not None:
            status, error = self._ended
            listener.outbox.finish([pb.ServerMessage(source_status=status),
                                    self._stats_for(listener.outbox, final=True)], status=error)
        else:
            listener.outbox.put(pb.ServerMessage(source_status=self.status))
        return listener

    def release(self, listener: _Listener):
        listener.outbox.finish()
        self._listeners.pop(listener.listener_id, None)

    # -- the source (the runner, through call_soon_threadsafe) ------------------------
    def publish(self, messages: list, stats: pb.SessionStats | None = None,
                anchor: tuple[int, float] | None = None):
        """Queue one frame's messages for every listener; never blocks.

        Parameters
        ----------
        messages : list of pb.ServerMessage
            Events and status changes, shared by every listener.
        stats : pb.SessionStats or None
            The source's counters now; when given, each listener also gets a
            stats message with its own drops and a clock reading.
        anchor : (int, float) or None
            ``(source time [us], time.monotonic() [s])`` of the frame's grab.
        """
        if anchor is not None:
            self._anchor = anchor
        for m in messages:
            if m.HasField("source_status"):
                self.status = m.source_status
        if stats is not None:
            self._stats = stats
        if self._ended is not None or self.shutting_down:
            return
        for listener in self._listeners.values():
            box = listener.outbox
            for m in messages:
                box.put(m)
            if stats is not None:
                box.put(self._stats_for(box), is_stats=True)

    def end(self, status: pb.SourceStatus, stats: pb.SessionStats,
            error: StreamError | None = None):
        """The source is over: each listener (now or later) gets ``status``, final stats, the end."""
        self.status, self._stats = status, stats
        self._ended = (status, error)
        for listener in self._listeners.values():
            listener.outbox.finish([pb.ServerMessage(source_status=status),
                                    self._stats_for(listener.outbox, final=True)], status=error)

    def shutdown(self):
        """Refuse new listeners; end the open ones with final stats, then UNAVAILABLE."""
        self.shutting_down = True
        for listener in self._listeners.values():
            listener.outbox.finish([self._stats_for(listener.outbox, final=True)],
                                   status=StreamError(grpc.StatusCode.UNAVAILABLE,
                                                      "server is shutting down"))

    def _stats_for(self, box: Outbox, *, final: bool = False) -> pb.ServerMessage:
        stats = pb.SessionStats()
        stats.CopyFrom(self._stats)
        stats.events_dropped, stats.stats_dropped = box.events_dropped, box.stats_dropped
        stats.final = final
        server_us, source_us = self.clock
        stats.server_time_us = server_us
        if source_us is not None:
            stats.source_time_us = source_us
        return pb.ServerMessage(stats=stats)


class SourceRunner:
    """The source session's thread: posed frames -> VideoSession -> messages -> :class:`SourceHub`.

    Parameters
    ----------
    config : SourceConfig
    first_pass : SourcePass
        Already opened (``config.open_pass()``), so start-up errors surface in the caller.
    networks : ibeat_core.session.Networks
    hub : SourceHub
    loop : asyncio.AbstractEventLoop
        The server's loop, where the hub lives.
    stats_interval_us : int
        SessionStats every this much source time [us].
    """

    def __init__(self, config: SourceConfig, first_pass: SourcePass, *, networks, hub: SourceHub,
                 loop, stats_interval_us: int = STATS_INTERVAL_US):
        self.config = config
        self.networks = networks
        self.hub = hub
        self.loop = loop
        self.stats_interval_us = int(stats_interval_us)
        self._pass = first_pass
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ibeat-source", daemon=True)
        # Written by the runner thread only.
        self.passes = 0
        self._captured_before = 0  # frames captured by the passes before the current one
        self._stream: EngineStream | None = None  # from the first frame on

    @staticmethod
    def source_info(config: SourceConfig, first_pass: SourcePass,
                    stats_interval_us: int = STATS_INTERVAL_US) -> pb.SourceInfo:
        """The SourceInfo template of a source (per-listener fields left unset)."""
        s = config.session
        p = first_pass
        duration_us = (int(round(p.frame_count / p.fps * 1e6))
                       if not p.is_live and p.frame_count and p.fps > 0 else 0)
        return pb.SourceInfo(
            description=describe(p, loop=config.loop), is_live=p.is_live,
            loop=bool(config.loop and not p.is_live), fps=float(p.fps), width=int(p.width),
            height=int(p.height), duration_us=duration_us, pose_model=config.pose_model,
            seed=int(s.seed), session=pb.SessionAccepted(
                session_id=uuid.uuid4().hex[:16], model_versions=model_versions(),
                internal_rate_hz=float(s.rhythm.fps), joints_expected=17,
                values_per_joint=VALUES_PER_JOINT, lead_time_us=int(round(s.lead_s * 1e6)),
                genre=s.genre, mode=s.mode, max_gap_us=0, stats_interval_us=int(stats_interval_us)))

    def start(self) -> "SourceRunner":
        self._thread.start()
        return self

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout_s: float = 10.0):
        """Stop the source (from any thread) and wait for the runner thread."""
        self._stop.set()
        with self._lock:
            current = self._pass
        current.stop()
        if self._thread.ident is not None:
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                log.warning("the source thread did not stop within %g s", timeout_s)
        else:  # never started: release what was opened
            current.close()

    # -- runner thread ----------------------------------------------------------------
    def _post(self, fn, *args):
        try:
            self.loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:  # the loop is closed: the server is gone
            self._stop.set()

    def _status(self, state: int, message: str, time_us: int | None = None) -> pb.SourceStatus:
        status = pb.SourceStatus(state=state, message=message, server_time_us=monotonic_us())
        if time_us is not None:
            status.time_us = time_us
        return status

    @property
    def frames_processed(self) -> int:
        return self._stream.frames_processed if self._stream is not None else 0

    @property
    def _last_us(self) -> int:
        return (self._stream.last_us or 0) if self._stream is not None else 0

    def _stats(self, current: SourcePass) -> pb.SessionStats:
        captured = self._captured_before + int(current.stats().get("captured", 0))
        stream = self._stream
        processed = self.frames_processed
        received = max(captured, processed)
        p50, p99, mx = stream.latency.summary() if stream is not None else (0, 0, 0)
        return pb.SessionStats(
            frames_received=received, frames_processed=processed,
            frames_dropped=received - processed, latency_p50_us=p50, latency_p99_us=p99,
            latency_max_us=mx, stream_time_us=self._last_us,
            last_frame_id=stream.last_frame_id if stream is not None else 0,
            restarts=max(self.passes - 1, 0))

    def _run(self):
        try:
            error = self._run_passes()
        except Exception as e:  # a failing camera or file, or a bug: the source ends
            from ibeat_video.errors import SourceError
            if isinstance(e, SourceError):
                log.error("source %s failed: %s", self.hub.description, e)
                error = f"{e}"
            else:
                log.exception("source %s: internal error", self.hub.description)
                error = f"internal error: {type(e).__name__}: {e}"
        finally:
            with self._lock:
                current = self._pass
            try:
                current.close()
            except Exception:
                log.exception("closing the source")
        if self._stop.is_set() and error is None:
            return  # the server is stopping: the hub ends the listeners
        stats = self._stats(current)
        if error is None:
            status = self._status(pb.SOURCE_STATE_ENDED,
                                  f"video ended ({self.frames_processed} frames)", self._last_us)
            log.info("source %s: video ended", self.hub.description)
            self._post(self.hub.end, status, stats, None)
        else:
            what = "camera lost" if current.is_live else "video failed"
            status = self._status(pb.SOURCE_STATE_FAILED, f"{what}: {error}",
                                  self._last_us if self.frames_processed else None)
            self._post(self.hub.end, status, stats,
                       StreamError(grpc.StatusCode.UNAVAILABLE, f"source {what}: {error}"))

    def _run_passes(self) -> str | None:
        """Run passes until the end (None) or a lost camera (its message); raise on errors."""
        config = self.config
        factory = config.session_factory
        if factory is None:
            from ibeat_video.video_session import VideoSession as factory
        offset_us = 0      # source time of a file pass's position 0
        frame_base = 0     # frames of the earlier passes: frame ids keep counting
        while not self._stop.is_set():
            current = self._pass
            self.passes += 1
            session = factory(self.networks, config.session)
            origin_us, kind, last_index = None, None, -1
            for pf in current.frames():
                if self._stop.is_set():
                    break
                f = pf.frame
                if origin_us is None:
                    # Camera: capture time + this offset = the server's monotonic clock.
                    origin_us = (int(round((f.grabbed_at - f.time_s) * 1e6)) if current.is_live
                                 else offset_us)
                    self._begin_pass(session, origin_us, to_us(origin_us, f.time_s))
                t_us = to_us(origin_us, f.time_s)
                frame_id = frame_base + int(f.index)
                step = self._stream.push(t_us, frame_id=frame_id,
                                         run=lambda _, pf=pf: session.push(pf))
                messages = event_messages(step.events, frame_id=frame_id)
                if session.status_kind != kind:
                    kind = session.status_kind
                    messages.append(pb.ServerMessage(source_status=self._status(
                        source_state(kind), session.status, t_us)))
                last_index = max(last_index, int(f.index))
                self._stream.latency.add((time.monotonic() - f.grabbed_at) * 1e6)
                stats = self._stats(current) if step.stats_due else None
                self._post(self.hub.publish, messages, stats, (t_us, f.grabbed_at))
            if self._stop.is_set():
                return None
            if current.is_live:
                note = current.stats().get("ended_early")
                return note or f"{current.name} stopped delivering frames"
            if not config.loop:
                return None
            if origin_us is None:
                raise RuntimeError(f"{current.name} gave no frame in a whole pass")
            # The next pass carries on one frame after this one's last frame.
            offset_us = origin_us + int(round((last_index + 1) / current.fps * 1e6))
            frame_base += last_index + 1
            self._captured_before += int(current.stats().get("captured", 0))
            current.close()
            nxt = config.open_pass()
            with self._lock:
                self._pass = nxt
            if self._stop.is_set():
                return None
        return None

    def _begin_pass(self, session, origin_us: int, first_us: int):
        """The stream at a pass's first frame: new, or restarted with the pass's fresh engine."""
        if self._stream is None:
            self._stream = EngineStream(session, origin_us=origin_us, max_gap_us=None,
                                        stats_interval_us=self.stats_interval_us)
        else:
            self._stream.restart(time_us=first_us, origin_us=origin_us, engine=session,
                                 reason=f"video looped: pass {self.passes} from the start of the "
                                        f"file, engine restarted")
