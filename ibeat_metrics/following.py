"""Does the beat follow the body: metrics of scheduled beats against ground truth.

These are the metrics of issue 12 ("what 'on the beat' means, and how it is
measured"), as plain functions in the style of :mod:`mir_eval.beat`.

Conventions
-----------
* Times are in seconds on the clip's clock. Beat lists (reference and
  scheduled) are 1-D, strictly increasing and finite; drum-hit times are 1-D
  and finite in any order (several instruments may strike at once). Tempi are
  in BPM.
* Every metric validates its input first (beat lists with
  :func:`ibeat_metrics.beats.validate`): an empty list warns and the metric
  returns 0.0 (shares), 0 (beats into stillness) or None (lock, first
  drums); a bad shape, a NaN, a time over 30000 s or a decreasing beat list
  raises :class:`~ibeat_core.errors.ParameterError`.
* Nothing is trimmed. ``mir_eval`` usually drops the first 5 s of beats to skip
  a musical intro; here the beats follow a body, not a recording, and the first
  seconds are exactly where a follower locks on or fails to. How fast it gets
  there is scored by :func:`lock_beats` and :func:`first_drums_s`; only
  :func:`coverage` skips its own ``skip_s`` after motion starts, as the issue
  defines it.
* A scheduled beat *matches* a reference beat when they are at most
  ``window_s`` apart (70 ms, inclusive, as ``mir_eval``), each beat matched at
  most once (``mir_eval.util.match_events``), for the F-measure and for lock.
* A beat interval is the half-open ``[reference_beats[i], reference_beats[i+1])``;
  a still interval is the half-open ``[start, end)`` in which the body does not
  move.
* A lock that never comes and drums that never sound are None, never
  ``inf``: None cannot slip unnoticed into a mean, it is JSON's ``null``, and
  a report counts such clips on their own.

Chance levels: F-measure, CMLt and AMLt reward a metronome at the right tempo
whatever its phase (on a steady 120 BPM grid a random phase gets F 0.28, CMLt
0.35, AMLt 0.70), so :func:`chance_levels` gives the score to report beside
each of them.
"""

from __future__ import annotations

import warnings

import mir_eval
import numpy as np

from ibeat_core.errors import ParameterError
from ibeat_metrics.beats import (F_MEASURE_WINDOW_S, precision_recall_f, tempo_agrees, validate,
                                 validate_beats)

__all__ = ["CONTINUITY_PHASE_THRESHOLD", "CONTINUITY_PERIOD_THRESHOLD", "CHANCE_PHASES",
           "CHANCE_SEED", "COVERAGE_SKIP_S", "TEMPO_TOLERANCE", "LOCK_WINDOW_S", "LOCK_RUN",
           "STILL_PERIODS", "continuity", "chance_levels", "coverage", "local_tempo_bpm",
           "tempo_agreement", "lock_beats", "relock_beats", "stop_period_s",
           "beats_into_stillness", "first_drums_s", "evaluate_following"]

CONTINUITY_PHASE_THRESHOLD = 0.175
CONTINUITY_PERIOD_THRESHOLD = 0.175
CHANCE_PHASES = 100
CHANCE_SEED = 0
COVERAGE_SKIP_S = 4.0
TEMPO_TOLERANCE = 0.04
LOCK_WINDOW_S = F_MEASURE_WINDOW_S
LOCK_RUN = 4
STILL_PERIODS = 2.0


def _beats(values, name):
    """One beat list, checked as :func:`~ibeat_metrics.beats.validate` checks it."""
    b = validate_beats(values, name)
    if len(b) == 0:
        warnings.warn(f"{name} beats are empty", stacklevel=3)
    return b


def _positive(value, name):
    if not (np.isfinite(value) and value > 0):
        raise ParameterError(f"{name} must be finite and > 0, got {value!r}")


def _time(value, name):
    if not np.isfinite(value):
        raise ParameterError(f"{name} must be a finite time [s], got {value!r}")
    return float(value)


