"""Load and abuse limits of one server process: idle streams, greedy peers, an overloaded loop.

One asyncio event loop runs every stream's engine (:mod:`ibeat_grpc.servicer`),
so anything that keeps the loop busy makes every other stream late. The rules
here keep one client from doing that, and never make a healthy real-time
stream wait:

* **Idle streams** (:class:`ServerLimits`): a ``Session`` stream that sends no
  config within ``config_timeout_s``, or no message for ``idle_timeout_s``,
  ends with DEADLINE_EXCEEDED and frees its slot.
* **Greedy peers**: at most ``max_sessions_per_peer`` open streams from one
  address (:func:`peer_host`), so one client cannot hold every slot.
* **Loop lag** (:class:`LoopMonitor`): a timer that should fire every
  ``interval_s`` measures how late it fires; that lateness is how long any
  stream's frame waits before the engine sees it.
* **Pacing** (:class:`StreamClock`): a stream may run faster than real time
  (``ibeat-replay --speed max``) while the loop keeps up; once the loop has
  lagged (``pace_lag_s``) in the last ``contention_memory_s``, a stream whose
  time runs more than ``max_ahead_s`` ahead of the wall clock waits until it is
  back to real time. A stream sending frames 1.99 s apart (each costing the
  engine 2 s of grid frames) as fast as it can thus costs what a real-time
  stream costs. A real-time stream working off frames that queued behind the
  busy loop is catching up, not ahead, and is not held.
* **Admission and shedding**: while the server runs more than ``refuse_lag_s``
  behind (the loop's median lag over the last second, or the median delay with
  which real-time streams' frames reach the engine: frames that wait in gRPC's
  queues never show in the loop's lag), new sessions get RESOURCE_EXHAUSTED
  instead of making the open ones late; if that lasts ``shed_after_s``, the
  newest session is ended with RESOURCE_EXHAUSTED, and another (at most one a
  second) only while the server is not catching up (:class:`Shedder`): the
  frames queued before a shed keep it behind for a while after.
* **Late hits** (:class:`StreamClock`): a hit whose play time has passed on the
  client's clock is not sent; it is counted (``SessionStats.hits_dropped_late``).

Times are the loop's monotonic clock [s] unless named ``_us`` (microseconds).
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass

import numpy as np

__all__ = ["ServerLimits", "LoopMonitor", "Shedder", "StreamClock", "peer_host",
           "REAL_TIME_SLACK_S", "MAX_BATCH_WINDOW_S"]

#: Longest batching window [s]: every frame's events wait for it, out of the hits' lead.
MAX_BATCH_WINDOW_S = 0.02


@dataclass(frozen=True)
class ServerLimits:
    """Per-process limits (``ibeat-server`` flags of the same names).

    Attributes
    ----------
    config_timeout_s : float
        A Session stream must send its config within this [s].
    idle_timeout_s : float
        A Session stream that sends nothing for this long [s] is ended.
    max_sessions_per_peer : int or None
        Open Session streams from one address; None: no cap (behind a proxy
        every stream comes from the proxy's address).
    pace_lag_s : float
        Loop lag [s] from which faster-than-real-time streams are paced.
    refuse_lag_s : float
        Loop lag [s] from which new sessions are refused.
    max_ahead_s : float
        How far [s] a stream's time may run ahead of the wall clock while paced.
    contention_memory_s : float
        Pacing stays on this long [s] after the loop last lagged.
    shed_after_s : float
        While the server stays ``refuse_lag_s`` behind this long [s], it ends its newest
        session, and more (at most one a second) while it does not catch up (:class:`Shedder`),
        so that the others are on time again.
    batch_window_s : float
        (``--batch-window-ms``.) While the loop is contended (as for pacing: ``pace_lag_s`` within
        ``contention_memory_s``), a frame waits this long [s] for other streams' frames to
        run through the engine with it (:class:`~ibeat_grpc.batcher.FrameBatcher`); else, and
        with 0, it runs with those of the same turn of the event loop.
    """

    config_timeout_s: float = 5.0
    idle_timeout_s: float = 30.0
    max_sessions_per_peer: int | None = None
    pace_lag_s: float = 0.025
    refuse_lag_s: float = 0.25
    max_ahead_s: float = 1.0
    contention_memory_s: float = 10.0
    shed_after_s: float = 3.0
    batch_window_s: float = 0.002

    def __post_init__(self):
        for name in ("config_timeout_s", "idle_timeout_s", "pace_lag_s", "refuse_lag_s",
                     "max_ahead_s", "contention_memory_s", "shed_after_s"):
            value = getattr(self, name)
            if not value > 0:
                raise ValueError(f"{name} must be > 0, got {value!r}")
        if not 0 <= self.batch_window_s <= MAX_BATCH_WINDOW_S:
            raise ValueError(f"batch_window_s must be in [0, {MAX_BATCH_WINDOW_S}] seconds, got "
                             f"{self.batch_window_s!r}")
        if self.max_sessions_per_peer is not None and self.max_sessions_per_peer < 1:
            raise ValueError(f"max_sessions_per_peer must be >= 1 or None, got "
                             f"{self.max_sessions_per_peer!r}")


def peer_host(peer: str) -> str:
    """The address part of a gRPC or WebSocket peer string (its port dropped).

    >>> peer_host("ipv4:10.0.0.7:51234"), peer_host("ipv6:[::1]:4000"), peer_host("ws:10.0.0.7:99")
    ('10.0.0.7', '::1', '10.0.0.7')
    >>> peer_host("unix:/tmp/ibeat.sock")
    'unix:/tmp/ibeat.sock'
    """
    scheme, _, rest = peer.partition(":")
    if scheme not in ("ipv4", "ipv6", "ws") or not rest:
        return peer
    if rest.startswith("["):  # [v6 address]:port
        return rest[1:rest.index("]")] if "]" in rest else rest
    host, sep, port = rest.rpartition(":")
    if sep and port.isdigit():
        return host
    return rest


class LoopMonitor:
    """How late the event loop runs a timer: the wait any stream's next frame has.

    :meth:`run` (a task on the loop) sleeps ``interval_s`` again and again and
    records how much later than asked it woke. :attr:`lag_s` is the worst of
    the last ``window_s``, or the lateness of the timer now due if that is worse
    (a loop busy right now has not woken the monitor yet).

    Parameters
    ----------
    interval_s, window_s : float
    contention_s : float
        A lag from this [s] up is contention (:meth:`contended_within`).
    on_sample : callable, optional
        ``lag_s -> None``, called with every observation (a metrics histogram).
    clock : callable, optional
        ``() -> seconds``; default the running loop's clock.
    """

    def __init__(self, interval_s: float = 0.02, window_s: float = 1.0, *,
                 contention_s: float = 0.025, on_sample=None, clock=None):
        self.interval_s = float(interval_s)
        self.window_s = float(window_s)
        self.contention_s = float(contention_s)
        self._clock = clock
        self._samples: deque = deque()  # (woke_at, lag)
        self._due: float | None = None
        self._contended_at = float("-inf")
        self._on_sample = on_sample
        self._delays: deque = deque()  # (at, delay [s]) of real-time streams' frames
        #: Lag samples so far, and their sum [s] (a metrics exporter's counter).
        self.samples = 0
        self.total_lag_s = 0.0

    def now(self) -> float:
        return self._clock() if self._clock is not None else asyncio.get_running_loop().time()

    def record(self, woke_at: float, lag_s: float):
        """One observation: the timer due at ``woke_at - lag_s`` woke at ``woke_at``."""
        lag_s = max(0.0, float(lag_s))
        self._samples.append((woke_at, lag_s))
        self.samples += 1
        self.total_lag_s += lag_s
        while self._samples and self._samples[0][0] < woke_at - self.window_s:
            self._samples.popleft()
        if lag_s >= self.contention_s:
            self._contended_at = woke_at
        if self._on_sample is not None:
            self._on_sample(lag_s)

    @property
    def lag_s(self) -> float:
        """Worst loop lag [s] over the last window, or now."""
        now = self.now()
        worst = max((lag for t, lag in self._samples if t >= now - self.window_s), default=0.0)
        if self._due is not None:
            worst = max(worst, now - self._due)
        return worst

    def frame_delay(self, at_s: float, delay_s: float):
        """A real-time stream's frame reached the engine ``delay_s`` later than its fastest
        (:attr:`StreamClock.delay_s`)."""
        self._delays.append((at_s, delay_s))
        while self._delays and self._delays[0][0] < at_s - self.window_s:
            self._delays.popleft()

    @property
    def frame_delay_s(self) -> float:
        """Median delay [s] of the real-time frames of the last window (0 without any): over
        half the frames that late means the server as a whole is behind, not one client's
        network."""
        now = self.now()
        delays = [d for t, d in self._delays if t >= now - self.window_s]
        return float(np.median(delays)) if delays else 0.0

    @property
    def typical_lag_s(self) -> float:
        """Median loop lag [s] over the last window (0 without samples): a loop late more
        often than not, not one stall (a collector pause, a burst of new sessions)."""
        now = self.now()
        lags = [lag for t, lag in self._samples if t >= now - self.window_s]
        return float(np.median(lags)) if lags else 0.0

    def behind_s(self) -> float:
        """How far behind the server runs [s]: the worse of the loop's typical lag and the
        median frame delay. A single stall does not count: it would refuse, and after
        ``shed_after_s`` end, sessions on a server that is keeping up."""
        return max(self.typical_lag_s, self.frame_delay_s)

    def contended_within(self, memory_s: float) -> bool:
        """Whether the lag reached ``contention_s`` in the last ``memory_s`` seconds (or now)."""
        now = self.now()
        if self._due is not None and now - self._due >= self.contention_s:
            return True
        return self._contended_at >= now - memory_s

    async def run(self):
        """Measure until cancelled."""
        while True:
            self._due = self.now() + self.interval_s
            await asyncio.sleep(self.interval_s)
            woke = self.now()
            due, self._due = self._due, None
            self.record(woke, woke - due)


class Shedder:
    """When an overloaded server ends a session: the decision alone, fed how far behind it runs.

    The first session goes once the server has been more than ``refuse_lag_s`` behind for
    ``shed_after_s``. The frames queued before that shed still reach the engine late for a
    while (seconds of backlog, at worst), so lateness alone would go on ending a session a
    second long after enough were gone (a minute of 64 sessions on 2 cores ended 29 that
    way, leaving fewer than one core holds). Another goes only when the server is not
    catching up: not at least :attr:`CATCH_UP` seconds less behind per second since the
    last shed (a server with 10 % of its time spare works off its backlog at that rate).

    Parameters
    ----------
    limits : ServerLimits

    Examples
    --------
    >>> s = Shedder(ServerLimits(refuse_lag_s=0.25, shed_after_s=3.0))
    >>> [s.update(t, 1.0) for t in (0.0, 2.0, 3.0)]      # behind for 3 s: the first goes
    [False, False, True]
    >>> [s.update(t, b) for t, b in ((4.0, 0.8), (5.0, 0.6))]   # catching up: nobody else
    [False, False]
    >>> s.update(6.0, 0.7)                                # not any more: one more
    True
    >>> s.update(6.5, 0.1), s.update(7.0, 1.0)            # on time again: start over
    (False, False)
    """

    #: Fall in lateness [s per s] that counts as catching up.
    CATCH_UP = 0.1
    #: Least time [s] between two sheds.
    MIN_INTERVAL_S = 1.0

    def __init__(self, limits: ServerLimits):
        self.limits = limits
        self._since: float | None = None  # behind since
        self._last: tuple[float, float] | None = None  # (time, behind) of the last shed

    def update(self, now: float, behind_s: float) -> bool:
        """Whether to end a session now [s], the server running ``behind_s`` [s] behind."""
        if behind_s <= self.limits.refuse_lag_s:
            self._since = self._last = None
            return False
        if self._since is None:
            self._since = now
        if now - self._since < self.limits.shed_after_s:
            return False
        if self._last is not None:
            at, behind_then = self._last
            catching_up = behind_s < behind_then - self.CATCH_UP * (now - at)
            if now - at < self.MIN_INTERVAL_S or catching_up:
                return False
        self._last = (now, behind_s)
        return True


#: A frame the stream's reader had been waiting for this long [s] more than the loop's
#: worst recent lag when it came spent no time in the server's queues (one that waited
#: there is taken within a turn of the loop).
WAITED_S = 0.005
#: A stream whose frames reach the engine this much later [s] than its fastest is catching
#: up on frames queued behind a busy loop (:meth:`StreamClock.pace_delay`).
CATCHING_UP_S = 0.1
#: A stream whose time ran further ahead of the wall clock than this [s] is not real time.
REAL_TIME_SLACK_S = 1.0
#: How fast the client clock estimate may drift later than its best sample [s per s]:
#: 100 ppm, five times a cheap crystal's drift.
_DRIFT = 1e-4


class StreamClock:
    """One stream's view of the client's clock, from when its frames arrive.

    A frame stamped ``t_us`` that arrives at server time ``now`` says the
    client's clock reads at least ``t_us`` then (transit is never negative).
    The smallest ``arrival - t_us`` seen (relaxed by 100 ppm of the time since,
    for drift) is the offset of the two clocks, so a hit whose ``time_us`` is
    below :meth:`client_now_us` has certainly missed its play time. Frames that
    waited in a busy server arrive late and only raise that difference, so the
    minimum ignores them. A stream whose time has run more than
    :data:`REAL_TIME_SLACK_S` ahead of the wall clock since its first frame
    (a replay at full speed) has no clock to be late against: it keeps every hit.

    :meth:`pace_delay` says how long a stream running ahead of the wall clock
    waits before its next frame, while the loop is contended. It counts the
    stream's time as the engine's work: a step between two frames counts at
    most ``max_step_us`` (the restart gap: a longer gap restarts the engine,
    which costs nothing), so a clock that jumps far ahead is not made to wait
    for the wall clock to catch up.

    Parameters
    ----------
    max_step_us : int
        Most stream time one step between frames counts for pacing [us].
    """

    def __init__(self, max_step_us: int = 2_000_000):
        self.max_step_us = int(max_step_us)
        self._offset_us: float | None = None  # min(arrival - t_us), relaxed
        self._last_arrival: float | None = None
        self._last_t_us: int | None = None
        self._first: tuple[float, int] | None = None  # (arrival [s], t_us) of the first frame
        self._work_us = 0  # stream time since the first frame, each step capped at max_step_us
        self._anchor: tuple[float, int] | None = None  # (arrival [s], work [us]) when pacing began

    def observe(self, arrival_s: float, t_us: int, *, waited: bool = False):
        """A frame stamped ``t_us`` [us, client clock] arrived at ``arrival_s`` [s, server clock].

        ``waited``: the server was already waiting for it (:data:`WAITED_S`), so it spent no
        time in the server's queues and its ``arrival - t_us`` is the offset now. A client
        whose clock runs slower than real time (frames stamped closer together than they are
        sent) then does not look ever later, as the oldest, smallest offset would make it: it
        would have had every hit judged late and made the whole server look behind.
        """
        sample = arrival_s * 1e6 - t_us
        if self._offset_us is None:
            self._offset_us = sample
            self._first = (arrival_s, int(t_us))
        else:
            relaxed = self._offset_us + (arrival_s - self._last_arrival) * 1e6 * _DRIFT
            self._offset_us = sample if waited else min(relaxed, sample)
            self._work_us += max(0, min(int(t_us) - self._last_t_us, self.max_step_us))
        self._last_arrival = arrival_s
        self._last_t_us = int(t_us)

    @property
    def real_time(self) -> bool:
        """Whether the stream has kept to real time since its first frame (within
        :data:`REAL_TIME_SLACK_S`); False before a frame."""
        if self._offset_us is None:
            return False
        first_s, first_us = self._first
        return (self._last_t_us - first_us) / 1e6 - (self._last_arrival - first_s) \
            <= REAL_TIME_SLACK_S

    @property
    def delay_s(self) -> float:
        """How much later than its fastest frame the latest one arrived [s]: the time it
        waited in queues (the network's, gRPC's, the loop's); 0 before a frame."""
        if self._offset_us is None:
            return 0.0
        return (self._last_arrival * 1e6 - self._last_t_us - self._offset_us) / 1e6

    def client_now_us(self, now_s: float) -> float | None:
        """The client's clock now [us], never later than it really is; None before a frame
        and for a stream faster than real time."""
        if not self.real_time:
            return None
        return now_s * 1e6 - self._offset_us

    def pace_delay(self, now_s: float, *, contended: bool, max_ahead_s: float) -> float:
        """Seconds to wait before taking the next frame.

        0 while the loop is not contended. From the moment it is, the stream's
        time may run at most ``max_ahead_s`` ahead of the wall clock (counted
        from that moment: a replay that ran ahead before is not made to repay it).
        A stream whose frames come :data:`CATCHING_UP_S` or more later than its
        fastest (:attr:`delay_s`: they waited behind the busy loop) is working off
        its backlog, not running ahead: it is not paced, and the count starts
        again once it has caught up. Pacing it would keep it behind for as long
        as the loop stays busy (64 sessions on 2 cores, 3 s behind at their start,
        stayed so for half a minute with a third of them gone).
        """
        if not contended or self._last_t_us is None:
            self._anchor = None
            return 0.0
        if self._anchor is None or self.delay_s >= CATCHING_UP_S:
            self._anchor = (now_s, self._work_us)
            return 0.0
        since_s, since_us = self._anchor
        ahead = (self._work_us - since_us) / 1e6 - (now_s - since_s)
        return max(0.0, ahead - max_ahead_s)
