"""The ``ibeat.v1.Ibeat`` servicer: one :class:`~ibeat_core.session.Session` per stream.

Layout after grpc's route_guide example: pure helpers at module level
(config and frame checks, stream events -> wire messages), a per-stream
:class:`StreamPipeline` (no threads or sockets: messages in, messages out; the
clock, restart and stats rules are the transport-neutral
:class:`ibeat_core.stream.EngineStream`), a bounded :class:`Outbox`, and a thin
:class:`IbeatServicer` for ``grpc.aio``, whose handlers the WebSocket transport
also runs (:mod:`ibeat_grpc.websocket`, through a stand-in for the context).

One asyncio event loop serves every stream; there are no per-stream threads.
Each stream has two coroutines: the ``Session`` handler sends what the
:class:`Outbox` holds (``await context.write``), and a reader task takes client
messages (``await context.read``), runs the engine inline on the loop (a frame
is short and CPU-bound) and fills the outbox. The engine never waits for the
client: when the outbox is full (the client stopped reading and gRPC's flow
control holds the writer), the oldest queued SessionStats is dropped first,
then the oldest event, and the drops are counted in the next SessionStats.
When the client leaves, whatever the reason, gRPC cancels the handler and its
``finally`` cancels the reader and frees the session. Everything here but the
pure helpers runs on the loop's thread only, so nothing needs a lock.

Clocks: the wire carries integer microseconds in the client's clock; the
engine runs in float seconds from the stream's origin (see
:mod:`ibeat_core.stream`).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
import uuid
from collections import deque
from dataclasses import dataclass
from functools import lru_cache

import grpc
import numpy as np
from google.protobuf.message import DecodeError

from ibeat_core.batching import Steps, run_alone
from ibeat_core.drums import DRUM_CLASSES, GENRES, GM_EXPORT_PITCHES
from ibeat_core.errors import ParameterError
from ibeat_core.keypoints import FPS
from ibeat_core.session import Session, SessionConfig
from ibeat_core.stream import (MAX_GAP_US, STATS_INTERVAL_US, EngineStream,
                               StreamBeat, StreamHit, StreamRestarted)

from ibeat_io.version import package_version

from .batcher import FrameBatcher
from .layouts import LAYOUTS, WireLayout, frame_of, layout_infos
from .load import WAITED_S, LoopMonitor, ServerLimits, Shedder, StreamClock, peer_host
from .observer import StreamObserver
from .v1 import ibeat_pb2 as pb
from .v1 import ibeat_pb2_grpc as pb_grpc

__all__ = ["PROTOCOL", "MAX_MESSAGE_BYTES", "MAX_GAP_US", "STATS_INTERVAL_US", "OUTBOX_SIZE",
           "VALUES_PER_JOINT", "NO_SOURCE_MESSAGE", "StreamError", "ClientGone",
           "session_config", "frame_keypoints", "event_messages", "hit_message", "Outbox",
           "StreamPipeline", "SessionRegistry", "IbeatServicer", "model_versions"]

log = logging.getLogger("ibeat_grpc")

PROTOCOL = "ibeat.v1"
#: Largest message the server accepts [bytes]; a BLAZEPOSE33 frame is about 420.
MAX_MESSAGE_BYTES = 64 * 1024
#: Messages queued for a client that is not reading before drops begin.
OUTBOX_SIZE = 256
#: Floats per joint in a 2D layout's PoseFrame.keypoints: x, y, confidence.
VALUES_PER_JOINT = 3
_MODES = {pb.DRUM_MODE_UNSPECIFIED: "poly", pb.DRUM_MODE_POLY: "poly", pb.DRUM_MODE_MONO: "mono"}
#: Subscribe on a server started without a source.
NO_SOURCE_MESSAGE = ("this server has no camera or video source; start it with --camera N or "
                     "--video FILE")
_DEFAULT = SessionConfig()
#: Longest genre string looked at (the longest genre name is 10).
_MAX_GENRE_CHARS = 32


class StreamError(Exception):
    """Ends one stream with a gRPC status; other streams are not affected."""

    def __init__(self, code: grpc.StatusCode, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class ClientGone(Exception):
    """A transport's read found the client gone (a WebSocket closed without ``end``)."""


def _invalid(message: str) -> StreamError:
    return StreamError(grpc.StatusCode.INVALID_ARGUMENT, message)


