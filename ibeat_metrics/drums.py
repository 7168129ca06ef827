"""Distribution metrics for generated drums (paper 4.5): FID and NDB.

Both compare a *set* of generated drum patterns with a set of real ones, not
one pattern with its reference:

* :func:`frechet_distance` (FID) fits a Gaussian to each set of feature
  vectors and returns the Fréchet distance between the two Gaussians
  (Heusel et al., 2017). Lower is closer to real.
* :func:`number_of_different_bins` (NDB, Richardson and Weiss, 2018) clusters
  the real training patterns into ``k`` Voronoi cells with k-means, then counts
  the cells whose share of generated patterns differs significantly (two-sided
  two-proportion z-test) from their share of real ones. Lower means the
  generated set covers the real modes in the right proportions; a generator that
  always plays the same thing fills one or two cells and scores near ``k``.

Patterns are compared as fixed-length windows of hit matrices on the beat grid
(:func:`pattern_windows`): ``n_beats`` consecutive beats of 4 sixteenths by the 9
drum classes, velocities in [0, 1]. Working on the beat grid rather than on
audio makes the metrics independent of tempo and of the drum kit's sound.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg
from scipy.cluster.vq import kmeans2
from scipy.stats import norm

from ibeat_core.drums import N_DRUM_CLASSES, STEPS_PER_BEAT
from ibeat_core.errors import ParameterError

__all__ = ["WINDOW_BEATS", "pattern_windows", "frechet_distance", "NDBResult", "VoronoiBins",
           "number_of_different_bins", "hit_f1", "hit_statistics", "class_shares", "class_share_l1",
           "backbeat_share", "backbeat_interval"]

#: Length of a compared pattern [beats]: two bars of 4/4.
WINDOW_BEATS = 8


def pattern_windows(hits, *, n_beats: int = WINDOW_BEATS, hop_beats: int | None = None) -> np.ndarray:
    """Cut a hit matrix on the beat grid into pattern windows.

    Parameters
    ----------
    hits : array_like, shape (n_steps, 9)
        Velocities in [0, 1], 4 steps per beat; ``n_steps`` need not be a
        multiple of the window.
    n_beats : int
        Window length [beats].
    hop_beats : int, optional
        Hop between windows [beats]; defaults to ``n_beats`` (no overlap).

    Returns
    -------
    np.ndarray, shape (n_windows, n_beats * 4, 9), float32
        Empty (0 windows) when the track is shorter than one window.

    Examples
    --------
    >>> pattern_windows(np.zeros((70, 9))).shape
    (2, 32, 9)
    """
    h = np.asarray(hits, dtype=np.float32)
    if h.ndim != 2 or h.shape[1] != N_DRUM_CLASSES:
        raise ParameterError(f"hits must have shape (n_steps, {N_DRUM_CLASSES}), got {h.shape}")
    if not (isinstance(n_beats, (int, np.integer)) and n_beats >= 1):
        raise ParameterError(f"n_beats must be an integer >= 1, got {n_beats!r}")
    hop = n_beats if hop_beats is None else hop_beats
    if not (isinstance(hop, (int, np.integer)) and hop >= 1):
        raise ParameterError(f"hop_beats must be an integer >= 1, got {hop_beats!r}")
    length, step = n_beats * STEPS_PER_BEAT, hop * STEPS_PER_BEAT
    starts = range(0, h.shape[0] - length + 1, step)
    out = np.zeros((len(starts), length, N_DRUM_CLASSES), dtype=np.float32)
    for i, s in enumerate(starts):
        out[i] = h[s:s + length]
    return out


def _features(x, name):
    f = np.asarray(x, dtype=np.float64)
    if f.ndim != 2:
        raise ParameterError(f"{name} must have shape (n_samples, n_features), got {f.shape}")
    if f.shape[0] < 2:
        raise ParameterError(f"{name} needs at least 2 samples, got {f.shape[0]}")
    if not np.all(np.isfinite(f)):
        raise ParameterError(f"{name} contains NaN or Inf")
    return f


def frechet_distance(real, generated) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (FID).

    Parameters
    ----------
    real, generated : array_like, shape (n, d) and (m, d)
        Feature vectors (e.g. a drum classifier's penultimate layer), n, m >= 2.

    Returns
    -------
    float
        ``|mu_r - mu_g|^2 + tr(S_r + S_g - 2 (S_r S_g)^(1/2))``, >= 0.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> a = rng.normal(size=(2000, 3))
    >>> round(frechet_distance(a, a), 6)
    0.0
    >>> round(frechet_distance(a, a + 2.0), 1)   # a shift of 2 in 3 dimensions
    12.0
    """
    a, b = _features(real, "real"), _features(generated, "generated")
    if a.shape[1] != b.shape[1]:
        raise ParameterError(f"feature sizes differ: {a.shape[1]} and {b.shape[1]}")
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    cov_a = np.atleast_2d(np.cov(a, rowvar=False))
    cov_b = np.atleast_2d(np.cov(b, rowvar=False))
    covmean = linalg.sqrtm(cov_a @ cov_b)
    if not np.all(np.isfinite(covmean)):
        # Near-singular covariances (few samples): regularise, as the FID reference code does.
        eps = 1e-6 * np.eye(a.shape[1])
        covmean = linalg.sqrtm((cov_a + eps) @ (cov_b + eps))
    covmean = np.real(covmean)
    value = float(np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a + cov_b - 2.0 * covmean))
    return max(value, 0.0)


