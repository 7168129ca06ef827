"""The streams' frames through the engine together: one network call per round for all of them.

Every Session stream's reader hands its frame to the server's :class:`FrameBatcher` and
awaits it. Frames handed over during one turn of the event loop run at the start of the
next, all at once through :func:`ibeat_core.batching.run_together`: one onnxruntime call
per network and round for every stream with a frame due, where each stream alone would
make its own, and each frame's messages are queued for its client as soon as the batch is
through. A lone stream's frame waits for nothing but that turn; under load more frames
arrive per turn and the batches grow by themselves, which is when the saving is needed.
Each stream's results are exactly what it would get alone (the networks compute every row
alike whatever the batch).
"""

from __future__ import annotations

import asyncio

from ibeat_core.batching import StepFailed, Steps, run_together

from .observer import StreamObserver

__all__ = ["FrameBatcher"]


class FrameBatcher:
    """Runs the frames of one event loop's streams in batches.

    Parameters
    ----------
    observer : StreamObserver
        Told the size of every batch (:meth:`StreamObserver.batch`).

    Attributes
    ----------
    batches, frames : int
        Batches run and the frames in them, so far.
    """

    def __init__(self, observer: StreamObserver = StreamObserver()):
        self.observer = observer
        self._queue: list = []  # (steps, then, future)
        self.batches = 0
        self.frames = 0

    def submit(self, steps: Steps, *, then=None) -> asyncio.Future:
        """Queue one stream's frame (a generator of steps); the future gets its return value
        or its exception. ``then(value)``, if given, is called with the return value as soon
        as the batch is through, before any reader wakes up (the future then gets None, or
        what ``then`` raised). A stream submits its next frame only once this one is done."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        if not self._queue:
            loop.call_soon(self._run)
        self._queue.append((steps, then, future))
        return future

    def _run(self):
        batch, self._queue = self._queue, []
        self.batches += 1
        self.frames += len(batch)
        self.observer.batch(len(batch))
        for (_, then, future), result in zip(batch, run_together([b[0] for b in batch])):
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
