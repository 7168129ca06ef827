"""Beats counted in bars: where in the bar (and in the phrase) the next beat falls.

A drummer plays by the bar: a backbeat on 2 and 4, a crash on the one after
a phrase, a fill on the last beat of its last bar. The beat tracker gives
beats, not bars, so :class:`BarCounter` counts them by a stated rule:

- **Meter.** 4/4, unless the motion says 3/4: with ``meter="auto"``, once
  :attr:`BarConfig.min_beats` beats have an accent, the accents' correlation
  at a lag of 3 beats has to beat the one at 4 by :attr:`BarConfig.margin`
  (a waltz moves the same way every third beat). ``"4/4"`` and ``"3/4"`` fix it.
- **The one.** The first beat of a groove is the one; at each bar line the
  count moves to the beat position with the strongest mean accent (bodies
  stress the downbeat), when it stands out by the same margin.
- **Phrases** are :attr:`BarConfig.phrase_bars` bars.

The accent of a beat is any non-negative measure of how strongly the body
marked it (the session uses the drum style of its first sixteenth).

:func:`bar_features` turns a position into what DrumGenNet reads: one-hot
beat in a 4/4 bar (a 3/4 bar's beats 1, 2, 3 as 4/4's 1, 2, 4: its last beat
leads to the one as a 4/4 bar's does) and one-hot bar in the phrase.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .errors import ParameterError

__all__ = ["METERS", "BAR_FEATURES", "BarConfig", "BarPosition", "BarCounter", "bar_features"]

#: Meter names -> beats per bar.
METERS = {"4/4": 4, "3/4": 3}
#: Length of :func:`bar_features`: 4 beat positions + 4 bars of a phrase.
BAR_FEATURES = 8
# A 3/4 bar's beats as 4/4 positions: the last beat before the one is a 4/4 bar's 4th.
_POSITION_IN_FOUR = {3: (0, 1, 3), 4: (0, 1, 2, 3)}


@dataclass(frozen=True)
class BarConfig:
    """How :class:`BarCounter` counts.

    Attributes
    ----------
    meter : str
        ``"auto"`` (4/4 unless the accents say 3/4), ``"4/4"`` or ``"3/4"``.
    phrase_bars : int
        Bars in a phrase, >= 1 (fills end a phrase, crashes start one).
    min_beats : int
        Accents needed before the meter or the one is judged, >= 8.
    history_beats : int
        Accents remembered, >= ``min_beats``.
    margin : float
        How much one reading has to beat the other (a correlation, or a
        fraction of the mean accent), > 0.
    """

    meter: str = "auto"
    phrase_bars: int = 4
    min_beats: int = 12
    history_beats: int = 24
    margin: float = 0.15

    def __post_init__(self):
        if self.meter != "auto" and self.meter not in METERS:
            raise ParameterError(f"meter must be 'auto' or one of {sorted(METERS)}, "
                                 f"got {self.meter!r}")
        if not (isinstance(self.phrase_bars, int) and self.phrase_bars >= 1):
            raise ParameterError(f"phrase_bars must be an int >= 1, got {self.phrase_bars!r}")
        if not (isinstance(self.min_beats, int) and self.min_beats >= 8):
            raise ParameterError(f"min_beats must be an int >= 8, got {self.min_beats!r}")
        if not (isinstance(self.history_beats, int) and self.history_beats >= self.min_beats):
            raise ParameterError("history_beats must be an int >= min_beats")
        if not (np.isfinite(self.margin) and self.margin > 0):
            raise ParameterError(f"margin must be > 0, got {self.margin!r}")


class BarPosition(NamedTuple):
    """Where a beat falls.

    Attributes
    ----------
    beat : int
        Beat in the bar, 0 = the one.
    bar : int
        Bar in the phrase, 0 = its first.
    beats_per_bar : int
        3 or 4.
    """

    beat: int
    bar: int
    beats_per_bar: int


def bar_features(position: BarPosition, phrase_bars: int = 4) -> np.ndarray:
    """DrumGenNet's bar input ``(BAR_FEATURES,)`` float32: one-hot beat in a 4/4 bar, one-hot
    bar in a 4-bar phrase (longer phrases count their last four bars).

    Examples
    --------
    >>> bar_features(BarPosition(2, 3, 3)).tolist()
    [0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    """
    out = np.zeros(BAR_FEATURES, np.float32)
    out[_POSITION_IN_FOUR[position.beats_per_bar][position.beat]] = 1.0
    bar = position.bar - max(phrase_bars - 4, 0)   # a longer phrase: its last four bars
    out[4 + max(bar, 0)] = 1.0
    return out


class BarCounter:
    """Streaming bar count: one call per beat, in order.

    Parameters
    ----------
    config : BarConfig

    Examples
    --------
    >>> counter = BarCounter(BarConfig(meter="4/4"))
    >>> [tuple(counter.next_beat(1.0))[:2] for _ in range(6)]
    [(0, 0), (1, 0), (2, 0), (3, 0), (0, 1), (1, 1)]
    """

    def __init__(self, config: BarConfig = BarConfig()):
        self.config = config
        self.reset()

    def reset(self):
        """A new groove: the next beat is the one of bar 0, the meter as configured."""
        fixed = self.config.meter != "auto"
        self._beats_per_bar = METERS[self.config.meter] if fixed else 4
        self._beat = 0          # position of the next beat in its bar
        self._bar = 0           # bar of the next beat in its phrase
        self._accents = deque(maxlen=self.config.history_beats)

    @property
    def beats_per_bar(self) -> int:
        return self._beats_per_bar

    def next_beat(self, accent: float | None = None) -> BarPosition:
        """Position of the next beat; ``accent`` (>= 0, None: unknown) is that of the beat
        before it, the latest the caller has seen."""
        if accent is not None:
            accent = float(accent)
            if not (np.isfinite(accent) and accent >= 0):
                raise ParameterError(f"accent must be finite and >= 0, got {accent!r}")
            self._accents.append(accent)
        if self._beat == 0:
            self._at_bar_line()
        position = BarPosition(self._beat, self._bar, self._beats_per_bar)
        self._beat += 1
        if self._beat >= self._beats_per_bar:
            self._beat = 0
            self._bar = (self._bar + 1) % self.config.phrase_bars
        return position

    def _at_bar_line(self):
        """Judge the meter and the one from the accents, at a bar line only (no bar is cut)."""
        cfg = self.config
        a = np.asarray(self._accents, dtype=np.float64)
        if len(a) < cfg.min_beats or not a.mean() > 0:
            return
        if cfg.meter == "auto":
            r3, r4 = _autocorrelation(a, 3), _autocorrelation(a, 4)
            self._beats_per_bar = 3 if r3 > r4 + cfg.margin else 4
        # The accents end with the beat just before this bar line, which is the bar's
        # last position; the mean accent per position, the one at index 0.
        n = self._beats_per_bar
        k = len(a) - (len(a) // n) * n
        per_position = a[k:].reshape(-1, n).mean(axis=0)
        best = int(np.argmax(per_position))
        if best != 0 and per_position[best] - per_position[0] > cfg.margin * a.mean():
            # The strongest position becomes the one: this bar line moves there.
            self._beat = (n - best) % n


def _autocorrelation(a: np.ndarray, lag: int) -> float:
    x = a - a.mean()
    den = float(x @ x)
    if den <= 0 or len(x) <= lag:
        return 0.0
    return float(x[lag:] @ x[:-lag]) / den