@dataclass(frozen=True)
class NDBResult:
    """:func:`number_of_different_bins`'s result.

    Attributes
    ----------
    ndb : int
        Number of statistically different bins, 0..k.
    k : int
    real_share, generated_share : np.ndarray, shape (k,)
        Share of each set's samples in each bin (each sums to 1).
    different : np.ndarray, shape (k,), bool
    """

    ndb: int
    k: int
    real_share: np.ndarray
    generated_share: np.ndarray
    different: np.ndarray


class VoronoiBins:
    """The k-means cells of NDB, fitted once on real training samples.

    Parameters
    ----------
    train : array_like, shape (n, d)
        Real training samples (flattened pattern windows), n >= k.
    k : int
        Number of k-means bins (the paper uses 50).
    seed : int
        Seeds the k-means initialisation (k-means++).
    """

    def __init__(self, train, *, k: int = 50, seed: int = 0):
        a = _features(train, "train")
        if not (isinstance(k, (int, np.integer)) and 2 <= k <= a.shape[0]):
            raise ParameterError(f"k must be an integer in [2, n_train = {a.shape[0]}], got {k!r}")
        self.k = int(k)
        self.centroids, labels = kmeans2(a, k, minit="++", seed=np.random.default_rng(seed))
        self.train_share = np.bincount(labels, minlength=k) / len(a)
        self.n_train = len(a)

    def assign(self, samples) -> np.ndarray:
        """Bin index ``(m,)`` of each sample ``(m, d)``."""
        b = _features(samples, "generated")
        if b.shape[1] != self.centroids.shape[1]:
            raise ParameterError(f"sample sizes differ: {self.centroids.shape[1]} and {b.shape[1]}")
        return np.argmin(((b[:, None, :] - self.centroids[None]) ** 2).sum(axis=2), axis=1)

    def score(self, generated, *, alpha: float = 0.05) -> NDBResult:
        """NDB of a generated set (see :func:`number_of_different_bins`)."""
        if not 0 < alpha < 1:
            raise ParameterError(f"alpha must be in (0, 1), got {alpha!r}")
        labels = self.assign(generated)
        n_a, n_b = self.n_train, len(labels)
        p_a = self.train_share
        p_b = np.bincount(labels, minlength=self.k) / n_b
        pooled = (p_a * n_a + p_b * n_b) / (n_a + n_b)
        se = np.sqrt(pooled * (1.0 - pooled) * (1.0 / n_a + 1.0 / n_b))
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(se > 0, (p_a - p_b) / se, 0.0)
        different = 2.0 * norm.sf(np.abs(z)) < alpha
        return NDBResult(int(different.sum()), self.k, p_a, p_b, different)