def session_config(msg: pb.SessionConfig) -> tuple[SessionConfig, WireLayout]:
    """A wire config as ``(core SessionConfig, the layout its frames come in)``.

    Raises
    ------
    StreamError
        INVALID_ARGUMENT naming the field, for unknown enums and bad values.
    """
    if msg.layout not in LAYOUTS:
        raise _invalid(f"unknown skeleton layout {msg.layout}; expected one of "
                       f"{', '.join(pb.SkeletonLayout.keys())}")
    if msg.coordinate_space not in pb.CoordinateSpace.values():
        raise _invalid(f"unknown coordinate space {msg.coordinate_space}")
    if msg.mode not in _MODES:
        raise _invalid(f"unknown drum mode {msg.mode}; expected DRUM_MODE_POLY or DRUM_MODE_MONO")
    if msg.HasField("nominal_fps") and not (np.isfinite(msg.nominal_fps)
                                            and 0 < msg.nominal_fps <= 1000):
        raise _invalid(f"nominal_fps must be in (0, 1000] Hz, got {msg.nominal_fps!r}")
    if msg.seed < 0:
        raise _invalid(f"seed must be >= 0, got {msg.seed}")
    for name in ("density", "temperature", "genre_strength"):
        if msg.HasField(name) and not np.isfinite(getattr(msg, name)):
            raise _invalid(f"{name} must be finite, got {getattr(msg, name)!r}")
    for name in ("temperature", "genre_strength"):
        if msg.HasField(name) and getattr(msg, name) < 0:
            raise _invalid(f"{name} must be >= 0, got {getattr(msg, name)!r}")
    if msg.HasField("lead_time_us") and not 0 < msg.lead_time_us <= 2_000_000:
        raise _invalid(f"lead_time_us must be in (0, 2000000] us, got {msg.lead_time_us}")
    if len(msg.genre) > _MAX_GENRE_CHARS:  # never echo a client's long string back
        raise _invalid(f"genre is {len(msg.genre)} characters long; expected one of "
                       f"{', '.join(GENRES)}")
    layout = LAYOUTS[msg.layout]
    try:
        body3d = frame_of(msg, layout)
    except ValueError as e:
        raise _invalid(str(e)) from None

    lead_s = msg.lead_time_us / 1e6 if msg.HasField("lead_time_us") else _DEFAULT.lead_s

    def opt(field, default):
        return float(getattr(msg, field)) if msg.HasField(field) else default

    try:
        config = SessionConfig(
            mode=_MODES[msg.mode], genre=msg.genre or "any", seed=int(msg.seed),
            density=opt("density", _DEFAULT.density),
            temperature=opt("temperature", _DEFAULT.temperature),
            genre_strength=opt("genre_strength", _DEFAULT.genre_strength),
            lead_s=lead_s, body3d=body3d,
            # A lead shorter than the default least lead keeps half of itself as the least.
            min_lead_s=min(_DEFAULT.min_lead_s, lead_s / 2))
    except ParameterError as e:
        raise _invalid(str(e)) from None
    return config, layout


def frame_keypoints(frame: pb.PoseFrame, layout: WireLayout) -> np.ndarray:
    """A frame's flat keypoints as the engine takes them.

    Returns
    -------
    np.ndarray, float32
        2D layouts: COCO-17 ``(17, 3)`` ``[x, y, confidence]``; 3D layouts: the
        layout's ``(J, 4)`` ``[x, y, z, confidence]``.

    Raises
    ------
    StreamError
        INVALID_ARGUMENT on a wrong count of values or any NaN/Inf.
    """
    kp = np.asarray(frame.keypoints, dtype=np.float32)
    per = layout.values_per_joint
    values = "x, y, z, confidence" if layout.is_3d else "x, y, confidence"
    expected = layout.n_joints * per
    if kp.size != expected:
        raise _invalid(f"frame {frame.frame_id} (t={frame.timestamp_us} us): expected {expected} "
                       f"keypoint values ({layout.n_joints} {layout.name} joints x {per}: "
                       f"{values}), got {kp.size}")
    kp = kp.reshape(layout.n_joints, per)
    bad = ~np.isfinite(kp)
    if bad.any():
        j, v = np.argwhere(bad)[0]
        axis = ("xyzc" if layout.is_3d else "xyc")[v]
        raise _invalid(f"frame {frame.frame_id} (t={frame.timestamp_us} us): joint {j} "
                       f"({layout.joints[j]}) {axis} is {kp[j, v]}; send a missed joint with "
                       f"confidence 0 and finite coordinates")
    index = layout.index
    return kp if index is None else kp[index]


