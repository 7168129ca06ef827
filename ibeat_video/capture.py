"""Cameras and video files in, posed frames out: the producer side of the live pipeline.

Paper 3.4 splits the real-time engine into a producer (capture and pose) and a
consumer (the networks). :class:`PosePipeline` is the producer: one thread
reads frames from a :class:`VideoSource`, runs the pose estimator on each, and
hands the result over to the consumer.

Two hand-off policies:

* **real time** (``realtime=True``, ``ibeat live``): a :class:`LatestSlot`
  holds one posed frame and the newest wins. When pose estimation falls behind
  the camera, the frames that arrived meanwhile are skipped rather than queued
  (a queue would add its whole length to every later frame's latency). A video
  file is paced at its frame rate, as if a camera were filming it, so a file
  and a camera behave alike.
* **offline** (``realtime=False``, rendering a file): every frame, in order,
  through a bounded blocking queue; nothing is dropped.

Clocks: every :class:`CapturedFrame` carries ``time_s``, its time in the
*capture clock* (what :class:`ibeat_core.session.Session` receives), and
``grabbed_at``, ``time.monotonic()`` when it was grabbed (for latency). For a
camera, ``time_s = grabbed_at - (grab time of the first frame)``; for a file,
``time_s = index / fps``. In real time both satisfy ``grabbed_at - time_s =
constant``, so an event at capture time ``t`` plays at monotonic ``t +
(grabbed_at - time_s)``.
"""

from __future__ import annotations

import math
import os
import queue
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from .errors import SourceError

__all__ = ["DEFAULT_FPS", "MIN_FPS", "MAX_FPS", "CapturedFrame", "VideoSource", "open_source",
           "LatestSlot", "PosedFrame", "PosePipeline"]

# FFmpeg prints its decoder complaints (e.g. "moov atom not found") straight to
# stderr; SourceError already says what went wrong, in words. Read lazily by
# OpenCV at the first open, and a user's own setting wins.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

#: Frame rate [Hz] assumed when a source reports none (0, NaN) or an absurd one.
DEFAULT_FPS = 30.0
#: Container frame rates [Hz] outside [MIN_FPS, MAX_FPS] are not believed.
MIN_FPS = 1.0
MAX_FPS = 240.0
#: Open and read timeouts [ms] for files and streams: a dead URL fails, never hangs.
IO_TIMEOUT_MS = 10000
# Samples kept for the percentiles of the per-frame statistics (10 min at 60 fps).
_STATS_WINDOW = 36000


@dataclass(frozen=True)
class CapturedFrame:
    """One frame from a :class:`VideoSource`.

    Attributes
    ----------
    index : int
        Position in the source, from 0 (frames skipped later keep their index).
    time_s : float
        Capture time [s] in the capture clock, strictly increasing: a file's
        ``index / fps``, a camera's monotonic grab time since its first frame.
    bgr : np.ndarray, shape (H, W, 3), uint8
        The image, OpenCV's BGR order.
    grabbed_at : float
        ``time.monotonic()`` [s] when the frame was grabbed (for a file paced in
        real time: when it was due).
    """

    index: int
    time_s: float
    bgr: np.ndarray
    grabbed_at: float


