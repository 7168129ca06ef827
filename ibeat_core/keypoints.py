"""Keypoint validation, resampling onto a fixed rate, and body-scale normalisation.

Keypoints are COCO-17 2D arrays of shape ``(T, J, 3)``: ``[x, y, confidence]`` per
joint, in any coordinate space (pixels, normalised image coordinates or metres)
with x to the right and y down or up; only differences of positions are used
downstream, and they are divided by the body's own scale, so the units cancel.

Missing data convention (decided here, once, for all of ibeat):

* a joint whose x or y is NaN or +-Inf, or whose confidence is NaN, +-Inf or
  below ``min_confidence``, is **missing**;
* missing joints never produce motion: they are excluded (NaN), never replaced by
  ``(0, 0)`` or carried across long gaps.

Timestamps are float seconds in the sender's clock and must strictly increase.
The resampler also takes 3D joints ``[x, y, z, confidence]`` (``dims=3``), for
:mod:`ibeat_core.body3d`; the body scale and its stand-ins for a partial body
(:func:`body_size`) are 2D.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from .errors import ParameterError
from .skeleton import N_JOINTS, TORSO

__all__ = [
    "FPS",
    "KeypointConfig",
    "valid_keypoints",
    "valid_timestamps",
    "mask_missing",
    "resample",
    "Resampler",
    "torso_length",
    "SCALE_STAND_INS",
    "body_size",
    "body_scale",
    "BodyScaleTracker",
]

LEFT_SHOULDER, RIGHT_SHOULDER, LEFT_HIP, RIGHT_HIP = TORSO

#: Internal frame rate of the signal chain [Hz].
FPS = 30.0
# Frames of these dtypes and the right shape skip the general checks (the usual case).
_FLOATS = (np.dtype(np.float64), np.dtype(np.float32))

#: A frame within this much of a grid time [s] is on it: half the wire's microsecond.
#: Clients stamp frames in whole microseconds, so a sender at the grid rate lands up
#: to 0.5 us beside each grid time (1/30 s is 33333.3 us); read as off the grid, a
#: third of its grid frames would wait one more input frame and come two at a time.
ON_GRID_S = 5e-7


@dataclass(frozen=True)
class KeypointConfig:
    """How raw keypoints become clean, evenly sampled, scale-free positions.

    Attributes
    ----------
    fps : float
        Internal frame rate [Hz] every clip is resampled to.
    min_confidence : float
        Joints below this confidence are treated as missing.
    max_gap_s : float
        Two input frames further apart than this [s] are a gap: the grid frames
        between them are left missing rather than interpolated.
    scale_window_s : float
        Length [s] of the running window over which the torso length is
        median-filtered to give the body scale.
    body_scale : float or None
        A fixed body scale in input units instead of the measured one: for
        positions in metres there is nothing to estimate (a torso is about
        0.5 m). None measures it (:func:`body_scale`).
    """

    fps: float = FPS
    min_confidence: float = 0.2
    max_gap_s: float = 0.25
    scale_window_s: float = 2.0
    body_scale: float | None = None

    def __post_init__(self):
        if not (self.fps > 0 and np.isfinite(self.fps)):
            raise ParameterError(f"fps must be a positive number of Hz, got {self.fps!r}")
        if self.max_gap_s <= 0 or self.scale_window_s <= 0:
            raise ParameterError("max_gap_s and scale_window_s must be > 0 seconds")
        if self.body_scale is not None and not (np.isfinite(self.body_scale)
                                                and self.body_scale > 0):
            raise ParameterError(f"body_scale must be > 0 input units or None, "
                                 f"got {self.body_scale!r}")

    @property
    def scale_window_frames(self) -> int:
        return max(1, int(round(self.scale_window_s * self.fps)))


def valid_keypoints(keypoints, *, n_joints: int = N_JOINTS, dims: int = 2) -> np.ndarray:
    """Check a keypoint array and return it as float64 ``(T, J, dims + 1)``.

    Parameters
    ----------
    keypoints : array_like, shape (T, J, dims) or (T, J, dims + 1)
        Positions (x, y, and z for ``dims=3``) and optionally a confidence per
        joint. Without a confidence column every joint gets confidence 1.
    n_joints : int
        Expected J (17 for COCO-17).
    dims : int
        2 for image keypoints, 3 for 3D joints.

    Returns
    -------
    np.ndarray, shape (T, J, dims + 1), float64
        NaN/Inf are kept; :func:`mask_missing` turns them into missing joints.

    Raises
    ------
    ParameterError
        If the array is not numeric, has the wrong number of dimensions or joints.

    Examples
    --------
    >>> valid_keypoints(np.zeros((4, 17, 2))).shape
    (4, 17, 3)
    """
    arr = np.asarray(keypoints)
    if not np.issubdtype(arr.dtype, np.number):
        raise ParameterError(f"keypoints must be numeric, got dtype {arr.dtype}")
    if arr.ndim != 3 or arr.shape[2] not in (dims, dims + 1):
        raise ParameterError(
            f"keypoints must have shape (T, J, {dims}) or (T, J, {dims + 1}), got {arr.shape}")
    if arr.shape[1] != n_joints:
        raise ParameterError(f"expected {n_joints} joints, got {arr.shape[1]} (shape {arr.shape})")
    arr = arr.astype(np.float64)
    if arr.shape[2] == dims:
        arr = np.concatenate([arr, np.ones(arr.shape[:2] + (1,))], axis=2)
    return arr


def valid_timestamps(timestamps_s, *, n_frames: int | None = None) -> np.ndarray:
    """Check frame times [s]: 1-D, finite, strictly increasing.

    Raises
    ------
    ParameterError
        On NaN/Inf, repeats, times going backwards, or a length other than ``n_frames``.

    Examples
    --------
    >>> valid_timestamps([0.0, 0.033, 0.07])
    array([0.   , 0.033, 0.07 ])
    """
    t = np.asarray(timestamps_s, dtype=np.float64)
    if t.ndim != 1:
        raise ParameterError(f"timestamps must be 1-D seconds, got shape {t.shape}")
    if n_frames is not None and len(t) != n_frames:
        raise ParameterError(f"{len(t)} timestamps for {n_frames} frames")
    if not np.all(np.isfinite(t)):
        raise ParameterError("timestamps contain NaN or Inf")
    if len(t) > 1 and np.any(np.diff(t) <= 0):
        i = int(np.argmax(np.diff(t) <= 0))
        raise ParameterError(
            f"timestamps must strictly increase: t[{i}]={t[i]!r} s, t[{i + 1}]={t[i + 1]!r} s")
    return t


def mask_missing(keypoints, *, min_confidence: float = KeypointConfig.min_confidence,
                 dims: int = 2):
    """Split keypoints into positions with NaN for missing joints, and a validity mask.

    Parameters
    ----------
    keypoints : array_like, shape (..., J, dims + 1)
        Positions then confidence.
    min_confidence : float
        Joints with a lower (or non-finite) confidence are missing.
    dims : int
        Position columns (2 for image keypoints, 3 for 3D joints).

    Returns
    -------
    xy : np.ndarray, shape (..., J, dims), float64
        Positions; NaN where missing.
    valid : np.ndarray, shape (..., J), bool

    Examples
    --------
    >>> kp = np.array([[[1.0, 2.0, 0.9], [np.nan, 0.0, 0.9], [3.0, 4.0, 0.05]]])
    >>> mask_missing(kp, min_confidence=0.2)[1]
    array([[ True, False, False]])
    """
    kp = np.asarray(keypoints, dtype=np.float64)
    # Every value finite, and the confidence at least the minimum.
    valid = np.isfinite(kp).all(axis=-1) & (kp[..., dims] >= min_confidence)
    xy = np.where(valid[..., None], kp[..., :dims], np.nan)
    return xy, valid


def _grid_times(t0: float, t1: float, fps: float) -> np.ndarray:
    # Grid times are multiples of 1/fps in the sender's clock, so streaming and
    # offline resampling land on the same instants whatever the first timestamp.
    # Python floats (no -0.0 from an integer): numpy's scalar functions cost more here.
    first = float(math.ceil((t0 - ON_GRID_S) * fps))
    last = float(math.floor((t1 + ON_GRID_S) * fps))
    return np.arange(first, last + 1) / fps


def _interpolate(g, ta, tb, xa, va, xb, vb, max_gap_s):
    """Positions at grid time(s) ``g`` from the bracketing frames ``a`` (<= g) and ``b`` (>= g).

    Shapes broadcast: g, ta, tb (N,), xa/xb (N, J, D), va/vb (N, J).
    A joint valid in both frames is interpolated linearly; valid in one, the
    nearer frame's position is used only if that frame is the nearer one;
    across a gap longer than ``max_gap_s`` it is missing.
    """
    span = tb - ta
    w = np.where(span > 0, (g - ta) / np.where(span > 0, span, 1.0), 0.0)
    w = w[:, None]
    both = va & vb
    x = np.where(both[..., None], xa + (xb - xa) * w[..., None], np.nan)
    a_only = va & ~vb & (w <= 0.5)
    b_only = vb & ~va & (w > 0.5)
    x = np.where(a_only[..., None], xa, x)
    x = np.where(b_only[..., None], xb, x)
    ok = (span <= max_gap_s)[:, None] & (both | a_only | b_only)
    return np.where(ok[..., None], x, np.nan), ok


def resample(timestamps_s, keypoints, *, config: KeypointConfig = KeypointConfig()):
    """Resample keypoints taken at arbitrary times onto the fixed grid ``k / fps``.

    Causal: each grid frame depends only on the input frames on either side of
    it, so :class:`Resampler` gives the same frames one input at a time.

    Parameters
    ----------
    timestamps_s : array_like, shape (T,)
        Strictly increasing capture times [s].
    keypoints : array_like, shape (T, J, 2|3)
        See :func:`valid_keypoints`; NaN/Inf and low confidence mean missing.
    config : KeypointConfig

    Returns
    -------
    times_s : np.ndarray, shape (N,)
        Grid times [s], multiples of ``1 / config.fps`` within the input span.
    xy : np.ndarray, shape (N, J, 2), float64
        Positions, NaN where a joint is missing (low confidence on both sides,
        or a gap longer than ``config.max_gap_s``).

    Examples
    --------
    >>> kp = np.zeros((3, 17, 3)); kp[..., 2] = 1; kp[:, :, 0] = [[0], [1], [2]]
    >>> t, xy = resample([0.0, 0.1, 0.2], kp, config=KeypointConfig(fps=20))
    >>> t.round(2).tolist(), xy[:, 0, 0].round(2).tolist()
    ([0.0, 0.05, 0.1, 0.15, 0.2], [0.0, 0.5, 1.0, 1.5, 2.0])
    """
    kp = valid_keypoints(keypoints, n_joints=np.shape(keypoints)[1])
    t = valid_timestamps(timestamps_s, n_frames=len(kp))
    n_joints = kp.shape[1]
    if len(t) == 0:
        return np.zeros(0), np.zeros((0, n_joints, 2))
    xy, valid = mask_missing(kp, min_confidence=config.min_confidence)
    g = _grid_times(t[0], t[-1], config.fps)
    b = np.clip(np.searchsorted(t, g - ON_GRID_S, side="left"), 0, len(t) - 1)
    a = np.where(np.abs(t[b] - g) <= ON_GRID_S, b, np.maximum(b - 1, 0))
    out, _ = _interpolate(g, t[a], t[b], xy[a], valid[a], xy[b], valid[b], config.max_gap_s)
    return g, out


class Resampler:
    """Streaming counterpart of :func:`resample`: one input frame in, 0..n grid frames out.

    Parameters
    ----------
    config : KeypointConfig
    n_joints : int
    dims : int
        2 for image keypoints ``[x, y(, c)]``, 3 for 3D joints ``[x, y, z(, c)]``.

    Examples
    --------
    >>> r = Resampler(KeypointConfig(fps=20))
    >>> kp = np.zeros((17, 3)); kp[:, 2] = 1
    >>> [len(r.process_frame(t, kp)[0]) for t in (0.0, 0.1, 0.2)]
    [1, 2, 2]
    """

    def __init__(self, config: KeypointConfig = KeypointConfig(), *, n_joints: int = N_JOINTS,
                 dims: int = 2):
        self.config = config
        self.n_joints = n_joints
        self.dims = dims
        self.reset()

    def reset(self):
        self._t = None
        self._kp = None      # the last frame as given; masked only when a grid point needs it
        self._masked = None

    def process_frame(self, timestamp_s: float, keypoints):
        """Take one frame; return ``(times_s (n,), positions (n, J, dims))`` of the grid frames
        it completes.

        Raises
        ------
        ParameterError
            If ``timestamp_s`` is not finite or does not increase, or the frame's shape
            does not fit.
        """
        kp = np.asarray(keypoints)
        if kp.dtype in _FLOATS and kp.shape == (self.n_joints, self.dims + 1):
            kp = kp.astype(np.float64)  # a copy: kept for later, the caller may reuse its buffer
        else:
            kp = valid_keypoints(kp[None], n_joints=self.n_joints, dims=self.dims)[0]
        t = float(timestamp_s)
        if not math.isfinite(t):
            raise ParameterError(f"timestamp must be finite seconds, got {timestamp_s!r}")
        if self._t is not None and t <= self._t:
            raise ParameterError(
                f"timestamps must strictly increase: got {t!r} s after {self._t!r} s")
        if self._t is None:
            g = _grid_times(t, t, self.config.fps)
            xy, valid = self._mask(kp)
            out = np.repeat(np.where(valid[:, None], xy, np.nan)[None], len(g), axis=0)
            self._t, self._kp, self._masked = t, kp, (xy, valid)
            return g, out
        # Grid points in (previous t, t]; the one equal to the previous t was emitted then.
        g = _grid_times(self._t, t, self.config.fps)
        g = g[g > self._t + ON_GRID_S]
        n = len(g)
        if n == 0:  # between two grid points (a fast sender): nothing to interpolate yet
            self._t, self._kp, self._masked = t, kp, None
            return g, np.zeros((0, self.n_joints, self.dims))
        xy, valid = self._mask(kp)
        if n == 1 and abs(g[0] - t) <= ON_GRID_S:  # a frame on the grid: taken as it is
            self._t, self._kp, self._masked = t, kp, (xy, valid)
            return g, xy[None]
        prev_xy, prev_valid = self._masked if self._masked is not None else self._mask(self._kp)
        if n == 1:  # the usual case, one grid point strictly between the two frames
            out, _ = _interpolate(g, np.array([self._t]), np.array([t]), prev_xy[None],
                                  prev_valid[None], xy[None], valid[None], self.config.max_gap_s)
            self._t, self._kp, self._masked = t, kp, (xy, valid)
            return g, out
        ta = np.full(n, self._t)
        tb = np.full(n, t)
        exact = np.abs(g - t) <= ON_GRID_S
        ta = np.where(exact, t, ta)
        out, _ = _interpolate(
            g, ta, tb,
            np.where(exact[:, None, None], xy, prev_xy),
            np.where(exact[:, None], valid, prev_valid),
            np.broadcast_to(xy, (n,) + xy.shape), np.broadcast_to(valid, (n,) + valid.shape),
            self.config.max_gap_s)
        self._t, self._kp, self._masked = t, kp, (xy, valid)
        return g, out

    def _mask(self, kp):
        return mask_missing(kp, min_confidence=self.config.min_confidence, dims=self.dims)


def _midpoint(a, b):
    """Midpoint of two (T, 2) point tracks; either one alone where the other is NaN."""
    a_ok = np.isfinite(a).all(axis=-1, keepdims=True)
    b_ok = np.isfinite(b).all(axis=-1, keepdims=True)
    both = np.where(a_ok & b_ok, (a + b) / 2, np.nan)
    return np.where(a_ok & ~b_ok, a, np.where(b_ok & ~a_ok, b, both))


def torso_length(xy) -> np.ndarray:
    """Distance from mid-shoulders to mid-hips per frame, in the input's units.

    Torso length barely changes with the camera's azimuth, unlike shoulder
    width, so it is the body scale for front and side views alike. One
    shoulder/hip pair stands in when the other is missing.

    Parameters
    ----------
    xy : array_like, shape (T, 17, 2)
        COCO-17 positions, NaN where missing.

    Returns
    -------
    np.ndarray, shape (T,)
        NaN where neither side's shoulder and hip are visible.
    """
    xy = np.asarray(xy, dtype=np.float64)
    sh = _midpoint(xy[:, LEFT_SHOULDER], xy[:, RIGHT_SHOULDER])
    hp = _midpoint(xy[:, LEFT_HIP], xy[:, RIGHT_HIP])
    return np.hypot(*(sh - hp).T)


def _frame_torso(xy) -> float:
    """:func:`torso_length` of one frame ``(17, 2)``, the same float, in scalar arithmetic:
    the streaming front end calls it every frame, where array calls cost more than the maths."""
    ls, rs, lh, rh = xy[[LEFT_SHOULDER, RIGHT_SHOULDER, LEFT_HIP, RIGHT_HIP]].tolist()
    (sx, sy), (hx, hy) = _point_midpoint(ls, rs), _point_midpoint(lh, rh)
    return float(np.hypot(sx - hx, sy - hy))


def _point_midpoint(a, b):
    """:func:`_midpoint` of two points ``[x, y]`` (Python floats)."""
    a_ok = math.isfinite(a[0]) and math.isfinite(a[1])
    b_ok = math.isfinite(b[0]) and math.isfinite(b[1])
    if a_ok and b_ok:
        return (a[0] + b[0]) / 2, (a[1] + b[1]) / 2
    if a_ok or b_ok:
        return a if a_ok else b
    return math.nan, math.nan


#: Stand-ins for the torso length when no shoulder-hip pair is seen (a partial
#: body: head and hands, an occluded lower half): ``(joint pairs, ratio)``, the
#: torso taken as ``ratio`` x the mean length of the pairs seen, the first entry
#: with a pair seen winning. Ratios: medians of torso / distance over 20
#: generated exercise views (camera azimuths 0-360 degrees) and 36 AIST++ 2D
#: views of break dance (shoulders 1.7 and 1.8, hips 3.4 and 2.9; nose to
#: wrists 0.7 on exercise, 1.1 for break dancers, who keep their hands closer
#: to the head). They spread by about 2x across poses and views, which the
#: offsets' own normalisation absorbs: only the stillness floor and the beat
#: network's input level see the scale.
SCALE_STAND_INS = (
    (((LEFT_SHOULDER, RIGHT_SHOULDER),), 1.8),   # shoulder width
    (((LEFT_HIP, RIGHT_HIP),), 3.0),             # hip width
    (((0, 9), (0, 10)), 0.7),                    # nose to each wrist
)


def body_size(xy) -> tuple[np.ndarray, np.ndarray]:
    """Torso length per frame, and a stand-in from other joints where it is unseen.

    Parameters
    ----------
    xy : array_like, shape (T, 17, 2)
        COCO-17 positions, NaN where missing.

    Returns
    -------
    torso : np.ndarray, shape (T,)
        :func:`torso_length`.
    stand_in : np.ndarray, shape (T,)
        Where the torso is NaN: the first of :data:`SCALE_STAND_INS` with a
        pair seen, in torso lengths; NaN where the torso is seen or nothing is.

    Examples
    --------
    >>> xy = np.full((1, 17, 2), np.nan); xy[0, 0] = [0, 0]; xy[0, 9] = [3, 4]
    >>> [float(v) for v in body_size(xy)[1]]
    [3.5]
    """
    xy = np.asarray(xy, dtype=np.float64)
    torso = torso_length(xy)
    stand_in = np.full(len(xy), np.nan)
    unseen = np.flatnonzero(np.isnan(torso))
    if len(unseen) == 0:  # the usual full body: nothing more to compute per frame
        return torso, stand_in
    part = xy[unseen]
    found = np.full(len(unseen), np.nan)
    for pairs, ratio in SCALE_STAND_INS:
        lengths = np.stack([np.hypot(*(part[:, a] - part[:, b]).T) for a, b in pairs])
        seen = np.isfinite(lengths)
        n = seen.sum(axis=0)
        mean = np.where(seen, lengths, 0.0).sum(axis=0) / np.maximum(n, 1)
        found = np.where(np.isnan(found) & (n > 0), ratio * mean, found)
    stand_in[unseen] = found
    return torso, stand_in


def body_scale(xy, *, config: KeypointConfig = KeypointConfig()) -> np.ndarray:
    """Running (causal) median torso length per frame, the unit of all motion.

    Parameters
    ----------
    xy : array_like, shape (T, 17, 2)
    config : KeypointConfig
        ``scale_window_s`` sets the median window; ``body_scale``, if set, is
        the scale of every frame.

    Returns
    -------
    np.ndarray, shape (T,)
        Median of the finite torso lengths in the last ``scale_window_frames``
        frames; where the window holds none, the median of their stand-ins
        (:func:`body_size`); NaN until a body has been seen.
    """
    torso, stand_in = body_size(xy)
    tracker = BodyScaleTracker(config)
    return np.array([tracker.process_frame(a, b) for a, b in zip(torso, stand_in)])


class BodyScaleTracker:
    """Streaming running median of the torso length (see :func:`body_scale`)."""

    def __init__(self, config: KeypointConfig = KeypointConfig()):
        self.config = config
        self.reset()

    def reset(self):
        # Torso lengths and stand-ins of the window, each kept sorted: the median is a lookup.
        self._torso = _RunningMedian(self.config.scale_window_frames)
        self._stand_in = _RunningMedian(self.config.scale_window_frames)
        self._last = np.nan if self.config.body_scale is None else float(self.config.body_scale)

    def process_pose(self, xy) -> float:
        """Take one frame's positions ``(17, 2)``; return the body scale (:func:`body_size`
        is not computed for a fixed scale)."""
        if self.config.body_scale is not None:
            return self._last
        torso = _frame_torso(xy)
        if math.isnan(torso):  # no shoulder-hip pair: the stand-ins
            torso, stand_in = (float(v[0]) for v in body_size(xy[None]))
        else:
            stand_in = math.nan
        return self.process_frame(torso, stand_in)

    def process_frame(self, torso: float, stand_in: float = np.nan) -> float:
        """Take one frame's torso length and its stand-in (NaN if unseen); return the body scale."""
        if self.config.body_scale is not None:
            return self._last
        a = self._torso.push(torso)
        b = self._stand_in.push(stand_in)
        if math.isfinite(a):
            self._last = a
        elif math.isfinite(b):
            self._last = b
        return self._last


class _RunningMedian:
    """Median of the finite positive values among the last ``size`` pushed; NaN if none."""

    def __init__(self, size: int):
        self._window = deque()
        self._sorted = []
        self._size = size

    def push(self, value: float) -> float:
        value = float(value)
        valid = math.isfinite(value) and value > 0
        self._window.append(value if valid else None)
        if valid:
            bisect.insort(self._sorted, value)
        if len(self._window) > self._size:
            old = self._window.popleft()
            if old is not None:
                del self._sorted[bisect.bisect_left(self._sorted, old)]
        n = len(self._sorted)
        if not n:
            return np.nan
        mid = n // 2
        return (self._sorted[mid - 1] + self._sorted[mid]) / 2 if n % 2 == 0 else self._sorted[mid]
