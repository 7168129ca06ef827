"""The groove: a beat clock that keeps playing while the body keeps moving.

The online B-HMM (:class:`~ibeat_core.beat_hmm.BeatTracker`) is a sound beat
model, but acted on directly it leaves dancers in silence: each of its forecasts
is a one-shot guess, its most probable tempo flips between a tempo and its half
right after beats, and a session that waits for a confident forecast stays
silent two thirds of the time on real dance (``docs/results.md``).

:class:`GrooveDecoder` runs the B-HMM and keeps its own beat clock, a period
``P`` [s] and a next beat ``N`` [s], like a drummer who keeps time between the
cues he is given:

* **start**: the first forecast with confidence >= ``start_confidence`` while
  the B-HMM's dancing probability is >= ``start_dancing`` sets ``P`` and ``N``;
* **follow** (a phase-locked loop): each forecast with confidence >=
  ``follow_confidence`` pulls the clock. Its tempo, folded into the clock's
  octave (a half or double tempo is the same groove), moves ``P`` by
  ``period_gain`` of the difference; its next beat moves ``N`` by ``phase_gain``
  of the (wrapped) difference;
* **relock**: confident forecasts (>= ``relock_confidence``) whose tempo stays
  more than ``relock_ratio`` away from the clock's for ``relock_s`` restart the
  clock from them: the mover changed tempo;
* **stop**: when the B-HMM's dancing probability (one minus its silent state's
  posterior) stays below ``start_dancing`` for ``stop_beats`` of the clock's
  period, or falls below ``stop_dancing``, the clock stops. Each missing beat
  moves the B-HMM towards its silent state, whatever the detector's jitter
  (speed or extent thresholds cannot tell jitter from a small movement): one
  skipped stop leaves it near 0.7 until the next peak; a real stop usually sinks
  it below 0.5 by the second missing beat.

The decoder is a :class:`~ibeat_core.beat_tracking.BeatDecoder`: beat
probabilities in, one :class:`~ibeat_core.beat_hmm.BeatEvent` per frame out, on
the frame clock (frame ``t`` at ``t / fps`` s).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .beat_hmm import BeatEvent, BeatHMMConfig, BeatTracker
from .errors import ParameterError

__all__ = ["GrooveConfig", "GrooveDecoder"]


@dataclass(frozen=True)
class GrooveConfig:
    """Parameters of :class:`GrooveDecoder`.

    Attributes
    ----------
    hmm : BeatHMMConfig
        The B-HMM that gives the forecasts (its ``min_confidence`` is unused). Keep
        its default 60-180 BPM: reaching down to 48 BPM let it read 96-BPM squats
        at half their tempo, playing every other beat.
    start_confidence, follow_confidence, relock_confidence : float
        B-HMM confidence in [0, 1] needed to start the clock, to pull it, and to
        count towards a relock.
    start_dancing : float
        Dancing probability in (0, 1] needed to start the clock and to pull it;
        below it for ``stop_beats`` the clock stops.
    stop_dancing : float
        Dancing probability in (0, ``start_dancing``] below which the clock
        stops at once. It is the decoder's ``min_confidence``: its confidence is
        the dancing probability while the clock runs, 0 otherwise.
    stop_beats : float
        How long [periods of the clock, >= 0] the dancing probability may stay
        below ``start_dancing`` before the clock stops. One skipped accent holds
        it there for a whole period, so below 1 the clock drops the skipped beat
        and the next one and restarts on the accent after; on the exercise suite
        0.75 plays 2 beats into stillness where 1.0-1.25 play 5, at the same
        coverage and F (``docs/results.md``).
    period_gain, phase_gain : float
        Share in (0, 1] of a forecast's period and phase error the clock takes.
    relock_ratio : float
        Relative tempo difference (> 0) beyond which a forecast disagrees with
        the clock.
    relock_s : float
        How long [s] confident forecasts must disagree before the clock restarts.
    """

    hmm: BeatHMMConfig = field(default_factory=BeatHMMConfig)
    start_confidence: float = 0.3
    follow_confidence: float = 0.3
    relock_confidence: float = 0.5
    start_dancing: float = 0.8
    stop_dancing: float = 0.5
    stop_beats: float = 0.75
    period_gain: float = 0.2
    phase_gain: float = 0.3
    relock_ratio: float = 0.12
    relock_s: float = 0.5

    def __post_init__(self):
        for name in ("start_confidence", "follow_confidence", "relock_confidence"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ParameterError(f"{name} must be in [0, 1], got {getattr(self, name)!r}")
        for name in ("start_dancing", "stop_dancing", "period_gain", "phase_gain"):
            if not 0.0 < getattr(self, name) <= 1.0:
                raise ParameterError(f"{name} must be in (0, 1], got {getattr(self, name)!r}")
        if not self.stop_dancing <= self.start_dancing:
            raise ParameterError(f"stop_dancing must be <= start_dancing, got {self.stop_dancing!r}"
                                 f" > {self.start_dancing!r}")
        if not self.stop_beats >= 0:
            raise ParameterError(f"stop_beats must be >= 0, got {self.stop_beats!r}")
        if not self.relock_ratio > 0:
            raise ParameterError(f"relock_ratio must be > 0, got {self.relock_ratio!r}")
        if not self.relock_s >= 0:
            raise ParameterError(f"relock_s must be >= 0 seconds, got {self.relock_s!r}")


def _fold(period_s: float, reference_s: float) -> float:
    """``period_s``, or its double or half when that is within 6 % of ``reference_s``."""
    for factor in (2.0, 0.5):
        if abs(period_s * factor / reference_s - 1.0) < 0.06:
            return period_s * factor
    return period_s


class GrooveDecoder:
    """B-HMM forecasts in, a steady beat clock out (:class:`~ibeat_core.beat_tracking.BeatDecoder`).

    Parameters
    ----------
    config : GrooveConfig

    Examples
    --------
    >>> decoder = GrooveDecoder()
    >>> events = [decoder.process_frame(0.9 if t % 18 == 0 else 0.02) for t in range(300)]
    >>> beats = [round(e.time_s, 1) for e in events if e.is_beat]
    >>> beats[-3:], round(events[-1].tempo_bpm)
    ([8.4, 9.0, 9.6], 100)
    """

    def __init__(self, config: GrooveConfig = GrooveConfig()):
        self.config = config
        self.hmm = BeatTracker(config.hmm)
        self._fps = config.hmm.fps
        self.reset()

    @property
    def min_bpm(self) -> float:
        return self.config.hmm.min_bpm

    @property
    def min_confidence(self) -> float:
        """The session schedules beats while the clock runs: confidence >= ``stop_dancing``."""
        return self.config.stop_dancing

    @property
    def running(self) -> bool:
        """Whether the clock is keeping time."""
        return self._period_s is not None

    def reset(self):
        """Forget the stream; the next frame is frame 0, at 0 s."""
        self.hmm.reset()
        self._period_s = None
        self._next_s = None
        self._disagree_s = 0.0
        self._fading_s = 0.0

    def process_frame(self, beat_prob: float) -> BeatEvent:
        """One frame's beat probability in [0, 1] -> its event (times [s] on the frame clock)."""
        cfg = self.config
        ev = self.hmm.process_frame(beat_prob)
        dancing = self.hmm.dancing
        t = ev.time_s
        forecast_s = 60.0 / ev.tempo_bpm
        self._fading_s = self._fading_s + 1.0 / self._fps if dancing < cfg.start_dancing else 0.0
        if self._period_s is not None and (
                dancing < cfg.stop_dancing or self._fading_s > cfg.stop_beats * self._period_s):
            self._period_s = self._next_s = None
            self._disagree_s = 0.0
        if dancing >= cfg.start_dancing:
            if self._period_s is None:
                if ev.confidence >= cfg.start_confidence:
                    self._period_s, self._next_s = forecast_s, ev.next_beat_s
            elif ev.confidence >= cfg.follow_confidence:
                self._follow(ev, forecast_s)

        is_beat = False
        if self._period_s is None:
            return BeatEvent(t, False, ev.tempo_bpm, ev.phase, 0.0, ev.next_beat_s)
        while self._next_s <= t:  # the clock's beat fell: declare it once, go on
            is_beat = True
            self._next_s += self._period_s
        phase = 1.0 - (self._next_s - t) / self._period_s
        return BeatEvent(t, is_beat, 60.0 / self._period_s, min(max(phase, 0.0), 0.999999),
                         dancing, self._next_s)

    def _follow(self, ev: BeatEvent, forecast_s: float):
        """Pull the clock towards one forecast, or restart it after a lasting tempo change."""
        cfg = self.config
        period = _fold(forecast_s, self._period_s)
        if abs(period / self._period_s - 1.0) > cfg.relock_ratio:
            if ev.confidence >= cfg.relock_confidence:
                self._disagree_s += 1.0 / self._fps
                if self._disagree_s >= cfg.relock_s:
                    self._period_s, self._next_s = forecast_s, ev.next_beat_s
                    self._disagree_s = 0.0
            return
        self._disagree_s = 0.0
        self._period_s += cfg.period_gain * (period - self._period_s)
        error = (ev.next_beat_s - self._next_s + self._period_s / 2) % self._period_s
        self._next_s += cfg.phase_gain * (error - self._period_s / 2)