class VideoSource:
    """A camera or a video file / stream, read one frame at a time.

    Build it with :func:`open_source`, which checks the source is usable.

    Attributes
    ----------
    fps : float
        Frame rate [Hz]: the container's, or :data:`DEFAULT_FPS` when that is
        missing or absurd (``fps_note`` then says so).
    width, height : int
        Frame size [px].
    frame_count : int or None
        Frames in a file, as its container states (None for cameras and streams).
    is_live : bool
        A camera (frames come at their own pace) rather than a file.
    name : str
        What was opened, for messages.
    fps_note : str or None
        Why ``fps`` is not the container's, if it is not.
    frames_read : int
        Frames returned by :meth:`read` so far.
    """

    def __init__(self, capture, *, name: str, is_live: bool):
        import cv2

        self._cap = capture
        self.name = name
        self.is_live = is_live
        self.fps_note = None
        fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
        if not (math.isfinite(fps) and MIN_FPS <= fps <= MAX_FPS):
            self.fps_note = (f"{name} reports {fps:g} fps; assuming {DEFAULT_FPS:g} fps")
            fps = DEFAULT_FPS
        self.fps = fps
        count = capture.get(cv2.CAP_PROP_FRAME_COUNT)
        self.frame_count = (int(count) if not is_live and math.isfinite(count) and count > 0
                            else None)
        self.frames_read = 0
        self._failed = False
        self._t0 = None
        self._last_time_s = -math.inf
        self._lock = threading.Lock()
        # Decode the first frame now: a file OpenCV opens but cannot decode fails
        # here, with a message, not later in a thread.
        ok, first = capture.read()
        grabbed_at = time.monotonic()
        if not ok or first is None:
            capture.release()
            what = ("camera gave no image (in use by another program?)" if is_live else
                    "no decodable frame (truncated, corrupt or not a video)")
            raise SourceError(f"{name}: {what}")
        self._pending = (first, grabbed_at)
        self.height, self.width = first.shape[:2]

    def read(self) -> CapturedFrame | None:
        """The next frame, or None at the end of a file (a camera blocks until one comes)."""
        import cv2

        with self._lock:
            if self._cap is None:
                return None
            bgr = None
            if self._pending is not None:
                bgr, grabbed_at = self._pending
                self._pending = None
                if self.is_live and time.monotonic() - grabbed_at > 2.0 / self.fps:
                    # The frame decoded at open has gone stale while the caller
                    # set up (networks, estimator): a camera gives a fresh one.
                    bgr = None
            if bgr is None:
                ok, bgr = self._cap.read()
                grabbed_at = time.monotonic()
                if not ok or bgr is None:
                    self._failed = True
                    return None
            if bgr.ndim == 2:
                bgr = cv2.cvtColor(bgr, cv2.COLOR_GRAY2BGR)
            index = self.frames_read
            self.frames_read += 1
            if self.is_live:
                if self._t0 is None:
                    self._t0 = grabbed_at
                # Two grabs never share a monotonic time in practice; the engine
                # needs strictly increasing times, so guarantee it.
                time_s = max(grabbed_at - self._t0, self._last_time_s + 1e-6)
            else:
                time_s = index / self.fps
            self._last_time_s = time_s
            return CapturedFrame(index, time_s, bgr, grabbed_at)

    @property
    def ended_early(self) -> str | None:
        """A note when a file held fewer frames than its container says, or a camera stopped."""
        if not self._failed:  # still open, or closed by the caller before the end
            return None
        if self.is_live:
            return (f"{self.name} stopped delivering frames after {self.frames_read} "
                    "(unplugged, or the stream ended)")
        if self.frame_count is None or self.frames_read >= 0.95 * self.frame_count:
            return None
        return (f"{self.name} ended after {self.frames_read} of {self.frame_count} frames "
                "(truncated or corrupt?)")

    def close(self):
        """Release the camera or file; :meth:`read` then returns None."""
        with self._lock:
            if self._cap is not None:
                self._cap.release()
                self._cap = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return (f"VideoSource({self.name!r}, {self.width}x{self.height}, {self.fps:g} fps, "
                f"{'live' if self.is_live else f'{self.frame_count} frames'})")


def _camera_index(spec) -> int | None:
    if isinstance(spec, (int, np.integer)) and not isinstance(spec, bool):
        return int(spec)
    if isinstance(spec, str) and spec.strip().isdigit():
        return int(spec.strip())
    return None


