"""ibeat_metrics.following: scheduled beats against ground truth (issue 12's metrics)."""

import warnings

import mir_eval
import numpy as np
import pytest

from ibeat_core.errors import ParameterError
from ibeat_metrics import following as fm
from ibeat_metrics.beats import precision_recall_f


def _danced_reference(rng, seconds=60.0):
    """Beats like an annotated dance: tempo drifting 110 -> 130 BPM, 10 ms jitter."""
    t, beats = 1.3, []
    while t < seconds:
        beats.append(t)
        t += 60.0 / np.interp(t, [0.0, seconds], [110.0, 130.0])
    return np.asarray(beats) + rng.normal(0.0, 0.01, len(beats))


def _estimates(ref, rng):
    """Estimates with a follower's typical faults, each a strictly increasing list."""
    jittered = ref + rng.normal(0.0, 0.03, len(ref))
    dropped = jittered[rng.random(len(ref)) > 0.15]
    extra = np.sort(np.r_[dropped, rng.uniform(ref[0], ref[-1], 6)])
    double = np.interp(np.arange(0, len(ref) - 0.5, 0.5), np.arange(len(ref)), ref)
    return {
        "jitter, drops and extras": extra,
        "double tempo": double,
        "half tempo": ref[1::2],
        "off-beat": double[1::2],
        "steady metronome": np.arange(ref[0] + 0.2, ref[-1], float(np.mean(np.diff(ref)))),
        "late start": jittered[len(ref) // 3:],
    }


def _mir_eval_cases():
    rng = np.random.default_rng(12)
    cases = []
    for i in range(4):
        ref = np.sort(rng.uniform(0.0, 30.0, 40))
        est = np.sort(rng.uniform(0.0, 30.0, int(rng.integers(2, 60))))
        cases.append(pytest.param(ref, est, id=f"random-{i}"))
    ref = _danced_reference(rng)
    cases += [pytest.param(ref, est, id=name) for name, est in _estimates(ref, rng).items()]
    return cases


@pytest.mark.parametrize("ref, est", _mir_eval_cases())
def test_continuity_and_f_measure_are_mir_eval(ref, est):
    assert fm.continuity(ref, est) == mir_eval.beat.continuity(ref, est)
    assert precision_recall_f(ref, est)[2] == mir_eval.beat.f_measure(ref, est)
    scores = fm.evaluate_following(ref, est, np.full(len(est), 120.0), motion_start_s=0.0)
    assert scores["f_measure"] == mir_eval.beat.f_measure(ref, est)
    assert (scores["cmlc"], scores["cmlt"], scores["amlc"], scores["amlt"]) == \
        mir_eval.beat.continuity(ref, est)


def test_continuity_passes_its_thresholds_to_mir_eval():
    ref = np.arange(1.0, 20.0, 0.5)
    est = ref + 0.1            # 20% of the interval off: outside 0.175, inside 0.25
    assert fm.continuity(ref, est) == (0.0, 0.0, 0.0, 0.0)
    loose = fm.continuity(ref, est, phase_threshold=0.25, period_threshold=0.25)
    assert loose == mir_eval.beat.continuity(ref, est, 0.25, 0.25) == (1.0, 1.0, 1.0, 1.0)


def test_an_estimate_identical_to_the_reference_scores_one_everywhere():
    ref = _danced_reference(np.random.default_rng(3))
    scores = fm.evaluate_following(ref, ref, fm.local_tempo_bpm(ref, ref),
                                   motion_start_s=float(ref[0]), relock_times_s=[ref[40]])
    ratios = ["f_measure", "cmlc", "cmlt", "amlc", "amlt", "coverage", "tempo_agreement"]
    assert [scores[k] for k in ratios] == [1.0] * len(ratios)
    assert scores["lock_beats"] == 0 and scores["relock_beats"] == (0,)
    assert scores["beats_into_stillness"] == 0 and scores["first_drums_s"] == 0.0
    assert list(scores) == ["f_measure", "f_measure_chance", "cmlc", "cmlt", "cmlt_chance",
                            "amlc", "amlt", "amlt_chance", "coverage", "tempo_agreement",
                            "lock_beats", "relock_beats", "beats_into_stillness",
                            "first_drums_s"]


# --- chance levels ---------------------------------------------------------------------------

@pytest.mark.parametrize("bpm", [120.0, 100.0, 75.0])
def test_chance_levels_of_a_steady_grid_are_analytic(bpm):
    # A metronome of the grid's period T sits the same distance d from every beat, d uniform
    # over one period. F is 1 when |d| <= 70 ms, else 0: chance F = 2 * 0.07 / T (0.28 at
    # 120 BPM). CMLt is 1 when |d| < 0.175 T: 0.35. AMLt adds the off-beat, |d| > 0.325 T,
    # where n clicks meet the n - 1 midpoints: 0.35 * (n - 1) / n. Evenly spread phases
    # estimate a step function of d to within one phase in n_phases (two steps for AMLt).
    period, n = 60.0 / bpm, 100
    ref = 2.0 + period * np.arange(n)
    levels = fm.chance_levels(ref, n_phases=200, seed=1)
    assert levels["f_measure"] == pytest.approx(2 * 0.07 / period, abs=1 / 200)
    assert levels["cmlt"] == pytest.approx(0.35, abs=1 / 200)
    assert levels["amlt"] == pytest.approx(0.35 + 0.35 * (n - 1) / n, abs=2 / 200)


def test_chance_levels_take_the_tempo_from_the_median_interval_or_the_caller():
    ref = np.arange(40) * 0.5
    assert fm.chance_levels(ref, seed=5) == fm.chance_levels(ref, tempo_bpm=120.0, seed=5)
    assert fm.chance_levels(ref, seed=5) == fm.chance_levels(ref, seed=5)      # reproducible
    # A metronome at a wrong tempo drifts through the grid: F well below chance at 120.
    assert fm.chance_levels(ref, tempo_bpm=97.0)["cmlt"] < 0.2


def test_chance_levels_of_one_beat_warn_and_are_zero():
    for tempo in (None, 120.0):
        with pytest.warns(UserWarning, match="no tempo"):
            assert fm.chance_levels([1.0], tempo_bpm=tempo) == \
                {"f_measure": 0.0, "cmlt": 0.0, "amlt": 0.0}
    with pytest.raises(ParameterError):
        fm.chance_levels([1.0, 2.0], n_phases=0)
    with pytest.raises(ParameterError):
        fm.chance_levels([1.0, 2.0], tempo_bpm=0.0)


# --- coverage --------------------------------------------------------------------------------

def test_coverage_counts_intervals_that_hold_a_beat():
    ref = np.arange(0.0, 10.0, 1.0)          # intervals [0, 1) ... [8, 9)
    # Counted: the five intervals starting at 4, 5, 6, 7, 8 s. 4.0 opens [4, 5); 5.999 is
    # in [5, 6); 7.0 opens [7, 8); 9.0 closes [8, 9) and is not inside it.
    assert fm.coverage(ref, [1.0, 4.0, 5.999, 7.0, 9.0]) == pytest.approx(3 / 5)
    assert fm.coverage(ref, [4.0, 4.5, 4.9]) == pytest.approx(1 / 5)        # one interval
    assert fm.coverage(ref, [1.0, 2.0, 3.9]) == 0.0                          # all in the skip
    assert fm.coverage(ref, ref, skip_s=0.0) == 1.0


def test_coverage_counts_from_motion_start_defaulting_to_the_first_beat():
    ref = np.arange(2.0, 12.0, 1.0)
    est = [6.5, 8.5]
    assert fm.coverage(ref, est) == fm.coverage(ref, est, motion_start_s=2.0) == 2 / 5
    assert fm.coverage(ref, est, motion_start_s=4.0) == pytest.approx(1 / 3)   # from 8 s


def test_coverage_leaves_out_intervals_that_overlap_a_stillness():
    ref = np.r_[np.arange(0.0, 5.5, 0.5), np.arange(10.0, 15.0, 0.5)]   # pause 5 -> 10 s
    est = np.r_[np.arange(0.0, 5.5, 0.5), np.arange(11.0, 15.0, 0.5)]   # resumes 2 beats late
    # Intervals from 0 s (skip 0): ten before the pause, [5, 10) spans it, nine after.
    assert fm.coverage(ref, est, skip_s=0.0) == pytest.approx(18 / 20)
    assert fm.coverage(ref, est, skip_s=0.0, still_intervals=[[5.2, 10.0]]) == \
        pytest.approx(17 / 19)


def test_coverage_without_a_counted_interval_warns():
    with pytest.warns(UserWarning, match="no reference beat interval"):
        assert fm.coverage([0.0, 1.0, 2.0], [0.5, 1.5]) == 0.0


# --- tempo agreement -------------------------------------------------------------------------

def test_tempo_agreement_against_one_tempo_and_per_beat_tempi():
    assert fm.tempo_agreement([100.0, 103.9, 104.1, 50.0, 200.0, 150.0], 100.0) == \
        pytest.approx(4 / 6)
    assert fm.tempo_agreement([100.0, 120.0], [100.0, 60.0]) == 1.0
    assert fm.tempo_agreement([100.0, 100.0], 100.0, tolerance=0.0) == 1.0


def test_local_tempo_is_the_interval_holding_each_time():
    ref = [0.0, 0.5, 1.5, 2.0]
    assert fm.local_tempo_bpm(ref, [-3.0, 0.0, 0.49, 0.5, 1.5, 9.0]).tolist() == \
        [120.0, 120.0, 120.0, 60.0, 120.0, 120.0]
    with pytest.raises(ParameterError):
        fm.local_tempo_bpm([1.0], [1.0])


def test_evaluate_following_takes_per_beat_tempo_from_the_reference():
    ref = np.r_[np.arange(0.0, 10.0, 0.5), 10.0 + np.arange(0.0, 10.0, 0.4)]    # 120 -> 150
    est = ref[1:]
    right = fm.evaluate_following(ref, est, fm.local_tempo_bpm(ref, est), motion_start_s=0.0)
    stale = fm.evaluate_following(ref, est, np.full(len(est), 120.0), motion_start_s=0.0)
    assert right["tempo_agreement"] == 1.0
    assert stale["tempo_agreement"] == pytest.approx(np.mean(est < 10.0))
    assert fm.evaluate_following(ref, est, np.full(len(est), 120.0), motion_start_s=0.0,
                                 reference_tempo_bpm=120.0)["tempo_agreement"] == 1.0


@pytest.mark.parametrize("tempi, truth", [([[120.0]], 120.0), ([120.0, np.nan], 120.0),
                                          ([120.0, -1.0], 120.0), ([120.0, 60.0], [120.0]),
                                          ([120.0], 0.0)])
def test_tempo_agreement_rejects_bad_tempi(tempi, truth):
    with pytest.raises(ParameterError):
        fm.tempo_agreement(tempi, truth)


# --- lock and relock -------------------------------------------------------------------------

REF = 1.0 + 0.5 * np.arange(16)              # 120 BPM from 1 s, exact in binary


def test_lock_counts_reference_beats_before_the_first_run():
    assert fm.lock_beats(REF, REF, motion_start_s=1.0) == 0
    assert fm.lock_beats(REF, REF[3:], motion_start_s=1.0) == 3
    assert fm.lock_beats(REF, REF[3:] + 0.05, motion_start_s=0.0) == 3
    # Runs of three broken by a miss never make four.
    assert fm.lock_beats(REF, np.delete(REF, [3, 7, 11, 15]), motion_start_s=1.0) is None
    assert fm.lock_beats(REF, np.delete(REF, [3, 7, 11, 15]), motion_start_s=1.0, run=3) == 0


def test_lock_needs_consecutive_scheduled_beats_too():
    double = np.sort(np.r_[REF, REF[:-1] + 0.25])
    half = REF[::2]
    assert fm.lock_beats(REF, double, motion_start_s=1.0) is None     # a stray beat between
    assert fm.lock_beats(REF, half, motion_start_s=1.0) is None       # a reference beat missed
    stray = np.sort(np.r_[REF, 1.75])                                 # between beats 1 and 2
    assert fm.lock_beats(REF, stray, motion_start_s=1.0) == 2


def test_lock_starts_at_motion_start():
    # Scheduled beats before motion starts neither count nor hurt ...
    assert fm.lock_beats(REF, REF, motion_start_s=3.2) == 0
    assert fm.lock_beats(REF, REF[REF < 3.2], motion_start_s=3.2) is None
    # ... except one within the window of a reference beat after it.
    est = np.r_[2.95, REF[REF > 3.0]]
    assert fm.lock_beats(REF, est, motion_start_s=3.0) == 0
    # Fewer than `run` reference beats after motion starts: it cannot lock.
    assert fm.lock_beats(REF, REF, motion_start_s=REF[-3]) is None


@pytest.mark.parametrize("shift, locks", [(0.0625, True), (-0.0625, True),
                                          (0.0625 + 2 ** -10, False), (-0.0625 - 2 ** -10, False)])
def test_lock_window_is_inclusive(shift, locks):
    # 0.0625 s and the 0.5 s grid are exact in binary, so the edge is exactly the window.
    got = fm.lock_beats(REF, REF + shift, motion_start_s=1.0, window_s=0.0625)
    assert (got == 0) if locks else (got is None)


def test_lock_without_scheduled_beats_warns_and_never_locks():
    with pytest.warns(UserWarning, match="estimated beats are empty"):
        assert fm.lock_beats(REF, [], motion_start_s=1.0) is None


@pytest.mark.parametrize("kwargs", [{"run": 0}, {"run": 2.5}, {"window_s": 0.0},
                                    {"motion_start_s": np.nan}])
def test_lock_rejects_bad_parameters(kwargs):
    with pytest.raises(ParameterError):
        fm.lock_beats(REF, REF, **{"motion_start_s": 1.0, **kwargs})


def test_relock_after_a_restart_and_a_tempo_change():
    before = 0.5 * np.arange(10)                           # 0 .. 4.5 s at 120 BPM
    after = 8.0 + 0.5 * np.arange(12)                      # restart at 8 s
    ref = np.r_[before, after]
    est = np.r_[before, after[2:]]                         # back two beats late
    assert fm.relock_beats(ref, est, change_s=8.0) == 2
    # +30%: 120 -> 156 BPM at 5 s; the follower keeps 120 BPM for two beats, then follows.
    faster = 5.0 + (60.0 / 156.0) * np.arange(12)
    ref = np.r_[before, faster]
    est = np.r_[before, 5.0, 5.5, 6.0, faster[3:]]
    assert fm.relock_beats(ref, est, change_s=5.0) == 3
    assert fm.relock_beats(ref, est, change_s=5.0) == fm.lock_beats(ref, est, motion_start_s=5.0)


# --- stillness -------------------------------------------------------------------------------

def test_beats_into_stillness_allow_two_periods():
    est = [9.5, 10.0, 10.5, 11.0, 11.0001, 12.0, 12.5]
    # Stillness [10, 12.5), period 0.5: grace until 11.0 (not counted); 12.5 is not inside.
    assert fm.beats_into_stillness(est, [[10.0, 12.5]], period_s=0.5) == 2
    assert fm.beats_into_stillness(est, [[10.0, 12.5]], period_s=0.5, periods=0.0) == 4
    assert fm.beats_into_stillness(est, [[10.0, 12.5], [0.0, 9.0]], period_s=[0.5, 1.0]) == 2
    # Grace until 11.5 s (12.0 counts) and until 9.02 s (9.5 counts).
    assert fm.beats_into_stillness(est, [[10.0, 12.5], [9.0, 9.6]], period_s=[0.75, 0.01]) == 2
    assert fm.beats_into_stillness(est, [], period_s=[]) == 0
    with pytest.warns(UserWarning, match="estimated beats are empty"):
        assert fm.beats_into_stillness([], [[10.0, 12.5]], period_s=0.5) == 0


def test_stop_period_is_the_last_interval_before_the_stop():
    ref = [0.0, 0.5, 1.0, 1.75, 6.0, 6.5]
    assert fm.stop_period_s(ref, 1.75) == fm.stop_period_s(ref, 3.0) == 0.75
    assert fm.stop_period_s(ref, 0.2) == 0.5                              # before beat two
    with pytest.raises(ParameterError):
        fm.stop_period_s([1.0], 2.0)


def test_evaluate_following_scores_stillness_with_the_reference_period():
    ref = np.r_[0.5 * np.arange(12), 10.0 + 0.5 * np.arange(8)]    # stop at 5.5 s until 10 s
    est = 0.5 * np.arange(40)                                          # never stops
    scores = fm.evaluate_following(ref, est, np.full(len(est), 120.0), motion_start_s=0.0,
                                   still_intervals=[[5.5, 10.0]])
    # Grace until 6.5 s; 7.0 ... 9.5 s are six beats into the stillness. Their tempo is
    # judged against the 120 BPM before the stop, not the 4.5-s interval across the pause.
    assert scores["beats_into_stillness"] == 6
    assert scores["tempo_agreement"] == 1.0


@pytest.mark.parametrize("bad", [[[1.0, 2.0, 3.0]], [[2.0, 1.0]], [[1.0, np.nan]], [1.0, 2.0]])
def test_still_intervals_must_be_n_by_two_increasing(bad):
    with pytest.raises(ParameterError):
        fm.beats_into_stillness([1.0], bad, period_s=0.5)


@pytest.mark.parametrize("period", [0.0, -1.0, [0.5, 0.5], np.nan])
def test_stillness_period_must_be_positive_and_one_per_interval(period):
    with pytest.raises(ParameterError):
        fm.beats_into_stillness([1.0], [[0.0, 2.0]], period_s=period)


# --- first drums -----------------------------------------------------------------------------

def test_first_drums_is_the_first_hit_at_or_after_motion_start():
    assert fm.first_drums_s(1.0, [3.5, 0.5, 3.5, 2.25]) == 1.25     # any order, duplicates
    assert fm.first_drums_s(1.0, [1.0, 2.0]) == 0.0
    assert fm.first_drums_s(5.0, [1.0, 2.0]) is None                 # only before motion
    with pytest.warns(UserWarning, match="hit times are empty"):
        assert fm.first_drums_s(1.0, []) is None


def test_evaluate_following_uses_hits_when_given():
    ref = 0.5 * np.arange(20)
    base = dict(motion_start_s=1.0)
    assert fm.evaluate_following(ref, ref[6:], np.full(14, 120.0), **base)["first_drums_s"] == 2.0
    assert fm.evaluate_following(ref, ref[6:], np.full(14, 120.0), hit_times_s=[2.9, 2.6],
                                 **base)["first_drums_s"] == pytest.approx(1.6)


# --- empty input and bad shapes, over every metric --------------------------------------------

TWO_LISTS = {
    "continuity": fm.continuity,
    "coverage": lambda r, e: fm.coverage(r, e, skip_s=0.0),
    "lock_beats": lambda r, e: fm.lock_beats(r, e, motion_start_s=0.0),
    "relock_beats": lambda r, e: fm.relock_beats(r, e, change_s=0.0),
    "evaluate_following": lambda r, e: fm.evaluate_following(
        r, e, np.full(np.shape(e)[0] if np.ndim(e) else 0, 120.0), motion_start_s=0.0),
}
ONE_LIST = {
    "chance_levels": fm.chance_levels,
    "beats_into_stillness": lambda b: fm.beats_into_stillness(b, [[0.0, 1.0]], period_s=0.1),
    "first_drums_s": lambda b: fm.first_drums_s(0.0, b),
    "tempo_agreement": lambda b: fm.tempo_agreement(b, 120.0),
}
BEATS = [1.0, 1.5, 2.0, 2.5, 3.0, 3.5]


def _is_nothing(value):
    """0, 0.0 or None, also inside the containers a metric returns."""
    if isinstance(value, dict):
        return all(_is_nothing(v) for v in value.values())
    if isinstance(value, tuple):
        return all(_is_nothing(v) for v in value)
    return value is None or value == 0


@pytest.mark.parametrize("name", TWO_LISTS)
@pytest.mark.parametrize("empty", ["reference", "estimated"])
def test_empty_beats_warn_and_score_nothing(name, empty):
    ref, est = ([], BEATS) if empty == "reference" else (BEATS, [])
    with pytest.warns(UserWarning, match=f"{empty} beats are empty"):
        out = TWO_LISTS[name](ref, est)
    if name == "evaluate_following":
        # Chance levels need only the reference; first drums come from the scheduled beats.
        skip = {"reference": {"first_drums_s"}, "estimated": {"f_measure_chance", "cmlt_chance",
                                                              "amlt_chance"}}[empty]
        out = {k: v for k, v in out.items() if k not in skip}
    assert _is_nothing(out)


@pytest.mark.parametrize("name", ONE_LIST)
def test_empty_list_warns_and_scores_nothing(name):
    with pytest.warns(UserWarning, match="empty"):
        assert _is_nothing(ONE_LIST[name]([]))


BAD = {"2-D": [[1.0, 2.0]], "decreasing": [2.0, 1.0], "NaN": [1.0, np.nan],
       "not seconds": [1.0, 40000.0]}


@pytest.mark.parametrize("name", TWO_LISTS)
@pytest.mark.parametrize("which", ["reference", "estimated"])
@pytest.mark.parametrize("bad", BAD.values(), ids=BAD.keys())
def test_bad_beats_raise(name, which, bad):
    ref, est = (bad, BEATS) if which == "reference" else (BEATS, bad)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ParameterError):
            TWO_LISTS[name](ref, est)


@pytest.mark.parametrize("name", [n for n in ONE_LIST if n != "tempo_agreement"])
@pytest.mark.parametrize("bad", BAD.values(), ids=BAD.keys())
def test_bad_single_list_raises(name, bad):
    if name == "first_drums_s" and bad == BAD["decreasing"]:
        assert fm.first_drums_s(0.0, bad) == 1.0           # hits come in any order
        return
    with pytest.raises(ParameterError):
        ONE_LIST[name](bad)


def test_evaluate_following_needs_one_tempo_per_scheduled_beat():
    with pytest.raises(ParameterError):
        fm.evaluate_following(BEATS, BEATS, [120.0], motion_start_s=0.0)
