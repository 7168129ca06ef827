"""Beat accuracy metrics: plain functions of (reference, estimated) beat times.

Conventions (as in :mod:`mir_eval.beat`): beat times are 1-D, increasing, in
seconds. Every metric validates its input first: it warns and returns 0.0 on an
empty list, and raises :class:`~ibeat_core.errors.ParameterError` on times that
are not 1-D, not increasing, not finite or implausibly large. Unlike
``mir_eval.beat.evaluate`` nothing is trimmed: visual beats have no musical
intro to skip.

* F-measure, precision, recall (window +-70 ms) and Cemgil accuracy
  (sigma 40 ms) come from ``mir_eval``;
* :func:`beat_alignment_score` is the Beat Alignment Score of AIST++/FACT
  (Li et al., ICCV 2021): the mean over *reference* beats of
  ``exp(-d^2 / (2 sigma^2))``, d the distance to the nearest estimated beat,
  sigma = 3 frames at 60 fps = 0.05 s. (Bailando averages over the estimated
  beats instead; that is not what is computed here.)
"""

from __future__ import annotations

import warnings

import mir_eval
import numpy as np

from ibeat_core.errors import ParameterError

__all__ = ["F_MEASURE_WINDOW_S", "CEMGIL_SIGMA_S", "BAS_SIGMA_S", "validate", "validate_beats",
           "precision_recall_f", "cemgil", "beat_alignment_score", "evaluate", "tempo_agrees"]

F_MEASURE_WINDOW_S = 0.07
CEMGIL_SIGMA_S = 0.04
BAS_SIGMA_S = 0.05
_MAX_TIME_S = 30000.0


def validate_beats(beats, name: str) -> np.ndarray:
    """One beat list as float64 seconds; ParameterError naming ``name`` if it is not
    1-D, finite, strictly increasing and plausibly in seconds."""
    b = np.asarray(beats, dtype=np.float64)
    if b.ndim != 1:
        raise ParameterError(f"{name} beats must be 1-D seconds, got shape {b.shape}")
    if not np.all(np.isfinite(b)):
        raise ParameterError(f"{name} beats contain NaN or Inf")
    if np.any(b > _MAX_TIME_S):
        raise ParameterError(f"{name} beat at {b.max()} s exceeds {_MAX_TIME_S} s: are they seconds?")
    if np.any(np.diff(b) <= 0):
        raise ParameterError(f"{name} beats must strictly increase")
    return b


def validate(reference_beats, estimated_beats):
    """Check both beat lists; warn when either is empty. Returns them as float arrays."""
    ref = validate_beats(reference_beats, "reference")
    est = validate_beats(estimated_beats, "estimated")
    if len(ref) == 0:
        warnings.warn("reference beats are empty", stacklevel=3)
    if len(est) == 0:
        warnings.warn("estimated beats are empty", stacklevel=3)
    return ref, est


def precision_recall_f(reference_beats, estimated_beats, *,
                       window_s: float = F_MEASURE_WINDOW_S) -> tuple[float, float, float]:
    """Precision, recall and F-measure with a +-``window_s`` tolerance (default 70 ms).

    Examples
    --------
    >>> precision_recall_f([1.0, 2.0, 3.0], [1.02, 2.5, 3.0])
    (0.6666666666666666, 0.6666666666666666, 0.6666666666666666)
    """
    ref, est = validate(reference_beats, estimated_beats)
    if len(ref) == 0 or len(est) == 0:
        return 0.0, 0.0, 0.0
    matching = mir_eval.util.match_events(ref, est, window_s)
    precision = len(matching) / len(est)
    recall = len(matching) / len(ref)
    f = 0.0 if not matching else 2 * precision * recall / (precision + recall)
    return float(precision), float(recall), float(f)


def cemgil(reference_beats, estimated_beats, *, sigma_s: float = CEMGIL_SIGMA_S) -> float:
    """Cemgil accuracy (Gaussian error window, sigma default 40 ms), via mir_eval."""
    ref, est = validate(reference_beats, estimated_beats)
    if len(ref) == 0 or len(est) == 0:
        return 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(mir_eval.beat.cemgil(ref, est, cemgil_sigma=sigma_s)[0])


def beat_alignment_score(reference_beats, estimated_beats, *, sigma_s: float = BAS_SIGMA_S) -> float:
    """Beat Alignment Score (AIST++/FACT definition, averaged over reference beats).

    Examples
    --------
    >>> round(beat_alignment_score([1.0, 2.0], [1.0, 2.05]), 3)
    0.803
    """
    ref, est = validate(reference_beats, estimated_beats)
    if len(ref) == 0 or len(est) == 0:
        return 0.0
    d = np.min(np.abs(ref[:, None] - est[None, :]), axis=1)
    return float(np.mean(np.exp(-d ** 2 / (2 * sigma_s ** 2))))


def evaluate(reference_beats, estimated_beats) -> dict[str, float]:
    """All beat metrics as an ordered ``name -> score`` dict."""
    p, r, f = precision_recall_f(reference_beats, estimated_beats)
    return {"precision": p, "recall": r, "f_measure": f,
            "cemgil": cemgil(reference_beats, estimated_beats),
            "beat_alignment": beat_alignment_score(reference_beats, estimated_beats)}


def tempo_agrees(estimated_bpm: float, reference_bpm: float, *, tolerance: float = 0.04,
                 factors=(0.5, 1.0, 2.0)) -> bool:
    """True when ``estimated_bpm`` is within ``tolerance`` (relative) of the
    reference tempo times one of ``factors`` (by default the metrical x1/2, x1, x2).

    Examples
    --------
    >>> tempo_agrees(158.0, 80.0), tempo_agrees(120.0, 80.0)
    (True, False)
    """
    if not (np.isfinite(reference_bpm) and reference_bpm > 0):
        raise ParameterError(f"reference tempo must be > 0 BPM, got {reference_bpm!r}")
    return any(abs(estimated_bpm / (reference_bpm * f) - 1.0) <= tolerance for f in factors)
