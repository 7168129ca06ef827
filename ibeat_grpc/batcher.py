"""The streams' frames through the engine together: one network call per round for all of them.

Every Session stream's reader hands its frame to the server's :class:`FrameBatcher` and
awaits it. Frames handed over in one turn of the event loop (or, while the server is
contended, within a short *window* from the first of them) run together through
:func:`ibeat_core.batching.run_together`: one array call per network and round (VisBeatNet,
MuStyleNet, DrumGenNet, the directogram's binning, the flux filter) for every stream with a
frame due, where each stream alone would make its own, and each frame's messages are queued
for its client as soon as the batch is through. Under load the batches grow by themselves,
which is when the saving is needed; under contention the window makes them larger still,
for a few milliseconds of latency, and is cut short once every open stream's frame is in. Each
stream's results are exactly what it would get alone (every row is computed alike whatever
the batch).
"""

from __future__ import annotations

import asyncio
import time
from typing import Callable

from ibeat_core.batching import StepFailed, Steps, run_together

from .observer import StreamObserver

__all__ = ["FrameBatcher"]


class FrameBatcher:
    """Runs the frames of one event loop's streams in batches.

    Parameters
    ----------
    observer : StreamObserver
        Told the size of every batch (:meth:`StreamObserver.batch`).
    window_s : float
        How long [s] a frame handed over waits for the other streams' frames before its
        batch runs; 0: until the end of the event loop's turn.
    contended : callable, optional
        ``() -> bool``: whether to wait out the window now (None: always). The server waits
        only while its loop lags: at lighter loads the window would add latency and save
        little, a batch's frames rarely arriving within it.
    streams : callable, optional
        ``() -> int``: how many streams may hand frames over. A stream has at most one
        frame in the queue, so once that many are in, the batch runs at the end of the turn
        without waiting out the window (a lone stream replayed at full speed never waits).

    Attributes
    ----------
    batches, frames : int
        Batches run and the frames in them, so far.
    cpu_s : float
        CPU time [s] of the loop's thread in the engine for them (the network steps and each
        stream's own work, not the reading and writing of messages).
    """

    def __init__(self, observer: StreamObserver = StreamObserver(), *, window_s: float = 0.0,
                 contended: Callable[[], bool] | None = None,
                 streams: Callable[[], int] | None = None):
        if not window_s >= 0:
            raise ValueError(f"window_s must be >= 0 seconds, got {window_s!r}")
        self.observer = observer
        self.window_s = window_s
        self._contended = contended
        self._streams = streams
        self._queue: list = []  # (steps, then, future)
        self._due: asyncio.Handle | None = None  # the queue's run, once scheduled
        self._due_now = False  # ... at the end of this turn
        self.batches = 0
        self.frames = 0
        self.cpu_s = 0.0

    def submit(self, steps: Steps, *, then=None) -> asyncio.Future:
        """Queue one stream's frame (a generator of steps); the future gets its return value
        or its exception. ``then(value)``, if given, is called with the return value as soon
        as the batch is through, before any reader wakes up (the future then gets None, or
        what ``then`` raised). A stream submits its next frame only once this one is done."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._queue.append((steps, then, future))
        everyone_in = self._streams is not None and len(self._queue) >= self._streams()
        if self._due is None or (everyone_in and not self._due_now):
            if self._due is not None:
                self._due.cancel()
            self._due_now = (everyone_in or not self.window_s
                             or (self._contended is not None and not self._contended()))
            self._due = (loop.call_soon(self._run) if self._due_now
                         else loop.call_later(self.window_s, self._run))
        return future

    def _run(self):
        batch, self._queue = self._queue, []
        self._due = None
        cpu0 = time.thread_time()
        results = run_together([b[0] for b in batch])
        cpu_s = time.thread_time() - cpu0
        self.batches += 1
        self.frames += len(batch)
        self.cpu_s += cpu_s
        self.observer.batch(len(batch), cpu_s)
        for (_, then, future), result in zip(batch, results):
            if future.cancelled():  # its reader is gone (the stream ended meanwhile)
                continue
            if isinstance(result, StepFailed):
                future.set_exception(result.error)
                continue
            if then is not None:
                try:
                    result = then(result)
                except Exception as e:
                    future.set_exception(e)
                    continue
            future.set_result(result)