@lru_cache(maxsize=1)
def model_versions() -> dict[str, str]:
    """Network name -> ``"sha256:<first 16 hex>"`` of its shipped ``.onnx``."""
    from ibeat_models.runtime import model_dir

    out = {}
    for name in ("visbeat", "mustyle", "drumgen", "mono"):
        digest = hashlib.sha256((model_dir(name) / f"{name}.onnx").read_bytes()).hexdigest()
        out[name] = f"sha256:{digest[:16]}"
    return out




class Outbox:
    """Bounded queue of messages for one client; :meth:`put` never blocks.

    When full, the oldest SessionStats is dropped first; a new SessionStats
    with no older one queued is dropped itself; otherwise the oldest event goes.
    ``final`` messages (:meth:`finish`) are always kept. Not thread-safe: used
    from one event loop; :meth:`wait` is the only coroutine.

    Examples
    --------
    >>> box = Outbox(2)
    >>> for m in ("stats", "beat", "beat"):
    ...     box.put(m, is_stats=(m == "stats"))
    >>> box.stats_dropped, box.events_dropped, len(box)
    (1, 0, 2)
    """

    def __init__(self, capacity: int = OUTBOX_SIZE):
        self.capacity = int(capacity)
        self._items: deque = deque()  # (message, is_stats)
        self._ready = asyncio.Event()  # set when an item or the end is queued
        self._status: StreamError | None = None
        self._ended = False
        self.events_dropped = 0
        self.stats_dropped = 0

    def __len__(self):
        return len(self._items)

    def put(self, message, *, is_stats: bool = False):
        if self._ended:
            return
        if len(self._items) >= self.capacity:
            i = next((k for k, (_, s) in enumerate(self._items) if s), None)
            if i is not None:
                del self._items[i]
                self.stats_dropped += 1
            elif is_stats:
                self.stats_dropped += 1
                return
            else:
                self._items.popleft()
                self.events_dropped += 1
        self._items.append((message, is_stats))
        self._ready.set()

    def finish(self, messages=(), status: StreamError | None = None):
        """Queue the last ``messages`` (never dropped), then the end of the stream (with ``status``)."""
        if self._ended:
            return
        self._items.extend((m, False) for m in messages)
        self._status = status
        self._ended = True
        self._ready.set()

    def get(self):
        """The next message, None when there is none yet; raise StopIteration / StreamError at the end."""
        if self._items:
            return self._items.popleft()[0]
        if self._ended:
            if self._status is not None:
                raise self._status
            raise StopIteration
        return None

    async def wait(self):
        """Return once a message or the end is queued."""
        while not self._items and not self._ended:
            self._ready.clear()
            await self._ready.wait()


