"""The motion-rhythm chain, offline and streaming: keypoints -> offsets -> tempo and beats.

Layered callables, each adding one step (paper 3.1.1):

* :func:`motion_rhythm`: timestamped keypoints -> resampled positions, body scale,
  directogram and kinematic offsets on the internal grid;
* :class:`MotionRhythmTracker`: the same, one input frame at a time (causal);
* :func:`analyze`: a whole clip -> tempo, tempo curve, visual beats and the
  rule-based baseline beats.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import NamedTuple

import numpy as np

from .batching import Steps, run_alone
from .completion import Completion, complete_clip
from .directogram import N_BINS, DirectogramTracker, directogram
from .errors import ParameterError
from .keypoints import FPS, BodyScaleTracker, KeypointConfig, Resampler, body_scale, resample
from .kinematic import FluxTracker, KinematicConfig, OffsetNormaliser, kinematic_offsets
from .tempo import TempoConfig, estimate_tempo, tempo_curve
from .visual_beats import VisualBeatConfig, frames_to_time, pick_peaks, visual_beats

__all__ = ["COMPLETION_SEED", "RhythmConfig", "MotionRhythm", "motion_rhythm", "MotionFrame",
           "MotionRhythmTracker", "ClipAnalysis", "analyze"]


#: Seeds the jitter of the joints a partial body is completed with
#: (:mod:`ibeat_core.completion`): every stream draws the same numbers.
COMPLETION_SEED = 0


@dataclass(frozen=True)
class RhythmConfig:
    """Every parameter of the motion-rhythm chain, at one internal frame rate.

    Build it with :meth:`at_fps` to change the rate everywhere at once.
    """

    keypoints: KeypointConfig = field(default_factory=KeypointConfig)
    kinematic: KinematicConfig = field(default_factory=KinematicConfig)
    tempo: TempoConfig = field(default_factory=TempoConfig)
    beats: VisualBeatConfig = field(default_factory=VisualBeatConfig)
    n_bins: int = N_BINS

    def __post_init__(self):
        rates = {self.keypoints.fps, self.kinematic.fps, self.tempo.fps, self.beats.fps}
        if len(rates) != 1:
            raise ParameterError(f"all stages must share one fps, got {sorted(rates)} Hz")

    @property
    def fps(self) -> float:
        return self.keypoints.fps

    @classmethod
    def at_fps(cls, fps: float = FPS, **overrides) -> "RhythmConfig":
        """Default configuration with every stage at ``fps`` [Hz]."""
        return cls(
            keypoints=replace(overrides.pop("keypoints", KeypointConfig()), fps=fps),
            kinematic=replace(overrides.pop("kinematic", KinematicConfig()), fps=fps),
            tempo=replace(overrides.pop("tempo", TempoConfig()), fps=fps),
            beats=_beats_at(overrides.pop("beats", VisualBeatConfig()), fps),
            **overrides)


def _beats_at(cfg: VisualBeatConfig, fps: float) -> VisualBeatConfig:
    return replace(cfg, fps=fps, peaks=replace(cfg.peaks, fps=fps))


@dataclass(frozen=True)
class MotionRhythm:
    """Motion signals of a clip on the internal grid.

    Attributes
    ----------
    times_s : np.ndarray, shape (N,)
        Grid times [s] in the sender's clock.
    xy : np.ndarray, shape (N, J, 2)
        Resampled positions (input units), NaN where missing.
    scale : np.ndarray, shape (N,)
        Body scale (torso length, input units).
    directogram : np.ndarray, shape (N, n_bins)
        Motion per direction [body lengths / s].
    offsets : np.ndarray, shape (N,)
        Kinematic offsets in [0, 1].
    """

    times_s: np.ndarray
    xy: np.ndarray
    scale: np.ndarray
    directogram: np.ndarray
    offsets: np.ndarray

    @property
    def motion_energy(self) -> np.ndarray:
        """Total motion per frame [body lengths / s], shape (N,)."""
        return self.directogram.sum(axis=1)


def motion_rhythm(timestamps_s, keypoints, *, config: RhythmConfig = RhythmConfig(),
                  causal: bool = False) -> MotionRhythm:
    """Keypoints -> kinematic offsets on the internal grid.

    Parameters
    ----------
    timestamps_s : array_like, shape (T,)
        Strictly increasing capture times [s].
    keypoints : array_like, shape (T, 17, 2|3)
        COCO-17 ``[x, y(, confidence)]`` in any units; see
        :mod:`ibeat_core.keypoints` for the missing-joint rules.
    config : RhythmConfig
    causal : bool
        True gives exactly what :class:`MotionRhythmTracker` streams; False
        uses zero-phase filtering and a centred normaliser (ground truth).

    Returns
    -------
    MotionRhythm
    """
    times, xy = resample(timestamps_s, keypoints, config=config.keypoints)
    scale = body_scale(xy, config=config.keypoints)
    body = complete_clip(xy, scale, seed=COMPLETION_SEED)
    dg = directogram(body, scale, fps=config.fps, n_bins=config.n_bins)
    offsets = kinematic_offsets(dg, config=config.kinematic, causal=causal)
    return MotionRhythm(times, xy, scale, dg, offsets)


class MotionFrame(NamedTuple):
    """One internal grid frame of :class:`MotionRhythmTracker`.

    Indexable as ``(time_s, directogram, offset, ...)``.

    Attributes
    ----------
    time_s : float
        Grid time [s] in the sender's clock.
    directogram : np.ndarray, shape (n_bins,)
        Motion per direction [body lengths / s].
    offset : float
        Causal kinematic offset in [0, 1].
    flux : float
        Deceleration flux the offset was normalised from [body lengths / s per frame].
    xy : np.ndarray, shape (J, 2)
        Resampled joint positions (input units), NaN where missing.
    scale : float
        Body scale (torso length, input units).
    """

    time_s: float
    directogram: np.ndarray
    offset: float
    flux: float
    xy: np.ndarray
    scale: float


class MotionRhythmTracker:
    """Streaming :func:`motion_rhythm` (causal): one input frame in, grid frames out.

    The engine's one streaming front end: the online beat trackers
    (:mod:`ibeat_core.beat_tracking`) run on its frames. Equals
    ``motion_rhythm(..., causal=True)`` frame for frame.
    """

    def __init__(self, config: RhythmConfig = RhythmConfig()):
        self.config = config
        self._resampler = Resampler(config.keypoints)
        self._scale = BodyScaleTracker(config.keypoints)
        self._directogram = DirectogramTracker(fps=config.fps, n_bins=config.n_bins)
        self._flux = FluxTracker(config.kinematic, n_bins=config.n_bins)
        self._normaliser = OffsetNormaliser(config.kinematic)
        self._completion = Completion(COMPLETION_SEED)

    def reset(self):
        for stage in (self._resampler, self._scale, self._directogram, self._flux,
                      self._normaliser, self._completion):
            stage.reset()

    def process_frame(self, timestamp_s: float, keypoints) -> list[MotionFrame]:
        """Take one frame ``(17, 2|3)`` at ``timestamp_s`` [s].

        Returns
        -------
        list of MotionFrame
            One per internal grid frame this input completes (often 0 or 1).
        """
        return run_alone(self.process_frame_steps(timestamp_s, keypoints))

    def process_frame_steps(self, timestamp_s: float, keypoints) -> Steps[list[MotionFrame]]:
        """:meth:`process_frame` as a generator of network steps: the directogram's binning
        and the flux filter, which :func:`~ibeat_core.batching.run_together` runs for many
        streams at once."""
        out = []
        for t, xy in zip(*self._resampler.process_frame(timestamp_s, keypoints)):
            scale = self._scale.process_pose(xy)
            row = yield from self._directogram.process_frame_steps(
                self._completion.process_frame(xy, scale), scale)
            flux = yield from self._flux.process_frame_steps(row)
            out.append(MotionFrame(float(t), row, self._normaliser.process_frame(flux), flux, xy,
                                   float(scale)))
        return out


@dataclass(frozen=True)
class ClipAnalysis:
    """Offline analysis of one clip.

    Attributes
    ----------
    rhythm : MotionRhythm
    tempo_bpm : float
        Dominant tempo [BPM]; 0 when there is no motion.
    tempo_curve_bpm : np.ndarray, shape (N,)
        Local tempo around each grid frame [BPM].
    beat_times_s : np.ndarray, shape (n_beats,)
        Visual beats from the dynamic program [s].
    rule_beat_times_s : np.ndarray, shape (n_rule,)
        Rule-based baseline beats [s].
    """

    rhythm: MotionRhythm
    tempo_bpm: float
    tempo_curve_bpm: np.ndarray
    beat_times_s: np.ndarray
    rule_beat_times_s: np.ndarray


def analyze(timestamps_s, keypoints, *, config: RhythmConfig = RhythmConfig()) -> ClipAnalysis:
    """Tempo and visual beats of a whole clip (offline ground truth).

    Parameters
    ----------
    timestamps_s : array_like, shape (T,)
        Strictly increasing capture times [s].
    keypoints : array_like, shape (T, 17, 2|3)

    Returns
    -------
    ClipAnalysis
        Every time in seconds of the sender's clock.
    """
    rhythm = motion_rhythm(timestamps_s, keypoints, config=config)
    k = rhythm.offsets
    t0 = rhythm.times_s[0] if len(rhythm.times_s) else 0.0

    def to_time(frames):
        return t0 + frames_to_time(frames, fps=config.fps)

    return ClipAnalysis(
        rhythm=rhythm,
        tempo_bpm=estimate_tempo(k, rhythm.motion_energy, config=config.tempo),
        tempo_curve_bpm=tempo_curve(k, rhythm.motion_energy, config=config.tempo),
        beat_times_s=to_time(visual_beats(k, rhythm.motion_energy, config=config.beats)),
        rule_beat_times_s=to_time(pick_peaks(k, config=config.beats.peaks)),
    )

