"""Tempo of body motion: the spectrum of its local autocorrelation, scored over harmonics.

:func:`tempo_salience` scores each candidate tempo by the magnitude spectrum (the
Fourier transform of the autocorrelation) of the detrended motion at the tempo
and its first ``n_harmonics - 1`` multiples, times a broad log-normal prior.
Summing harmonics *above* a candidate, not autocorrelation lags at multiples of
its period, keeps the slow periodicity of a dance figure (a waltz bar = 3 beats,
a cha-cha bar = 4) from passing for the beat: bar-level motion makes every
divisor of the bar period look like a tempo in the autocorrelation, but adds
nothing above the beat frequency.

The salience combines the kinematic offsets (weight ``offsets_weight``) with the
motion energy (total joint speed): offsets mark the stops, energy the swing of a
step, and smooth dances show their beat in the latter. :func:`estimate_tempo`
scores a whole clip, :func:`tempo_curve` a sliding window (the local tempo that
the visual-beat dynamic program follows).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import ParameterError
from .keypoints import FPS

__all__ = [
    "MIN_BPM",
    "MAX_BPM",
    "TempoConfig",
    "detrend",
    "tempo_salience",
    "estimate_tempo",
    "tempo_curve",
]

#: Default tempo range [BPM] of every beat and tempo model in ibeat.
MIN_BPM = 60.0
MAX_BPM = 180.0


@dataclass(frozen=True)
class TempoConfig:
    """Parameters of the tempo estimate.

    Attributes
    ----------
    fps : float
        Frame rate [Hz] of the motion signals.
    min_bpm, max_bpm : float
        Tempo search range [BPM].
    n_harmonics : int
        Spectral harmonics summed per candidate tempo (1 = the tempo alone).
    prior_bpm : float
        Centre [BPM] of the log-normal tempo prior.
    prior_octaves : float
        Standard deviation of that prior [octaves].
    offsets_weight : float
        Weight in [0, 1] of the kinematic offsets against the motion energy.
    window_s : float
        Window [s] of :func:`tempo_curve`.
    resolution_bpm : float
        Step [BPM] of the tempo grid.
    """

    fps: float = FPS
    min_bpm: float = MIN_BPM
    max_bpm: float = MAX_BPM
    n_harmonics: int = 4
    prior_bpm: float = 120.0
    prior_octaves: float = 1.0
    offsets_weight: float = 0.25
    window_s: float = 8.0
    resolution_bpm: float = 0.25

    def __post_init__(self):
        if not 0 < self.min_bpm < self.max_bpm:
            raise ParameterError(
                f"need 0 < min_bpm < max_bpm, got {self.min_bpm!r}, {self.max_bpm!r} BPM")
        if self.n_harmonics < 1:
            raise ParameterError(f"n_harmonics must be >= 1, got {self.n_harmonics!r}")
        if not 0.0 <= self.offsets_weight <= 1.0:
            raise ParameterError(f"offsets_weight must be in [0, 1], got {self.offsets_weight!r}")
        if self.max_bpm * self.n_harmonics / 60.0 >= self.fps / 2:
            raise ParameterError(
                f"n_harmonics x max_bpm = {self.n_harmonics * self.max_bpm} BPM reaches the "
                f"Nyquist rate of {self.fps} Hz frames; lower one of them")

    @property
    def bpm_grid(self) -> np.ndarray:
        """Candidate tempi [BPM], shape (n_tempi,)."""
        return np.arange(self.min_bpm, self.max_bpm + 1e-9, self.resolution_bpm)

    @property
    def max_lag_frames(self) -> int:
        """Longest beat period [frames]."""
        return int(np.ceil(60.0 * self.fps / self.min_bpm)) + 1

    @property
    def window_frames(self) -> int:
        return max(2, int(round(self.window_s * self.fps)))


def detrend(x, *, config: TempoConfig = TempoConfig()) -> np.ndarray:
    """Signal minus its centred moving average over ``60 / min_bpm`` seconds.

    Slow swells of activity are not a tempo; this removes them.

    Parameters
    ----------
    x : array_like, shape (T,)

    Returns
    -------
    np.ndarray, shape (T,)
    """
    x = np.asarray(x, dtype=np.float64)
    if len(x) == 0:
        return x
    from scipy.ndimage import uniform_filter1d  # lazily: the streaming engine never detrends

    size = max(1, int(round(60.0 / config.min_bpm * config.fps)))
    return x - uniform_filter1d(x, size, mode="nearest")


def _magnitude_spectrum(x, config):
    """Magnitude spectrum of a detrended, Hann-windowed signal, mean-normalised.

    Returns (freqs_bpm (F,), magnitude (F,)); zero-padding to >= 8x and >= 60 s
    lets the tempo grid be read between FFT bins.
    """
    x = detrend(x, config=config)
    n = len(x)
    n_fft = int(2 ** np.ceil(np.log2(max(8 * n, 60 * config.fps))))
    mag = np.abs(np.fft.rfft(x * np.hanning(n), n_fft))
    freqs_bpm = np.fft.rfftfreq(n_fft, 1.0 / config.fps) * 60.0
    mean = mag.mean()
    return freqs_bpm, (mag / mean if mean > 0 else mag)


def tempo_salience(offsets, energy=None, *, config: TempoConfig = TempoConfig()) -> np.ndarray:
    """Score of every tempo on ``config.bpm_grid`` (higher is more likely).

    Parameters
    ----------
    offsets : array_like, shape (T,)
        Kinematic offsets at ``config.fps``.
    energy : array_like, shape (T,), optional
        Motion energy (total joint speed) at ``config.fps``; without it the
        offsets carry all the weight.

    Returns
    -------
    np.ndarray, shape (n_tempi,)
        Harmonic sum of the normalised magnitude spectra, times the prior; all
        zeros when there is no motion.
    """
    signals = [(np.asarray(offsets, dtype=np.float64), config.offsets_weight)]
    if energy is not None:
        signals.append((np.asarray(energy, dtype=np.float64), 1.0 - config.offsets_weight))
    else:
        signals[0] = (signals[0][0], 1.0)
    bpm = config.bpm_grid
    score = np.zeros(len(bpm))
    for x, weight in signals:
        if weight == 0 or len(x) < 2:
            continue
        freqs, mag = _magnitude_spectrum(x, config)
        for h in range(1, config.n_harmonics + 1):
            score += weight * np.interp(h * bpm, freqs, mag)
    prior = np.exp(-0.5 * (np.log2(bpm / config.prior_bpm) / config.prior_octaves) ** 2)
    return score * prior


def estimate_tempo(offsets, energy=None, *, config: TempoConfig = TempoConfig()) -> float:
    """Dominant tempo [BPM] of a clip.

    Parameters
    ----------
    offsets : array_like, shape (T,)
        Kinematic offsets at ``config.fps``.
    energy : array_like, shape (T,), optional
        Motion energy at ``config.fps`` (see :func:`tempo_salience`).

    Returns
    -------
    float
        Tempo in BPM within ``[min_bpm, max_bpm]``; 0.0 when the clip shows no
        motion or is shorter than one slowest beat period.

    Examples
    --------
    >>> t = np.arange(300) / 30.0
    >>> offsets = np.maximum(np.cos(2 * np.pi * t * 100 / 60), 0) ** 8   # 100 BPM
    >>> round(estimate_tempo(offsets))
    100
    """
    x = np.asarray(offsets, dtype=np.float64)
    if x.ndim != 1:
        raise ParameterError(f"offsets must be 1-D, got shape {x.shape}")
    if energy is not None and np.shape(energy) != x.shape:
        raise ParameterError(f"energy shape {np.shape(energy)} differs from offsets {x.shape}")
    if len(x) < config.max_lag_frames:
        return 0.0
    score = tempo_salience(x, energy, config=config)
    if not np.any(score > 0):
        return 0.0
    return float(config.bpm_grid[int(np.argmax(score))])


def tempo_curve(offsets, energy=None, *, config: TempoConfig = TempoConfig(),
                hop_s: float = 0.5) -> np.ndarray:
    """Local tempo [BPM] per frame from a centred ``config.window_s`` window.

    Evaluated every ``hop_s`` seconds and held in between.

    Returns
    -------
    np.ndarray, shape (T,)
        0 where the window shows no motion.
    """
    x = np.asarray(offsets, dtype=np.float64)
    e = None if energy is None else np.asarray(energy, dtype=np.float64)
    w = config.window_frames
    hop = max(1, int(round(hop_s * config.fps)))
    out = np.zeros(len(x))
    for start in range(0, len(x), hop):
        lo = max(0, min(start + hop // 2 - w // 2, len(x) - w))
        seg_e = None if e is None else e[lo:lo + w]
        out[start:start + hop] = estimate_tempo(x[lo:lo + w], seg_e, config=config)
    return out