class StreamPipeline:
    """One stream's engine and protocol state: client messages in, server messages out.

    No threads or sockets: :meth:`handle` takes one ``ClientMessage`` and returns
    the ``ServerMessage`` list it produced, or raises :class:`StreamError`. The
    stream rules (clock, gap restart, beat numbering, stats cadence) are
    :class:`~ibeat_core.stream.EngineStream`'s; this class adds the protocol.

    Parameters
    ----------
    networks : ibeat_core.session.Networks
        Shared, stateless.
    session_id : str
    dropped : callable
        ``() -> (events_dropped, stats_dropped)`` of the stream's outbox, for stats.
    max_gap_us, stats_interval_us : int
        See :data:`~ibeat_core.stream.MAX_GAP_US`, :data:`~ibeat_core.stream.STATS_INTERVAL_US`.
    """

    def __init__(self, networks, *, session_id: str, dropped=lambda: (0, 0),
                 max_gap_us: int = MAX_GAP_US, stats_interval_us: int = STATS_INTERVAL_US):
        self.networks = networks
        self.session_id = session_id
        self.dropped = dropped
        self.max_gap_us = int(max_gap_us)
        self.stats_interval_us = int(stats_interval_us)
        self.session: Session | None = None
        self.stream: EngineStream | None = None
        self.frames_received = 0
        #: Hits not sent because they were already late (see :mod:`ibeat_grpc.load`).
        self.hits_dropped_late = 0

    @property
    def frames_processed(self) -> int:
        return self.stream.frames_processed if self.stream is not None else 0

    @property
    def restarts(self) -> int:
        return self.stream.restarts if self.stream is not None else 0

    # -- messages in ------------------------------------------------------------------
    def handle(self, request: pb.ClientMessage) -> list:
        return run_alone(self.handle_steps(request))

    def handle_steps(self, request: pb.ClientMessage) -> Steps[list]:
        """:meth:`handle` as a generator of network steps, for
        :class:`~ibeat_grpc.batcher.FrameBatcher`."""
        kind = request.WhichOneof("msg")
        if kind == "config":
            if self.session is not None:
                raise StreamError(grpc.StatusCode.FAILED_PRECONDITION,
                                  "config sent twice: a stream has one config, first")
            return [self._accept(request.config)]
        if self.session is None:
            raise StreamError(grpc.StatusCode.FAILED_PRECONDITION,
                              f"the first message must be a config, got {kind or 'an empty message'}")
        if kind != "frame":
            raise _invalid("empty ClientMessage: set config, frame or end")
        return (yield from self._frame_steps(request.frame))

    def record_latency(self, latency_us: float):
        """Processing time of one frame [us], received -> its events queued."""
        self.stream.latency.add(latency_us)

    def stats(self, *, final: bool = False) -> pb.ServerMessage:
        stream = self.stream
        p50, p99, mx = stream.latency.summary() if stream is not None else (0, 0, 0)
        events_dropped, stats_dropped = self.dropped()
        return pb.ServerMessage(stats=pb.SessionStats(
            frames_received=self.frames_received, frames_processed=self.frames_processed,
            frames_dropped=self.frames_received - self.frames_processed,
            events_dropped=events_dropped, stats_dropped=stats_dropped,
            latency_p50_us=p50, latency_p99_us=p99, latency_max_us=mx,
            stream_time_us=(stream.last_us or 0) if stream is not None else 0,
            last_frame_id=stream.last_frame_id if stream is not None else 0,
            restarts=self.restarts, final=final, hits_dropped_late=self.hits_dropped_late))

    # -- internals --------------------------------------------------------------------
    def _accept(self, msg: pb.SessionConfig) -> pb.ServerMessage:
        config, self.layout = session_config(msg)
        self.session = Session(self.networks, config)
        self.stream = EngineStream(self.session, max_gap_us=self.max_gap_us,
                                   stats_interval_us=self.stats_interval_us)
        return pb.ServerMessage(accepted=pb.SessionAccepted(
            session_id=self.session_id, model_versions=model_versions(),
            internal_rate_hz=float(config.rhythm.fps), joints_expected=self.layout.n_joints,
            values_per_joint=self.layout.values_per_joint,
            lead_time_us=int(round(config.lead_s * 1e6)),
            genre=config.genre, mode=config.mode, max_gap_us=self.max_gap_us,
            stats_interval_us=self.stats_interval_us))

    def _frame_steps(self, frame: pb.PoseFrame) -> Steps[list]:
        self.frames_received += 1
        kp = frame_keypoints(frame, self.layout)
        try:
            step = yield from self.stream.push_steps(frame.timestamp_us, kp,
                                                     frame_id=frame.frame_id)
        except ParameterError as e:
            raise _invalid(str(e)) from None
        out = event_messages(step.events, frame_id=frame.frame_id, layout=self.layout)
        if step.stats_due:
            out.append(self.stats())
        return out


def event_messages(events, *, frame_id: int, layout: WireLayout = LAYOUTS[pb.SKELETON_LAYOUT_COCO17]
                   ) -> list:
    """Stream events of one frame as wire messages: a restart, then each BeatEvent and its hits
    batched in one DrumHits.

    Parameters
    ----------
    events : list of StreamRestarted, StreamBeat and StreamHit
        One :class:`~ibeat_core.stream.StreamStep`'s events.
    frame_id : int
        Echoed on the beat and hit messages.
    layout : WireLayout
        The layout the frames came in (``DrumHit.layout_joint``).

    Returns
    -------
    list of ServerMessage
    """
    out, batch = [], None
    for e in events:
        if isinstance(e, StreamRestarted):
            out.append(pb.ServerMessage(restarted=pb.StreamRestarted(
                time_us=e.time_us, gap_us=e.gap_us, reason=e.reason)))
        elif isinstance(e, StreamBeat):
            c = e.cue
            out.append(pb.ServerMessage(beat=pb.BeatEvent(
                time_us=e.time_us, tempo_bpm=c.tempo_bpm, confidence=c.confidence,
                index=e.index, feel=c.feel, emitted_us=e.emitted_us, frame_id=frame_id,
                beat_in_bar=c.bar_beat + 1 if c.bar_beat >= 0 else 0,
                beats_per_bar=c.beats_per_bar)))
            batch = None
        elif isinstance(e, StreamHit):
            if batch is None or batch.beat_index != e.beat_index:
                out.append(pb.ServerMessage(hits=pb.DrumHits(
                    beat_index=e.beat_index, emitted_us=e.emitted_us, frame_id=frame_id)))
                batch = out[-1].hits  # the message's own copy: the constructor copies
            batch.hits.append(hit_message(e, layout))
    return out


