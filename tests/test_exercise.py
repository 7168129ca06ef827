"""The rhythmic-exercise generator: exact beats, determinism, bodies, accents, stillness.

The accent tests run ibeat's own offline chain (``motion_rhythm`` / ``analyze``) on a
clean 2D view of each exercise: if the generated motion did not stop on its beats,
the kinematic offsets would not peak there, and the suite would not be a fair test
of a beat tracker.
"""

import numpy as np
import pytest
from scipy.signal import find_peaks

from ibeat_core.errors import ParameterError
from ibeat_core.rhythm import analyze, motion_rhythm
from ibeat_io.exercise import (EXERCISES, SUITE_BPM_RANGE, ExercisePlan, MotionConfig, Move,
                               Person, Still, ViewConfig, exercise_suite, exercise_views,
                               make_exercise_clip)
from ibeat_metrics.beats import tempo_agrees

CLEAN = ViewConfig(detector_noise=False)
WINDOW_S = 0.07  # "on the beat": the F-measure tolerance of issue 12
#: One tempo per exercise, spread over the range a clean clip is checked at.
ACCENT_TEMPI = {"squat": 70.0, "bounce": 130.0, "jumping_jack": 150.0, "punch": 110.0,
                "step": 100.0, "clap": 140.0, "head_nod": 90.0, "arm_circle": 120.0}


def _constant(exercise, bpm, *, seconds=12.0, seed=0, **kwargs):
    n = int(round(seconds * bpm / 60.0))
    plan = ExercisePlan((Still(1.0), Move(exercise, n, bpm), Still(1.0)))
    return make_exercise_clip(plan, seed=seed, **kwargs)


def _clean_view(clip, seed=0):
    (keypoints, _), = exercise_views(clip, np.random.default_rng(seed), config=CLEAN)
    return keypoints


def _dominant_share(offsets, times, beats):
    """Share of ``beats`` whose strongest offset within half a beat either side lies
    within WINDOW_S of the beat."""
    half = np.diff(beats).min() / 2.0
    hits = []
    for beat in beats:
        near = (times >= beat - half) & (times < beat + half)
        hits.append(abs(times[np.argmax(np.where(near, offsets, -1.0))] - beat) <= WINDOW_S)
    return float(np.mean(hits))


@pytest.fixture(scope="module")
def accent_runs():
    """Per exercise: the clip and ibeat's offline analysis of one clean view of it."""
    runs = {}
    for i, (exercise, bpm) in enumerate(ACCENT_TEMPI.items()):
        clip = _constant(exercise, bpm, seed=10 + i)
        runs[exercise] = clip, analyze(clip.timestamps_s, _clean_view(clip, seed=i))
    return runs


# --- beats and plans -------------------------------------------------------------------


def test_beats_of_constant_tempo_segments_are_exact():
    plan = ExercisePlan((Still(1.5), Move("clap", 10, 97.0), Move("clap", 7, 123.0), Still(2.0)))
    clip = make_exercise_clip(plan, seed=0)
    beats = clip.beat_times_s
    assert len(beats) == 18
    np.testing.assert_allclose(np.diff(beats[:11]), 60.0 / 97.0, rtol=0, atol=1e-9)
    np.testing.assert_allclose(np.diff(beats[10:]), 60.0 / 123.0, rtol=0, atol=1e-9)
    # At the step change the beat takes the new tempo; the change is reported there.
    assert clip.tempo_bpm.tolist() == [97.0] * 10 + [123.0] * 8
    np.testing.assert_array_equal(clip.tempo_changes_s, beats[10:11])
    np.testing.assert_array_equal(clip.mocap.beat_times_s, beats)


@pytest.mark.parametrize("start, end", [(80.0, 150.0), (170.0, 60.0)])
def test_a_ramp_integrates_its_tempo_and_its_intervals_change_monotonically(start, end):
    n = 24
    clip = make_exercise_clip(ExercisePlan((Still(1.0), Move("bounce", n, start, end_bpm=end))),
                              seed=1)
    beats, tempo = clip.beat_times_s, clip.tempo_bpm
    steps = np.diff(np.diff(beats))
    assert np.all(steps < 0) if end > start else np.all(steps > 0)
    # Tempo linear in time from start to end over D = 120 n / (start + end); the phase,
    # the integral of tempo / 60, is an integer at every beat.
    duration = 120.0 * n / (start + end)
    t = beats - beats[0]
    np.testing.assert_allclose(t[-1], duration, atol=1e-9)
    phase = (start * t + (end - start) * t ** 2 / (2 * duration)) / 60.0
    np.testing.assert_allclose(phase, np.arange(n + 1), atol=1e-9)
    np.testing.assert_allclose(tempo, start + (end - start) * t / duration, atol=1e-9)


