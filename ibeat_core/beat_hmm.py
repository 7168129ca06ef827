"""B-HMM: a beat and tempo hidden Markov model on per-frame beat probabilities (paper 3.1.2).

VisBeatNet outputs a beat probability ``p_t`` in [0, 1] per frame; the B-HMM
turns it into beat times and a tempo. The model is the bar-pointer model of the
madmom DBN beat tracker (Krebs, Böck and Widmer, ISMIR 2015), written for
ibeat's low frame rate, plus a state for "not dancing":

* **Beat cycle.** A state is a beat interval ``L`` and a position ``q`` in
  ``0 .. L-1``, both counted in *steps* of ``1 / substeps`` frame. Every frame the
  position advances by ``substeps`` steps. A chain that passes the end of its
  interval starts a new beat: it lands on position ``q + substeps - L`` of an
  interval ``L'`` drawn with probability ``exp(-transition_lambda * |L'/L - 1|)``
  (normalised), so the tempo only changes at beats, and rarely by much. Sub-frame
  steps are what make the tempo grid fine enough at 30 fps: with whole frames,
  170 BPM (10.6 frames) would fall between 180 and 164 BPM. All intervals from
  ``60 * fps * substeps / max_bpm`` to ``60 * fps * substeps / min_bpm`` steps are
  kept (rounded); at the defaults that is 81 tempi and 6481 states.
* **Observation.** The first ``max(substeps, L / observation_lambda)`` steps of
  every beat are *beat states* and explain ``p_t`` with likelihood ``p``; every
  other state explains it with ``(1 - p) / (observation_lambda - 1)``, as in
  madmom. The floor of one frame makes every chain meet its beat states once per
  beat. ``p`` is clipped to ``[activation_floor, 1 - activation_floor]`` first, so
  that one frame can never overturn a well-supported track on its own.
* **Not dancing.** One *silent state* explains every frame as a non-beat. A beat
  cycle enters it instead of starting a new beat with ``stop_probability``, and
  leaves it at a rate of ``start_rate_hz``, landing on the start of a beat of any
  tempo. Silence therefore wins through missing beats alone: when the dancer
  stops, each expected beat that brings no peak moves the odds towards it, the
  confidence falls and no beat is reported; when motion restarts, two peaks at a
  plausible interval bring the cycle back. The route through silence is also how
  the tracker re-locks after a sudden change of phase or tempo. Each missed beat
  multiplies the odds of silence by about ``(1 - p) / (p * (observation_lambda - 1))``:
  activations near ``1 / observation_lambda`` (0.06) while the body is still carry
  no such evidence, so the network must output well below that between beats.

One :class:`BeatHMM` serves both decoders: :func:`viterbi` (offline, max-product,
what the paper uses) and :class:`BeatTracker` (online, normalised forward
filtering, one frame in, one :class:`BeatEvent` out), which
:func:`track_online` runs over a whole sequence.

Times are seconds on the frame clock: frame ``t`` is at ``t / fps`` s, frame 0 at
0 s. Tempi are BPM.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .errors import ParameterError
from .keypoints import FPS
from .tempo import MAX_BPM, MIN_BPM
from .visual_beats import frames_to_time

__all__ = [
    "BeatHMMConfig",
    "BeatHMM",
    "shared_model",
    "valid_beat_probs",
    "HMMResult",
    "viterbi",
    "BeatEvent",
    "BeatTracker",
    "OnlineResult",
    "track_online",
]

# Tempo jumps rarer than this (relative, per beat) are removed from the tempo
# transition matrix: the silent state already allows any restart, and exact
# exp(-lambda * ratio) values can be subnormal floats, which are slow.
_MIN_TEMPO_TRANSITION = 1e-12
# Before the first frame the tracker is undecided between dancing and not.
_INITIAL_SILENCE = 0.5


@dataclass(frozen=True)
class BeatHMMConfig:
    """Parameters of the B-HMM and of its online decisions.

    Attributes
    ----------
    fps : float
        Frame rate [Hz] of the beat probabilities.
    min_bpm, max_bpm : float
        Tempo range [BPM]. The grid of beat intervals is rounded to whole steps,
        so its ends lie within half a step of these.
    transition_lambda : float
        Stiffness of the tempo at beat boundaries [dimensionless]: a new beat of
        interval ``L'`` after one of ``L`` has probability proportional to
        ``exp(-transition_lambda * |L'/L - 1|)``. 100 (madmom's default) makes a
        1 % change per beat ``e^-1`` times as likely as none.
    observation_lambda : float
        The first ``1 / observation_lambda`` of each beat (at least one frame) are
        beat states [dimensionless, > 1].
    substeps : int
        Positions per frame. The beat-interval grid has a step of
        ``1 / substeps`` frame, a tempo resolution of about
        ``bpm^2 / (60 * fps * substeps)``: 2.5 % at 180 BPM and 0.8 % at 60 BPM for
        4 steps at 30 fps. The number of states grows linearly with it.
    stop_probability : float
        Probability [per beat] that a beat cycle ends in the silent state (the
        dancer stops) rather than starting a new beat.
    start_rate_hz : float
        Rate [1/s] at which the silent state starts a new beat cycle.
    activation_floor : float
        Beat probabilities are clipped to ``[activation_floor, 1 - activation_floor]``
        before the observation model, bounding the evidence of one frame.
    min_confidence : float
        Online, a beat is reported only when :attr:`BeatEvent.confidence` is at
        least this [probability].
    tolerance_s : float
        Timing tolerance [s] of the online decisions: the confidence counts the
        posterior mass with a beat within this distance of the forecast beat,
        and a beat may be reported up to this long after it fell, when the
        evidence that confirms it comes a frame or two late.
    """

    fps: float = FPS
    min_bpm: float = MIN_BPM
    max_bpm: float = MAX_BPM
    transition_lambda: float = 100.0
    observation_lambda: float = 16.0
    substeps: int = 4
    stop_probability: float = 0.1
    start_rate_hz: float = 0.3
    activation_floor: float = 0.01
    min_confidence: float = 0.5
    tolerance_s: float = 0.07

    def __post_init__(self):
        if not (np.isfinite(self.fps) and self.fps > 0):
            raise ParameterError(f"fps must be a positive number of Hz, got {self.fps!r}")
        if not 0 < self.min_bpm < self.max_bpm:
            raise ParameterError(
                f"need 0 < min_bpm < max_bpm, got {self.min_bpm!r}, {self.max_bpm!r} BPM")
        if not (isinstance(self.substeps, (int, np.integer)) and self.substeps >= 1):
            raise ParameterError(f"substeps must be an integer >= 1, got {self.substeps!r}")
        if self.min_interval_steps < 2 * self.substeps:
            raise ParameterError(
                f"max_bpm = {self.max_bpm} BPM leaves fewer than 2 frames per beat at "
                f"{self.fps} Hz; lower it")
        if not self.transition_lambda > 0:
            raise ParameterError(f"transition_lambda must be > 0, got {self.transition_lambda!r}")
        if not self.observation_lambda > 1:
            raise ParameterError(f"observation_lambda must be > 1, got {self.observation_lambda!r}")
        if not 0 < self.stop_probability < 1:
            raise ParameterError(
                f"stop_probability must be in (0, 1) per beat, got {self.stop_probability!r}")
        if not (np.isfinite(self.start_rate_hz) and self.start_rate_hz > 0):
            raise ParameterError(
                f"start_rate_hz must be > 0 per second, got {self.start_rate_hz!r}")
        if not 0 < self.activation_floor < 0.5:
            raise ParameterError(
                f"activation_floor must be in (0, 0.5), got {self.activation_floor!r}")
        if not 0 <= self.min_confidence <= 1:
            raise ParameterError(f"min_confidence must be in [0, 1], got {self.min_confidence!r}")
        if not self.tolerance_s > 0:
            raise ParameterError(f"tolerance_s must be > 0 seconds, got {self.tolerance_s!r}")

    @property
    def min_interval_steps(self) -> int:
        """Shortest beat interval [steps of 1/substeps frame]."""
        return int(round(60.0 * self.fps * self.substeps / self.max_bpm))

    @property
    def max_interval_steps(self) -> int:
        """Longest beat interval [steps of 1/substeps frame]."""
        return int(round(60.0 * self.fps * self.substeps / self.min_bpm))

    @property
    def start_probability(self) -> float:
        """Probability [per frame] that the silent state starts a beat cycle."""
        return float(-np.expm1(-self.start_rate_hz / self.fps))


class BeatHMM:
    """State space, transitions and observation model of the B-HMM.

    Built once per configuration and shared by :func:`viterbi` and
    :class:`BeatTracker`. Cycle states are stored interval by interval, positions
    in increasing order; the silent state is the last one.

    Attributes
    ----------
    config : BeatHMMConfig
    intervals_steps : np.ndarray, shape (n_tempi,), int
        Beat interval of each tempo [steps of ``1 / substeps`` frame].
    bpm : np.ndarray, shape (n_tempi,)
        Tempo of each interval [BPM].
    offsets : np.ndarray, shape (n_tempi,), int
        Index of each interval's first state.
    state_tempo : np.ndarray, shape (n_states - 1,), int
        Tempo index of every cycle state.
    state_position : np.ndarray, shape (n_states - 1,), int
        Position [steps] of every cycle state within its beat.
    silent_state : int
        Index of the silent state, ``n_states - 1``.
    beat_states : np.ndarray, shape (n_beat_states,), int
        Indices of the beat states.
    agreement : np.ndarray, shape (max interval + 1, n_states - 1), bool
        Row ``q``: the cycle states that agree with a beat forecast ``q / substeps``
        frames ahead (within ``config.tolerance_s``).
    tempo_transition : np.ndarray, shape (n_tempi, n_tempi)
        Probability of starting a beat of tempo ``j`` at the end of one of tempo
        ``i``; rows sum to ``1 - stop_probability``.
    initial : np.ndarray, shape (n_states,)
        State distribution before the first frame.

    Examples
    --------
    >>> hmm = BeatHMM(BeatHMMConfig())
    >>> hmm.n_states, len(hmm.bpm), float(hmm.bpm[0]), float(hmm.bpm[-1])
    (6481, 81, 180.0, 60.0)
    """

    def __init__(self, config: BeatHMMConfig = BeatHMMConfig()):
        self.config = config
        k = config.substeps
        self.intervals_steps = np.arange(config.min_interval_steps, config.max_interval_steps + 1)
        self.bpm = 60.0 * config.fps * k / self.intervals_steps
        n_tempi = len(self.intervals_steps)
        self.offsets = np.concatenate([[0], np.cumsum(self.intervals_steps)[:-1]])
        n_cycle = int(self.intervals_steps.sum())
        self.n_states = n_cycle + 1
        self.silent_state = n_cycle
        self.state_tempo = np.repeat(np.arange(n_tempi), self.intervals_steps)
        self.state_position = np.arange(n_cycle) - self.offsets[self.state_tempo]
        state_interval = self.intervals_steps[self.state_tempo]

        beat_width = np.maximum(k, state_interval / config.observation_lambda)
        self.beat_states = np.flatnonzero(self.state_position < beat_width)

        ratio = self.intervals_steps[None, :] / self.intervals_steps[:, None]
        a = np.exp(-config.transition_lambda * np.abs(ratio - 1.0))
        a /= a.sum(axis=1, keepdims=True)
        a[a < _MIN_TEMPO_TRANSITION] = 0.0
        a *= (1.0 - config.stop_probability) / a.sum(axis=1, keepdims=True)
        self.tempo_transition = a
        with np.errstate(divide="ignore"):
            self._log_tempo_transition = np.log(a)

        # Every state but the first `k` of a beat has one predecessor, k steps
        # earlier in the same beat; the first `k` (the landing states) are
        # reached from the last `k` of any beat, or from the silent state.
        src = np.arange(self.n_states)
        src[:n_cycle] -= k
        r = np.arange(k)
        last_k = self.offsets + self.intervals_steps - k
        self._landing = self.offsets[None, :] + r[:, None]  # (k, n_tempi)
        self._wrapping = last_k[:, None] + r[None, :]       # (n_tempi, k)
        src[self._landing.ravel()] = self._landing.ravel()  # placeholders, overwritten each step
        self._advance_from = src
        self._entry = config.start_probability / (k * n_tempi)

        self.initial = np.empty(self.n_states)
        self.initial[:n_cycle] = (1.0 - _INITIAL_SILENCE) / (n_tempi * state_interval)
        self.initial[-1] = _INITIAL_SILENCE
        # Frames from each cycle state's last beat, and to its next one.
        self._frames_since_beat = self.state_position / k
        self._frames_to_beat = (state_interval - self.state_position) / k
        self.agreement = self._agreement_table(config.tolerance_s * config.fps)

    def _agreement_table(self, tolerance: float) -> np.ndarray:
        """Which cycle states agree with a forecast beat ``q / substeps`` frames ahead,
        ``(max interval + 1, n_states - 1)`` bool, row ``q``: a state agrees when its own
        beat nearest the forecast one (its next, or the one just past when the forecast
        beat is imminent) lies within ``tolerance`` frames of it. A forecast is always
        some state's frames to its beat, so the online tracker looks its row up each frame."""
        k = self.config.substeps
        table = np.zeros((int(self.intervals_steps.max()) + 1, self.silent_state), dtype=bool)
        for q in range(1, len(table)):
            frames_to_beat = q / k
            row = np.abs(self._frames_to_beat - frames_to_beat) <= tolerance
            if frames_to_beat <= tolerance:
                row |= self._frames_since_beat <= tolerance - frames_to_beat
            table[q] = row
        return table

    @property
    def n_tempi(self) -> int:
        return len(self.intervals_steps)

    def beat_likelihood_ratio(self, p: float) -> float:
        """Likelihood of a beat state over that of any other state for activation ``p``."""
        floor = self.config.activation_floor
        p = min(max(p, floor), 1.0 - floor)
        return p * (self.config.observation_lambda - 1.0) / (1.0 - p)

    def predict(self, alpha) -> np.ndarray:
        """One transition step of a state distribution.

        Parameters
        ----------
        alpha : np.ndarray, shape (n_states,)
            Probabilities (or any non-negative weights) of the states at frame ``t``.

        Returns
        -------
        np.ndarray, shape (n_states,)
            Their image at frame ``t + 1``, before its observation; total mass is kept.
        """
        # Every cycle state but the landing ones moves k states on, within its beat: one
        # shifted copy; the landing states and the silent state are written below.
        new = np.empty_like(alpha)
        k, n_cycle = self.config.substeps, self.silent_state
        new[k:n_cycle] = alpha[:n_cycle - k]
        wrapping = alpha[self._wrapping]
        silent = alpha[self.silent_state]
        new[self._landing] = wrapping.T @ self.tempo_transition + silent * self._entry
        new[self.silent_state] = (silent * (1.0 - self.config.start_probability)
                                  + self.config.stop_probability * wrapping.sum())
        return new

    def _log_predict_max(self, delta):
        """Max-product twin of :meth:`predict` in the log domain, with back-pointers.

        Returns the new scores ``(n_states,)``, the best predecessor of every
        landing state ``(substeps, n_tempi)`` and that of the silent state.
        """
        cfg = self.config
        new = delta[self._advance_from]
        wrapping = delta[self._wrapping].T                                  # (k, n_tempi)
        scores = wrapping[:, :, None] + self._log_tempo_transition[None]    # (k, from, to)
        best_from = np.argmax(scores, axis=1)                               # (k, to)
        best = np.take_along_axis(scores, best_from[:, None, :], axis=1)[:, 0, :]
        k_idx = np.arange(cfg.substeps)[:, None]
        pointers = self._wrapping[best_from, k_idx]
        from_silence = delta[self.silent_state] + np.log(self._entry)
        silence_wins = from_silence > best
        new[self._landing] = np.where(silence_wins, from_silence, best)
        pointers[silence_wins] = self.silent_state

        stay = delta[self.silent_state] + np.log1p(-cfg.start_probability)
        last = int(np.argmax(wrapping))
        stop = wrapping.flat[last] + np.log(cfg.stop_probability)
        if stay >= stop:
            new[self.silent_state], silent_pointer = stay, self.silent_state
        else:
            new[self.silent_state] = stop
            silent_pointer = int(self._wrapping.T.flat[last])
        return new, pointers, silent_pointer


