"""Online visual beats: keypoints -> directogram -> beat network -> B-HMM, frame by frame.

:class:`OnlineBeatTracker` is the real-time beat stage of the engine (paper
3.1.2). The network is injected: anything with the :class:`BeatNetwork` protocol
(``ibeat_models.VisBeatNetwork`` runs the shipped VisBeatNet on onnxruntime; a
test can pass a plain function), so the core stays free of model files and
runtimes. Each tracker owns its network state: one tracker per stream.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from .beat_hmm import BeatHMMConfig, BeatTracker
from .directogram import DirectogramTracker
from .keypoints import BodyScaleTracker, Resampler, torso_length
from .kinematic import FluxTracker, OffsetNormaliser
from .rhythm import RhythmConfig

__all__ = ["BeatNetwork", "BeatFrame", "OnlineBeatTracker", "OnlineBeats", "track_clip"]


class BeatNetwork(Protocol):
    """One directogram row and its deceleration flux in, a kinematic offset and a beat
    probability out."""

    def initial_state(self) -> Any:
        """The recurrent state of a new stream."""

    def step(self, directogram_row: np.ndarray, flux: float, state: Any) -> tuple[float, float, Any]:
        """``(offset in [0, 1], beat probability in [0, 1], new state)`` for one frame."""


@dataclass(frozen=True)
class BeatFrame:
    """The beat stage's output for one internal grid frame.

    Attributes
    ----------
    time_s : float
        Grid time [s] in the sender's clock.
    offset : float
        The network's predicted kinematic offset in [0, 1].
    kinematic_offset : float
        The measured causal kinematic offset in [0, 1] (what
        ``kinematic_offsets(..., causal=True)`` gives for this frame).
    beat_prob : float
        Network beat probability in [0, 1].
    is_beat : bool
        A beat is declared at this frame (causal, at most once per beat).
    tempo_bpm : float
        Current tempo [BPM].
    phase : float
        Position in the beat, [0, 1).
    confidence : float
        In [0, 1]; falls when the dancer stops.
    next_beat_s : float
        Forecast time [s] of the next beat, sender's clock.
    """

    time_s: float
    offset: float
    kinematic_offset: float
    beat_prob: float
    is_beat: bool
    tempo_bpm: float
    phase: float
    confidence: float
    next_beat_s: float


class OnlineBeatTracker:
    """Streaming beat stage: one keypoint frame in, the grid frames it completes out.

    Parameters
    ----------
    network : BeatNetwork
    rhythm : RhythmConfig
        Keypoint handling and the internal rate.
    hmm : BeatHMMConfig
        Must run at ``rhythm.fps``.
    """

    def __init__(self, network: BeatNetwork, *, rhythm: RhythmConfig = RhythmConfig(),
                 hmm: BeatHMMConfig | None = None):
        self.network = network
        self.rhythm = rhythm
        self.hmm = hmm if hmm is not None else BeatHMMConfig(fps=rhythm.fps)
        self._resampler = Resampler(rhythm.keypoints)
        self._scale = BodyScaleTracker(rhythm.keypoints)
        self._directogram = DirectogramTracker(fps=rhythm.fps, n_bins=rhythm.n_bins)
        self._flux = FluxTracker(rhythm.kinematic, n_bins=rhythm.n_bins)
        self._normaliser = OffsetNormaliser(rhythm.kinematic)
        self._beats = BeatTracker(self.hmm)
        self.reset()

    def reset(self):
        for stage in (self._resampler, self._scale, self._directogram, self._flux,
                      self._normaliser, self._beats):
            stage.reset()
        self._state = self.network.initial_state()
        self._t0 = None

    def process_frame(self, timestamp_s: float, keypoints) -> list[BeatFrame]:
        """Take one frame ``(17, 2|3)`` at ``timestamp_s`` [s]; return 0..n :class:`BeatFrame`."""
        return [frame for frame, _, _ in self.process_frame_with_pose(timestamp_s, keypoints)]

    def process_frame_with_pose(self, timestamp_s: float, keypoints) -> list[tuple]:
        """:meth:`process_frame`, each grid frame with the pose it was computed from.

        Returns
        -------
        list of (BeatFrame, xy, scale)
            ``xy`` ``(17, 2)``: the resampled joint positions (input units, NaN
            where missing); ``scale``: the body scale (torso length, input units).
        """
        out = []
        for t, xy in zip(*self._resampler.process_frame(timestamp_s, keypoints)):
            if self._t0 is None:
                self._t0 = float(t)
            scale = self._scale.process_frame(float(torso_length(xy[None])[0]))
            row = self._directogram.process_frame(xy, scale)
            flux = self._flux.process_frame(row)
            offset, prob, self._state = self.network.step(row, flux, self._state)
            ev = self._beats.process_frame(prob)
            frame = BeatFrame(time_s=float(t), offset=float(offset),
                              kinematic_offset=self._normaliser.process_frame(flux),
                              beat_prob=float(prob),
                              is_beat=ev.is_beat, tempo_bpm=ev.tempo_bpm, phase=ev.phase,
                              confidence=ev.confidence, next_beat_s=self._t0 + ev.next_beat_s)
            out.append((frame, xy, float(scale)))
        return out


@dataclass(frozen=True)
class OnlineBeats:
    """:func:`track_clip`'s result: per-frame arrays on the grid plus the declared beats.

    Attributes
    ----------
    times_s, offsets, beat_probs, tempo_bpm, confidence, next_beat_s : np.ndarray, shape (N,)
    beat_times_s : np.ndarray, shape (n_beats,)
    """

    times_s: np.ndarray
    offsets: np.ndarray
    beat_probs: np.ndarray
    tempo_bpm: np.ndarray
    confidence: np.ndarray
    next_beat_s: np.ndarray
    beat_times_s: np.ndarray


def track_clip(network: BeatNetwork, timestamps_s, keypoints, *,
               rhythm: RhythmConfig = RhythmConfig(), hmm: BeatHMMConfig | None = None) -> OnlineBeats:
    """Stream a whole clip through :class:`OnlineBeatTracker`, exactly as a live client would."""
    tracker = OnlineBeatTracker(network, rhythm=rhythm, hmm=hmm)
    frames = [f for t, kp in zip(timestamps_s, keypoints) for f in tracker.process_frame(t, kp)]

    def col(name):
        return np.array([getattr(f, name) for f in frames], dtype=np.float64)

    return OnlineBeats(times_s=col("time_s"), offsets=col("offset"), beat_probs=col("beat_prob"),
                       tempo_bpm=col("tempo_bpm"), confidence=col("confidence"),
                       next_beat_s=col("next_beat_s"),
                       beat_times_s=np.array([f.time_s for f in frames if f.is_beat]))