def test_no_beat_falls_in_a_pause_and_a_restart_keeps_its_own_tempo():
    plan = ExercisePlan((Still(1.0), Move("squat", 8, 75.0), Still(4.0), Move("step", 12, 140.0),
                         Still(1.0)))
    clip = make_exercise_clip(plan, seed=2)
    assert clip.exercises == ("squat", "step")
    assert clip.moving.shape == (2, 2) and clip.still.shape == (3, 2)
    gap = clip.still[1]
    assert gap[1] - gap[0] >= 4.0  # the Still itself, plus getting out of and into position
    beats = clip.beat_times_s
    assert not np.any((beats >= gap[0]) & (beats <= gap[1]))
    for block, (start, end) in enumerate(clip.moving):
        own = beats[clip.beat_block == block]
        assert start < own[0] and own[-1] < end
    np.testing.assert_allclose(np.diff(beats[clip.beat_block == 1]), 60.0 / 140.0, atol=1e-9)
    # The body's accents are a few ms around the beats, never exactly on them.
    jitter = clip.accent_times_s - beats
    assert 0 < np.abs(jitter).max() <= 3 * MotionConfig().timing_jitter_s + 1e-12


@pytest.mark.parametrize("items, message", [
    ((Move("squat", 4, 90.0), Move("clap", 4, 90.0)), "needs a Still"),
    ((Still(1.0),), "at least one Move"),
])
def test_a_plan_refuses_what_cannot_be_laid_out(items, message):
    with pytest.raises(ParameterError, match=message):
        ExercisePlan(items)


@pytest.mark.parametrize("kwargs, message", [
    ({"exercise": "yoga", "n_beats": 4, "bpm": 90.0}, "unknown exercise"),
    ({"exercise": "clap", "n_beats": 0, "bpm": 90.0}, "n_beats"),
    ({"exercise": "clap", "n_beats": 4, "bpm": 300.0}, "tempo"),
    ({"exercise": "clap", "n_beats": 4, "bpm": 90.0, "end_bpm": 20.0}, "tempo"),
])
def test_a_move_refuses_bad_values(kwargs, message):
    with pytest.raises(ParameterError, match=message):
        Move(**kwargs)


# --- determinism and bodies ------------------------------------------------------------


def test_the_same_seed_gives_the_same_clip_and_another_seed_another():
    a, b, c = (_constant("punch", 120.0, seconds=4.0, seed=s) for s in (7, 7, 8))
    np.testing.assert_array_equal(a.mocap.joints, b.mocap.joints)
    np.testing.assert_array_equal(a.accent_times_s, b.accent_times_s)
    np.testing.assert_array_equal(a.views(2)[1][0], b.views(2)[1][0])
    assert a.person != c.person
    assert not np.allclose(a.mocap.joints, c.mocap.joints)
    np.testing.assert_array_equal(a.beat_times_s, c.beat_times_s)  # the plan fixes the beats


def test_people_are_1_5_to_1_95_m_tall_with_proportions_a_few_percent_apart():
    people = [Person.random(np.random.default_rng(s)) for s in range(200)]
    heights = np.array([p.height_m for p in people])
    assert heights.min() >= 1.5 and heights.max() <= 1.95 and np.ptp(heights) > 0.35
    average = Person.average(1.0)
    for name in ("thigh_m", "shank_m", "upper_arm_m", "forearm_m", "trunk_m"):
        ratio = np.array([getattr(p, name) / p.height_m for p in people]) / getattr(average, name)
        assert 0.0 < ratio.std() < 0.04 and np.all(np.abs(ratio - 1.0) <= 0.061)


def test_the_skeleton_keeps_its_bone_lengths_and_stands_on_the_floor():
    person = Person.random(np.random.default_rng(3))
    clip = _constant("jumping_jack", 100.0, seconds=5.0, person=person)
    j = clip.mocap.joints.astype(np.float64)
    bones = {(11, 13): person.thigh_m, (13, 15): person.shank_m, (12, 14): person.thigh_m,
             (5, 7): person.upper_arm_m, (7, 9): person.forearm_m, (6, 8): person.upper_arm_m,
             (5, 6): 2 * person.shoulder_half_m, (11, 12): 2 * person.hip_half_m}
    for (a, b), length in bones.items():
        np.testing.assert_allclose(np.linalg.norm(j[:, a] - j[:, b], axis=-1), length, atol=1e-5)
    ankles = j[:, 15:17, 1]
    assert ankles.min() == pytest.approx(person.ankle_m, abs=1e-5)  # feet on the floor...
    assert ankles.max() > person.ankle_m + 0.03  # ...except in the air
    eyes = j[0, 1:3, 1].mean()  # standing still at the start
    assert eyes / person.height_m == pytest.approx(0.936, rel=0.06)


# --- accents on the beat -----------------------------------------------------------------


@pytest.mark.parametrize("exercise", list(EXERCISES))
def test_the_offsets_peak_on_the_beats_of_every_exercise(exercise, accent_runs):
    clip, analysis = accent_runs[exercise]
    offsets, times = analysis.rhythm.offsets, analysis.rhythm.times_s
    beats = clip.beat_times_s
    peaks = times[find_peaks(offsets, prominence=0.05)[0]]
    near = np.abs(peaks[:, None] - beats[None, :]).min(axis=0) <= WINDOW_S
    assert near.mean() >= 0.8
    # Stronger: the beat is where the strongest stop of its beat interval is, and not
    # half a beat away (which is what a motion with its accents off the beat would give).
    assert _dominant_share(offsets, times, beats) >= 0.8
    assert _dominant_share(offsets, times, beats[:-1] + np.diff(beats) / 2) <= 0.2