def _still_intervals(still_intervals):
    s = np.asarray(still_intervals, dtype=np.float64)
    if s.size == 0:
        return s.reshape(0, 2)
    if s.ndim != 2 or s.shape[1] != 2:
        raise ParameterError(f"still intervals must have shape (n, 2) [s], got {s.shape}")
    if not np.all(np.isfinite(s)):
        raise ParameterError("still intervals contain NaN or Inf")
    if np.any(s[:, 1] <= s[:, 0]):
        raise ParameterError("every still interval must end after it starts")
    return s


def continuity(reference_beats, estimated_beats, *,
               phase_threshold: float = CONTINUITY_PHASE_THRESHOLD,
               period_threshold: float = CONTINUITY_PERIOD_THRESHOLD
               ) -> tuple[float, float, float, float]:
    """Continuity accuracies CMLc, CMLt, AMLc, AMLt, via ``mir_eval.beat.continuity``.

    An estimated beat is correct when its distance to the nearest reference beat
    and its interval's deviation from the reference interval are both under a
    fraction of the reference interval. "CML" counts the reference's own metrical
    level, "AML" also its off-beat, double and half (either phase); "c" is the
    longest correct run, "t" all correct beats, each over the longer list.
    Untrimmed (see the module docstring).

    Parameters
    ----------
    reference_beats, estimated_beats : array_like, shape (n,), (m,)
        Beat times [s].
    phase_threshold : float
        Largest distance to the reference beat, as a fraction of the reference
        interval (default 0.175).
    period_threshold : float
        Largest relative deviation of the estimated interval from the reference
        interval (default 0.175).

    Returns
    -------
    cmlc, cmlt, amlc, amlt : float
        In [0, 1]; all 0.0 when either list has fewer than two beats
        (``mir_eval`` warns about a single beat).

    Examples
    --------
    >>> ref = [1.0, 1.5, 2.0, 2.5, 3.0]
    >>> continuity(ref, ref)
    (1.0, 1.0, 1.0, 1.0)
    >>> continuity(ref, [1.25, 1.75, 2.25, 2.75])   # the off-beat: AML only
    (0.0, 0.0, 1.0, 1.0)
    """
    ref, est = validate(reference_beats, estimated_beats)
    if len(ref) == 0 or len(est) == 0:
        return 0.0, 0.0, 0.0, 0.0
    scores = mir_eval.beat.continuity(ref, est, continuity_phase_threshold=phase_threshold,
                                      continuity_period_threshold=period_threshold)
    return tuple(float(s) for s in scores)


def _metronome(first_s, last_s, period_s, phase_s):
    """Clicks every ``period_s`` from ``first_s - period_s/2 + phase_s`` up to
    ``last_s + period_s/2``: one click within half a period of each beat of a
    steady grid from ``first_s`` to ``last_s``."""
    start = first_s - period_s / 2 + phase_s
    n = int(np.ceil((last_s + period_s / 2 - start) / period_s))
    return start + period_s * np.arange(max(n, 0))