@lru_cache(maxsize=16)
def shared_model(config: BeatHMMConfig) -> BeatHMM:
    """The :class:`BeatHMM` of ``config``, built once and shared by every tracker that runs it.

    Its arrays are read-only. One model is about 0.4 MB, so a server's sessions share
    one rather than each keeping a copy, and it stays in the CPU's cache between them.
    """
    model = BeatHMM(config)
    for value in vars(model).values():
        if isinstance(value, np.ndarray):
            value.setflags(write=False)
    return model


def valid_beat_probs(beat_probs) -> np.ndarray:
    """Check beat probabilities and return them as float64 ``(T,)``.

    Parameters
    ----------
    beat_probs : array_like, shape (T,)
        Per-frame beat probability.

    Raises
    ------
    ParameterError
        If not 1-D, or any value is NaN, infinite or outside [0, 1]: a network
        emits probabilities, and logits or a lost frame must not pass for them.

    Examples
    --------
    >>> valid_beat_probs([0.0, 0.5, 1.0])
    array([0. , 0.5, 1. ])
    """
    p = np.asarray(beat_probs, dtype=np.float64)
    if p.ndim != 1:
        raise ParameterError(f"beat probabilities must have shape (T,), got {p.shape}")
    if not np.all(np.isfinite(p)):
        raise ParameterError("beat probabilities contain NaN or Inf")
    if len(p) and (p.min() < 0.0 or p.max() > 1.0):
        raise ParameterError(
            f"beat probabilities must lie in [0, 1], got range [{p.min()}, {p.max()}]")
    return p