def hit_message(e: StreamHit, layout: WireLayout = LAYOUTS[pb.SKELETON_LAYOUT_COCO17]
                ) -> pb.DrumHit:
    """A stream hit on the wire, its driving joint also named in ``layout``."""
    hit = e.hit
    return pb.DrumHit(time_us=e.time_us, drum_class=hit.drum_class,
                      drum=DRUM_CLASSES[hit.drum_class], gm_pitch=hit.pitch,
                      velocity=hit.midi_velocity, beat_index=e.beat_index, step=hit.step,
                      joint=int(hit.joint), joint_x=float(hit.joint_x),
                      joint_y=float(hit.joint_y), joint_z=float(hit.joint_z),
                      layout_joint=layout.layout_joint(int(hit.joint)))


@dataclass(eq=False)
class _Stream:
    session_id: str
    outbox: Outbox
    peer: str = ""  # the client's address, without its port
    pipeline: StreamPipeline | None = None
    closed: bool = False  # set on shutdown or timeout: the reader takes no more frames
    #: Loop time [s] since which the reader waits for a client message; None while it works.
    waiting_since: float | None = None
    clock: StreamClock | None = None  # set by the servicer, which knows the restart gap
    #: How the stream ended (a status name), for the observer.
    outcome: str = "CANCELLED"


class SessionRegistry:
    """Open streams, at most ``max_sessions`` (and ``max_per_peer`` from one address);
    refuses new ones once shutting down.

    Used from the server's event loop only (reading :attr:`active` from another
    thread is fine).
    """

    def __init__(self, max_sessions: int, max_per_peer: int | None = None):
        self.max_sessions = int(max_sessions)
        self.max_per_peer = max_per_peer
        self._streams: dict[str, _Stream] = {}
        self._per_peer: dict[str, int] = {}
        self.shutting_down = False

    @property
    def active(self) -> int:
        return len(self._streams)

    def streams(self) -> list[_Stream]:
        return list(self._streams.values())

    def open(self, outbox_size: int, peer: str = "") -> _Stream:
        if self.shutting_down:
            raise StreamError(grpc.StatusCode.UNAVAILABLE,
                              "server is shutting down; reconnect (another replica takes it)")
        if len(self._streams) >= self.max_sessions:
            raise StreamError(grpc.StatusCode.RESOURCE_EXHAUSTED,
                              f"server at its limit of {self.max_sessions} sessions; retry later")
        if self.max_per_peer is not None and self._per_peer.get(peer, 0) >= self.max_per_peer:
            raise StreamError(grpc.StatusCode.RESOURCE_EXHAUSTED,
                              f"this address already has {self.max_per_peer} open sessions, the "
                              f"server's limit per address (--max-sessions-per-peer)")
        stream = _Stream(uuid.uuid4().hex[:16], Outbox(outbox_size), peer)
        self._streams[stream.session_id] = stream
        self._per_peer[peer] = self._per_peer.get(peer, 0) + 1
        return stream

    def release(self, stream: _Stream):
        stream.closed = True
        stream.outbox.finish()
        if self._streams.pop(stream.session_id, None) is not None:
            left = self._per_peer[stream.peer] - 1
            if left:
                self._per_peer[stream.peer] = left
            else:
                del self._per_peer[stream.peer]

    def shutdown(self) -> list[_Stream]:
        """Refuse new streams; return the open ones."""
        self.shutting_down = True
        return list(self._streams.values())