def chance_levels(reference_beats, *, tempo_bpm: float | None = None,
                  n_phases: int = CHANCE_PHASES, seed: int = CHANCE_SEED) -> dict[str, float]:
    """F-measure, CMLt and AMLt of a metronome at the true tempo with a random phase.

    The metronome spans the reference (from half a period before its first beat
    to half a period after its last) at the reference's tempo and is scored with
    :func:`~ibeat_metrics.beats.precision_recall_f` and :func:`continuity`; the
    scores are averaged over ``n_phases`` phases spread evenly over one period
    behind one random offset (stratified sampling: for scores that are a step
    function of the phase, as on a steady grid, the mean is within
    ``1 / n_phases`` of the expectation over a uniform phase).

    On a steady grid of period T the metronome's click falls the same distance
    d from every beat: F is 1 when ``|d| <= 70 ms`` and 0 otherwise, so the
    chance F is ``2 * 0.07 / T`` (0.28 at 120 BPM); CMLt is ``2 * 0.175 = 0.35``
    and AMLt adds the off-beat's 0.35 (less one beat of n), whatever the tempo.

    Parameters
    ----------
    reference_beats : array_like, shape (n,)
        Beat times [s].
    tempo_bpm : float or None
        The true tempo [BPM]; None takes it from the reference's median interval.
    n_phases : int
        Number of phases averaged over (default 100).
    seed : int
        Seed of the random offset of the phases (default 0).

    Returns
    -------
    dict
        ``{"f_measure", "cmlt", "amlt"}``: each in [0, 1]; 0.0 (with a warning)
        when the reference has fewer than two beats.

    Examples
    --------
    >>> levels = chance_levels(0.5 * np.arange(120))      # 120 BPM for 60 s
    >>> {k: round(v, 2) for k, v in levels.items()}
    {'f_measure': 0.28, 'cmlt': 0.35, 'amlt': 0.7}
    """
    ref = _beats(reference_beats, "reference")
    if int(n_phases) != n_phases or n_phases < 1:
        raise ParameterError(f"n_phases must be a positive integer, got {n_phases!r}")
    zeros = {"f_measure": 0.0, "cmlt": 0.0, "amlt": 0.0}
    if len(ref) == 0:
        return zeros
    if len(ref) == 1:
        # No interval, so no tempo, and continuity scores nothing on one beat.
        warnings.warn("one reference beat has no tempo: chance levels are 0.0", stacklevel=2)
        return zeros
    if tempo_bpm is None:
        period = float(np.median(np.diff(ref)))
    else:
        _positive(tempo_bpm, "tempo_bpm")
        period = 60.0 / tempo_bpm
    offset = np.random.default_rng(seed).random()
    phases = period * (np.arange(n_phases) + offset) / n_phases
    scores = np.zeros((n_phases, 3))
    for row, phase in zip(scores, phases):
        clicks = _metronome(ref[0], ref[-1], period, phase)
        _, cmlt, _, amlt = continuity(ref, clicks)
        row[:] = precision_recall_f(ref, clicks)[2], cmlt, amlt
    f, cmlt, amlt = scores.mean(axis=0)
    return {"f_measure": float(f), "cmlt": float(cmlt), "amlt": float(amlt)}


def coverage(reference_beats, scheduled_beats, *, skip_s: float = COVERAGE_SKIP_S,
             motion_start_s: float | None = None, still_intervals=()) -> float:
    """Share of ground-truth beat intervals, after the first ``skip_s`` of motion,
    that hold at least one scheduled beat.

    The phase does not matter here (a beat 10 ms early counts for the interval
    before): coverage asks whether the drums keep playing while the body moves.

    Parameters
    ----------
    reference_beats, scheduled_beats : array_like, shape (n,), (m,)
        Beat times [s].
    skip_s : float
        Seconds after motion starts whose intervals are not counted (default 4).
        An interval counts when it starts at or after ``motion_start_s + skip_s``.
    motion_start_s : float or None
        When rhythmic motion starts [s]; None takes the first reference beat.
    still_intervals : array_like, shape (k, 2)
        ``[start, end)`` [s] of stillnesses; a beat interval that overlaps one
        (such as the gap from the last beat before a pause to the first after)
        is not a beat interval of the motion and is not counted.

    Returns
    -------
    float
        In [0, 1]; 0.0 with a warning when a list is empty or no interval is
        counted.

    Examples
    --------
    >>> ref = np.arange(0.0, 9.5, 0.5)     # 10 intervals start at or after 4 s
    >>> coverage(ref, [4.1, 4.6, 6.0, 8.9], skip_s=4.0)
    0.4
    """
    ref, est = validate(reference_beats, scheduled_beats)
    if skip_s < 0 or not np.isfinite(skip_s):
        raise ParameterError(f"skip_s must be finite and >= 0, got {skip_s!r}")
    still = _still_intervals(still_intervals)
    if len(ref) == 0 or len(est) == 0:
        return 0.0
    start = ref[0] if motion_start_s is None else _time(motion_start_s, "motion_start_s")
    lo, hi = ref[:-1], ref[1:]
    counted = lo >= start + skip_s
    if len(still):
        overlaps = (lo[:, None] < still[None, :, 1]) & (still[None, :, 0] < hi[:, None])
        counted &= ~overlaps.any(axis=1)
    if not counted.any():
        warnings.warn(f"no reference beat interval starts {skip_s} s after motion starts "
                      f"({start} s) outside stillness: coverage is 0.0", stacklevel=2)
        return 0.0
    # The first scheduled beat at or after each interval's start lies inside it
    # when it comes before the interval's end.
    first = np.searchsorted(est, lo[counted], side="left")
    held = (first < len(est)) & (est[np.minimum(first, len(est) - 1)] < hi[counted])
    return float(np.mean(held))