@dataclass(frozen=True)
class HMMResult:
    """Viterbi decoding of a beat-probability sequence.

    Attributes
    ----------
    beat_frames : np.ndarray, shape (n_beats,), int64
        Frames at which a beat starts (its first frame of beat states).
    beat_times_s : np.ndarray, shape (n_beats,)
        The same beats [s], frame 0 at 0 s.
    tempo_bpm : np.ndarray, shape (T,)
        Tempo [BPM] of the decoded state per frame; NaN where not dancing.
    dancing : np.ndarray, shape (T,), bool
        False where the decoded state is the silent one.
    """

    beat_frames: np.ndarray
    beat_times_s: np.ndarray
    tempo_bpm: np.ndarray
    dancing: np.ndarray


def viterbi(beat_probs, *, config: BeatHMMConfig = BeatHMMConfig()) -> HMMResult:
    """Most likely beat sequence of a whole beat-probability sequence (offline).

    Parameters
    ----------
    beat_probs : array_like, shape (T,)
        Beat probability per frame, in [0, 1], at ``config.fps``.
    config : BeatHMMConfig

    Returns
    -------
    HMMResult
        Empty beats and all-NaN tempo for an empty input.

    Raises
    ------
    ParameterError
        On invalid probabilities (see :func:`valid_beat_probs`).

    Examples
    --------
    >>> p = np.zeros(300); p[::15] = 1.0  # a peak every 0.5 s at 30 fps
    >>> result = viterbi(p)
    >>> result.beat_times_s[:4], float(np.median(result.tempo_bpm))
    (array([0. , 0.5, 1. , 1.5]), 120.0)
    """
    p = valid_beat_probs(beat_probs)
    hmm = shared_model(config)
    n_frames = len(p)
    if n_frames == 0:
        return HMMResult(np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0),
                         np.zeros(0, dtype=bool))
    log_ratios = np.log([hmm.beat_likelihood_ratio(x) for x in p])
    k = config.substeps
    landing_pointers = np.empty((n_frames, k, hmm.n_tempi), dtype=np.int32)
    silent_pointers = np.empty(n_frames, dtype=np.int32)
    delta = np.log(hmm.initial)
    delta[hmm.beat_states] += log_ratios[0]
    for t in range(1, n_frames):
        delta, landing_pointers[t], silent_pointers[t] = hmm._log_predict_max(delta)
        delta[hmm.beat_states] += log_ratios[t]
        # Only differences matter; keeping the maximum at 0 keeps the precision.
        delta -= delta.max()

    path = np.empty(n_frames, dtype=np.int64)
    state = int(np.argmax(delta))
    n_cycle = hmm.silent_state
    for t in range(n_frames - 1, 0, -1):
        path[t] = state
        if state == n_cycle:
            state = silent_pointers[t]
        elif hmm.state_position[state] < k:
            state = landing_pointers[t, hmm.state_position[state], hmm.state_tempo[state]]
        else:
            state -= k
    path[0] = state

    dancing = path != n_cycle
    cycle_path = np.where(dancing, path, 0)
    tempo_bpm = np.where(dancing, hmm.bpm[hmm.state_tempo[cycle_path]], np.nan)
    beat_frames = np.flatnonzero(dancing & (hmm.state_position[cycle_path] < k))
    return HMMResult(beat_frames, frames_to_time(beat_frames, fps=config.fps), tempo_bpm, dancing)