def number_of_different_bins(train, generated, *, k: int = 50, alpha: float = 0.05,
                             seed: int = 0) -> NDBResult:
    """NDB: bins of k-means on real training samples whose generated share differs.

    Fits :class:`VoronoiBins` and scores one set; fit the bins once yourself to
    score several sets against the same cells.

    Parameters
    ----------
    train : array_like, shape (n, d)
        Real training samples (flattened pattern windows), n >= k.
    generated : array_like, shape (m, d)
        Samples to judge, in the same space.
    k : int
        Number of k-means bins (the paper uses 50).
    alpha : float
        Significance level of the two-sided two-proportion z-test per bin.
    seed : int
        Seeds the k-means initialisation (k-means++).

    Returns
    -------
    NDBResult

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> real = rng.normal(size=(3000, 2))
    >>> number_of_different_bins(real, rng.normal(size=(1000, 2)), k=10).ndb <= 2
    True
    >>> number_of_different_bins(real, np.zeros((1000, 2)), k=10).ndb >= 8
    True
    """
    return VoronoiBins(train, k=k, seed=seed).score(generated, alpha=alpha)


def hit_f1(predicted, truth) -> float:
    """F1 of predicted hits against the true ones (any matching boolean arrays).

    Returns 0.0 when neither has a hit.

    Examples
    --------
    >>> hit_f1(np.array([1, 1, 0, 0], bool), np.array([1, 0, 1, 0], bool))
    0.5
    """
    p, t = np.asarray(predicted, dtype=bool), np.asarray(truth, dtype=bool)
    if p.shape != t.shape:
        raise ParameterError(f"predicted and truth shapes differ: {p.shape} and {t.shape}")
    denom = p.sum() + t.sum()
    return float(2 * np.sum(p & t) / denom) if denom else 0.0


def hit_statistics(hits) -> np.ndarray:
    """Hit rate per 16th position in the beat and drum class: shape (36,), in [0, 1].

    Position-major: entry ``9 * p + c`` is the share of beats with class ``c``
    at 16th ``p``.

    Parameters
    ----------
    hits : array_like, shape (n_steps, 9)
        Hits (velocities or 0/1) on the beat grid, ``n_steps`` a multiple of 4.

    Examples
    --------
    >>> h = np.zeros((8, 9)); h[0, 0] = h[4, 0] = 1.0   # kick on every beat
    >>> hit_statistics(h).reshape(4, 9)[:, 0].tolist()
    [1.0, 0.0, 0.0, 0.0]
    """
    h = np.asarray(hits)
    if h.ndim != 2 or h.shape[1] != N_DRUM_CLASSES or h.shape[0] % STEPS_PER_BEAT:
        raise ParameterError(f"hits must have shape (4 * n_beats, {N_DRUM_CLASSES}), got {h.shape}")
    return (h > 0).reshape(-1, STEPS_PER_BEAT, N_DRUM_CLASSES).mean(axis=0).ravel()


def class_shares(hits) -> np.ndarray:
    """Share of the hits per drum class: shape (9,), summing to 1 (zeros without hits).

    Examples
    --------
    >>> h = np.zeros((4, 9)); h[0, 0] = h[2, 1] = h[3, 1] = 1.0
    >>> class_shares(h)[:2].round(3).tolist()
    [0.333, 0.667]
    """
    counts = (np.asarray(hits) > 0).sum(axis=0).astype(np.float64)
    total = counts.sum()
    return counts / total if total else counts


