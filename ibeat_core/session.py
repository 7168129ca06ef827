"""The real-time engine: keypoint frames in, beat cues and drum hits out (paper 3.4).

A :class:`Session` is one dancer's stream. Per internal grid frame (30 Hz) it
runs the beat stage (resampling, directogram, VisBeatNet step, B-HMM step;
:class:`~ibeat_core.beat_tracking.OnlineBeatTracker`) and one MuStyleNet step
on the measured causal kinematic offset, which turns the body's impacts into a
drum onset envelope. Once per beat it generates the drums of the *next* beat
interval:

* **When.** The B-HMM forecasts the next beat ``b``. On the first confident
  frame less than ``lead_s + forecast_margin_s`` (plus one frame) before ``b``,
  the session commits
  to ``b`` and the current tempo ``T``: it emits a :class:`BeatCue` for ``b`` and
  the hits of ``[b, b + 60 / T)`` on a 16th grid, all ahead of time. The tempo is
  thus re-estimated every beat interval, and a low B-HMM confidence (the dancer
  stopped) schedules nothing: silence, not phantom drums.
* **Poly** (ours): the style of the last three beat intervals before ``b``
  (12 sixteenths of the envelope, :func:`~ibeat_core.style.beat_style`, mapped
  onto the scale of real drums by the style network's calibration) goes to
  DrumGenNet, which returns the next beat's hit matrix; the bar-aware DrumGenNet
  reads it per 16th position as the feel's drum style, with a density bias
  (:class:`~ibeat_core.drumgen.BodyCalibration`). The last sixteenth or
  so before ``b`` has not happened yet when the hits must leave; it repeats the
  same sixteenth of the beat before. A new rhythm in the body changes the style
  and so the pattern within a beat or two.
* **Mono** (the paper's baseline): one note per beat from the Mono generator,
  its velocity the strongest envelope value of the last beat.
* **Feel.** A session asked for a genre plays that feel; asked for "any", it
  draws a feel with its seed in the proportions of the Groove MIDI Dataset
  (:data:`~ibeat_core.drums.GENRE_COUNTS`) at its start and at every restart.
  Drawing the feel, then the drums given the feel, samples the mixture of
  genres DrumGenNet learned; always asking for the unconditional feel instead
  plays the same few grooves (measured in docs/results.md).
* **Restart.** After ``idle_reset_beats`` beats with nothing scheduled, the
  drum generators start from a clean context, as at the start of a session.

Everything is deterministic for a given seed and input. Times are seconds in
the client's clock (the timestamps it sent). The networks are injected
(:class:`Networks`); ``ibeat_models.load_networks()`` gives the shipped ones.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np

from .batching import NetworkCall, Steps, run_alone
from .beat_hmm import BeatHMMConfig
from .bar import BarConfig
from .beat_tracking import BeatFrame, BeatNetwork
from .body3d import Body3DConfig, BodyFrontEnd
from .drumgen import CONTEXT_BEATS, DrumGenConfig, DrumGenNetwork, DrumPatternGenerator
from .drums import (GENRE_COUNTS, GENRES, GM_EXPORT_PITCHES, N_DRUM_CLASSES, STEPS_PER_BEAT,
                    genre_index, midi_velocity)
from .errors import ParameterError
from .mono import MonoNetwork, MonoNoteGenerator
from .rhythm import RhythmConfig
from .skeleton import N_JOINTS
from .style import StyleCalibration, beat_style
from .trackers import DEFAULT_TRACKER, TRACKERS, build_tracker

__all__ = ["MODES", "DRUM_MODELS", "MONO_MIN_VELOCITY", "StyleNetwork", "Networks", "SessionConfig",
           "SessionFrame", "BeatCue", "DrumHit", "Session", "SessionResult", "run_session",
           "hits_on_beat_grid"]

#: Drum generation modes: DrumGenNet's polyphonic patterns, or one note per beat.
MODES = ("poly", "mono")
#: Which DrumGenNet plays Poly: "bar" (knows the bar, a drummer's velocities) or "paper"
#: (the paper's: three beats of context, velocity from the body's style alone).
DRUM_MODELS = ("bar", "paper")
# Seeds the feel drawn for "any" apart from the drum sampling of the same seed.
_FEEL_STREAM = 1
#: The lowest velocity [0, 1] of a Mono note, so a soft beat still sounds.
MONO_MIN_VELOCITY = 0.3


class StyleNetwork(Protocol):
    """MuStyleNet: one causal kinematic offset in, one onset-envelope value out.

    ``calibration`` maps its beat style onto the scale of real drums (or is None).
    """

    calibration: StyleCalibration | None

    def initial_state(self) -> Any:
        """The recurrent state of a new stream."""

    def step(self, offset: float, state: Any) -> tuple[float, Any]:
        """``(envelope in [0, 1], new state)`` for one frame (and optionally ``step_batch``,
        as :class:`~ibeat_core.beat_tracking.BeatNetwork`)."""


@dataclass(frozen=True)
class Networks:
    """The networks a session runs; shared, stateless, safe to reuse across sessions.

    ``drumgen`` is the bar-aware DrumGenNet with a drummer's velocities;
    ``drumgen_paper`` the paper's (no bar), for ``SessionConfig(drums="paper")``.
    """

    beat: BeatNetwork
    style: StyleNetwork
    drumgen: DrumGenNetwork
    mono: MonoNetwork
    drumgen_paper: DrumGenNetwork | None = None


@dataclass(frozen=True)
class SessionConfig:
    """Per-session settings.

    Attributes
    ----------
    mode : str
        ``"poly"`` or ``"mono"`` (see :data:`MODES`).
    genre : str
        Feel asked of DrumGenNet, one of :data:`ibeat_core.drums.GENRES`;
        "any" lets the session draw one with its seed.
    seed : int
        Seeds the drum sampling; the same seed and input give the same drums.
    density : float
        Logit bias of DrumGenNet's hits: > 0 more hits, < 0 fewer.
    temperature : float
        Sampling temperature, >= 0 (0: no randomness).
    genre_strength : float
        How strongly the genre is asked for, >= 0 (1: the plain conditional
        model; see :class:`~ibeat_core.drumgen.DrumGenConfig`).
    drums : str
        :data:`DRUM_MODELS`: ``"bar"`` (default) or the paper's ``"paper"``
        (the Table 4 reproduction).
    meter : str
        How the bar is counted (:class:`~ibeat_core.bar.BarConfig`): ``"auto"``
        (4/4 unless the motion says 3/4), ``"4/4"`` or ``"3/4"``.
    lead_s : float
        How long [s] before a beat its cue and first hits are emitted, > 0.
    min_lead_s : float
        A hit that could leave less than this long [s] before its play time
        (a beat the tracker found late) is not sent: it would sound late. In
        [0, lead_s); counted in :attr:`Session.late_hits_skipped`.
    forecast_margin_s : float
        Extra time [s] before ``lead_s`` at which a beat is committed, >= 0.
        The forecast of a beat moves by a frame or two as evidence arrives;
        without this margin 18% of beats left less than ``lead_s`` ahead, with
        one frame's worth 1% (bundled clip, 9 views, 30 fps).
    idle_reset_beats : float
        Beats without a scheduled beat after which the drum generators restart.
    rhythm : RhythmConfig
        Keypoint handling and the internal rate.
    hmm : BeatHMMConfig or None
        B-HMM settings; None uses the defaults at ``rhythm.fps``.
    tracker : str
        The beat stage, by name (:data:`ibeat_core.trackers.TRACKERS`); the
        default is ``"groove"`` (:mod:`ibeat_core.groove`).
    body3d : Body3DConfig or None
        Frames are 3D joints of this layout and frame (:mod:`ibeat_core.body3d`);
        None: COCO-17 2D keypoints.
    """

    mode: str = "poly"
    genre: str = "any"
    seed: int = 0
    density: float = 0.0
    temperature: float = 1.0
    genre_strength: float = 1.0
    drums: str = "bar"
    meter: str = "auto"
    lead_s: float = 0.1
    min_lead_s: float = 0.02
    forecast_margin_s: float = 0.035
    idle_reset_beats: float = 4.0
    rhythm: RhythmConfig = field(default_factory=RhythmConfig)
    hmm: BeatHMMConfig | None = None
    tracker: str = DEFAULT_TRACKER
    body3d: Body3DConfig | None = None

    def __post_init__(self):
        if self.tracker not in TRACKERS:
            raise ParameterError(f"unknown beat tracker {self.tracker!r}; known: "
                                 f"{', '.join(sorted(TRACKERS))}")
        if self.mode not in MODES:
            raise ParameterError(f"mode must be one of {MODES}, got {self.mode!r}")
        genre_index(self.genre)
        if not (isinstance(self.seed, (int, np.integer)) and self.seed >= 0):
            raise ParameterError(f"seed must be an integer >= 0, got {self.seed!r}")
        if not (np.isfinite(self.lead_s) and self.lead_s > 0):
            raise ParameterError(f"lead_s must be > 0 seconds, got {self.lead_s!r}")
        if not (np.isfinite(self.min_lead_s) and 0 <= self.min_lead_s < self.lead_s):
            raise ParameterError(f"min_lead_s must be in [0, lead_s), got {self.min_lead_s!r}")
        if not (np.isfinite(self.forecast_margin_s) and self.forecast_margin_s >= 0):
            raise ParameterError(
                f"forecast_margin_s must be >= 0 seconds, got {self.forecast_margin_s!r}")
        if not self.idle_reset_beats > 0:
            raise ParameterError(f"idle_reset_beats must be > 0, got {self.idle_reset_beats!r}")
        if self.drums not in DRUM_MODELS:
            raise ParameterError(f"drums must be one of {DRUM_MODELS}, got {self.drums!r}")
        # Sampling settings are checked where they are used, once.
        self.drumgen_config()

    @property
    def rhythm_in_force(self) -> RhythmConfig:
        """:attr:`rhythm`, with the fixed metric body scale of a 3D body."""
        if self.body3d is None:
            return self.rhythm
        return replace(self.rhythm, keypoints=self.body3d.keypoint_config(self.rhythm.keypoints))

    def drumgen_config(self) -> DrumGenConfig:
        # The style is the body's: DrumGenNet reads it through its BodyCalibration, if any.
        return DrumGenConfig(genre=self.genre, temperature=self.temperature,
                             density=self.density, seed=self.seed,
                             genre_strength=self.genre_strength, bar=BarConfig(meter=self.meter),
                             body_calibration=True, hold_draws=self.drums == "bar")


@dataclass(frozen=True)
class SessionFrame:
    """One internal grid frame of a session.

    Attributes
    ----------
    beat : BeatFrame
        The beat stage's output (time, offsets, beat probability, tempo, ...).
    envelope : float
        MuStyleNet's onset envelope in [0, 1].
    events : list of BeatCue and DrumHit
        What the frame scheduled.
    """

    beat: BeatFrame
    envelope: float
    events: list


@dataclass(frozen=True)
class BeatCue:
    """A beat the engine has committed to, sent ahead of time.

    Attributes
    ----------
    time_s : float
        When the beat falls [s], client's clock.
    tempo_bpm : float
        Tempo [BPM] the beat's hits were placed with.
    confidence : float
        B-HMM confidence in [0, 1] when it was committed.
    index : int
        Beat number in the session, from 0.
    emitted_s : float
        Client time [s] of the newest input frame when it was committed
        (``time_s - emitted_s`` is its lead; it can be <= 0 for a beat found late).
    feel : str
        The genre the beat's drums were asked for (drawn by the session for "any").
    bar_beat : int
        Its beat in the bar, 0 = the one (:mod:`ibeat_core.bar`); -1 where no bar is
        counted (Mono).
    beats_per_bar : int
        3 or 4; 0 where no bar is counted.
    """

    time_s: float
    tempo_bpm: float
    confidence: float
    index: int
    emitted_s: float
    feel: str = "any"
    bar_beat: int = -1
    beats_per_bar: int = 0


@dataclass(frozen=True)
class DrumHit:
    """One drum hit to play.

    Attributes
    ----------
    time_s : float
        When it should sound [s], client's clock.
    drum_class : int
        0..8, see :data:`ibeat_core.drums.DRUM_CLASSES`.
    pitch : int
        General MIDI drum pitch of the class.
    velocity : float
        Strength in (0, 1].
    midi_velocity : int
        The same as a MIDI velocity, 1..127.
    beat_index : int
        The :class:`BeatCue` it belongs to.
    step : int
        16th within the beat, 0..3.
    emitted_s : float
        Client time [s] of the newest input frame when it was emitted; ``time_s -
        emitted_s`` is at least ``SessionConfig.min_lead_s``.
    joint : int
        COCO-17 index of the body joint that drove the beat: the one that stopped
        hardest during the last beat (for spatial audio and visual cues).
    joint_x, joint_y : float
        That joint's last known position, in the client's coordinate units.
    joint_z : float
        Its depth, for a 3D body (client's units and frame); 0 for 2D keypoints.
    """

    time_s: float
    drum_class: int
    pitch: int
    velocity: float
    midi_velocity: int
    beat_index: int
    step: int
    emitted_s: float
    joint: int
    joint_x: float
    joint_y: float
    joint_z: float = 0.0


class Session:
    """One dancer's real-time engine: :meth:`push` frames, get events.

    Parameters
    ----------
    networks : Networks
    config : SessionConfig
    """

    def __init__(self, networks: Networks, config: SessionConfig = SessionConfig()):
        self.networks = networks
        self.config = config
        #: The beat stage (:class:`~ibeat_core.beat_tracking.StreamingBeatTracker`).
        self.tracker = build_tracker(config.tracker, networks, rhythm=config.rhythm_in_force,
                                     hmm=config.hmm)
        #: 3D frames -> the 2D view the beat stage reads, on its grid (None for 2D keypoints).
        self.body = (None if config.body3d is None
                     else BodyFrontEnd(config.body3d, config.rhythm.keypoints))
        self._frame_s = 1.0 / config.rhythm.fps
        self._drumgen = networks.drumgen if config.drums == "bar" else networks.drumgen_paper
        if self._drumgen is None:
            raise ParameterError("drums='paper' needs Networks.drumgen_paper "
                                 "(ibeat_models.load_networks() loads it)")
        self._mono = MonoNoteGenerator(networks.mono, temperature=config.temperature,
                                       seed=config.seed)
        self.reset()

    def reset(self):
        """Forget the stream; the next frame starts a new one."""
        self.tracker.reset()
        if self.body is not None:
            self.body.reset()
        self._feel_rng = np.random.default_rng([self.config.seed, _FEEL_STREAM])
        self._start_groove()
        self._style_state = self.networks.style.initial_state()
        # Envelope history: long enough for three beats at the slowest tempo.
        n = int(np.ceil((CONTEXT_BEATS + 1) * 60.0 / self.tracker.min_bpm
                        * self.config.rhythm.fps)) + 2
        self._envelope = deque(maxlen=n)
        self._first_time_s = None
        self._decelerations = deque(maxlen=n)
        self._last_xy = None
        self._last_speed = np.zeros(N_JOINTS)
        self._position = np.zeros((N_JOINTS, 2))
        self._position3d = np.zeros((N_JOINTS, 3))
        self._last_beat_s = -np.inf
        self._last_period_s = None
        self._n_beats = 0
        self._idle = False
        self._now_s = -np.inf
        #: Hits not sent because they could not leave ``min_lead_s`` before their play time.
        self.late_hits_skipped = 0

    def _start_groove(self):
        """Fresh drum generators, and a feel drawn for "any"."""
        feel = self.config.genre
        if feel == "any":
            counts = np.asarray(GENRE_COUNTS, dtype=np.float64)
            feel = GENRES[1 + int(self._feel_rng.choice(len(counts), p=counts / counts.sum()))]
        #: The feel DrumGenNet is asked for now.
        self.feel = feel
        self._pattern = DrumPatternGenerator(self._drumgen,
                                             replace(self.config.drumgen_config(), genre=feel))
        self._mono.reset()

    def push(self, timestamp_s: float, keypoints) -> list:
        """Take one frame; return the events it produced, in order of emission.

        Parameters
        ----------
        timestamp_s : float
            Capture time [s] in the client's clock; strictly increasing.
        keypoints : array_like, shape (17, 2|3), or (J, 3|4) for a 3D body
            COCO-17 ``[x, y(, confidence)]`` in any consistent units; with
            ``config.body3d``, ``[x, y, z(, confidence)]`` of its layout's J joints.

        Returns
        -------
        list of BeatCue and DrumHit
        """
        return run_alone(self.push_steps(timestamp_s, keypoints))

    def push_steps(self, timestamp_s: float, keypoints) -> Steps[list]:
        """:meth:`push` as a generator of network steps (:mod:`ibeat_core.batching`)."""
        frames = yield from self.process_frame_steps(timestamp_s, keypoints)
        return [e for frame in frames for e in frame.events]

    def process_frame(self, timestamp_s: float, keypoints) -> list[SessionFrame]:
        """:meth:`push` with the per-grid-frame state the events came from (for plots)."""
        return run_alone(self.process_frame_steps(timestamp_s, keypoints))

    def process_frame_steps(self, timestamp_s: float, keypoints) -> Steps[list[SessionFrame]]:
        """:meth:`process_frame` as a generator of network steps."""
        out = []
        if self.body is None:
            grid_frames = yield from self.tracker.process_frame_steps(timestamp_s, keypoints)
        else:
            grid_frames = []
            for t, view, positions in zip(*self.body.process_frame(timestamp_s, keypoints)):
                seen = np.isfinite(positions).all(axis=1)
                self._position3d[seen] = positions[seen]
                grid_frames += yield from self.tracker.process_frame_steps(t, view)
        self._now_s = float(timestamp_s)
        for f, xy, scale in grid_frames:
            env, self._style_state = yield NetworkCall(self.networks.style,
                                                       (f.kinematic_offset, self._style_state))
            if self._first_time_s is None:
                self._first_time_s = f.time_s
            self._envelope.append(env)
            self._track_joints(xy, scale)
            events = yield from self._events_after(f)
            out.append(SessionFrame(f, float(env), events))
        return out

    def _track_joints(self, xy: np.ndarray, scale: float):
        """This frame's per-joint deceleration [body lengths / s per frame]; last positions."""
        seen = np.isfinite(xy[:, 0]) & np.isfinite(xy[:, 1])
        speed = np.zeros(len(xy))
        if self._last_xy is not None and scale > 0:
            d = xy - self._last_xy
            step = np.hypot(d[:, 0], d[:, 1]) * (self.config.rhythm.fps / scale)
            speed = np.where(np.isfinite(step), step, 0.0)
        self._decelerations.append(np.maximum(self._last_speed - speed, 0.0))
        self._last_speed = speed
        self._last_xy = xy
        np.copyto(self._position, xy, where=seen[:, None])

    def _driver_joint(self, period_s: float) -> int:
        """The joint that stopped hardest over the last beat: the body part 'playing' the drums."""
        n = max(1, int(round(period_s * self.config.rhythm.fps)))
        recent = list(self._decelerations)[-n:]
        return int(np.argmax(np.sum(recent, axis=0))) if recent else 0

    def _events_after(self, f: BeatFrame) -> Steps[list]:
        """The beat cue and hits this grid frame commits to, if any (a generator of network
        steps: a beat's drums are DrumGenNet's)."""
        period = 60.0 / f.tempo_bpm
        if (self._last_period_s is not None and not self._idle
                and f.time_s - self._last_beat_s
                > self.config.idle_reset_beats * self._last_period_s):
            self._start_groove()
            self._idle = True
        confident = f.confidence >= self.tracker.min_confidence
        due = (f.next_beat_s - f.time_s
               <= self.config.lead_s + self.config.forecast_margin_s + self._frame_s)
        new = f.next_beat_s > self._last_beat_s + 0.5 * period
        if not (confident and due and new):
            return []
        return (yield from self._schedule_beat(f, f.next_beat_s, period))

    def _schedule_beat(self, f: BeatFrame, beat_s: float, period: float) -> Steps[list]:
        index = self._n_beats
        self._n_beats += 1
        self._joint = self._driver_joint(period)
        self._last_beat_s, self._last_period_s, self._idle = beat_s, period, False
        cue = BeatCue(beat_s, float(f.tempo_bpm), float(f.confidence), index, self._now_s,
                      self.feel)
        events = [cue]
        if self.config.mode == "mono":
            drum = self._mono.next_note()
            if drum >= 0:
                last_beat = self._style_context(f, beat_s, period)[-STEPS_PER_BEAT:]
                velocity = float(np.clip(last_beat.max(), MONO_MIN_VELOCITY, 1.0))
                events.append(self._hit(beat_s, drum, velocity, index, 0))
        else:
            hits = yield from self._pattern.next_beat_steps(self._style_context(f, beat_s, period))
            position = self._pattern.position
            events[0] = replace(cue, bar_beat=position.beat, beats_per_bar=position.beats_per_bar)
            step_s = period / STEPS_PER_BEAT
            for step, drum in zip(*np.nonzero(hits)):
                events.append(self._hit(beat_s + step * step_s, int(drum),
                                        float(hits[step, drum]), index, int(step)))
        on_time = [e for e in events if not isinstance(e, DrumHit)
                   or e.time_s - self._now_s >= self.config.min_lead_s]
        self.late_hits_skipped += len(events) - len(on_time)
        return on_time

    def _hit(self, time_s, drum, velocity, index, step) -> DrumHit:
        """A hit emitted now (the newest input frame's time) for beat ``index``."""
        emitted_s = self._now_s
        if self.body is None:
            (x, y), z = self._position[self._joint], 0.0
        else:
            x, y, z = self._position3d[self._joint]
        return DrumHit(float(time_s), int(drum), int(GM_EXPORT_PITCHES[drum]), float(velocity),
                       midi_velocity(velocity), int(index), int(step), float(emitted_s),
                       self._joint, float(x), float(y), float(z))

    def _style_context(self, f: BeatFrame, beat_s: float, period: float) -> np.ndarray:
        """Style ``(12,)`` of the three beat intervals before ``beat_s``.

        Each sixteenth's window is centred on its grid time (it starts half a
        sixteenth early), as a drum grid files each hit under its nearest 16th.
        Sixteenths not fully seen yet repeat the one a beat earlier; those
        before the stream began are 0.
        """
        env = np.asarray(self._envelope, dtype=np.float64)
        last_frame_s, last_index = f.time_s, len(env) - 1

        def frame_of(t):
            """Index in ``env`` of client time ``t``, fractional."""
            return (t - last_frame_s) / self._frame_s + last_index

        style = np.zeros(CONTEXT_BEATS * STEPS_PER_BEAT, dtype=np.float32)
        step_s = period / STEPS_PER_BEAT
        # Frames still to come read as 0 here and are replaced below.
        future = int(np.ceil(frame_of(beat_s))) - last_index
        if future > 0:
            env = np.concatenate([env, np.zeros(future)])
        for b in range(CONTEXT_BEATS):
            start = beat_s - (CONTEXT_BEATS - b) * period - 0.5 * step_s
            s0, s1 = frame_of(start), frame_of(start + period)
            if s1 <= 0:
                continue
            values = beat_style(env, start_frame=max(s0, 0.0), end_frame=s1)
            if s0 < 0:
                # Steps before the first frame are unknown, not silent: leave them 0.
                values = np.where(start + np.arange(STEPS_PER_BEAT) * step_s < self._first_time_s,
                                  0.0, values)
            style[b * STEPS_PER_BEAT:(b + 1) * STEPS_PER_BEAT] = values
        for j in range(len(style)):
            step_end_s = beat_s - (len(style) - j - 1.5) * step_s
            if step_end_s > last_frame_s + 0.5 * self._frame_s:
                style[j] = style[j - STEPS_PER_BEAT] if j >= STEPS_PER_BEAT else 0.0
        calibration = self.networks.style.calibration
        return style if calibration is None else calibration(style)


@dataclass(frozen=True)
class SessionResult:
    """:func:`run_session` over a whole clip.

    Attributes
    ----------
    times_s : np.ndarray, shape (N,)
        Grid times [s], client's clock.
    kinematic_offsets, envelope, beat_probs, tempo_bpm, confidence : np.ndarray, shape (N,)
        Per grid frame: measured causal offsets, MuStyleNet's envelope, VisBeatNet's
        beat probability, B-HMM tempo [BPM] and confidence.
    beats : list of BeatCue
    hits : list of DrumHit
    """

    times_s: np.ndarray
    kinematic_offsets: np.ndarray
    envelope: np.ndarray
    beat_probs: np.ndarray
    tempo_bpm: np.ndarray
    confidence: np.ndarray
    beats: list
    hits: list


def run_session(networks: Networks, timestamps_s, keypoints, *,
                config: SessionConfig = SessionConfig()) -> SessionResult:
    """A whole clip through a fresh :class:`Session`, frame by frame, as a live client would.

    Offline rendering and evaluation use this, so a file and a live stream give
    the same drums.

    Parameters
    ----------
    networks : Networks
    timestamps_s : array_like, shape (T,)
        Strictly increasing capture times [s].
    keypoints : array_like, shape (T, 17, 2|3), or (T, J, 3|4) for a 3D body
    config : SessionConfig
    """
    session = Session(networks, config)
    rows, beats, hits = [], [], []
    for t, kp in zip(timestamps_s, keypoints):
        for frame in session.process_frame(t, kp):
            f = frame.beat
            rows.append((f.time_s, f.kinematic_offset, frame.envelope, f.beat_prob, f.tempo_bpm,
                         f.confidence))
            beats += [e for e in frame.events if isinstance(e, BeatCue)]
            hits += [e for e in frame.events if isinstance(e, DrumHit)]
    cols = np.array(rows, dtype=np.float64).reshape(-1, 6).T
    return SessionResult(*cols, beats=beats, hits=hits)


def hits_on_beat_grid(beats, hits) -> np.ndarray:
    """Drum hits as a hit matrix on the beat grid (4 sixteenths per scheduled beat).

    Row ``4 * k + step`` holds beat ``k``'s sixteenth ``step``; the tempo and the
    exact times drop out, which is what pattern metrics compare.

    Parameters
    ----------
    beats : list of BeatCue
    hits : list of DrumHit

    Returns
    -------
    np.ndarray, shape (4 * len(beats), 9), float32
        Velocities in [0, 1].

    Examples
    --------
    >>> cue = BeatCue(1.0, 120.0, 0.9, 0, 0.9)
    >>> hit = DrumHit(1.25, 1, 38, 0.5, 64, 0, 2, 0.9, 9, 310.0, 220.0)
    >>> hits_on_beat_grid([cue], [hit])[:, 1].tolist()
    [0.0, 0.0, 0.5, 0.0]
    """
    grid = np.zeros((STEPS_PER_BEAT * len(beats), N_DRUM_CLASSES), dtype=np.float32)
    for h in hits:
        if not 0 <= h.beat_index < len(beats):
            raise ParameterError(f"hit of beat {h.beat_index} outside the {len(beats)} beats")
        row = STEPS_PER_BEAT * h.beat_index + h.step
        grid[row, h.drum_class] = max(grid[row, h.drum_class], h.velocity)
    return grid
