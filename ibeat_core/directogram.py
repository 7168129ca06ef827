"""Directogram: per-frame histogram of joint motion over direction (paper 3.1.1).

For every frame t, each joint's displacement ``S_t(j) - S_{t-1}(j)`` (divided by
the body scale, times the frame rate: torso lengths per second) is added, by
magnitude, to one of ``n_bins`` equal angle bins over the full circle (atan2).
A joint missing at t or t-1 contributes nothing, so lost detections never look
like motion; the row is scaled by ``J / n_valid`` so they do not look like a
stop either.

:class:`DirectogramTracker` streams it a frame at a time; its binning is a batching
network (:class:`MotionBins`, :mod:`ibeat_core.batching`), so a server bins every
stream's frame of a round in one array call.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from .batching import NetworkCall, Steps, run_alone
from .errors import ParameterError

__all__ = ["N_BINS", "directogram", "DirectogramTracker", "MotionBins", "motion_bins"]

#: Number of direction bins (20 degrees each, paper 4.2).
N_BINS = 18


def _bin_motion(delta, n_bins):
    """Directogram rows from displacements ``delta`` (..., J, 2) in body units per second."""
    dx, dy = delta[..., 0], delta[..., 1]
    mag = np.hypot(dx, dy)
    ok = np.isfinite(mag)
    mag[~ok] = 0.0
    # Snap components that are zero up to rounding to exactly zero: purely
    # horizontal motion (common with integer pixels) sits on a bin edge, and the
    # same motion in other units must land in the same bin.
    tiny = 1e-9 * mag
    dx = np.where(ok & (np.abs(dx) > tiny), dx, 0.0)
    dy = np.where(ok & (np.abs(dy) > tiny), dy, 0.0)
    bins = (np.floor((np.arctan2(dy, dx) + np.pi) * (n_bins / (2 * np.pi))).astype(np.int64)
            % n_bins)
    # Each joint's magnitude added to its row's bin, joints in order.
    lead = bins.shape[:-1]
    n_rows = math.prod(lead)
    index = bins + (np.arange(n_rows) * n_bins).reshape(lead + (1,))
    rows = np.bincount(index.ravel(), weights=mag.ravel(),
                       minlength=n_rows * n_bins).reshape(lead + (n_bins,))
    # A joint that drops out would otherwise look like a sudden stop (a fake
    # kinematic offset): scale each row up to the full joint count instead.
    n_valid = ok.sum(axis=-1)
    gain = delta.shape[-2] / np.maximum(n_valid, 1) * (n_valid > 0)
    return rows * gain[..., None]


def directogram(xy, scale, *, fps: float, n_bins: int = N_BINS) -> np.ndarray:
    """Directogram of a resampled, scale-tracked skeleton sequence.

    Parameters
    ----------
    xy : array_like, shape (T, J, 2)
        Positions on an even grid of ``fps`` Hz, NaN where a joint is missing.
    scale : array_like, shape (T,)
        Body scale per frame in the units of ``xy`` (see
        :func:`ibeat_core.keypoints.body_scale`); NaN means unknown (no motion).
    fps : float
        Frame rate [Hz] of ``xy``.
    n_bins : int
        Angle bins over [-pi, pi).

    Returns
    -------
    np.ndarray, shape (T, n_bins), float64
        Motion magnitude per direction [body lengths / s]. Row 0 is zero: a
        frame needs a predecessor to move.

    Examples
    --------
    >>> xy = np.zeros((3, 17, 2)); xy[1:, :, 0] = 0.1   # everyone steps right once
    >>> d = directogram(xy, np.ones(3), fps=10)
    >>> d.shape, float(d[1].sum()), int(d[1].argmax()), float(d[2].sum())
    ((3, 18), 17.0, 9, 0.0)
    """
    xy = np.asarray(xy, dtype=np.float64)
    scale = np.asarray(scale, dtype=np.float64)
    if xy.ndim != 3 or xy.shape[2] != 2:
        raise ParameterError(f"xy must have shape (T, J, 2), got {xy.shape}")
    if scale.shape != (len(xy),):
        raise ParameterError(f"scale must have shape ({len(xy)},), got {scale.shape}")
    if not fps > 0:
        raise ParameterError(f"fps must be > 0 Hz, got {fps!r}")
    out = np.zeros((len(xy), n_bins))
    if len(xy) < 2:
        return out
    s = np.where(np.isfinite(scale) & (scale > 0), scale, np.nan)
    delta = (xy[1:] - xy[:-1]) * (fps / s[1:, None, None])
    out[1:] = _bin_motion(delta, n_bins)
    return out


class MotionBins:
    """Directogram rows of displacements, as a batching network (:mod:`ibeat_core.batching`).

    ``step(delta)``: one frame's displacements ``(J, 2)`` [body lengths / s] -> its row
    ``(n_bins,)``. ``step_batch`` bins many streams' frames in one array call; every row
    is what its frame gets alone (the maths is elementwise and each row sums its own
    joints in order). Streams share one instance per bin count (:func:`motion_bins`), so
    that a round's calls meet.
    """

    def __init__(self, n_bins: int = N_BINS):
        self.n_bins = n_bins

    def step(self, delta: np.ndarray) -> np.ndarray:
        return _bin_motion(delta, self.n_bins)

    def step_batch(self, calls: list) -> list:
        by_shape: dict[tuple, list[int]] = {}
        for i, (delta,) in enumerate(calls):
            by_shape.setdefault(delta.shape, []).append(i)
        out: list = [None] * len(calls)
        for rows in by_shape.values():  # skeletons of different sizes bin apart
            binned = _bin_motion(np.stack([calls[i][0] for i in rows]), self.n_bins)
            for i, row in zip(rows, binned):
                out[i] = row
        return out


@lru_cache(maxsize=None)
def motion_bins(n_bins: int = N_BINS) -> MotionBins:
    """The one :class:`MotionBins` of ``n_bins`` that every stream shares."""
    return MotionBins(n_bins)


class DirectogramTracker:
    """Streaming :func:`directogram`: one frame of positions in, one row out."""

    def __init__(self, *, fps: float, n_bins: int = N_BINS):
        self.fps = fps
        self.n_bins = n_bins
        self._bins = motion_bins(n_bins)
        self.reset()

    def reset(self):
        self._prev = None

    def process_frame(self, xy, scale: float) -> np.ndarray:
        """Take positions ``(J, 2)`` and the body scale; return the row ``(n_bins,)``."""
        return run_alone(self.process_frame_steps(xy, scale))

    def process_frame_steps(self, xy, scale: float) -> Steps[np.ndarray]:
        """:meth:`process_frame` as a generator of network steps (the binning, batched
        across streams by :func:`~ibeat_core.batching.run_together`)."""
        xy = np.asarray(xy, dtype=np.float64)
        if self._prev is None:
            row = np.zeros(self.n_bins)
        else:
            s = scale if np.isfinite(scale) and scale > 0 else np.nan
            row = yield NetworkCall(self._bins, ((xy - self._prev) * (self.fps / s),))
        self._prev = xy
        return row