def open_source(spec: str | int | os.PathLike) -> VideoSource:
    """Open a camera (by index) or a video file / URL, checked to deliver frames.

    Parameters
    ----------
    spec : int, str or path-like
        A camera index (``0`` or ``"0"``), a video file, or a URL FFmpeg reads
        (``rtsp://``, ``http://``...).

    Returns
    -------
    VideoSource
        With its first frame already decoded.

    Raises
    ------
    SourceError
        No such camera (on Linux, no ``/dev/videoN``), a missing, empty,
        unreadable or undecodable file, or a stream that does not answer.
    """
    import cv2

    index = _camera_index(spec)
    if index is not None:
        return _open_camera(index)
    text = os.fspath(spec)
    timeouts = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, IO_TIMEOUT_MS,
                cv2.CAP_PROP_READ_TIMEOUT_MSEC, IO_TIMEOUT_MS]
    if "://" in text:
        cap = cv2.VideoCapture(text, cv2.CAP_ANY, timeouts)
        if not cap.isOpened():
            raise SourceError(f"cannot open the stream {text} (no answer within "
                              f"{IO_TIMEOUT_MS / 1000:g} s, or not a video stream)")
        return VideoSource(cap, name=text, is_live=True)
    path = Path(text)
    if not path.exists():
        raise SourceError(f"no such video: {path}")
    if not path.is_file():
        raise SourceError(f"{path} is not a file; give a video file (.mp4, .mov, .avi, ...)")
    if path.stat().st_size == 0:
        raise SourceError(f"{path} is empty (0 bytes)")
    if not os.access(path, os.R_OK):
        raise SourceError(f"{path} is not readable (permissions)")
    cap = cv2.VideoCapture(str(path), cv2.CAP_ANY, timeouts)
    if not cap.isOpened():
        raise SourceError(f"{path}: not a video OpenCV can read (truncated, corrupt, or not "
                          "a video; try re-encoding it with ffmpeg -i IN -c:v libx264 OUT.mp4)")
    # OpenCV opens a still image (even one named .mp4) as a one-frame "video": a single
    # frame has no motion to play drums to. Look for a second frame, then start again.
    frames = sum(bool(cap.grab()) for _ in range(2))
    cap.release()
    if frames < 2:
        raise SourceError(f"{path}: a single image, not a video (motion needs frames)")
    cap = cv2.VideoCapture(str(path), cv2.CAP_ANY, timeouts)
    # The file's name only: the name reaches listeners in status messages, and where the
    # file sits on the server is none of theirs.
    return VideoSource(cap, name=path.name, is_live=False)


def _open_camera(index: int) -> VideoSource:
    import cv2

    if index < 0:
        raise SourceError(f"camera index must be >= 0, got {index}")
    backend = cv2.CAP_ANY
    if sys.platform.startswith("linux"):
        device = Path(f"/dev/video{index}")
        if not device.exists():
            present = sorted(str(p) for p in Path("/dev").glob("video[0-9]*"))
            have = (f"cameras here: {', '.join(present)}" if present
                    else "this machine has none")
            raise SourceError(f"no camera at {device} ({have}); use --video FILE")
        backend = cv2.CAP_V4L2
    cap = cv2.VideoCapture(index, backend)
    if not cap.isOpened():
        raise SourceError(f"camera {index} could not be opened (in use by another program, "
                          "or no permission: on Linux add yourself to the 'video' group)")
    # Keep the driver's queue short: a frame waiting there is latency.
    cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
    return VideoSource(cap, name=f"camera {index}", is_live=True)


