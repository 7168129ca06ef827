"""The consumer side of the live pipeline: posed frames in, beat cues and drum hits out.

:class:`VideoSession` feeds :class:`ibeat_core.session.Session` one
:class:`~ibeat_video.capture.PosedFrame` at a time, in the capture clock.

A frame without a person is still pushed, as 17 missing joints (NaN positions,
confidence 0; the missing-data convention of :mod:`ibeat_core.keypoints`): the
engine's clock keeps running, the body shows no motion, the B-HMM loses
confidence and the drums stop within about a beat instead of playing on. When
the person comes back the engine picks the beat up again as at the start of a
stream (about 3 s on the bundled clip), and after ``idle_reset_beats`` silent
beats the drum generators have restarted too.

:attr:`VideoSession.status` says in words what the camera sees, for the
preview and the status line. Latency is recorded per stage in the monotonic
clock: capture -> pose ready, pose ready -> events (hand-off wait plus
``Session.push``), and capture -> events end to end.
"""

from __future__ import annotations

import time
from collections import Counter, deque

import numpy as np

from ibeat_core.keypoints import KeypointConfig
from ibeat_core.session import DrumHit, Session, SessionConfig
from ibeat_core.skeleton import N_JOINTS

__all__ = ["MISSING_KEYPOINTS", "MIN_PERSON_FRACTION", "DARK_BRIGHTNESS", "STATUS_KINDS",
           "VideoSession", "frame_brightness", "person_extent"]

#: What a frame without a person is pushed as: every joint missing.
MISSING_KEYPOINTS = np.concatenate(
    [np.full((N_JOINTS, 2), np.nan, np.float32), np.zeros((N_JOINTS, 1), np.float32)], axis=1)
MISSING_KEYPOINTS.setflags(write=False)
#: A person whose visible joints span less than this fraction of the frame
#: height is "too small": a few pixels of pose noise are then a large motion.
MIN_PERSON_FRACTION = 0.15
#: Mean brightness (0..255) below which an empty frame is reported as too dark.
DARK_BRIGHTNESS = 25.0
#: The kinds of :attr:`VideoSession.status`, for counting.
STATUS_KINDS = ("tracking", "no person", "too dark", "several people", "person too small")
# Samples kept for the latency percentiles (10 min at 60 fps).
_WINDOW = 36000


def frame_brightness(bgr: np.ndarray) -> float:
    """Mean brightness of an image, 0..255, from every 8th pixel (cheap: ~0.1 ms at 1080p).

    Parameters
    ----------
    bgr : np.ndarray, shape (H, W, 3), uint8

    Examples
    --------
    >>> frame_brightness(np.full((48, 64, 3), 10, np.uint8))
    10.0
    """
    return float(np.asarray(bgr)[::8, ::8].mean())


def person_extent(keypoints: np.ndarray, *,
                  min_confidence: float = KeypointConfig.min_confidence) -> float:
    """The larger side [px] of the box around a person's visible joints (0 if none).

    Parameters
    ----------
    keypoints : np.ndarray, shape (17, 3)
        ``[x px, y px, confidence]``.
    min_confidence : float
        Joints below it do not count (the engine's own threshold by default).
    """
    kp = np.asarray(keypoints, dtype=np.float64)
    ok = np.isfinite(kp[:, 0]) & np.isfinite(kp[:, 1]) & (np.nan_to_num(kp[:, 2]) >= min_confidence)
    if ok.sum() < 2:
        return 0.0
    span = kp[ok, :2].max(axis=0) - kp[ok, :2].min(axis=0)
    return float(span.max())


def _percentiles(values, qs=(50, 99)) -> dict:
    v = np.asarray(values, dtype=np.float64)
    out = {f"p{q}": (round(float(np.percentile(v, q)), 2) if v.size else None) for q in qs}
    out["n"] = int(v.size)
    return out