@dataclass(frozen=True)
class BeatEvent:
    """What the online tracker knows after one frame.

    Attributes
    ----------
    time_s : float
        Time of the frame [s] on the frame clock: frame index / fps since the
        last reset. Add the stream's start time to move it to another clock.
    is_beat : bool
        A beat fell at this frame, or at most ``config.tolerance_s`` before it
        when the frames that confirm it came late. Reported at most once per
        beat, causally, and only when ``confidence`` is at least
        ``config.min_confidence``.
    tempo_bpm : float
        Most probable tempo [BPM] of the beat cycle (the tracker's best guess even
        when the dancer has stopped: read it with ``confidence``).
    phase : float
        Position in the current beat, in [0, 1); 0 is the beat.
    confidence : float
        Posterior probability, in [0, 1], that the dancer is dancing *and* has a
        beat within ``config.tolerance_s`` of ``next_beat_s`` (the next
        one, or the one just past when the forecast beat is imminent).
        It falls towards 0 within a few beats once the beat probabilities stop
        peaking.
    next_beat_s : float
        Forecast time [s] of the next beat on the same clock as ``time_s``;
        always later than ``time_s``.
    """

    time_s: float
    is_beat: bool
    tempo_bpm: float
    phase: float
    confidence: float
    next_beat_s: float


