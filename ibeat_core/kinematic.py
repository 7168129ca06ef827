"""Kinematic offsets: the deceleration flux of the directogram (paper 3.1.1).

A visual beat is a moment where the body stops moving in some direction. Per
frame: the directogram is low-pass filtered per bin, its negative first
difference (deceleration) is half-wave rectified and averaged over bins, and
the result is divided by a high percentile of its recent values so that it lies
in [0, 1] for any dancer, camera or zoom.

Two modes share the same filter and normaliser definitions:

* ``causal=True`` (and :class:`KinematicOffsetTracker`): a causal IIR filter and a
  running percentile over the last ``norm_window_s``; the tracker reproduces it
  sample for sample, one frame in, one value out;
* ``causal=False``: zero-phase filtering and a percentile over a window centred
  on each frame, for offline ground truth.

The tracker's filter step is a batching network (:class:`FluxStep`,
:mod:`ibeat_core.batching`): a server filters every stream's row of a round at once.
"""

from __future__ import annotations

import bisect
from collections import deque
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .batching import NetworkCall, Steps, run_alone
from .errors import ParameterError
from .keypoints import FPS

__all__ = ["KinematicConfig", "deceleration_flux", "kinematic_offsets", "FluxTracker", "FluxStep",
           "flux_step", "KinematicOffsetTracker", "OffsetNormaliser", "lowpass_coefficients"]


@dataclass(frozen=True)
class KinematicConfig:
    """Parameters of the kinematic-offset signal.

    Attributes
    ----------
    fps : float
        Frame rate [Hz] of the directogram.
    lowpass_hz : float
        Cut-off [Hz] of the 2nd-order Butterworth low-pass applied per bin.
    norm_percentile : float
        The offsets are divided by this percentile of their recent values
        (paper: "top 1% peaks ... normalised to [0, 1]").
    norm_window_s : float
        Window [s] of that running percentile (trailing when causal, centred
        otherwise), so one wild stretch does not flatten the rest of a clip.
    norm_floor : float
        Smallest normaliser [body lengths / s^2 per bin]: below it a body is
        taken as still, so sensor noise is not blown up into beats.
    """

    fps: float = FPS
    lowpass_hz: float = 6.0
    norm_percentile: float = 99.0
    norm_window_s: float = 8.0
    norm_floor: float = 0.35

    def __post_init__(self):
        if not 0 < self.lowpass_hz < self.fps / 2:
            raise ParameterError(
                f"lowpass_hz must lie in (0, fps/2 = {self.fps / 2}) Hz, got {self.lowpass_hz!r}")
        if not 0 < self.norm_percentile <= 100:
            raise ParameterError(f"norm_percentile must be in (0, 100], got {self.norm_percentile!r}")

    @property
    def norm_window_frames(self) -> int:
        return max(1, int(round(self.norm_window_s * self.fps)))


def lowpass_coefficients(config: KinematicConfig):
    """Butterworth ``(b, a)`` of order 2 at ``config.lowpass_hz``, as ``scipy.signal.butter`` gives.

    The closed form of the bilinear transform with pre-warping, written out so
    that the streaming engine never imports scipy.signal (about 70 MB in every
    server process).

    Examples
    --------
    >>> b, a = lowpass_coefficients(KinematicConfig())
    >>> b.round(5).tolist(), a.round(5).tolist()
    ([0.20657, 0.41314, 0.20657], [1.0, -0.36953, 0.19582])
    """
    k = np.tan(np.pi * config.lowpass_hz / config.fps)
    norm = 1.0 / (1.0 + np.sqrt(2.0) * k + k * k)
    b = np.array([1.0, 2.0, 1.0]) * (k * k * norm)
    a = np.array([1.0, 2.0 * (k * k - 1.0) * norm, (1.0 - np.sqrt(2.0) * k + k * k) * norm])
    return b, a


def _flux(filtered):
    """Deceleration flux per frame from low-passed directogram rows (T, n_bins) -> (T,)."""
    decel = np.zeros_like(filtered)
    decel[1:] = filtered[:-1] - filtered[1:]
    return np.maximum(decel, 0.0).mean(axis=-1)