class IbeatServicer(pb_grpc.IbeatServicer):
    """Thin servicer: a :class:`StreamPipeline` per ``Session`` stream, nothing shared but the
    networks and the :class:`~ibeat_grpc.batcher.FrameBatcher` that runs their frames together.

    Parameters
    ----------
    networks : ibeat_core.session.Networks
        Loaded once (``ibeat_models.load_networks()``), shared by every stream.
    max_sessions : int
        Concurrent ``Session`` streams; more get RESOURCE_EXHAUSTED.
    outbox_size, max_gap_us, stats_interval_us : int
        See :data:`OUTBOX_SIZE`, :data:`MAX_GAP_US`, :data:`STATS_INTERVAL_US`.
    source : ibeat_grpc.source.SourceHub or None
        The listeners of the server's own camera or video (``Subscribe``);
        None: Subscribe fails with FAILED_PRECONDITION.
    limits : ServerLimits
        Idle timeouts, the per-address cap and the overload rules
        (:mod:`ibeat_grpc.load`); they apply once :meth:`start` ran on the loop.
    observer : StreamObserver
        Told of sessions, frames, hits and the loop's lag (:mod:`ibeat_grpc.metrics`).
    """

    def __init__(self, networks, *, max_sessions: int = 64, outbox_size: int = OUTBOX_SIZE,
                 max_gap_us: int = MAX_GAP_US, stats_interval_us: int = STATS_INTERVAL_US,
                 source=None, limits: ServerLimits = ServerLimits(),
                 observer: StreamObserver = StreamObserver()):
        self.networks = networks
        self.limits = limits
        self.observer = observer
        self.registry = SessionRegistry(max_sessions, limits.max_sessions_per_peer)
        self.outbox_size = outbox_size
        self.max_gap_us = max_gap_us
        self.stats_interval_us = stats_interval_us
        self.source = source
        self.monitor = LoopMonitor(contention_s=limits.pace_lag_s, on_sample=observer.loop_lag)
        #: Runs the streams' frames together, one network call per round for all of them.
        self.batcher = FrameBatcher(
            observer, window_s=limits.batch_window_s, streams=lambda: self.registry.active,
            contended=lambda: self.monitor.contended_within(limits.contention_memory_s))
        self._tasks: list[asyncio.Task] = []

    def start(self):
        """Start measuring the loop's lag and ending idle streams; call on the server's loop."""
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self.monitor.run(), name="ibeat-loop-monitor"),
                       loop.create_task(self._end_idle_streams(), name="ibeat-idle-streams")]

    async def _end_idle_streams(self, every_s: float = 0.25):
        """Every ``every_s``: end idle streams, and shed the newest session while overloaded."""
        limits = self.limits
        shedder = Shedder(limits)
        while True:
            await asyncio.sleep(every_s)
            now = self.monitor.now()
            behind_s = self.monitor.behind_s()
            if shedder.update(now, behind_s):
                self._shed_newest(behind_s)
            for stream in self.registry.streams():
                if stream.waiting_since is None or stream.closed:
                    continue
                configured = stream.pipeline is not None and stream.pipeline.session is not None
                waited = now - stream.waiting_since
                if configured and waited > limits.idle_timeout_s:
                    why = (f"no message for {limits.idle_timeout_s:g} s (the server's "
                           f"--idle-timeout-s); open a new stream when the body moves again")
                elif not configured and waited > limits.config_timeout_s:
                    why = (f"no config within {limits.config_timeout_s:g} s of opening the "
                           f"stream (the server's --config-timeout-s)")
                else:
                    continue
                stream.closed = True
                stream.outbox.finish([stream.pipeline.stats(final=True)] if configured else [],
                                     status=StreamError(grpc.StatusCode.DEADLINE_EXCEEDED, why))

    def _shed_newest(self, behind_s: float):
        """End the newest configured session (its final stats, then RESOURCE_EXHAUSTED); one
        running ahead of real time (a replay, a client skipping time) goes before any live one."""
        open_ = [s for s in self.registry.streams() if not s.closed and s.pipeline is not None
                 and s.pipeline.session is not None]
        ahead = [s for s in open_ if s.clock is not None and not s.clock.real_time]
        if not open_:
            return
        stream = (ahead or open_)[-1]
        log.warning("overloaded (%.0f ms behind for %g s): ending the newest session %s",
                    behind_s * 1e3, self.limits.shed_after_s, stream.session_id)
        stream.closed = True
        stream.outbox.finish([stream.pipeline.stats(final=True)], status=StreamError(
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            f"server overloaded ({behind_s * 1e3:.0f} ms behind for "
            f"{self.limits.shed_after_s:g} s): the newest session was ended to keep the "
            f"others on time; retry later"))

    @property
    def active_sessions(self) -> int:
        return self.registry.active

    @property
    def listeners(self) -> int:
        """Open ``Subscribe`` streams."""
        return self.source.listeners if self.source is not None else 0

    async def GetInfo(self, request, context):
        return pb.ServerInfo(
            server_version=package_version(), protocol=PROTOCOL, model_versions=model_versions(),
            internal_rate_hz=FPS, genres=list(GENRES), drum_classes=list(DRUM_CLASSES),
            gm_pitches=list(GM_EXPORT_PITCHES), active_sessions=self.registry.active,
            max_sessions=self.registry.max_sessions, max_message_bytes=MAX_MESSAGE_BYTES,
            max_gap_us=self.max_gap_us, default_lead_time_us=int(round(_DEFAULT.lead_s * 1e6)),
            source=self.source.description if self.source is not None else "",
            listeners=self.listeners,
            max_listeners=self.source.max_listeners if self.source is not None else 0,
            layouts=layout_infos(),
            config_timeout_us=int(round(self.limits.config_timeout_s * 1e6)),
            idle_timeout_us=int(round(self.limits.idle_timeout_s * 1e6)),
            max_sessions_per_peer=self.limits.max_sessions_per_peer or 0,
            loop_lag_us=int(round(self.monitor.lag_s * 1e6)))

    async def Subscribe(self, request, context):
        if self.source is None:
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, NO_SOURCE_MESSAGE)
        try:
            listener = self.source.open(context.peer())
        except StreamError as e:
            await context.abort(e.code, e.message)
        log.info("listener %s joined from %s (%d listening)", listener.listener_id,
                 context.peer(), self.source.listeners)
        outbox = listener.outbox
        # gRPC cancels the writer when the listener leaves; the finally frees its outbox.
        try:
            await _write(outbox, context, f"listener {listener.listener_id}")
        finally:
            self.source.release(listener)
            log.info("listener %s left (%d dropped)", listener.listener_id,
                     outbox.events_dropped + outbox.stats_dropped)

    async def Session(self, request_iterator, context):
        behind_s = self.monitor.behind_s()
        try:
            if behind_s > self.limits.refuse_lag_s:
                log.warning("session refused: the server is %.0f ms behind", behind_s * 1e3)
                raise StreamError(grpc.StatusCode.RESOURCE_EXHAUSTED,
                                  f"server overloaded ({behind_s * 1e3:.0f} ms behind); "
                                  f"retry later, or run more --workers")
            stream = self.registry.open(self.outbox_size, peer_host(context.peer()))
        except StreamError as e:
            self.observer.session_refused(e.code.name)
            await context.abort(e.code, e.message)
        self.observer.session_opened()
        outbox = stream.outbox
        stream.clock = StreamClock(max_step_us=self.max_gap_us)
        pipeline = stream.pipeline = StreamPipeline(
            self.networks, session_id=stream.session_id, max_gap_us=self.max_gap_us,
            stats_interval_us=self.stats_interval_us,
            dropped=lambda: (outbox.events_dropped, outbox.stats_dropped))
        log.info("session %s opened by %s", stream.session_id, context.peer())
        reader = asyncio.get_running_loop().create_task(
            _read(pipeline, stream, context, self), name=f"ibeat-session-{stream.session_id}")
        # This coroutine is the writer; gRPC cancels it on every abnormal end of the RPC
        # (client gone, deadline, server stop), and the finally frees the session.
        def last_words(error: StreamError):
            if error.code == grpc.StatusCode.UNAVAILABLE and pipeline.session is not None:
                return pipeline.stats(final=True)
            return None

        def ended(code: str):
            stream.outcome = code

        def send(message):
            message = _drop_late_hits(message, stream, self.monitor.now(), self.observer)
            if message is not None and message.HasField("hits"):
                self.observer.hits(len(message.hits.hits), 0)
            return message

        try:
            await _write(outbox, context, f"session {stream.session_id}", last_words=last_words,
                         send=send, on_end=ended)
        finally:
            reader.cancel()
            self.registry.release(stream)
            self.observer.session_ended(stream.outcome)
            log.info("session %s closed (%d frames)", stream.session_id, pipeline.frames_processed)

    def drain(self):
        """Refuse new streams (UNAVAILABLE); open Session streams go on. Call on the server's loop."""
        self.registry.shutting_down = True

    def shutdown(self):
        """End every open stream and listener: its last stats, then UNAVAILABLE; refuse new ones.

        Call on the server's event loop.
        """
        for task in self._tasks:
            task.cancel()
        if self.source is not None:
            self.source.shutdown()
        for stream in self.registry.shutdown():
            stream.closed = True  # the reader stops taking frames
            stream.outbox.finish(status=StreamError(grpc.StatusCode.UNAVAILABLE,
                                                    "server is shutting down"))