def local_tempo_bpm(reference_beats, times_s) -> np.ndarray:
    """The reference tempo [BPM] at each time: 60 over the beat interval that holds it.

    Times before the first (after the last) reference beat take the first
    (last) interval.

    Parameters
    ----------
    reference_beats : array_like, shape (n,)
        Beat times [s], at least two.
    times_s : array_like, shape (m,)
        Times [s], e.g. the scheduled beats.

    Returns
    -------
    np.ndarray, shape (m,)
        Tempo [BPM].

    Examples
    --------
    >>> local_tempo_bpm([0.0, 0.5, 1.5], [0.2, 0.5, 2.0, -1.0])
    array([120.,  60.,  60., 120.])
    """
    ref = validate_beats(reference_beats, "reference")
    t = np.asarray(times_s, dtype=np.float64)
    if len(ref) < 2:
        raise ParameterError(f"a reference tempo needs two reference beats, got {len(ref)}")
    if t.ndim != 1:
        raise ParameterError(f"times must be 1-D seconds, got shape {t.shape}")
    interval = np.clip(np.searchsorted(ref, t, side="right") - 1, 0, len(ref) - 2)
    return 60.0 / np.diff(ref)[interval]


def tempo_agreement(scheduled_tempi_bpm, reference_tempo_bpm, *,
                    tolerance: float = TEMPO_TOLERANCE) -> float:
    """Share of scheduled beats whose tempo agrees with the reference tempo
    (within ``tolerance``, or at x1/2 or x2; see
    :func:`~ibeat_metrics.beats.tempo_agrees`).

    Parameters
    ----------
    scheduled_tempi_bpm : array_like, shape (m,)
        Tempo [BPM] each scheduled beat was placed with (``BeatCue.tempo_bpm``).
    reference_tempo_bpm : float or array_like, shape (m,)
        The true tempo [BPM]: one for the clip (AIST++'s music tempo) or one
        per scheduled beat (e.g. :func:`local_tempo_bpm` at the scheduled beats).
    tolerance : float
        Relative tolerance (default 0.04).

    Returns
    -------
    float
        In [0, 1]; 0.0 with a warning when there are no scheduled beats.

    Examples
    --------
    >>> tempo_agreement([120.0, 61.0, 90.0, 244.0], 120.0)
    0.75
    """
    tempi = np.asarray(scheduled_tempi_bpm, dtype=np.float64)
    if tempi.ndim != 1:
        raise ParameterError(f"scheduled tempi must be 1-D BPM, got shape {tempi.shape}")
    if not np.all(np.isfinite(tempi) & (tempi > 0)):
        raise ParameterError("scheduled tempi must be finite and > 0 BPM")
    truth = np.asarray(reference_tempo_bpm, dtype=np.float64)
    if truth.ndim > 1 or (truth.ndim == 1 and truth.shape != tempi.shape):
        raise ParameterError(f"reference tempo must be one BPM or one per scheduled beat "
                             f"{tempi.shape}, got shape {truth.shape}")
    if len(tempi) == 0:
        warnings.warn("scheduled tempi are empty", stacklevel=2)
        return 0.0
    truth = np.broadcast_to(truth, tempi.shape)
    return float(np.mean([tempo_agrees(e, r, tolerance=tolerance) for e, r in zip(tempi, truth)]))