class LatestSlot:
    """A one-item hand-off between threads where the newest item wins.

    :meth:`put` replaces an item nobody has taken yet and counts it in
    :attr:`dropped`; :meth:`get` waits for an item. Thread-safe.

    Examples
    --------
    >>> slot = LatestSlot()
    >>> slot.put(1); slot.put(2)
    True
    True
    >>> slot.get(timeout=0), slot.dropped
    (2, 1)
    """

    def __init__(self):
        self._cond = threading.Condition()
        self._item = None
        self._full = False
        self._closed = False
        #: Items replaced before anyone took them.
        self.dropped = 0

    def put(self, item) -> bool:
        """Offer ``item``; False (and nothing stored) once the slot is closed."""
        with self._cond:
            if self._closed:
                return False
            if self._full:
                self.dropped += 1
            self._item, self._full = item, True
            self._cond.notify_all()
            return True

    def get(self, timeout: float | None = None):
        """The newest item, waiting up to ``timeout`` [s] (None: forever).

        Returns None on timeout, or when the slot is closed and empty; an item
        put before :meth:`close` is still delivered.
        """
        with self._cond:
            if not self._cond.wait_for(lambda: self._full or self._closed, timeout):
                return None
            if not self._full:
                return None
            item, self._item, self._full = self._item, None, False
            return item

    def close(self):
        """No more items: wakes every waiting :meth:`get`."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed


@dataclass(frozen=True)
class PosedFrame:
    """A captured frame with its pose.

    Attributes
    ----------
    frame : CapturedFrame
    pose : ibeat_video.pose.PoseEstimate
        ``keypoints`` (17, 3) [x px, y px, confidence] or None, ``n_people``, ``inference_ms``.
    posed_at : float
        ``time.monotonic()`` [s] when the pose was ready.
    """

    frame: CapturedFrame
    pose: object
    posed_at: float


_END = object()


def _percentiles_ms(values) -> dict:
    v = np.asarray(values, dtype=np.float64)
    if not v.size:
        return {"p50": None, "p99": None}
    return {"p50": round(float(np.percentile(v, 50)), 2),
            "p99": round(float(np.percentile(v, 99)), 2)}


class PosePipeline:
    """Producer thread: capture + pose, handed to the consumer that iterates.

    Parameters
    ----------
    source : VideoSource
        Not closed by the pipeline.
    estimator : object with ``estimate(rgb, timestamp_ms) -> PoseEstimate``
        E.g. :class:`ibeat_video.pose.PoseEstimator`; used from the producer
        thread only, not closed by the pipeline.
    realtime : bool
        True: newest wins, stale frames are skipped, a file is paced at its
        frame rate. False: every frame in order, nothing dropped.
    queue_size : int
        Offline mode: frames posed ahead of the consumer (bounds memory).

    Notes
    -----
    Iterate to receive :class:`PosedFrame` objects; iteration ends at the end
    of a file or after :meth:`stop`. An exception raised in the producer
    (source, estimator) is raised again in the consumer.
    """

    def __init__(self, source: VideoSource, estimator, *, realtime: bool = True,
                 queue_size: int = 8):
        self.source = source
        self.estimator = estimator
        self.realtime = realtime
        self._slot = LatestSlot() if realtime else None
        self._queue = None if realtime else queue.Queue(maxsize=max(1, int(queue_size)))
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread = None
        self._finished = threading.Event()
        self._pose_ms = deque(maxlen=_STATS_WINDOW)
        self.captured = 0
        self.posed = 0
        self.delivered = 0
        self.dropped_before_pose = 0
        self._started_at = None
        self._ended_at = None

    # -- producer ---------------------------------------------------------------------
    def start(self) -> "PosePipeline":
        """Start the producer thread (iterating starts it too)."""
        if self._thread is None:
            self._started_at = time.monotonic()
            self._thread = threading.Thread(target=self._run, name="ibeat-pose", daemon=True)
            self._thread.start()
        return self

    def _run(self):
        try:
            self._produce()
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            self._error = exc
        finally:
            self._ended_at = time.monotonic()
            self._finished.set()
            if self._slot is not None:
                self._slot.close()
            else:
                self._offer(_END, final=True)

    def _produce(self):
        import cv2

        paced = self.realtime and not self.source.is_live
        period = 1.0 / self.source.fps
        t_start = None
        last_ms = -1
        while not self._stop.is_set():
            frame = self.source.read()
            if frame is None:
                return
            self.captured += 1
            if paced:
                # A file played like a camera: frame k arrives at t_start + time_s.
                # If frame k+1 has arrived already, frame k is stale: a camera
                # would have overwritten it while the estimator was busy.
                if t_start is None:
                    t_start = time.monotonic() - frame.time_s
                due = t_start + frame.time_s
                now = time.monotonic()
                if now >= due + period:
                    self.dropped_before_pose += 1
                    continue
                if due > now and self._stop.wait(due - now):
                    return
                frame = CapturedFrame(frame.index, frame.time_s, frame.bgr, due)
            rgb = cv2.cvtColor(frame.bgr, cv2.COLOR_BGR2RGB)
            # The estimator's video mode needs strictly increasing integer ms.
            ts_ms = max(int(round(frame.time_s * 1000.0)), last_ms + 1)
            last_ms = ts_ms
            t0 = time.perf_counter()
            pose = self.estimator.estimate(rgb, ts_ms)
            self._pose_ms.append(1e3 * (time.perf_counter() - t0))
            self.posed += 1
            if not self._offer(PosedFrame(frame, pose, time.monotonic())):
                return

    def _offer(self, item, *, final: bool = False) -> bool:
        """Hand ``item`` to the consumer; False when stopped."""
        if self._slot is not None:
            return self._slot.put(item)
        while True:
            try:
                self._queue.put(item, timeout=0.05)
                return True
            except queue.Full:
                if self._stop.is_set():
                    if final:
                        # Make room so a consumer still waiting sees the end.
                        try:
                            self._queue.get_nowait()
                        except queue.Empty:
                            pass
                        continue
                    return False

    # -- consumer ---------------------------------------------------------------------
    def __iter__(self) -> Iterator[PosedFrame]:
        self.start()
        while True:
            if self._slot is not None:
                item = self._slot.get(timeout=0.1)
                if item is None:
                    if self._slot.closed:
                        break
                    continue
            else:
                try:
                    item = self._queue.get(timeout=0.1)
                except queue.Empty:
                    continue
                if item is _END:
                    break
            if self._stop.is_set():
                break
            self.delivered += 1
            yield item
        self._raise_error()

    def _raise_error(self):
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def stop(self, timeout_s: float = 5.0):
        """Stop the producer and wait for it (up to ``timeout_s`` for a pose in flight)."""
        self._stop.set()
        if self._slot is not None:
            self._slot.close()
        if self._thread is not None:
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                print(f"ibeat: the capture thread did not stop within {timeout_s:g} s",
                      file=sys.stderr)

    @property
    def running(self) -> bool:
        return self._thread is not None and not self._finished.is_set()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def stats(self) -> dict:
        """Counts and timings so far.

        Returns
        -------
        dict
            ``captured`` frames read, ``posed``, ``delivered`` to the consumer,
            ``dropped_before_pose`` (skipped: a newer frame had arrived),
            ``dropped_unconsumed`` (posed, replaced before the consumer took it),
            ``dropped_stale`` (the two together), ``pose_ms`` p50/p99 [ms] of the
            estimator call, ``wall_s``, ``capture_fps`` and ``posed_fps``
            (measured), ``source_fps``, and ``ended_early`` (a note, or None).
        """
        end = self._ended_at or time.monotonic()
        wall = end - self._started_at if self._started_at is not None else 0.0
        unconsumed = self._slot.dropped if self._slot is not None else 0
        rate = (lambda n: round(n / wall, 2) if wall > 0 else None)
        return {"source": self.source.name, "source_fps": self.source.fps,
                "realtime": self.realtime, "captured": self.captured, "posed": self.posed,
                "delivered": self.delivered, "dropped_before_pose": self.dropped_before_pose,
                "dropped_unconsumed": unconsumed,
                "dropped_stale": self.dropped_before_pose + unconsumed,
                "pose_ms": _percentiles_ms(self._pose_ms), "wall_s": round(wall, 3),
                "capture_fps": rate(self.captured), "posed_fps": rate(self.posed),
                "ended_early": None if self.running else self.source.ended_early}