def _drop_late_hits(message, stream: _Stream, now_s: float,
                    observer: StreamObserver = StreamObserver()):
    """``message`` without the hits whose play time has passed on the client's clock;
    None when nothing is left to send. Counts what it drops on the stream's pipeline
    and tells the observer."""
    if not message.HasField("hits"):
        return message
    client_now_us = stream.clock.client_now_us(now_s)
    hits = message.hits.hits
    if client_now_us is None or all(h.time_us >= client_now_us for h in hits):
        return message
    late = [i for i, h in enumerate(hits) if h.time_us < client_now_us]
    stream.pipeline.hits_dropped_late += len(late)
    observer.hits(0, len(late))
    if len(late) == len(hits):
        return None
    for i in reversed(late):
        del hits[i]
    return message


async def _write(outbox: Outbox, context, name: str, *, last_words=lambda error: None,
                 send=lambda message: message, on_end=lambda code: None):
    """Writer of one stream: the outbox to the client until it finishes.

    Returns on a clean finish; aborts the RPC with the outbox's final status,
    after ``last_words(status)`` when that gives a message. ``send(message)``
    gives what goes out for each message (None: nothing). ``on_end(name)`` is
    told the status name the stream ends with (``"OK"`` on a clean finish).
    """
    while True:
        try:
            message = outbox.get()
        except StopIteration:
            on_end("OK")
            return
        except StreamError as e:
            log.info("%s ended: %s %s", name, e.code.name, e.message)
            on_end(e.code.name)
            final = last_words(e)
            if final is not None:
                await context.write(final)
            await context.abort(e.code, e.message)
        if message is None:
            await outbox.wait()
        else:
            message = send(message)
            if message is not None:
                await context.write(message)