def lock_beats(reference_beats, estimated_beats, *, motion_start_s: float,
               window_s: float = LOCK_WINDOW_S, run: int = LOCK_RUN) -> int | None:
    """Reference beats from the start of rhythmic motion until ``run`` scheduled
    beats in a row fall within ``window_s`` of truth.

    "In a row" means both ways: ``run`` consecutive reference beats (from the
    first at or after ``motion_start_s``) are each matched (one to one, within
    +-``window_s`` inclusive, ``mir_eval.util.match_events``) by ``run``
    scheduled beats that are themselves consecutive. So a stray beat between
    them breaks the run, drums at twice the tempo never lock (every other beat
    is stray) and drums at half the tempo never lock (every other reference
    beat is missed), as a listener would judge.

    Parameters
    ----------
    reference_beats, estimated_beats : array_like, shape (n,), (m,)
        Beat times [s]; scheduled beats before ``motion_start_s`` may match a
        reference beat after it within the window.
    motion_start_s : float
        When rhythmic motion starts [s].
    window_s : float
        Matching window [s] (default 0.07).
    run : int
        Matched beats in a row that count as locked (default 4).

    Returns
    -------
    int or None
        The number of reference beats passed before the first beat of the run:
        0 when the first ``run`` beats after motion starts all match; the lock
        is complete at reference beat ``lock + run - 1``. None when it never
        locks (also with fewer than ``run`` reference beats after motion
        starts, or an empty list, which warns).

    Examples
    --------
    >>> ref = np.arange(10) * 0.5                   # 120 BPM from 0 s
    >>> lock_beats(ref, [0.3, 1.02, 1.5, 1.96, 2.5, 3.2], motion_start_s=0.0)
    2
    >>> lock_beats(ref, ref[::2], motion_start_s=0.0) is None     # half tempo
    True
    """
    ref, est = validate(reference_beats, estimated_beats)
    _positive(window_s, "window_s")
    if int(run) != run or run < 1:
        raise ParameterError(f"run must be a positive integer, got {run!r}")
    ref = ref[ref >= _time(motion_start_s, "motion_start_s")]
    if len(ref) < run or len(est) == 0:
        return None
    partner = np.full(len(ref), -1)     # the scheduled beat matching each reference beat
    for i, j in mir_eval.util.match_events(ref, est, window_s):
        partner[i] = j
    # Reference beat i starts a run when it is matched and each of the next
    # run-1 partners is one more than the one before: scheduled beats j, j+1, ...
    steps = partner[1:] == partner[:-1] + 1
    for i in range(len(ref) - run + 1):
        if partner[i] >= 0 and steps[i:i + run - 1].all():
            return i
    return None


def relock_beats(reference_beats, estimated_beats, *, change_s: float,
                 window_s: float = LOCK_WINDOW_S, run: int = LOCK_RUN) -> int | None:
    """Reference beats after a restart or a tempo change at ``change_s`` until
    ``run`` scheduled beats in a row match again: :func:`lock_beats` from ``change_s``.

    Parameters
    ----------
    reference_beats, estimated_beats : array_like, shape (n,), (m,)
        Beat times [s].
    change_s : float
        When motion restarts after a pause, or when the tempo changes (e.g.
        +-30%) [s]: the first reference beat of the new motion or tempo.
    window_s, run
        As :func:`lock_beats`.

    Returns
    -------
    int or None
        As :func:`lock_beats`, counted from ``change_s``.

    Examples
    --------
    >>> ref = np.r_[np.arange(8) * 0.5, 4.0 + np.arange(8) * 0.4]   # 120 -> 150 BPM
    >>> est = np.r_[np.arange(10) * 0.5, 4.8 + np.arange(6) * 0.4]  # 4.5 still at 120 BPM
    >>> relock_beats(ref, est, change_s=4.0)
    2
    """
    return lock_beats(reference_beats, estimated_beats, motion_start_s=change_s,
                      window_s=window_s, run=run)


def stop_period_s(reference_beats, stop_s: float) -> float:
    """The period [s] of the motion that stopped at ``stop_s``: the last reference
    interval ending at or before it (the first interval when fewer than two
    reference beats come before it).

    Examples
    --------
    >>> stop_period_s([0.0, 0.5, 1.0, 1.75, 5.0], 1.8), stop_period_s([0.0, 0.5, 1.0], -1.0)
    (0.75, 0.5)
    """
    ref = validate_beats(reference_beats, "reference")
    if len(ref) < 2:
        raise ParameterError(f"a period needs two reference beats, got {len(ref)}")
    last = np.searchsorted(ref, stop_s, side="right") - 1
    last = max(int(last), 1)
    return float(ref[last] - ref[last - 1])