class VideoSession:
    """One camera's dancer through the engine: :meth:`push` posed frames, get events.

    Parameters
    ----------
    networks : ibeat_core.session.Networks
        ``ibeat_models.load_networks()`` gives the shipped ones.
    config : SessionConfig
    min_person_fraction : float
        See :data:`MIN_PERSON_FRACTION`.
    dark_brightness : float
        See :data:`DARK_BRIGHTNESS`.

    Attributes
    ----------
    session : Session
    status : str
        "tracking", "no person in frame", "too dark to find a person (brightness
        B/255)", "several people (N): following one", "person too small (P% of
        the frame height): come closer", or "waiting for frames".
    status_kind : str
        The status without its numbers (one of :data:`STATUS_KINDS`).
    status_counts : collections.Counter
        Frames per status kind.
    last_keypoints : np.ndarray (17, 3) or None
        The followed person's keypoints [px] in the last frame, None when nobody.
    n_people : int
        People detected in the last frame.
    clock_offset_s : float or None
        ``grabbed_at - time_s`` of the last frame: a capture-clock time ``t``
        is ``t + clock_offset_s`` in ``time.monotonic()`` (real time only).
    """

    def __init__(self, networks, config: SessionConfig = SessionConfig(), *,
                 min_person_fraction: float = MIN_PERSON_FRACTION,
                 dark_brightness: float = DARK_BRIGHTNESS):
        self.session = Session(networks, config)
        self.config = config
        self.min_person_fraction = float(min_person_fraction)
        self.dark_brightness = float(dark_brightness)
        self._min_confidence = config.rhythm.keypoints.min_confidence
        self.reset()

    def reset(self):
        """Forget the stream and the statistics; the next frame starts a new one."""
        self.session.reset()
        self.status = "waiting for frames"
        self.status_kind = "no person"
        self.status_counts = Counter()
        self.last_keypoints = None
        self.n_people = 0
        self.clock_offset_s = None
        self.frames = 0
        self._capture_to_posed = deque(maxlen=_WINDOW)
        self._posed_to_events = deque(maxlen=_WINDOW)
        self._engine = deque(maxlen=_WINDOW)
        self._end_to_end = deque(maxlen=_WINDOW)
        self._hit_lead = deque(maxlen=_WINDOW)

    def push(self, pf) -> list:
        """Take one posed frame; return the events it produced.

        Parameters
        ----------
        pf : ibeat_video.capture.PosedFrame
            Frames must come in capture order (``pf.frame.time_s`` strictly increasing).

        Returns
        -------
        list of BeatCue and DrumHit
            Times in the capture clock [s] (see :attr:`clock_offset_s`).
        """
        frame, pose = pf.frame, pf.pose
        keypoints = None if pose.keypoints is None else np.asarray(pose.keypoints, np.float32)
        self.n_people = int(pose.n_people)
        self.last_keypoints = keypoints
        self._update_status(keypoints, frame.bgr)
        t0 = time.perf_counter()
        events = self.session.push(frame.time_s,
                                   MISSING_KEYPOINTS if keypoints is None else keypoints)
        engine_s = time.perf_counter() - t0
        done_at = time.monotonic()
        self.frames += 1
        self.clock_offset_s = frame.grabbed_at - frame.time_s
        self._capture_to_posed.append(1e3 * (pf.posed_at - frame.grabbed_at))
        self._posed_to_events.append(1e3 * (done_at - pf.posed_at))
        self._engine.append(1e3 * engine_s)
        if events:
            self._end_to_end.append(1e3 * (done_at - frame.grabbed_at))
            for e in events:
                if isinstance(e, DrumHit):
                    self._hit_lead.append(1e3 * (e.time_s + self.clock_offset_s - done_at))
        return events

    def _update_status(self, keypoints, bgr):
        if keypoints is None:
            brightness = frame_brightness(bgr)
            if brightness < self.dark_brightness:
                kind, text = "too dark", (f"too dark to find a person (brightness "
                                          f"{brightness:.0f}/255)")
            else:
                kind, text = "no person", "no person in frame"
        else:
            height = bgr.shape[0]
            extent = person_extent(keypoints, min_confidence=self._min_confidence)
            if extent < self.min_person_fraction * height:
                kind = "person too small"
                text = (f"person too small ({100 * extent / height:.0f}% of the frame height): "
                        "come closer")
            elif self.n_people > 1:
                kind, text = "several people", f"several people ({self.n_people}): following one"
            else:
                kind, text = "tracking", "tracking"
        self.status, self.status_kind = text, kind
        self.status_counts[kind] += 1

    def to_monotonic(self, time_s: float) -> float:
        """A capture-clock time [s] as ``time.monotonic()`` (after the first frame)."""
        if self.clock_offset_s is None:
            raise RuntimeError("no frame pushed yet: the clocks are not related")
        return float(time_s) + self.clock_offset_s

    def latency_stats(self) -> dict:
        """Per-stage latency [ms], p50 and p99 over the recent frames.

        Returns
        -------
        dict
            ``capture_to_posed`` (grab -> pose ready: waiting behind the
            previous pose plus the estimator), ``posed_to_events`` (pose ready
            -> events: hand-off wait plus ``Session.push``), ``engine``
            (``Session.push`` alone), ``end_to_end`` (grab -> events, frames
            that produced events), ``hit_lead`` (play time - time the hit left
            the engine; negative means late; p1 and p50).
        """
        return {"capture_to_posed": _percentiles(self._capture_to_posed),
                "posed_to_events": _percentiles(self._posed_to_events),
                "engine": _percentiles(self._engine),
                "end_to_end": _percentiles(self._end_to_end),
                "hit_lead": _percentiles(self._hit_lead, qs=(1, 50))}
