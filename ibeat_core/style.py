"""Drum onset envelope and the drum 'style' of one beat (paper 3.2).

MuStyleNet turns kinematic offsets into an *onset envelope*: one value per
frame that peaks where a drum would hit, as loud as that hit. Real drums give
the envelope MuStyleNet learns to generate (:func:`onset_envelope`), and at each
beat the envelope of the last beat interval is reduced to the 'style' that
conditions DrumGenNet (:func:`beat_style`): the strongest onset in each of the
beat's four 16ths, the same quantity :func:`ibeat_core.drums.drum_style` reads
off a drum grid.

Units: frames at ``fps`` [Hz] (frame ``t`` of an envelope is at ``t / fps``
seconds after its start), envelope values and styles on GMD's velocity scale in
[0, 1] (MIDI velocity / 127). :class:`StyleCalibration` maps the style of
the body onto the scale of real drums before it reaches DrumGenNet.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .drums import STEPS_PER_BEAT, DrumGrid, drum_style
from .errors import ParameterError
from .keypoints import FPS

__all__ = ["ENVELOPE_DECAY_S", "onset_envelope", "beat_style", "StyleCalibration",
           "fit_style_calibration"]

#: Time constant [s] of the exponential decay after each onset: short enough
#: that at 30 Hz a hit adds at most 19% of its velocity (one frame later) to
#: the next 16th, long enough that an onset is more than a one-frame spike for
#: a recurrent network to produce.
ENVELOPE_DECAY_S = 0.02
# Tail frames are drawn until the decay falls below this fraction of the peak.
_TAIL_FLOOR = 1e-3


def onset_envelope(grid: DrumGrid, *, fps: float = FPS, n_frames: int | None = None,
                   decay_s: float = ENVELOPE_DECAY_S) -> np.ndarray:
    """Per-frame onset envelope of a drum grid: what MuStyleNet learns to generate.

    Each 16th step with a hit contributes one onset of strength
    ``drum_style(grid.hits)[step]`` (the loudest class) at the time of that
    loudest hit, micro-timing included, rounded to the nearest frame that
    lies within half a 16th of the step's grid time (the grid's own filing:
    so :func:`beat_style` finds it in its own 16th). The
    envelope is the onset strength there and decays as
    ``exp(-frames_after / (decay_s * fps))`` afterwards; overlapping onsets
    combine by maximum, so every peak equals its hit's velocity.

    Parameters
    ----------
    grid : DrumGrid
    fps : float
        Frame rate [Hz] of the envelope, > 0. Frame ``t`` is at time
        ``grid.start_s + t / fps`` [s].
    n_frames : int or None
        Envelope length [frames]. None: ``ceil(grid.duration_s * fps)``.
        Onsets outside the frames are dropped (their tails are kept).
    decay_s : float
        Decay time constant [s], > 0.

    Returns
    -------
    envelope : np.ndarray, shape (n_frames,), float32
        In [0, 1].

    Raises
    ------
    ParameterError
        On a non-grid, a non-positive ``fps`` or ``decay_s``, or a negative
        ``n_frames``.

    Examples
    --------
    >>> hits = np.zeros((4, 9), np.float32); hits[0, 0] = 1.0; hits[2, 1] = 0.5
    >>> grid = DrumGrid.from_hits(hits, bpm=112.5)     # a 16th = 4 frames at 30 Hz
    >>> onset_envelope(grid).astype(float).round(2).tolist()
    [1.0, 0.19, 0.04, 0.01, 0.0, 0.0, 0.0, 0.0, 0.5, 0.09, 0.02, 0.0, 0.0, 0.0, 0.0, 0.0]
    """
    if not isinstance(grid, DrumGrid):
        raise ParameterError(f"grid must be a DrumGrid, got {type(grid).__name__}")
    fps = _positive(fps, "fps")
    decay_s = _positive(decay_s, "decay_s")
    if n_frames is None:
        n_frames = int(math.ceil(grid.duration_s * fps))
    if isinstance(n_frames, bool) or not isinstance(n_frames, (int, np.integer)) or n_frames < 0:
        raise ParameterError(f"n_frames must be a non-negative int or None, got {n_frames!r}")

    envelope = np.zeros(n_frames, dtype=np.float32)
    strength = drum_style(grid.hits)
    steps = np.flatnonzero(strength > 0)
    if steps.size == 0 or n_frames == 0:
        return envelope
    loudest = grid.hits[steps].argmax(axis=1)
    step_frames = grid.step_s * fps
    onset_steps = steps + grid.offsets[steps, loudest].astype(np.float64)
    peak_frames = np.rint(onset_steps * step_frames).astype(np.int64)
    # Keep each peak on a frame its own 16th owns (within half a step of the
    # grid time), as the grid files the hit, so that rounding to frames never
    # moves a loose hit into the neighbouring 16th of beat_style.
    first_owned = np.ceil((steps - 0.5) * step_frames).astype(np.int64)
    last_owned = np.ceil((steps + 0.5) * step_frames).astype(np.int64) - 1
    owns = last_owned >= first_owned
    peak_frames[owns] = np.clip(peak_frames[owns], first_owned[owns], last_owned[owns])
    tau_frames = decay_s * fps
    n_tail = int(math.ceil(tau_frames * math.log(1.0 / _TAIL_FLOOR)))
    for k in range(n_tail + 1):
        frames = peak_frames + k
        inside = (frames >= 0) & (frames < n_frames)
        np.maximum.at(envelope, frames[inside],
                      (strength[steps][inside] * math.exp(-k / tau_frames)).astype(np.float32))
    return envelope


def beat_style(envelope, *, start_frame: float, end_frame: float,
               steps_per_beat: int = STEPS_PER_BEAT) -> np.ndarray:
    """Drum 'style' of one beat interval: the strongest onset in each 16th.

    ``[start_frame, end_frame)`` is cut into ``steps_per_beat`` equal
    sub-intervals (the paper's accumulation by a quarter beat, 3.2); each one's
    style is the maximum of the envelope over the whole frames it holds, or,
    when it holds none (a 16th shorter than a frame), the larger of the
    envelope linearly interpolated at its two ends. The maximum, not the sum,
    keeps the result on the envelope's own scale: GMD velocities in [0, 1],
    the scale of :func:`ibeat_core.drums.drum_style`; it is clipped to [0, 1].

    A drum grid files a hit under its nearest 16th, so a 16th's hits lie
    within half a 16th either side of its grid time. To read the style the way
    the grid holds it, start the interval half a 16th before the beat
    (``start_frame = beat_frame - beat_frames / (2 * steps_per_beat)``).

    Parameters
    ----------
    envelope : array_like, shape (T,)
        Onset envelope in [0, 1], one value per frame.
    start_frame, end_frame : float
        Interval [frames of ``envelope``, fractional allowed], with
        ``0 <= start_frame < end_frame <= T``.
    steps_per_beat : int
        Sub-intervals, > 0 (16ths in a beat).

    Returns
    -------
    style : np.ndarray, shape (steps_per_beat,), float32
        In [0, 1].

    Raises
    ------
    ParameterError
        On a non-1-D or non-finite envelope, or an interval outside it.

    Examples
    --------
    >>> env = np.array([1.0, 0.2, 0.0, 0.0, 0.6, 0.1, 0.0, 0.0, 0.3])
    >>> beat_style(env, start_frame=0, end_frame=8).tolist()
    [1.0, 0.0, 0.6000000238418579, 0.0]
    >>> beat_style(env, start_frame=0.0, end_frame=2.0).astype(float).round(2).tolist()  # 16ths of half a frame
    [1.0, 0.6, 0.2, 0.1]
    """
    env = np.asarray(envelope, dtype=np.float64)
    if env.ndim != 1 or env.size == 0:
        raise ParameterError(f"envelope must be a non-empty 1-D array, got shape {env.shape}")
    if not np.all(np.isfinite(env)):
        raise ParameterError("envelope must be finite")
    if (isinstance(steps_per_beat, bool) or not isinstance(steps_per_beat, (int, np.integer))
            or steps_per_beat <= 0):
        raise ParameterError(f"steps_per_beat must be a positive int, got {steps_per_beat!r}")
    start, end = float(start_frame), float(end_frame)
    if not (np.isfinite(start) and np.isfinite(end) and 0 <= start < end <= env.size):
        raise ParameterError(
            f"need 0 <= start_frame < end_frame <= {env.size} (envelope length), "
            f"got [{start_frame}, {end_frame})")

    # Scalar arithmetic on 4 sixteenths (the live engine reads 3 beats at every beat);
    # the edges are the same floats as start + (end - start) * arange(n + 1) / n.
    edges = [start + (end - start) * j / steps_per_beat for j in range(steps_per_beat + 1)]
    style = []
    for j in range(steps_per_beat):
        first, stop = math.ceil(edges[j]), math.ceil(edges[j + 1])
        if stop > first:
            value = float(env[first:stop].max())
        else:
            value = float(np.interp(edges[j:j + 2], np.arange(env.size), env).max())
        style.append(min(max(value, 0.0), 1.0))
    return np.array(style, dtype=np.float32)


@dataclass(frozen=True)
class StyleCalibration:
    """A monotone map from MuStyleNet's style values to the scale of real drums.

    MuStyleNet's envelope rarely falls to 0 between impacts and rarely reaches a
    full accent, while real drum style is 0 on about a quarter of the 16ths and
    near 1 on accents. DrumGenNet learned from real drums, so the style of the
    body is *normalised* to theirs by quantile mapping: the value at quantile
    ``q`` of the body's style goes to the value at quantile ``q`` of GMD's.
    Fitted by :func:`fit_style_calibration` when MuStyleNet is trained.

    Attributes
    ----------
    source : np.ndarray, shape (Q,)
        Quantiles of MuStyleNet's style, non-decreasing, in [0, 1].
    target : np.ndarray, shape (Q,)
        The same quantiles of real drum style, non-decreasing, in [0, 1].

    Examples
    --------
    >>> cal = StyleCalibration(np.array([0.0, 0.2, 0.6]), np.array([0.0, 0.0, 1.0]))
    >>> cal(np.array([0.1, 0.4, 0.9])).tolist()
    [0.0, 0.5, 1.0]
    """

    source: np.ndarray
    target: np.ndarray

    def __post_init__(self):
        src = np.asarray(self.source, dtype=np.float64)
        dst = np.asarray(self.target, dtype=np.float64)
        if src.ndim != 1 or src.shape != dst.shape or len(src) < 2:
            raise ParameterError(f"source and target must be 1-D of one length >= 2, got "
                                 f"{src.shape} and {dst.shape}")
        if not (np.all(np.isfinite(src)) and np.all(np.isfinite(dst))
                and np.all(np.diff(src) >= 0) and np.all(np.diff(dst) >= 0)):
            raise ParameterError("calibration quantiles must be finite and non-decreasing")
        object.__setattr__(self, "source", src)
        object.__setattr__(self, "target", dst)
        # Ties in the source (a mass of equal values) map to the middle of their range.
        object.__setattr__(self, "_untied", src + np.arange(len(src)) * 1e-9)

    def __call__(self, style) -> np.ndarray:
        """Map style values (any shape) to the drum scale; float32 in [0, 1]."""
        x = np.asarray(style, dtype=np.float64)
        # np.clip's wrapper costs more than the maths on a beat's 12 values.
        y = np.minimum(np.maximum(np.interp(x, self._untied, self.target), 0.0), 1.0)
        return y.astype(np.float32)

    def to_dict(self) -> dict:
        return {"source": [round(float(v), 6) for v in self.source],
                "target": [round(float(v), 6) for v in self.target]}


def fit_style_calibration(body_style, drum_style_values, *, n_quantiles: int = 101) -> StyleCalibration:
    """Quantile map from one set of style values to another.

    Parameters
    ----------
    body_style : array_like, shape (n,)
        Style values of MuStyleNet on real motion (one per 16th).
    drum_style_values : array_like, shape (m,)
        :func:`ibeat_core.drums.drum_style` of real drums (one per 16th).
    n_quantiles : int
        Number of quantiles (evenly spaced from 0 to 1), >= 2.

    Examples
    --------
    >>> cal = fit_style_calibration(np.linspace(0.1, 0.5, 101), np.linspace(0, 1, 101), n_quantiles=11)
    >>> float(cal(np.array([0.3]))[0])
    0.5
    """
    a = np.asarray(body_style, dtype=np.float64).ravel()
    b = np.asarray(drum_style_values, dtype=np.float64).ravel()
    if len(a) < 2 or len(b) < 2:
        raise ParameterError("need at least 2 values on each side to fit a calibration")
    if not (isinstance(n_quantiles, (int, np.integer)) and n_quantiles >= 2):
        raise ParameterError(f"n_quantiles must be an integer >= 2, got {n_quantiles!r}")
    q = np.linspace(0.0, 1.0, n_quantiles)
    return StyleCalibration(np.quantile(a, q), np.quantile(b, q))


def _positive(value, name: str) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"{name} must be a number, got {value!r}") from exc
    if not (np.isfinite(out) and out > 0):
        raise ParameterError(f"{name} must be finite and > 0, got {value!r}")
    return out