def deceleration_flux(directogram, *, config: KinematicConfig = KinematicConfig(),
                      causal: bool = True) -> np.ndarray:
    """Un-normalised deceleration flux [body lengths / s per frame, mean over bins].

    Parameters
    ----------
    directogram : array_like, shape (T, n_bins)
    config : KinematicConfig
    causal : bool
        Causal IIR low-pass (what :class:`FluxTracker` streams) or zero-phase.

    Returns
    -------
    np.ndarray, shape (T,)
    """
    d = np.asarray(directogram, dtype=np.float64)
    if d.ndim != 2:
        raise ParameterError(f"directogram must have shape (T, n_bins), got {d.shape}")
    if len(d) < 2:
        return np.zeros(len(d))
    b, a = lowpass_coefficients(config)
    if causal:
        from scipy import signal  # offline only: the streaming path needs no scipy.signal

        return _flux(signal.lfilter(b, a, d, axis=0))
    padlen = min(len(d) - 1, 3 * max(len(a), len(b)))
    from scipy import signal

    return _flux(signal.filtfilt(b, a, d, axis=0, padlen=padlen))


def kinematic_offsets(directogram, *, config: KinematicConfig = KinematicConfig(),
                      causal: bool = False) -> np.ndarray:
    """Kinematic offsets of a directogram.

    Parameters
    ----------
    directogram : array_like, shape (T, n_bins)
        From :func:`ibeat_core.directogram.directogram`, at ``config.fps``.
    config : KinematicConfig
    causal : bool
        True: only past frames are used (what :class:`KinematicOffsetTracker`
        computes). False: zero-phase filter and a centred normaliser window.

    Returns
    -------
    np.ndarray, shape (T,), float64
        Offsets in [0, 1]; 1 is a strong stop.

    Examples
    --------
    >>> t = np.arange(90) / 30
    >>> d = np.zeros((90, 18)); d[:, 0] = np.abs(np.sin(np.pi * t))  # stops every second
    >>> k = kinematic_offsets(d)
    >>> k.shape, float(k.max()) <= 1.0, abs(int(np.argmax(k[:45])) - 30) <= 2   # at the stop
    ((90,), True, True)
    """
    flux = deceleration_flux(directogram, config=config, causal=causal)
    norm = _running_percentile(flux, config.norm_window_frames, config.norm_percentile,
                               centered=not causal)
    return np.clip(flux / np.maximum(norm, config.norm_floor), 0.0, 1.0)


def _running_percentile(x, window, q, *, centered=False):
    """Percentile ``q`` of the ``window`` frames ending at (or centred on) each frame."""
    out = np.empty(len(x))
    half = window // 2
    for t in range(len(x)):
        lo, hi = (t - half, t + window - half) if centered else (t - window + 1, t + 1)
        out[t] = np.percentile(x[max(0, lo):min(len(x), hi)], q)
    return out


class FluxStep:
    """One frame of :class:`FluxTracker`'s filter and flux, as a batching network
    (:mod:`ibeat_core.batching`).

    ``step(row, z, prev)``: a directogram row ``(n_bins,)``, the filter's state
    ``(order, n_bins)`` (direct-form II transposed, as ``scipy.signal.lfilter`` keeps it)
    and the last filtered row ``(n_bins,)`` (None on the first frame) -> ``(flux, z, y)``,
    the frame's flux [body lengths / s per frame], the next state and this filtered row.
    ``step_batch`` filters many streams' rows in one array call, each what it gets alone
    (elementwise maths; each flux a mean over its own row). Streams share one instance per
    configuration (:func:`flux_step`).
    """

    def __init__(self, config: KinematicConfig = KinematicConfig()):
        self._b, self._a = lowpass_coefficients(config)

    @property
    def order(self) -> int:
        return len(self._a) - 1

    def _filter(self, x, z):
        """``x`` (..., n), ``z`` (order, ..., n) -> the filtered ``y`` (..., n) and the next ``z``."""
        b, a = self._b, self._a
        y = b[0] * x + z[0]
        z_next = np.empty_like(z)
        for i in range(len(z) - 1):
            z_next[i] = b[i + 1] * x + z[i + 1] - a[i + 1] * y
        z_next[-1] = b[-1] * x - a[-1] * y
        return y, z_next

    def step(self, row, z, prev):
        y, z = self._filter(row, z)
        flux = 0.0 if prev is None else float(np.maximum(prev - y, 0.0).mean())
        return flux, z, y

    def step_batch(self, calls: list) -> list:
        y, z = self._filter(np.stack([c[0] for c in calls]), np.stack([c[1] for c in calls], 1))
        flux = [0.0] * len(calls)
        seen = [i for i, c in enumerate(calls) if c[2] is not None]
        if seen:
            drops = np.maximum(np.stack([calls[i][2] for i in seen]) - y[seen], 0.0)
            for i, f in zip(seen, drops.mean(axis=-1).tolist()):
                flux[i] = f
        return [(f, z[:, i], y[i]) for i, f in enumerate(flux)]


