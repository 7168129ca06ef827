"""Polyphonic drums for the next beat from the style of the last three (DrumGenNet, paper 3.3).

DrumGenNet reads a context of ``CONTEXT_BEATS = 3`` beat intervals (12 16th
steps): the drum 'style' of those steps (the strongest onset per 16th, from
MuStyleNet in the live engine or :func:`ibeat_core.drums.drum_style` of real
drums), the hits it generated for them itself, and a genre (a feel from
:data:`ibeat_core.drums.GENRES`). It returns hit logits for the 4 steps x 9
drum classes of the next beat interval.

This module holds everything around the network and no model file:

* :class:`DrumGenNetwork`, the protocol of the network (the shipped
  ``ibeat_models.drumgen.DrumGenRuntime`` runs DrumGenNet on onnxruntime; a test
  can pass any object with a ``logits`` method);
* :func:`sample_hits`, which turns logits into hits with a temperature and a
  density bias, and :class:`HeldDraws`, the random numbers it compares them with when
  a groove should repeat (:attr:`DrumGenConfig.hold_draws`);
* :class:`BodyCalibration`, what the live engine changes when the style comes
  from a body rather than from drums: MuStyleNet's style mapped per 16th
  position onto the feel's drum style, and a density bias (the network's
  ``body_calibration`` table; :attr:`DrumGenConfig.body_calibration`);
* :func:`hit_velocities`, the velocity rule: the paper drops RhythmicNet's
  velocity network and uses "the continuous [style] values as velocity for all
  drum hits at each time step". The style of the beat being generated is not
  known yet, so a hit at 16th position ``p`` (0..3 in the beat) takes the
  *mean style at position p over the three context beats*, raised to
  ``min_velocity`` so a generated hit is never silent;
* :class:`DrumPatternGenerator`, the streaming generator (one call per beat,
  its own generated hits fed back as context), and :func:`generate_pattern`,
  the same over a whole style sequence.

The hits context is binary (1.0 = hit): real drums in training and generated
hits live alike are reduced to 0/1, so their velocities cannot tell them apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from .bar import BarConfig, BarCounter, BarPosition, bar_features
from .batching import NetworkCall, Steps, run_alone
from .drums import N_DRUM_CLASSES, STEPS_PER_BEAT, genre_index, split_beats
from .errors import ParameterError
from .style import StyleCalibration

__all__ = [
    "CONTEXT_BEATS",
    "CONTEXT_STEPS",
    "DrumGenNetwork",
    "DrumGenConfig",
    "BodyCalibration",
    "ACCENT_GAIN",
    "sample_hits",
    "HeldDraws",
    "TIMEKEEPERS",
    "hit_velocities",
    "DrumPatternGenerator",
    "generate_pattern",
]

#: Beat intervals of context (paper 4.2).
CONTEXT_BEATS = 3
#: 16th steps of context.
CONTEXT_STEPS = CONTEXT_BEATS * STEPS_PER_BEAT
#: Largest size of temperature, density and genre strength: far past any useful
#: value (logits live within +-20), and small enough that no logit overflows.
MAX_SETTING = 100.0
#: How much the body's accent at a sixteenth moves a drummer's velocity there
#: (:func:`hit_velocities`): a style 0.2 above the beat's mean adds 10 %.
ACCENT_GAIN = 0.5


def _valid_style(style, *, n_steps: int | None = CONTEXT_STEPS) -> np.ndarray:
    try:
        arr = np.asarray(style, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"style must be numeric, got {type(style).__name__}") from exc
    if arr.ndim != 1 or (n_steps is not None and arr.shape[0] != n_steps):
        want = f"({n_steps},)" if n_steps is not None else "(n_steps,)"
        raise ParameterError(f"style must have shape {want}, got {arr.shape}")
    # min and max carry a NaN through, and an infinity falls outside: one check for all.
    if arr.size and not (arr.min() >= 0 and arr.max() <= 1):
        raise ParameterError(f"style must be finite and in [0, 1], got range "
                             f"[{np.nanmin(arr)}, {np.nanmax(arr)}]")
    return arr


def _valid_logits(logits) -> np.ndarray:
    arr = np.asarray(logits, dtype=np.float32)
    if arr.shape != (STEPS_PER_BEAT, N_DRUM_CLASSES):
        raise ParameterError(
            f"logits must have shape ({STEPS_PER_BEAT}, {N_DRUM_CLASSES}), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ParameterError("logits must be finite")
    return arr


def _valid_temperature(temperature) -> float:
    if not (isinstance(temperature, (int, float, np.integer, np.floating))
            and 0 <= temperature <= MAX_SETTING):
        raise ParameterError(f"temperature must be in [0, {MAX_SETTING:g}], got {temperature!r}")
    return float(temperature)


def _valid_density(density) -> float:
    if not (isinstance(density, (int, float, np.integer, np.floating))
            and abs(density) <= MAX_SETTING):
        raise ParameterError(f"density must be in [-{MAX_SETTING:g}, {MAX_SETTING:g}], "
                             f"got {density!r}")
    return float(density)


class DrumGenNetwork(Protocol):
    """Context in, hit logits of the next beat out.

    A network with a true ``bar_aware`` attribute also takes ``bar``, the next
    beat's :func:`~ibeat_core.bar.bar_features`; the paper's takes none.
    """

    def logits(self, style_ctx: np.ndarray, hits_ctx: np.ndarray, genre: int,
               bar: np.ndarray | None = None) -> np.ndarray:
        """Hit logits of the next beat.

        Parameters
        ----------
        style_ctx : np.ndarray, shape (CONTEXT_STEPS,), float32
            Style of the last 3 beats in [0, 1], oldest step first.
        hits_ctx : np.ndarray, shape (CONTEXT_STEPS, N_DRUM_CLASSES), float32
            Hits of the same steps, 1.0 = hit, 0.0 = none.
        genre : int
            Index into :data:`~ibeat_core.drums.GENRES`.
        bar : np.ndarray, shape (BAR_FEATURES,), float32, optional
            Where the next beat falls in the bar and phrase (bar-aware networks only).

        Returns
        -------
        logits : np.ndarray, shape (STEPS_PER_BEAT, N_DRUM_CLASSES), float32
            Log-odds of a hit per step and class (``sigmoid`` gives the probability).
        """


@dataclass(frozen=True)
class DrumGenConfig:
    """How :class:`DrumPatternGenerator` turns logits into drums.

    Attributes
    ----------
    genre : str
        Feel from :data:`~ibeat_core.drums.GENRES`; ``"any"`` asks for none.
    temperature : float
        >= 0. Logits are divided by it before sampling: < 1 is tighter, > 1
        looser. 0 means deterministic: a hit wherever the biased probability
        exceeds 0.5.
    density : float
        Bias added to every logit: > 0 more hits, < 0 fewer (log-odds units;
        +1 roughly multiplies the odds of each hit by e).
    seed : int
        Seed of the sampling generator; :meth:`DrumPatternGenerator.reset`
        restarts it, so a rerun gives the same drums.
    min_velocity : float
        In (0, 1]: the velocity floor of the velocity rule (see
        :func:`hit_velocities`).
    bar : BarConfig
        How beats are counted in bars for a bar-aware network
        (:class:`~ibeat_core.bar.BarCounter`); a network without bars ignores it.
    genre_strength : float
        >= 0, how strongly the genre is asked for (classifier-free guidance:
        DrumGenNet was trained with the genre replaced by "any" at times, so
        ``any + s * (genre - any)`` of its logits pushes the feel ``s`` times as
        far from the unconditional one). 1, the default, is the plain
        conditional model: stronger guidance pushes each feel's drum classes
        away from its genre's (toms in punk and jazz) and makes it busier
        (docs/results.md, "Drums that sound like their feel"). Ignored for "any".
    body_calibration : bool
        The style comes from body motion (MuStyleNet), not from drums: apply
        the network's :class:`BodyCalibration` (its style map for this feel and
        its density bias, added to ``density``) when it has one. The session
        sets it; off, DrumGenNet reads the style as it comes (drum style, as in
        training).
    hold_draws : bool
        Compare the hit probabilities with random numbers held for a phrase
        (:class:`HeldDraws`) instead of fresh ones every beat, so the drums repeat
        bar by bar wherever the network's probabilities do, as a drummer keeps a
        groove. Each hit keeps its probability; only the draws of different
        beats become alike. The session sets it for the bar-aware DrumGenNet;
        off, every draw is independent (the paper's sampling).

    Examples
    --------
    >>> DrumGenConfig(genre="jazz", density=0.5).genre
    'jazz'
    >>> DrumGenConfig(temperature=-1.0)
    Traceback (most recent call last):
    ...
    ibeat_core.errors.ParameterError: temperature must be in [0, 100], got -1.0
    """

    genre: str = "any"
    temperature: float = 1.0
    density: float = 0.0
    seed: int = 0
    min_velocity: float = 0.3
    genre_strength: float = 1.0
    bar: BarConfig = BarConfig()
    body_calibration: bool = False
    hold_draws: bool = False

    def __post_init__(self):
        genre_index(self.genre)
        _valid_temperature(self.temperature)
        _valid_density(self.density)
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)):
            raise ParameterError(f"seed must be an int, got {self.seed!r}")
        if not (isinstance(self.min_velocity, (int, float, np.floating))
                and 0.0 < self.min_velocity <= 1.0):
            raise ParameterError(f"min_velocity must be in (0, 1], got {self.min_velocity!r}")
        if not (isinstance(self.genre_strength, (int, float, np.integer, np.floating))
                and 0 <= self.genre_strength <= MAX_SETTING):
            raise ParameterError(f"genre_strength must be in [0, {MAX_SETTING:g}], "
                                 f"got {self.genre_strength!r}")
        for name in ("body_calibration", "hold_draws"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise ParameterError(f"{name} must be a bool, got {getattr(self, name)!r}")


class BodyCalibration:
    """The body's style read as a feel's drum style, and the density it lacks.

    MuStyleNet's style is already mapped onto GMD's style levels as a whole
    (:class:`~ibeat_core.style.StyleCalibration`), but not per position in the
    beat: a body accents the "e" more than drummers do and the "and" less
    (mean style per 16th about .53/.39/.36/.38 against GMD's .71/.26/.53/.33),
    so DrumGenNet, which learnt where hits go from the style, drops the kick
    on the "and" and adds snares on the "e". The map is a quantile map per 16th
    position: the value at quantile ``q`` of the body's style at that position
    (on training motion) goes to the value at quantile ``q`` of the feel's GMD
    drum style there. The body keeps its ranking (its accents still lead);
    the levels become the feel's. ``density`` is one logit bias for every feel:
    on body style DrumGenNet plays fewer hits per beat than GMD.

    Parameters
    ----------
    source : array_like, shape (4, Q)
        Quantiles of the body's style per 16th position, non-decreasing.
    target : dict
        Feel -> array (4, Q): the same quantiles of the feel's drum style; a
        feel without one uses ``"any"``'s.
    density : float
        Logit bias added to ``DrumGenConfig.density``.

    Examples
    --------
    >>> q = np.linspace(0, 1, 3)
    >>> cal = BodyCalibration([q] * 4, {"any": [q, q * 0.5, q, q]}, density=0.2)
    >>> cal.style_map("rock")(np.full(12, 0.5)).tolist()[:4]
    [0.5, 0.25, 0.5, 0.5]
    >>> cal.density
    0.2
    """

    def __init__(self, source, target: dict, density: float = 0.0):
        self.source = np.asarray(source, dtype=np.float64)
        if self.source.ndim != 2 or self.source.shape[0] != STEPS_PER_BEAT:
            raise ParameterError(f"source must have shape ({STEPS_PER_BEAT}, Q), "
                                 f"got {self.source.shape}")
        if "any" not in target:
            raise ParameterError("target needs the 'any' feel")
        self.target = {g: np.asarray(t, dtype=np.float64) for g, t in target.items()}
        for g, t in self.target.items():
            genre_index(g)
            if t.shape != self.source.shape:
                raise ParameterError(f"target {g!r} must have shape {self.source.shape}, "
                                     f"got {t.shape}")
        self.density = _valid_density(density)
        # Validates each pair of quantile tables.
        for t in self.target.values():
            for p in range(STEPS_PER_BEAT):
                StyleCalibration(self.source[p], t[p])

    @classmethod
    def of(cls, network) -> "BodyCalibration | None":
        """The calibration a network carries: its ``body_calibration`` attribute or the
        ``body_calibration`` entry of its model's meta (``ibeat_models/drumgen/meta.json``);
        None without one (the paper's DrumGenNet)."""
        table = getattr(network, "body_calibration", None)
        if table is None:
            meta = getattr(getattr(network, "model", None), "meta", None)
            table = meta.get("body_calibration") if isinstance(meta, dict) else None
        if table is None or isinstance(table, cls):
            return table
        return cls(table["source"], table["target"], table.get("density", 0.0))

    def style_map(self, genre: str):
        """A function: style (n * 4,) of whole beats -> the same read as ``genre``'s drum style."""
        target = self.target.get(genre, self.target["any"])
        maps = [StyleCalibration(self.source[p], target[p]) for p in range(STEPS_PER_BEAT)]

        def apply(style):
            out = np.array(style, dtype=np.float32)
            for p, m in enumerate(maps):
                out[p::STEPS_PER_BEAT] = m(out[p::STEPS_PER_BEAT])
            return out

        return apply


def sample_hits(logits, *, temperature: float = 1.0, density: float = 0.0,
                rng: np.random.Generator | None = None, draws=None) -> np.ndarray:
    """Hits drawn from hit logits.

    Each step and class is a Bernoulli draw with probability
    ``sigmoid((logits + density) / temperature)``: a hit where a uniform random
    number falls below it.

    Parameters
    ----------
    logits : array_like, shape (STEPS_PER_BEAT, N_DRUM_CLASSES)
        Log-odds of a hit (a :class:`DrumGenNetwork`'s output).
    temperature : float
        >= 0; 0 thresholds ``logits + density > 0`` (probability 0.5) and
        draws nothing.
    density : float
        Logit bias: > 0 more hits, < 0 fewer.
    rng : numpy.random.Generator or None
        Source of the draws; needed when ``temperature > 0`` and ``draws`` is None.
    draws : array_like, shape (STEPS_PER_BEAT, N_DRUM_CLASSES), optional
        The uniform random numbers in [0, 1) to compare with (:class:`HeldDraws`);
        default: fresh ones from ``rng``.

    Returns
    -------
    hits : np.ndarray, shape (STEPS_PER_BEAT, N_DRUM_CLASSES), bool

    Examples
    --------
    >>> logits = np.full((4, 9), -2.0, dtype=np.float32)
    >>> logits[0, 0] = 3.0
    >>> int(sample_hits(logits, temperature=0).sum())
    1
    >>> int(sample_hits(logits, temperature=0, density=2.5).sum())
    36
    >>> rng = np.random.default_rng(0)
    >>> sample_hits(logits, rng=rng).shape
    (4, 9)
    """
    z = _valid_logits(logits)
    temperature = _valid_temperature(temperature)
    z = z + _valid_density(density)
    if temperature == 0:
        return z > 0
    if draws is None:
        if rng is None:
            raise ParameterError("rng or draws is needed when temperature > 0")
        draws = rng.random(z.shape)
    elif np.shape(draws) != z.shape:
        raise ParameterError(f"draws must have shape {z.shape}, got {np.shape(draws)}")
    p = 1.0 / (1.0 + np.exp(-z / temperature))
    return np.asarray(draws) < p


#: Classes that keep time on every beat (closed and open hi-hat): :class:`HeldDraws` gives
#: them one draw per step of the beat, the same on every beat. Not the ride: held per beat,
#: its hits fed back into the context and crowded out the snare (latin came out nearest
#: afro-cuban; docs/results.md).
TIMEKEEPERS: tuple[int, ...] = (2, 3)


class HeldDraws:
    """Uniform random numbers for :func:`sample_hits` that repeat within a phrase.

    With fresh draws every beat, a step the network gives a 60% hi-hat is
    played on a random 60% of the beats: every bar comes out different, which
    no drummer does (on the motion the networks never saw, 21% of generated
    two-bar windows fell into one k-means cell of loose patterns that holds 5%
    of Groove MIDI's; 15% with held draws; docs/results.md). Here the draws are
    made at the first beat of each phrase, one per beat of the bar, step and
    class, and reused in every bar of the phrase; the :data:`TIMEKEEPERS` reuse
    the first beat's on every beat. A pattern then repeats wherever the probabilities repeat and
    changes where the body changes them (a fill, an accent, a new tempo).

    Every draw is still uniform, so each hit keeps exactly the probability the
    network gave it.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of the draws.

    Examples
    --------
    >>> held = HeldDraws(np.random.default_rng(0))
    >>> one = held.at(BarPosition(beat=1, bar=0, beats_per_bar=4))
    >>> bool((held.at(BarPosition(beat=1, bar=2, beats_per_bar=4)) == one).all())  # same phrase
    True
    >>> _ = held.at(BarPosition(beat=0, bar=0, beats_per_bar=4))  # the next phrase's one
    >>> bool((held.at(BarPosition(beat=1, bar=0, beats_per_bar=4)) == one).all())
    False
    """

    def __init__(self, rng: np.random.Generator):
        self._rng = rng
        self._bar = None  # (beats_per_bar, STEPS_PER_BEAT, N_DRUM_CLASSES)

    def at(self, position: BarPosition) -> np.ndarray:
        """Draws ``(STEPS_PER_BEAT, N_DRUM_CLASSES)`` in [0, 1) for the beat at ``position``."""
        if (self._bar is None or len(self._bar) != position.beats_per_bar
                or (position.beat == 0 and position.bar == 0)):
            self._bar = self._rng.random((position.beats_per_bar, STEPS_PER_BEAT,
                                          N_DRUM_CLASSES))
        draws = self._bar[position.beat].copy()
        draws[:, TIMEKEEPERS] = self._bar[0][:, TIMEKEEPERS]
        return draws


def hit_velocities(hits, style_ctx, *, min_velocity: float = 0.3, levels=None) -> np.ndarray:
    """Velocities of generated hits from the body's accents, and the drummer's level per class.

    Without ``levels`` (the paper's rule): a hit at step ``p`` of the new beat
    gets the mean of the style at step ``p`` of the three context beats.

    With ``levels`` (a drummer's mean velocity per 16th position and drum class,
    from Groove MIDI): the level, raised or lowered by the body's accent at
    that position against its mean over the beat (``1 + ACCENT_GAIN * (style_p
    - mean style)``): hi-hats softer than snares, the one louder than the "e",
    and a body that stresses a sixteenth makes it louder still.

    Either way at least ``min_velocity``, so a generated hit is never silent.

    Parameters
    ----------
    hits : array_like of bool, shape (STEPS_PER_BEAT, N_DRUM_CLASSES)
    style_ctx : array_like, shape (CONTEXT_STEPS,)
        Style of the context beats in [0, 1], oldest first.
    min_velocity : float
        Floor in (0, 1].
    levels : array_like, shape (STEPS_PER_BEAT, N_DRUM_CLASSES), optional
        Velocity per position and class in (0, 1].

    Returns
    -------
    velocities : np.ndarray, shape (STEPS_PER_BEAT, N_DRUM_CLASSES), float32
        In [min_velocity, 1] where ``hits``, 0 elsewhere.

    Examples
    --------
    >>> style = np.tile([1.0, 0.0, 0.5, 0.0], 3)
    >>> hits = np.zeros((4, 9), dtype=bool)
    >>> hits[:, 0] = True
    >>> hit_velocities(hits, style)[:, 0].tolist()
    [1.0, 0.30000001192092896, 0.5, 0.30000001192092896]
    >>> levels = np.full((4, 9), 0.6)
    >>> [round(float(v), 3) for v in hit_velocities(hits, style, levels=levels)[:, 0]]
    [0.788, 0.488, 0.638, 0.488]
    """
    hits = np.asarray(hits, dtype=bool)
    if hits.shape != (STEPS_PER_BEAT, N_DRUM_CLASSES):
        raise ParameterError(
            f"hits must have shape ({STEPS_PER_BEAT}, {N_DRUM_CLASSES}), got {hits.shape}")
    per_step = split_beats(_valid_style(style_ctx)).mean(axis=0)     # (4,)
    if levels is None:
        level = np.broadcast_to(per_step[:, None], hits.shape)
    else:
        accent = 1.0 + ACCENT_GAIN * (per_step - per_step.mean())
        level = np.asarray(levels, dtype=np.float32) * accent[:, None]
    level = np.minimum(np.maximum(level, np.float32(min_velocity)), np.float32(1.0))
    return np.where(hits, level.astype(np.float32), np.float32(0.0))


class DrumPatternGenerator:
    """Streaming drum generation: the style of the last 3 beats in, the next beat's drums out.

    The generator keeps the hits it generated for the last three beats and
    feeds them back as the network's hits context (zeros at the start), so it
    continues its own groove. One generator per stream.

    Parameters
    ----------
    network : DrumGenNetwork
    config : DrumGenConfig

    Examples
    --------
    >>> class Backbeat:  # kick on the beat, nothing else
    ...     def logits(self, style_ctx, hits_ctx, genre):
    ...         z = np.full((4, 9), -9.0, dtype=np.float32)
    ...         z[0, 0] = 9.0
    ...         return z
    >>> gen = DrumPatternGenerator(Backbeat(), DrumGenConfig(temperature=0))
    >>> drums = gen.next_beat(np.tile([0.8, 0.0, 0.4, 0.0], 3))
    >>> drums.shape, float(drums[0, 0]), int((drums > 0).sum())
    ((4, 9), 0.800000011920929, 1)
    """

    def __init__(self, network: DrumGenNetwork, config: DrumGenConfig = DrumGenConfig()):
        if not isinstance(config, DrumGenConfig):
            raise ParameterError(f"config must be a DrumGenConfig, got {type(config).__name__}")
        self.network = network
        self.config = config
        self._genre = genre_index(config.genre)
        # A drummer's velocity per position and class for this feel, when the network has them.
        table = getattr(network, "velocity_levels", None)
        self._levels = None if table is None else np.asarray(table[config.genre], np.float32)
        # Body style read as the feel's drum style, and a density bias (BodyCalibration).
        body = BodyCalibration.of(network) if config.body_calibration else None
        self._style_map = None if body is None else body.style_map(config.genre)
        self._density = config.density + (0.0 if body is None else body.density)
        self.reset()

    def reset(self):
        """Forget the generated context, restart the random draws from the seed and the bar
        count from the one."""
        self._rng = np.random.default_rng(self.config.seed)
        self._held = HeldDraws(self._rng) if self.config.hold_draws else None
        self._hits_ctx = np.zeros((CONTEXT_STEPS, N_DRUM_CLASSES), dtype=np.float32)
        self._bars = BarCounter(self.config.bar)
        #: Where the last beat generated fell in its bar (None before the first).
        self.position: BarPosition | None = None

    @property
    def hits_ctx(self) -> np.ndarray:
        """The hits context the next call will see, shape (CONTEXT_STEPS, N_DRUM_CLASSES), 0/1."""
        return self._hits_ctx.copy()

    def next_beat(self, style_ctx) -> np.ndarray:
        """Drums of the next beat interval (:meth:`next_beat_steps`, its network calls one by one).

        Parameters
        ----------
        style_ctx : array_like, shape (CONTEXT_STEPS,)
            Style of the last 3 beat intervals in [0, 1], oldest step first.

        Returns
        -------
        velocities : np.ndarray, shape (STEPS_PER_BEAT, N_DRUM_CLASSES), float32
            Hit velocity per 16th step and drum class in [0, 1], 0 = no hit
            (``DrumGrid.from_hits`` takes it as is).
        """
        return run_alone(self.next_beat_steps(style_ctx))

    def next_beat_steps(self, style_ctx) -> Steps[np.ndarray]:
        """:meth:`next_beat` as a generator of network steps (:mod:`~ibeat_core.batching`): the
        network's ``logits`` calls, which a server runs for many streams' beats at once."""
        style = _valid_style(style_ctx)
        # The accent of the last context beat: the style of its first sixteenth.
        self.position = self._bars.next_beat(float(style[-STEPS_PER_BEAT]))
        bar = ()
        if getattr(self.network, "bar_aware", False):
            bar = (bar_features(self.position, self.config.bar.phrase_bars),)
        # The network reads the body's style as the feel's drum style; the bar count and the
        # velocities keep the body's own.
        net_style = style if self._style_map is None else self._style_map(style)
        logits = yield NetworkCall(
            self.network, (net_style, self._hits_ctx.copy(), self._genre) + bar, "logits")
        strength = self.config.genre_strength
        if self._genre != 0 and strength != 1.0:
            free = yield NetworkCall(self.network, (net_style, self._hits_ctx.copy(), 0) + bar,
                                     "logits")
            logits = free + strength * (np.asarray(logits) - free)
        cfg = self.config
        hits = sample_hits(logits, temperature=cfg.temperature,
                           density=float(np.clip(self._density, -MAX_SETTING, MAX_SETTING)),
                           rng=self._rng,
                           draws=None if self._held is None else self._held.at(self.position))
        self._hits_ctx = np.concatenate(
            [self._hits_ctx[STEPS_PER_BEAT:], hits.astype(np.float32)])
        return hit_velocities(hits, style, min_velocity=cfg.min_velocity, levels=self._levels)


def generate_pattern(network: DrumGenNetwork, style, *,
                     config: DrumGenConfig = DrumGenConfig()) -> np.ndarray:
    """Drums for a whole style sequence, beat by beat as the live engine makes them.

    Beat ``b`` is generated from the style of beats ``b-3 .. b-1`` (zeros
    before the start) and the drums generated for them, with a fresh
    :class:`DrumPatternGenerator`.

    Parameters
    ----------
    network : DrumGenNetwork
    style : array_like, shape (n_steps,)
        Style per 16th step in [0, 1]; ``n_steps`` a multiple of 4.
    config : DrumGenConfig

    Returns
    -------
    velocities : np.ndarray, shape (n_steps, N_DRUM_CLASSES), float32
        The generated drums on the same steps; the first beat follows silence.

    Examples
    --------
    >>> class Always:
    ...     def logits(self, style_ctx, hits_ctx, genre):
    ...         return np.full((4, 9), 9.0, dtype=np.float32)
    >>> generate_pattern(Always(), np.ones(8), config=DrumGenConfig(temperature=0)).shape
    (8, 9)
    """
    steps = _valid_style(style, n_steps=None)
    split_beats(steps)   # n_steps must be whole beats
    padded = np.concatenate([np.zeros(CONTEXT_STEPS, np.float32), steps])
    gen = DrumPatternGenerator(network, config)
    beats = [gen.next_beat(padded[s:s + CONTEXT_STEPS])
             for s in range(0, len(steps), STEPS_PER_BEAT)]
    if not beats:
        return np.zeros((0, N_DRUM_CLASSES), dtype=np.float32)
    return np.concatenate(beats)