@pytest.mark.parametrize("exercise", list(EXERCISES))
def test_the_offline_tempo_agrees_with_the_plan(exercise, accent_runs):
    clip, analysis = accent_runs[exercise]
    assert tempo_agrees(analysis.tempo_bpm, clip.tempo_bpm[0])


@pytest.mark.parametrize("bpm", [60.0, 180.0])
def test_the_offline_tempo_agrees_at_the_ends_of_the_tempo_range(bpm):
    clip = _constant("bounce", bpm, seed=4)
    assert tempo_agrees(analyze(clip.timestamps_s, _clean_view(clip)).tempo_bpm, bpm)


def test_a_pause_is_still():
    plan = ExercisePlan((Still(1.0), Move("squat", 10, 100.0), Still(4.0), Move("squat", 10, 100.0),
                         Still(1.0)))
    clip = make_exercise_clip(plan, seed=5)
    t = clip.timestamps_s
    speed = np.linalg.norm(np.diff(clip.mocap.joints, axis=0), axis=-1).max(axis=1) * clip.fps
    still = np.zeros(len(t) - 1, dtype=bool)
    for start, end in clip.still:
        still |= (t[:-1] >= start) & (t[1:] <= end)
    assert speed[still].max() < 0.05  # m/s: sway and breathing only
    assert np.median(speed[~still]) > 0.5

    rhythm = motion_rhythm(t, _clean_view(clip))
    energy, grid = rhythm.motion_energy, rhythm.times_s
    pause = (grid > clip.still[1, 0]) & (grid < clip.still[1, 1])
    beats = clip.beat_times_s
    moving = (grid > beats[0]) & (grid < beats[-1]) & ~pause
    assert energy[pause].max() < 0.05 * np.median(energy[moving])


# --- views -------------------------------------------------------------------------------


def test_side_occlusion_hides_the_side_away_from_the_camera():
    clip = _constant("clap", 100.0, seconds=6.0, seed=6)
    config = ViewConfig(detector_noise=False, occlusions_per_min=30.0, occluded_missing=1.0)
    views = exercise_views(clip, np.random.default_rng(0), n_views=4, config=config)
    for keypoints, camera in views:
        lost = np.unique(np.nonzero(keypoints[..., 2] == 0)[1])
        assert lost.tolist() in ([1, 3, 5, 7, 9, 11, 13, 15], [2, 4, 6, 8, 10, 12, 14, 16])
        hidden = clip.mocap.joints[:, lost]
        shown = clip.mocap.joints[:, lost + np.where(lost % 2 == 1, 1, -1)]
        cam = np.asarray(camera.position_m)
        distance = [np.linalg.norm(j - cam, axis=-1).mean() for j in (hidden, shown)]
        assert distance[0] > distance[1]


def test_guessed_occluded_joints_have_low_confidence_and_extra_dropouts_drop_joints():
    clip = _constant("step", 110.0, seconds=8.0, seed=7)
    rng = np.random.default_rng(1)
    (guessed, _), = exercise_views(clip, rng, config=ViewConfig(
        detector_noise=False, occlusions_per_min=60.0, occluded_missing=0.0))
    conf = guessed[..., 2]
    assert np.all((conf == 1.0) | ((conf >= 0.02) & (conf <= 0.3)))
    assert (conf < 1.0).any() and np.isfinite(guessed[..., :2]).all()
    (dropped, _), = exercise_views(clip, rng, config=ViewConfig(detector_noise=False,
                                                               dropout_prob=0.05))
    missing = dropped[..., 2] == 0
    assert 0.05 < missing.mean() < 0.4 and np.isnan(dropped[missing, :2]).all()


# --- the suite ---------------------------------------------------------------------------


def test_the_suite_covers_every_exercise_tempo_and_situation():
    suite = exercise_suite()
    assert len(suite) == 40
    assert {e for clip in suite for e in clip.exercises} == set(EXERCISES)
    tempi = np.concatenate([clip.tempo_bpm for clip in suite])
    lo, hi = SUITE_BPM_RANGE
    assert tempi.min() >= lo and tempi.max() <= hi and tempi.min() < 60 and tempi.max() > 175
    assert all(10.0 <= clip.duration_s <= 40.0 for clip in suite)
    assert sum(len(clip.moving) == 2 for clip in suite) >= 16  # pauses and restarts
    assert sum(len(set(clip.exercises)) == 2 for clip in suite) >= 8  # another one after a pause
    assert sum(len(clip.tempo_changes_s) > 0 for clip in suite) >= 16  # step changes and ramps
    heights = [clip.person.height_m for clip in suite]
    assert len({clip.person for clip in suite}) == 40 and min(heights) < 1.55 and max(heights) > 1.9
    assert len({clip.view_config for clip in suite}) >= 3
    again = exercise_suite()
    assert [c.mocap.name for c in again] == [c.mocap.name for c in suite]
    np.testing.assert_array_equal(again[17].mocap.joints, suite[17].mocap.joints)
