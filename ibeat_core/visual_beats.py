"""Visual beats from kinematic offsets: rule-based peaks and the offline dynamic program.

* :func:`pick_peaks` is the rule-based detector of paper 4.4: a frame is a beat
  when it is the maximum of a ``window_s`` window, exceeds the window's mean by
  ``threshold``, and comes at least ``wait_s`` after the previous beat: the
  paper's "Rule-based" baseline.
* :func:`visual_beats` is the offline ground truth of paper 3.1.1: among the
  candidates (every local maximum of the offsets strong enough to be a stop) it
  picks the subset ``m`` that maximises equation (1),

      V(m) = sum_j u(m_j) + alpha * sum_j V_T(m_j, m_{j+1}),
      V_T(a, b) = T_local[b - a] / T_max - 1        (equation 2)

  where u is the offset at the candidate. ``T_local`` scores an interval by the
  local tempo around the pair, read from the spectrum of the local
  autocorrelation (:func:`ibeat_core.tempo.tempo_curve`): a log-normal bump of
  ``tempo_sigma_octaves`` around the local beat period, so ``T_max = 1``. Strong
  stops spaced at the dance's own beat win, which gives beats regular enough for
  a causal tracker to follow (the raw autocorrelation at the lag, tried first,
  let the beats wander between periodicities).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import ParameterError
from .keypoints import FPS
from .tempo import MAX_BPM, MIN_BPM, TempoConfig, tempo_curve

__all__ = ["PeakConfig", "VisualBeatConfig", "pick_peaks", "visual_beats", "frames_to_time"]


@dataclass(frozen=True)
class PeakConfig:
    """Rule-based peak picking (paper 4.4).

    Attributes
    ----------
    fps : float
        Frame rate [Hz] of the offsets.
    window_s : float
        A peak is the maximum of the window of this length [s] centred on it.
    wait_s : float
        Minimum time [s] after the previous peak.
    threshold : float
        A peak exceeds the window's mean offset by more than this.
    """

    fps: float = FPS
    window_s: float = 0.25
    wait_s: float = 0.25
    threshold: float = 0.015

    @property
    def half_window_frames(self) -> int:
        return max(1, int(round(self.window_s * self.fps / 2)))

    @property
    def wait_frames(self) -> int:
        return max(1, int(round(self.wait_s * self.fps)))


@dataclass(frozen=True)
class VisualBeatConfig:
    """Offline visual beats by dynamic programming (paper 3.1.1, equations 1-2).

    Attributes
    ----------
    fps : float
        Frame rate [Hz] of the offsets.
    alpha : float
        Weight of the tempo-consistency term against the impact term.
    tempo_sigma_octaves : float
        Width of the tempo term: an interval this many octaves off the local beat
        period costs ``alpha * (1 - exp(-1/2))``.
    min_impact : float
        Candidates with a smaller offset are not beats: the small stops of a
        body that holds still (detector jitter) would otherwise form a grid.
    min_bpm, max_bpm : float
        Allowed range of consecutive beat intervals [BPM].
    tempo_window_s : float
        Window [s] of the local tempo estimate.
    peaks : PeakConfig
        The rule-based baseline reported beside the DP beats.
    """

    fps: float = FPS
    alpha: float = 1.0
    tempo_sigma_octaves: float = 0.15
    min_impact: float = 0.4
    min_bpm: float = MIN_BPM
    max_bpm: float = MAX_BPM
    tempo_window_s: float = 6.0
    peaks: PeakConfig = field(default_factory=PeakConfig)

    def __post_init__(self):
        if self.alpha < 0:
            raise ParameterError(f"alpha must be >= 0, got {self.alpha!r}")
        if not self.tempo_sigma_octaves > 0:
            raise ParameterError(f"tempo_sigma_octaves must be > 0, got {self.tempo_sigma_octaves!r}")
        if self.peaks.fps != self.fps:
            raise ParameterError(f"peaks.fps {self.peaks.fps} differs from fps {self.fps}")

    @property
    def tempo_config(self) -> TempoConfig:
        return TempoConfig(fps=self.fps, min_bpm=self.min_bpm, max_bpm=self.max_bpm,
                           window_s=self.tempo_window_s)


def frames_to_time(frames, *, fps: float) -> np.ndarray:
    """Frame indices to seconds (frame 0 at 0 s).

    Examples
    --------
    >>> frames_to_time([0, 15, 30], fps=30.0)
    array([0. , 0.5, 1. ])
    """
    return np.asarray(frames, dtype=np.float64) / fps


def _valid_offsets(offsets):
    x = np.asarray(offsets, dtype=np.float64)
    if x.ndim != 1:
        raise ParameterError(f"offsets must be 1-D, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ParameterError("offsets contain NaN or Inf")
    return x


def pick_peaks(offsets, *, config: PeakConfig = PeakConfig()) -> np.ndarray:
    """Rule-based visual beats: the frames that pass the three rules of paper 4.4.

    Parameters
    ----------
    offsets : array_like, shape (T,)
        Kinematic offsets at ``config.fps``.
    config : PeakConfig

    Returns
    -------
    np.ndarray, shape (n_beats,), int
        Beat frames, increasing. Convert with :func:`frames_to_time`.

    Examples
    --------
    >>> x = np.zeros(60); x[[10, 12, 40]] = [0.5, 0.4, 0.9]
    >>> pick_peaks(x, config=PeakConfig(fps=30)).tolist()
    [10, 40]
    """
    x = _valid_offsets(offsets)
    h = config.half_window_frames
    padded = np.pad(x, h, mode="edge")
    win = np.lib.stride_tricks.sliding_window_view(padded, 2 * h + 1)
    is_peak = (x >= win.max(axis=1)) & (x > win.mean(axis=1) + config.threshold)
    beats, last = [], -np.inf
    for t in np.flatnonzero(is_peak):
        if t - last >= config.wait_frames:
            beats.append(t)
            last = t
    return np.asarray(beats, dtype=np.int64)


def visual_beats(offsets, energy=None, *,
                 config: VisualBeatConfig = VisualBeatConfig()) -> np.ndarray:
    """Offline visual beats: the candidate subset that maximises equation (1).

    Parameters
    ----------
    offsets : array_like, shape (T,)
        Kinematic offsets at ``config.fps`` (zero-phase ones for ground truth).
    energy : array_like, shape (T,), optional
        Motion energy, which sharpens the local tempo (see :mod:`ibeat_core.tempo`).
    config : VisualBeatConfig

    Returns
    -------
    np.ndarray, shape (n_beats,), int
        Beat frames, increasing; empty when the body never moves.

    Examples
    --------
    >>> t = np.arange(300) / 30.0
    >>> offsets = np.maximum(np.cos(2 * np.pi * t * 90 / 60), 0) ** 8   # 90 BPM
    >>> offsets[::7] += 0.2                                              # distractors
    >>> beats = visual_beats(offsets)
    >>> float(np.median(np.diff(beats))) / 30 * 90 / 60                  # one beat per period
    1.0
    """
    x = _valid_offsets(offsets)
    left = np.r_[-np.inf, x[:-1]]
    right = np.r_[x[1:], -np.inf]
    # A plateau counts once, at its first frame.
    cand = np.flatnonzero((x > left) & (x >= right) & (x >= config.min_impact))
    if len(cand) == 0:
        return cand
    min_lag = int(np.floor(60.0 * config.fps / config.max_bpm))
    max_lag = int(np.ceil(60.0 * config.fps / config.min_bpm))
    local_bpm = tempo_curve(x, energy, config=config.tempo_config)
    period = np.where(local_bpm > 0, 60.0 * config.fps / np.maximum(local_bpm, 1e-9), 0.0)
    width = 2.0 * config.tempo_sigma_octaves ** 2

    score = x[cand].copy()
    back = np.full(len(cand), -1)
    far = -1  # best-scoring candidate further back than one beat period
    for j in range(len(cand)):
        while far + 1 < j and cand[j] - cand[far + 1] > max_lag:
            far += 1
        if far >= 0:
            # Bridging a pause costs the full tempo penalty, so a dancer who stops
            # and starts again keeps both stretches of beats.
            best = int(np.argmax(score[:far + 1]))
            score[j], back[j] = score[best] + x[cand[j]] - config.alpha, best
        lo = np.searchsorted(cand, cand[j] - max_lag)
        prev = np.arange(lo, j)
        lags = cand[j] - cand[prev]
        keep = lags >= min_lag
        if not keep.any():
            continue
        prev, lags = prev[keep], lags[keep]
        tau = period[(cand[prev] + cand[j]) // 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            v_t = np.where(tau > 0, np.exp(-np.log2(lags / np.where(tau > 0, tau, 1.0)) ** 2 / width),
                           0.0) - 1.0
        s = score[prev] + x[cand[j]] + config.alpha * v_t
        i = int(np.argmax(s))
        if s[i] > score[j]:
            score[j], back[j] = s[i], prev[i]
    j = int(np.argmax(score))
    path = []
    while j >= 0:
        path.append(cand[j])
        j = back[j]
    return np.asarray(path[::-1], dtype=np.int64)
