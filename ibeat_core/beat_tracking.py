"""Online visual beats: keypoints -> front end -> beat activation -> decoder, frame by frame.

:class:`OnlineBeatTracker` is the real-time beat stage of the engine (paper
3.1.2), made of three parts:

* the streaming front end, :class:`~ibeat_core.rhythm.MotionRhythmTracker`
  (resampling, body scale, directogram, deceleration flux, causal offsets);
* an *activation*: anything with the :class:`BeatNetwork` protocol turns each
  directogram row into a beat probability (``ibeat_models.VisBeatNetwork`` runs
  the shipped VisBeatNet on onnxruntime; a test can pass a plain function), so
  the core stays free of model files and runtimes;
* a *decoder*: anything with the :class:`BeatDecoder` protocol turns the beat
  probabilities into beats, tempo and a next-beat forecast (the online B-HMM,
  :class:`~ibeat_core.beat_hmm.BeatTracker`, by default).

Each tracker owns its network and decoder state: one tracker per stream.
:class:`StreamingBeatTracker` is what the session engine asks of a beat stage;
:mod:`ibeat_core.trackers` builds one by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from .batching import NetworkCall, Steps, run_alone
from .beat_hmm import BeatEvent, BeatHMMConfig, BeatTracker
from .rhythm import MotionRhythmTracker, RhythmConfig

__all__ = ["BeatNetwork", "BeatDecoder", "BeatFrame", "StreamingBeatTracker", "OnlineBeatTracker",
           "OnlineBeats", "track_clip"]


class BeatNetwork(Protocol):
    """One directogram row and its deceleration flux in, a kinematic offset and a beat
    probability out."""

    def initial_state(self) -> Any:
        """The recurrent state of a new stream."""

    def step(self, directogram_row: np.ndarray, flux: float, state: Any) -> tuple[float, float, Any]:
        """``(offset in [0, 1], beat probability in [0, 1], new state)`` for one frame.

        A network may also have ``step_batch(calls) -> results``: many streams' steps in
        one go, each result exactly what ``step(*call)`` gives (:mod:`ibeat_core.batching`).
        """


class BeatDecoder(Protocol):
    """Beat probabilities in, beats, tempo and a next-beat forecast out, one grid frame at a time.

    Attributes
    ----------
    min_bpm : float
        Slowest tempo it can report [BPM].
    min_confidence : float
        Confidence in [0, 1] below which its forecasts are not to be acted on.
    """

    min_bpm: float
    min_confidence: float

    def reset(self) -> None:
        """Forget the stream; the next frame is frame 0, at 0 s."""

    def process_frame(self, beat_prob: float) -> BeatEvent:
        """One frame's beat probability in [0, 1] -> its event (times [s] from frame 0)."""


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


class StreamingBeatTracker(Protocol):
    """What :class:`~ibeat_core.session.Session` needs of a beat stage; one instance per stream.

    Attributes
    ----------
    min_bpm : float
        Slowest tempo it reports [BPM]; sizes the session's history.
    min_confidence : float
        The session schedules no beat while :attr:`BeatFrame.confidence` is below this.
    """

    min_bpm: float
    min_confidence: float

    def reset(self) -> None:
        """Forget the stream."""

    def process_frame_steps(self, timestamp_s: float, keypoints) -> Steps[list[tuple]]:
        """One keypoint frame in; ``(BeatFrame, xy (17, 2), body scale)`` per grid frame out,
        as a generator of network steps (:mod:`ibeat_core.batching`)."""


class OnlineBeatTracker:
    """Streaming beat stage: one keypoint frame in, the grid frames it completes out.

    Parameters
    ----------
    network : BeatNetwork
        The beat activation.
    rhythm : RhythmConfig
        Keypoint handling and the internal rate.
    hmm : BeatHMMConfig
        Settings of the default decoder, the online B-HMM; must run at ``rhythm.fps``.
    decoder : BeatDecoder, optional
        Another decoder instead of the B-HMM (``hmm`` is then unused).
    """

    def __init__(self, network: BeatNetwork, *, rhythm: RhythmConfig = RhythmConfig(),
                 hmm: BeatHMMConfig | None = None, decoder: BeatDecoder | None = None):
        self.network = network
        self.rhythm = rhythm
        self._front_end = MotionRhythmTracker(rhythm)
        self.decoder = decoder if decoder is not None else BeatTracker(
            hmm if hmm is not None else BeatHMMConfig(fps=rhythm.fps))
        self.reset()

    @property
    def min_bpm(self) -> float:
        return self.decoder.min_bpm

    @property
    def min_confidence(self) -> float:
        return self.decoder.min_confidence

    def reset(self):
        self._front_end.reset()
        self.decoder.reset()
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
        return run_alone(self.process_frame_steps(timestamp_s, keypoints))

    def process_frame_steps(self, timestamp_s: float, keypoints) -> Steps[list[tuple]]:
        """:meth:`process_frame_with_pose` as a generator of network steps, so that
        :func:`~ibeat_core.batching.run_together` can batch many streams' frames."""
        out = []
        for m in (yield from self._front_end.process_frame_steps(timestamp_s, keypoints)):
            if self._t0 is None:
                self._t0 = m.time_s
            offset, prob, self._state = yield NetworkCall(self.network,
                                                          (m.directogram, m.flux, self._state))
            ev = self.decoder.process_frame(prob)
            frame = BeatFrame(time_s=m.time_s, offset=float(offset), kinematic_offset=m.offset,
                              beat_prob=float(prob),
                              is_beat=ev.is_beat, tempo_bpm=ev.tempo_bpm, phase=ev.phase,
                              confidence=ev.confidence, next_beat_s=self._t0 + ev.next_beat_s)
            out.append((frame, m.xy, m.scale))
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