def beats_into_stillness(estimated_beats, still_intervals, *, period_s,
                         periods: float = STILL_PERIODS) -> int:
    """Scheduled beats more than ``periods`` periods into a stillness.

    A beat at ``t`` counts for the still interval ``[start, end)`` when
    ``start + periods * period < t < end``: a follower may play up to two more
    beats after the body stops (a flywheel cannot know the stop is not a rest),
    but no more.

    Parameters
    ----------
    estimated_beats : array_like, shape (m,)
        Scheduled beat times [s].
    still_intervals : array_like, shape (k, 2)
        ``[start, end)`` [s] of each stillness; ``end`` is when motion restarts
        or the clip ends.
    period_s : float or array_like, shape (k,)
        The beat period [s] of the motion before each stillness: by convention
        the last reference interval before the stop (:func:`stop_period_s`).
    periods : float
        Periods of grace after the stop (default 2).

    Returns
    -------
    int
        Beats counted over all the stillnesses (0 with a warning when no beat is
        scheduled, 0 when there is no stillness).

    Examples
    --------
    >>> beats_into_stillness([9.5, 10.0, 10.5, 11.0, 11.5, 12.0, 13.0], [[10.0, 12.5]],
    ...                      period_s=0.5)    # 10.5 and 11.0 are within grace, 13.0 after
    2
    """
    est = _beats(estimated_beats, "estimated")
    still = _still_intervals(still_intervals)
    period = np.asarray(period_s, dtype=np.float64)
    if period.ndim > 1 or (period.ndim == 1 and period.shape != (len(still),)):
        raise ParameterError(f"period_s must be one period or one per still interval "
                             f"({len(still)}), got shape {period.shape}")
    if not np.all(np.isfinite(period) & (period > 0)):
        raise ParameterError("period_s must be finite and > 0 s")
    if not (np.isfinite(periods) and periods >= 0):
        raise ParameterError(f"periods must be finite and >= 0, got {periods!r}")
    grace_end = still[:, 0] + periods * np.broadcast_to(period, (len(still),))
    inside = (est[:, None] > grace_end[None, :]) & (est[:, None] < still[None, :, 1])
    return int(inside.sum())


def first_drums_s(motion_start_s: float, hit_times_s) -> float | None:
    """Seconds from the start of motion to the first drum hit at or after it.

    Hits before motion starts answer nothing about following motion and are
    left out (drums over stillness are :func:`beats_into_stillness`'s concern).

    Parameters
    ----------
    motion_start_s : float
        When rhythmic motion starts [s].
    hit_times_s : array_like, shape (h,)
        Drum-hit times [s], in any order.

    Returns
    -------
    float or None
        Delay [s]; None when no hit comes at or after motion starts (with a
        warning when there are no hits at all).

    Examples
    --------
    >>> first_drums_s(1.0, [3.5, 0.5, 3.5, 2.25])
    1.25
    """
    hits = np.asarray(hit_times_s, dtype=np.float64)
    if hits.ndim != 1:
        raise ParameterError(f"hit times must be 1-D seconds, got shape {hits.shape}")
    # Sorted and with simultaneous hits as one, hits pass the beat-list checks.
    hits = validate_beats(np.unique(hits), "hit")
    if len(hits) == 0:
        warnings.warn("hit times are empty", stacklevel=2)
        return None
    after = hits[hits >= _time(motion_start_s, "motion_start_s")]
    return float(after[0] - motion_start_s) if len(after) else None