class BeatTracker:
    """Online B-HMM: one beat probability in, one :class:`BeatEvent` out.

    Forward filtering, normalised every frame. The estimates come from one
    state: the most probable tempo (posterior summed over positions), then its
    most probable position. A beat is reported at the first frame where that
    state's last beat lies at most ``config.tolerance_s`` back and the confidence
    is high enough, half a beat or more after the previous reported beat.

    Parameters
    ----------
    config : BeatHMMConfig

    Examples
    --------
    >>> tracker = BeatTracker()
    >>> events = [tracker.process_frame(1.0 if t % 15 == 0 else 0.0) for t in range(300)]
    >>> [round(e.time_s, 2) for e in events if e.is_beat][-2:], events[-1].tempo_bpm
    ([9.0, 9.5], 120.0)
    """

    def __init__(self, config: BeatHMMConfig = BeatHMMConfig()):
        self.config = config
        self.model = shared_model(config)
        self._tolerance_frames = config.tolerance_s * config.fps
        self.reset()

    def reset(self):
        """Forget the stream: back to the initial distribution, frame 0 at 0 s."""
        self._prior = self.model.initial.copy()
        self._frame = 0
        self._last_beat_frame = -np.inf
        self._dancing = 1.0 - _INITIAL_SILENCE

    @property
    def min_bpm(self) -> float:
        """Slowest tempo it reports [BPM] (:class:`~ibeat_core.beat_tracking.BeatDecoder`)."""
        return self.config.min_bpm

    @property
    def min_confidence(self) -> float:
        """Confidence below which no beat is reported."""
        return self.config.min_confidence

    @property
    def dancing(self) -> float:
        """Posterior probability, after the last frame, that the dancer is dancing (not
        in the silent state)."""
        return self._dancing

    @property
    def prediction(self) -> np.ndarray:
        """State distribution ``(n_states,)`` of the next frame given every frame so far."""
        return self._prior.copy()

    def process_frame(self, p: float) -> BeatEvent:
        """Take the beat probability of the next frame; return its :class:`BeatEvent`.

        Parameters
        ----------
        p : float
            Beat probability in [0, 1].

        Raises
        ------
        ParameterError
            If ``p`` is NaN or outside [0, 1]; the tracker's state is unchanged.
        """
        if not 0.0 <= p <= 1.0:
            raise ParameterError(f"beat probability must be in [0, 1], got {p!r}")
        hmm = self.model
        alpha = self._prior
        alpha[hmm.beat_states] *= hmm.beat_likelihood_ratio(p)
        alpha *= 1.0 / alpha.sum()
        self._dancing = 1.0 - float(alpha[-1])

        cycle = alpha[:-1]
        tempo = int(np.argmax(np.add.reduceat(cycle, hmm.offsets)))
        start = hmm.offsets[tempo]
        interval = hmm.intervals_steps[tempo]
        position = int(np.argmax(cycle[start:start + interval]))
        frames_to_beat = hmm._frames_to_beat[start + position]
        # The states that agree with the forecast: hypotheses a frame apart on either
        # side of a beat agree (BeatHMM.agreement).
        confidence = float(cycle @ hmm.agreement[interval - position])
        tolerance = self._tolerance_frames
        phase = float(position / interval)

        frame = self._frame
        is_beat = (hmm._frames_since_beat[start + position] <= tolerance
                   and confidence >= self.config.min_confidence
                   and frame - self._last_beat_frame >= interval / (2 * self.config.substeps))
        if is_beat:
            self._last_beat_frame = frame
        self._prior = hmm.predict(alpha)
        self._frame = frame + 1
        time_s = frame / self.config.fps
        return BeatEvent(time_s, bool(is_beat), float(hmm.bpm[tempo]), phase,
                         min(confidence, 1.0), time_s + float(frames_to_beat) / self.config.fps)