@lru_cache(maxsize=None)
def flux_step(config: KinematicConfig = KinematicConfig()) -> FluxStep:
    """The one :class:`FluxStep` of ``config`` that every stream shares."""
    return FluxStep(config)


class FluxTracker:
    """Streaming :func:`deceleration_flux` (causal): one directogram row in, one flux out."""

    def __init__(self, config: KinematicConfig = KinematicConfig(), *, n_bins: int = 18):
        self.config = config
        self.n_bins = n_bins
        self._step = flux_step(config)
        self.reset()

    def reset(self):
        self._z = np.zeros((self._step.order, self.n_bins))
        self._prev = None

    def process_frame(self, row) -> float:
        """Take one directogram row ``(n_bins,)``; return this frame's flux."""
        return run_alone(self.process_frame_steps(row))

    def process_frame_steps(self, row) -> Steps[float]:
        """:meth:`process_frame` as a generator of network steps (the filter, batched across
        streams by :func:`~ibeat_core.batching.run_together`)."""
        x = np.asarray(row, dtype=np.float64)
        flux, self._z, self._prev = yield NetworkCall(self._step, (x, self._z, self._prev))
        return flux


class KinematicOffsetTracker:
    """Streaming kinematic offsets: one directogram row in, one offset out.

    Equals ``kinematic_offsets(d, causal=True)`` sample for sample.
    """

    def __init__(self, config: KinematicConfig = KinematicConfig(), *, n_bins: int = 18):
        self.config = config
        self._flux = FluxTracker(config, n_bins=n_bins)
        self._normaliser = OffsetNormaliser(config)
        self.reset()

    def reset(self):
        self._flux.reset()
        self._normaliser.reset()

    def process_frame(self, row) -> float:
        """Take one directogram row ``(n_bins,)``; return this frame's offset in [0, 1]."""
        return self._normaliser.process_frame(self._flux.process_frame(row))


class OffsetNormaliser:
    """Streaming causal normaliser: one deceleration flux in, one kinematic offset out.

    The second half of :class:`KinematicOffsetTracker`, for callers that already
    track the flux.
    """

    def __init__(self, config: KinematicConfig = KinematicConfig()):
        self.config = config
        self.reset()

    def reset(self):
        self._history = deque()
        # The window kept sorted, so a percentile is a lookup: np.percentile on
        # the window every frame cost more than the network step.
        self._sorted = []

    def process_frame(self, flux: float) -> float:
        """Take one flux value; return the offset in [0, 1]."""
        flux = float(flux)
        self._history.append(flux)
        bisect.insort(self._sorted, flux)
        if len(self._history) > self.config.norm_window_frames:
            old = self._history.popleft()
            del self._sorted[bisect.bisect_left(self._sorted, old)]
        norm = max(_sorted_percentile(self._sorted, self.config.norm_percentile),
                   self.config.norm_floor)
        return min(max(flux / norm, 0.0), 1.0)


def _sorted_percentile(values: list, q: float) -> float:
    """``np.percentile(values, q)`` (linear interpolation) of an already sorted list."""
    position = q / 100.0 * (len(values) - 1)
    lo = int(position)
    hi = min(lo + 1, len(values) - 1)
    frac = position - lo
    a, b = values[lo], values[hi]
    # numpy's lerp, for bit-identical results with the offline normaliser.
    return b - (b - a) * (1.0 - frac) if frac >= 0.5 else a + (b - a) * frac