def evaluate_following(reference_beats, scheduled_beats, scheduled_tempi_bpm, *,
                       motion_start_s: float, still_intervals=(),
                       reference_tempo_bpm=None, hit_times_s=None, relock_times_s=(),
                       seed: int = CHANCE_SEED, chance: dict | None = None) -> dict:
    """Every following metric of one clip, as an ordered ``name -> score`` dict.

    Parameters
    ----------
    reference_beats, scheduled_beats : array_like, shape (n,), (m,)
        Ground-truth and scheduled beat times [s].
    scheduled_tempi_bpm : array_like, shape (m,)
        Tempo [BPM] of each scheduled beat.
    motion_start_s : float
        When rhythmic motion starts [s].
    still_intervals : array_like, shape (k, 2)
        ``[start, end)`` [s] of stillnesses; the period before each is
        :func:`stop_period_s` of the reference.
    reference_tempo_bpm : float, array_like of shape (m,), or None
        The true tempo for tempo agreement (and for the chance levels when one
        number). None takes :func:`local_tempo_bpm` at each scheduled beat, or
        the tempo before the stop for a beat in a stillness (and the median
        reference interval for the chance levels).
    hit_times_s : array_like or None
        Drum-hit times [s]; None lets the scheduled beats stand for the hits.
    relock_times_s : array_like
        Times [s] of restarts and tempo changes, for :func:`relock_beats`.
    seed : int
        Seed of :func:`chance_levels`.
    chance : dict, optional
        :func:`chance_levels` of this reference, when already computed: they
        depend on the reference alone, so methods scored on one clip can share them.

    Returns
    -------
    dict
        ``f_measure``, ``f_measure_chance``, ``cmlc``, ``cmlt``, ``cmlt_chance``,
        ``amlc``, ``amlt``, ``amlt_chance``, ``coverage``, ``tempo_agreement``
        (floats), ``lock_beats`` (int or None), ``relock_beats`` (tuple, one int
        or None per relock time), ``beats_into_stillness`` (int),
        ``first_drums_s`` (float or None).

    Examples
    --------
    >>> ref = np.arange(0.0, 12.0, 0.5)
    >>> scores = evaluate_following(ref, ref, np.full(len(ref), 120.0), motion_start_s=0.0)
    >>> scores["f_measure"], scores["coverage"], scores["lock_beats"], scores["first_drums_s"]
    (1.0, 1.0, 0, 0.0)
    """
    ref, est = validate(reference_beats, scheduled_beats)
    tempi = np.asarray(scheduled_tempi_bpm, dtype=np.float64)
    if tempi.shape != est.shape:
        raise ParameterError(f"one tempo per scheduled beat {est.shape}, got shape {tempi.shape}")
    still = _still_intervals(still_intervals)
    periods = np.array([stop_period_s(ref, start) for start in still[:, 0]])
    if reference_tempo_bpm is not None:
        truth_bpm = reference_tempo_bpm
    elif len(ref) >= 2:
        truth_bpm = local_tempo_bpm(ref, est)
        # The reference interval across a pause is no tempo: a beat played into
        # the stillness keeps the tempo of the motion that stopped.
        for (start, end), period in zip(still, periods):
            truth_bpm[(est >= start) & (est < end)] = 60.0 / period
    else:
        truth_bpm = None
    one_tempo = reference_tempo_bpm is not None and np.ndim(reference_tempo_bpm) == 0
    if chance is None:
        chance = chance_levels(ref, tempo_bpm=reference_tempo_bpm if one_tempo else None,
                               seed=seed)
    cmlc, cmlt, amlc, amlt = continuity(ref, est)
    return {
        "f_measure": precision_recall_f(ref, est)[2],
        "f_measure_chance": chance["f_measure"],
        "cmlc": cmlc,
        "cmlt": cmlt,
        "cmlt_chance": chance["cmlt"],
        "amlc": amlc,
        "amlt": amlt,
        "amlt_chance": chance["amlt"],
        "coverage": coverage(ref, est, motion_start_s=motion_start_s, still_intervals=still),
        # Without a reference tempo (fewer than two reference beats) nothing can agree.
        "tempo_agreement": 0.0 if truth_bpm is None else tempo_agreement(tempi, truth_bpm),
        "lock_beats": lock_beats(ref, est, motion_start_s=motion_start_s),
        "relock_beats": tuple(relock_beats(ref, est, change_s=t) for t in relock_times_s),
        "beats_into_stillness": beats_into_stillness(est, still, period_s=periods),
        "first_drums_s": first_drums_s(motion_start_s, est if hit_times_s is None else hit_times_s),
    }