@dataclass(frozen=True)
class OnlineResult:
    """:class:`BeatTracker` run over a whole sequence.

    Attributes
    ----------
    beat_frames : np.ndarray, shape (n_beats,), int64
        Frames with ``is_beat``.
    beat_times_s : np.ndarray, shape (n_beats,)
        The same beats [s], frame 0 at 0 s.
    tempo_bpm, phase, confidence, next_beat_s : np.ndarray, shape (T,)
        The :class:`BeatEvent` fields per frame ([BPM], [0, 1), [0, 1], [s]).
    """

    beat_frames: np.ndarray
    beat_times_s: np.ndarray
    tempo_bpm: np.ndarray
    phase: np.ndarray
    confidence: np.ndarray
    next_beat_s: np.ndarray


def track_online(beat_probs, *, config: BeatHMMConfig = BeatHMMConfig()) -> OnlineResult:
    """Run a fresh :class:`BeatTracker` frame by frame over a sequence.

    What a live stream would have produced, for evaluation.

    Parameters
    ----------
    beat_probs : array_like, shape (T,)
        Beat probability per frame, in [0, 1], at ``config.fps``.
    config : BeatHMMConfig

    Returns
    -------
    OnlineResult

    Raises
    ------
    ParameterError
        On invalid probabilities (see :func:`valid_beat_probs`).

    Examples
    --------
    >>> p = np.zeros(300); p[::20] = 1.0  # 90 BPM at 30 fps
    >>> result = track_online(p)
    >>> result.beat_times_s[-3:], float(result.tempo_bpm[-1])
    (array([8.        , 8.66666667, 9.33333333]), 90.0)
    """
    p = valid_beat_probs(beat_probs)
    tracker = BeatTracker(config)
    events = [tracker.process_frame(x) for x in p]
    is_beat = np.array([e.is_beat for e in events], dtype=bool)
    beat_frames = np.flatnonzero(is_beat)
    return OnlineResult(
        beat_frames,
        frames_to_time(beat_frames, fps=config.fps),
        np.array([e.tempo_bpm for e in events]),
        np.array([e.phase for e in events]),
        np.array([e.confidence for e in events]),
        np.array([e.next_beat_s for e in events]),
    )