async def _read(pipeline: StreamPipeline, stream: _Stream, context, servicer: IbeatServicer):
    """Reader task of one stream: client messages -> engine (frames through the servicer's
    :class:`~ibeat_grpc.batcher.FrameBatcher`, on the loop) -> outbox.

    While the loop is contended, a stream running ahead of real time waits
    before its next read (:meth:`StreamClock.pace_delay`), so it cannot starve the others.
    """
    outbox, monitor, limits = stream.outbox, servicer.monitor, servicer.limits
    observer = servicer.observer
    try:
        while True:
            stream.waiting_since = asked = monitor.now()
            try:
                request = await context.read()
            except DecodeError as e:  # bad bytes from the client (invalid UTF-8 in a string)
                raise _invalid(f"not a valid ClientMessage: {str(e)[:200]}") from None
            finally:
                stream.waiting_since = None
            if request is grpc.aio.EOF or stream.closed or request.WhichOneof("msg") == "end":
                break
            t0 = time.perf_counter()
            is_frame = request.HasField("frame")
            if is_frame and pipeline.session is not None:
                arrival = monitor.now()
                # Waited for, unless the loop itself was that slow to come back (a frame
                # already queued takes about one turn of a busy loop to be read).
                # lag_s scans the monitor's window: only read it for a long wait.
                wait = arrival - asked
                stream.clock.observe(arrival, request.frame.timestamp_us,
                                     waited=wait >= WAITED_S and wait >= WAITED_S + monitor.lag_s)
                if stream.clock.real_time:
                    monitor.frame_delay(arrival, stream.clock.delay_s)

            def deliver(messages, t0=t0, is_frame=is_frame):
                for m in messages:
                    outbox.put(m, is_stats=m.HasField("stats"))
                    if m.HasField("restarted"):
                        observer.restart()
                if is_frame:
                    latency_s = time.perf_counter() - t0
                    pipeline.record_latency(latency_s * 1e6)
                    observer.frame(latency_s)

            if is_frame:  # delivered by the batcher as soon as its batch is through
                await servicer.batcher.submit(pipeline.handle_steps(request), then=deliver)
                delay = stream.clock.pace_delay(
                    monitor.now(), contended=monitor.contended_within(limits.contention_memory_s),
                    max_ahead_s=limits.max_ahead_s)
                if delay > 0:
                    await asyncio.sleep(delay)
            else:
                deliver(pipeline.handle(request))
        if stream.closed:
            outbox.finish()
        elif pipeline.session is None:
            outbox.finish(status=StreamError(grpc.StatusCode.FAILED_PRECONDITION,
                                             "stream closed before a config was sent"))
        else:
            outbox.finish([pipeline.stats(final=True)])
    except StreamError as e:
        outbox.finish([pipeline.stats(final=True)] if pipeline.session is not None else [],
                      status=e)
    except Exception as e:  # the client went away (RPC over) or a bug: never the server's end
        if stream.closed or isinstance(e, (grpc.RpcError, grpc.aio.BaseError, ClientGone)):
            outbox.finish()
        else:
            log.exception("session %s: internal error", stream.session_id)
            outbox.finish(status=StreamError(grpc.StatusCode.INTERNAL,
                                             f"internal error: {type(e).__name__}"))
