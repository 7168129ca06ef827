"""A stream around the engine: wire clock, restarts, beat numbering and stats cadence.

Every transport (the gRPC ``Session`` stream, the server's own camera or video
source, a WebSocket gateway) runs the same rules between its messages and the
engine; :class:`EngineStream` is those rules, once, with no protocol types:

* **Clock.** Frames arrive stamped in integer microseconds of the sender's clock
  (``time_us``). The engine runs in float seconds from the stream's *origin*
  (the first frame's time, or one the caller gives), so a large clock (Unix time
  in microseconds) costs no precision: ``core_s = (time_us - origin_us) / 1e6``
  and ``time_us = origin_us + round(core_s * 1e6)``.
* **Order.** Timestamps must strictly increase.
* **Restart.** A gap longer than ``max_gap_us`` restarts the engine (as a new
  stream, same settings) instead of running it through every empty grid frame
  of the gap; so does :meth:`EngineStream.restart` (a looped video's next
  pass). After a restart the origin moves to the restarting frame and beat
  indices carry on where they were: an index is never reused.
* **Stats cadence.** Every ``stats_interval_us`` of stream time a step says
  stats are due (not at the first frame; at once after an explicit restart,
  whose reopening paused the clock).

A step's events are :class:`StreamBeat` and :class:`StreamHit` (the engine's
:class:`~ibeat_core.session.BeatCue` and :class:`~ibeat_core.session.DrumHit`
with wire times and stream-wide indices) and :class:`StreamRestarted`; a
transport turns each into its own message.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Protocol

import numpy as np

from .batching import Steps, run_alone
from .errors import ParameterError
from .session import BeatCue, DrumHit

__all__ = ["MAX_GAP_US", "STATS_INTERVAL_US", "LATENCY_WINDOW", "StreamEngine", "StreamBeat",
           "StreamHit", "StreamRestarted", "StreamStep", "LatencyWindow", "EngineStream",
           "MAX_TIME_US", "to_us"]

#: A gap between two frames longer than this [us] restarts the engine.
MAX_GAP_US = 2_000_000
#: Stats are due every this much stream time [us].
STATS_INTERVAL_US = 1_000_000
#: Frames the latency percentiles are taken over.
LATENCY_WINDOW = 1024


class StreamEngine(Protocol):
    """What a stream drives: a :class:`~ibeat_core.session.Session`, or anything that
    pushes frames to one (the video front end's ``VideoSession``, through ``push(run=...)``)."""

    def reset(self) -> None:
        """Forget the stream; the next frame starts a new one."""

    def push(self, timestamp_s: float, keypoints) -> list:
        """One frame at engine time ``timestamp_s`` [s]; the BeatCue and DrumHit it produced."""

    def push_steps(self, timestamp_s: float, keypoints) -> Steps[list]:
        """:meth:`push` as a generator of network steps (:mod:`ibeat_core.batching`); needed
        by :meth:`EngineStream.push_steps` only."""


@dataclass(frozen=True)
class StreamBeat:
    """A beat cue on the wire clock.

    Attributes
    ----------
    cue : BeatCue
        The engine's cue (times in seconds from the origin in force).
    index : int
        Stream-wide beat number (the cue's own index plus the beats before restarts).
    time_us, emitted_us : int
        ``cue.time_s`` and ``cue.emitted_s`` [us, sender's clock].
    """

    cue: BeatCue
    index: int
    time_us: int
    emitted_us: int


@dataclass(frozen=True)
class StreamHit:
    """A drum hit on the wire clock.

    Attributes
    ----------
    hit : DrumHit
    beat_index : int
        Stream-wide number of its beat.
    time_us, emitted_us : int
        ``hit.time_s`` and ``hit.emitted_s`` [us, sender's clock].
    """

    hit: DrumHit
    beat_index: int
    time_us: int
    emitted_us: int


@dataclass(frozen=True)
class StreamRestarted:
    """The engine restarted before this frame.

    Attributes
    ----------
    time_us : int
        The restarting frame's time [us]; the new origin.
    gap_us : int
        Time since the frame before [us].
    reason : str
    """

    time_us: int
    gap_us: int
    reason: str


@dataclass(frozen=True)
class StreamStep:
    """What one frame produced.

    Attributes
    ----------
    events : list of StreamRestarted, StreamBeat and StreamHit
        In order: a restart first, then each beat followed by its hits.
    stats_due : bool
        Time for a stats report (see the module's cadence rule).
    """

    events: list = field(default_factory=list)
    stats_due: bool = False


class LatencyWindow:
    """The latest ``size`` latencies [us] and their percentiles.

    Examples
    --------
    >>> w = LatencyWindow(3)
    >>> for x in (5, 1, 2, 3):
    ...     w.add(x)
    >>> w.summary()
    (2, 3, 3)
    """

    def __init__(self, size: int = LATENCY_WINDOW):
        self._values: deque = deque(maxlen=int(size))

    def add(self, latency_us: float):
        self._values.append(float(latency_us))

    def summary(self) -> tuple[int, int, int]:
        """``(p50, p99, max)`` [us], rounded; zeros before the first value."""
        if not self._values:
            return 0, 0, 0
        lat = np.asarray(self._values, dtype=np.float64)
        p50, p99 = np.percentile(lat, [50, 99])
        return int(round(p50)), int(round(p99)), int(round(lat.max()))


#: Largest timestamp magnitude [us] a stream takes: differences and event times stay
#: far inside int64 (a client's -1 then 2^63 - 1 would overflow a gap).
MAX_TIME_US = 2 ** 62


def to_us(origin_us: int, time_s: float) -> int:
    """Engine time [s from the origin] -> wire time [us, sender's clock].

    >>> to_us(1_700_000_000_000_000, 0.25)
    1700000000250000
    """
    return int(origin_us) + int(round(float(time_s) * 1e6))


class EngineStream:
    """One stream's clock and restart rules around an engine; frames in, wire-timed events out.

    Pure and single-threaded: no I/O, no protocol types.

    Parameters
    ----------
    engine : StreamEngine
        Typically a :class:`~ibeat_core.session.Session`; see :meth:`push`.
    origin_us : int, optional
        Wire time [us] of engine time 0; default: the first frame's time.
    max_gap_us : int or None
        Longest gap [us] between frames before the engine restarts; None: never.
    stats_interval_us : int
        Stream time [us] between stats reports.
    """

    def __init__(self, engine, *, origin_us: int | None = None,
                 max_gap_us: int | None = MAX_GAP_US, stats_interval_us: int = STATS_INTERVAL_US):
        if max_gap_us is not None and max_gap_us <= 0:
            raise ParameterError(f"max_gap_us must be > 0 or None, got {max_gap_us!r}")
        if stats_interval_us <= 0:
            raise ParameterError(f"stats_interval_us must be > 0, got {stats_interval_us!r}")
        self.engine = engine
        self.max_gap_us = None if max_gap_us is None else int(max_gap_us)
        self.stats_interval_us = int(stats_interval_us)
        self.origin_us = None if origin_us is None else int(origin_us)
        #: Frames the engine has taken.
        self.frames_processed = 0
        #: Engine restarts (gaps and explicit ones).
        self.restarts = 0
        #: Time [us] and id of the last frame taken; None / 0 before the first.
        self.last_us: int | None = None
        self.last_frame_id = 0
        #: Processing latencies, for the transport to fill and report.
        self.latency = LatencyWindow()
        self._index_offset = 0   # beats before the last restart
        self._next_index = 0     # one past the highest beat index so far
        self._next_stats_us: int | None = None
        self._stats_at_once = False  # after an explicit restart
        self._pending: StreamRestarted | None = None

    def push(self, time_us: int, keypoints=None, *, frame_id: int = 0,
             run: Callable[[float], list] | None = None) -> StreamStep:
        """Take one frame at ``time_us``; return its events and whether stats are due.

        Parameters
        ----------
        time_us : int
            The frame's time [us, sender's clock]; strictly increasing.
        keypoints : array_like, optional
            Passed to ``engine.push(core_s, keypoints)``.
        frame_id : int
            Echoed in :attr:`last_frame_id`.
        run : callable, optional
            ``core_s -> list of BeatCue and DrumHit`` instead of ``engine.push``,
            for engines that take something else than keypoints (a posed video frame).

        Raises
        ------
        ParameterError
            A timestamp that does not increase, or keypoints the engine rejects;
            the stream's state is unchanged but for a restart already reported.
        """
        if run is None:
            def run(core_s):
                return self.engine.push(core_s, keypoints)
        return run_alone(self.push_steps(time_us, frame_id=frame_id, run=run))

    def push_steps(self, time_us: int, keypoints=None, *, frame_id: int = 0,
                   run: Callable[[float], list] | None = None) -> Steps[StreamStep]:
        """:meth:`push` as a generator of network steps (:mod:`ibeat_core.batching`): without
        ``run``, the engine's own ``push_steps(core_s, keypoints)`` does the frame."""
        time_us = int(time_us)
        if abs(time_us) > MAX_TIME_US:
            raise ParameterError(f"frame {frame_id}: timestamp {time_us} us is out of range "
                                 f"(|t| <= 2^62 us, about 146,000 years)")
        events = []
        if self.last_us is not None:
            if time_us <= self.last_us:
                raise ParameterError(
                    f"frame {frame_id}: timestamps must strictly increase, got {time_us} us "
                    f"after {self.last_us} us "
                    f"({'repeated' if time_us == self.last_us else 'going backwards'})")
            gap = time_us - self.last_us
            if self.max_gap_us is not None and gap > self.max_gap_us:
                events.append(self._restart(time_us, gap,
                                            f"gap of {gap} us > max_gap_us {self.max_gap_us}: "
                                            f"engine restarted"))
                self.engine.reset()
        if self._pending is not None:
            events.append(self._pending)
            self._pending = None
        if self.origin_us is None:
            self.origin_us = time_us
        core_s = (time_us - self.origin_us) / 1e6
        try:
            produced = (run(core_s) if run is not None
                        else (yield from self.engine.push_steps(core_s, keypoints)))
        except ParameterError as e:
            raise ParameterError(f"frame {frame_id}: {e}") from None
        self.last_us, self.last_frame_id = time_us, int(frame_id)
        self.frames_processed += 1
        events += self._on_wire(produced)
        return StreamStep(events, self._stats_due(time_us))

    def restart(self, *, time_us: int, reason: str, engine=None, origin_us: int | None = None):
        """Restart before the frame at ``time_us`` (a looped video's next pass, say).

        The :class:`StreamRestarted` comes out of the next :meth:`push`, first.

        Parameters
        ----------
        time_us : int
            The next frame's time [us].
        reason : str
        engine : StreamEngine, optional
            A fresh engine to use from now on; default: reset the current one.
        origin_us : int, optional
            The new origin [us]; default ``time_us``.
        """
        gap = time_us - (self.last_us if self.last_us is not None else time_us)
        self._pending = self._restart(int(time_us), int(gap), reason)
        if engine is not None:
            self.engine = engine
        else:
            self.engine.reset()
        if origin_us is not None:
            self.origin_us = int(origin_us)
        self._next_stats_us = None
        self._stats_at_once = True  # a clock reading at once: reopening paused the clock

    def _restart(self, time_us: int, gap_us: int, reason: str) -> StreamRestarted:
        self.origin_us = time_us
        self._index_offset = self._next_index
        self.restarts += 1
        return StreamRestarted(time_us, gap_us, reason)

    def _stats_due(self, time_us: int) -> bool:
        if self._next_stats_us is None:
            self._next_stats_us = time_us + self.stats_interval_us
            due, self._stats_at_once = self._stats_at_once, False
            return due
        if time_us >= self._next_stats_us:
            self._next_stats_us = time_us + self.stats_interval_us
            return True
        return False

    def _on_wire(self, produced) -> list:
        out = []
        origin, offset = self.origin_us, self._index_offset
        for e in produced:
            if isinstance(e, BeatCue):
                index = offset + e.index
                self._next_index = max(self._next_index, index + 1)
                out.append(StreamBeat(e, index, to_us(origin, e.time_s), to_us(origin, e.emitted_s)))
            elif isinstance(e, DrumHit):
                out.append(StreamHit(e, offset + e.beat_index, to_us(origin, e.time_s),
                                     to_us(origin, e.emitted_s)))
        return out