def class_share_l1(hits, reference_hits) -> float:
    """L1 distance of two sets' :func:`class_shares`: 0 = the same kit mix, 2 = disjoint."""
    return float(np.abs(class_shares(hits) - class_shares(reference_hits)).sum())


def backbeat_share(hits, bar_beats, *, snare: int = 1) -> float:
    """Share of on-beat snares (16th 0 of a beat) that fall on beats 2 and 4 of a 4/4 bar.

    Parameters
    ----------
    hits : array_like, shape (4 * n_beats, 9)
        Hits on the beat grid.
    bar_beats : array_like, shape (n_beats,)
        Each beat's place in its 4/4 bar (0 = the one); beats of other meters
        as -1 are left out.
    snare : int
        The snare's drum class.

    Returns
    -------
    float
        NaN without an on-beat snare.

    Examples
    --------
    >>> h = np.zeros((16, 9)); h[4, 1] = h[12, 1] = h[0, 1] = 1.0
    >>> round(backbeat_share(h, [0, 1, 2, 3]), 3)
    0.667
    """
    backbeat, counted = _backbeat_counts(hits, bar_beats, snare)
    return float(backbeat / counted) if counted else float("nan")


def _backbeat_counts(hits, bar_beats, snare: int) -> tuple[int, int]:
    """(on-beat snares on beats 2 and 4, on-beat snares in 4/4 bars) of one hit matrix."""
    on_beat = np.asarray(hits)[::STEPS_PER_BEAT, snare] > 0
    position = np.asarray(bar_beats)
    if len(position) != len(on_beat):
        raise ParameterError(f"{len(position)} bar positions for {len(on_beat)} beats")
    counted = on_beat & (position >= 0)
    return int(np.isin(position[counted], (1, 3)).sum()), int(counted.sum())


def backbeat_interval(performances, *, level: float = 0.95, n_boot: int = 2000,
                      seed: int = 0, snare: int = 1) -> tuple[float, float]:
    """Bootstrap interval of :func:`backbeat_share` over whole performances.

    The on-beat snares of one performance are not independent draws (a drummer repeats a
    groove), so performances are resampled, not snares: a genre whose snares come mostly
    from a few performances gets the wide interval it deserves.

    Parameters
    ----------
    performances : sequence of (hits, bar_beats)
        Each performance's hits on the beat grid ``(4 * n_beats, 9)`` and its beats' places
        in a 4/4 bar ``(n_beats,)`` (as for :func:`backbeat_share`).
    level : float
        Coverage in (0, 1).
    n_boot : int
        Bootstrap resamples, >= 1.
    seed : int
        Seeds the resampling.

    Returns
    -------
    (low, high) : tuple of float
        NaN, NaN without an on-beat snare.

    Examples
    --------
    >>> h = np.zeros((16, 9)); h[4, 1] = h[12, 1] = 1.0      # a backbeat
    >>> g = np.zeros((16, 9)); g[0, 1] = g[8, 1] = 1.0       # snares on 1 and 3
    >>> backbeat_interval([(h, [0, 1, 2, 3]), (g, [0, 1, 2, 3])])
    (0.0, 1.0)
    >>> backbeat_interval([(h, [0, 1, 2, 3])] * 5)
    (1.0, 1.0)
    """
    if not 0 < level < 1:
        raise ParameterError(f"level must be in (0, 1), got {level!r}")
    if not (isinstance(n_boot, (int, np.integer)) and n_boot >= 1):
        raise ParameterError(f"n_boot must be an integer >= 1, got {n_boot!r}")
    counts = np.asarray([_backbeat_counts(h, b, snare) for h, b in performances],
                        dtype=np.float64).reshape(-1, 2)
    if counts[:, 1].sum() == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(counts), size=(n_boot, len(counts)))
    backbeat, total = counts[pick, 0].sum(axis=1), counts[pick, 1].sum(axis=1)
    shares = backbeat[total > 0] / total[total > 0]
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(shares, [tail, 100 - tail])
    return float(low), float(high)
