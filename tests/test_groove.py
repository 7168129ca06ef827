"""The groove decoder: start, lock, keep time, stop and relock on beat probabilities with known beats."""

import numpy as np
import pytest

from ibeat_core.errors import ParameterError
from ibeat_core.groove import GrooveConfig, GrooveDecoder
from ibeat_metrics.following import beats_into_stillness, lock_beats, relock_beats

FPS = 30.0


def pulses(plan, *, peak=0.9, floor=0.02, fps=FPS):
    """Beat probabilities of a plan of ``(seconds, bpm or None)`` blocks (None: still).

    Returns (probabilities (T,), true beat times [s], motion blocks [(start, end)])."""
    probs, beats, blocks, t0 = [], [], [], 0.0
    for seconds, bpm in plan:
        n = int(round(seconds * fps))
        p = np.full(n, floor)
        if bpm:
            times = t0 + np.arange(0.0, seconds - 1e-9, 60.0 / bpm)
            p[np.round((times - t0) * fps).astype(int).clip(0, n - 1)] = peak
            beats += list(np.round(times * fps) / fps)
            blocks.append((t0, t0 + seconds))
        probs.append(p)
        t0 += n / fps
    return np.concatenate(probs), np.array(beats), blocks


def run(probs, config=GrooveConfig()):
    decoder = GrooveDecoder(config)
    return decoder, [decoder.process_frame(float(p)) for p in probs]


def clock_beats(events):
    return np.array([e.time_s for e in events if e.is_beat])


@pytest.mark.parametrize("bpm", [62.0, 75.0, 100.0, 128.0, 170.0])
def test_locks_within_four_beats_and_keeps_the_tempo(bpm):
    probs, truth, _ = pulses([(20.0, bpm)])
    _, events = run(probs)
    beats = clock_beats(events)
    assert lock_beats(truth, beats, motion_start_s=0.0) <= 4
    assert events[-1].tempo_bpm == pytest.approx(bpm, rel=0.03)
    late = beats[beats > 10.0]
    assert np.max(np.abs(late[:, None] - truth[None]).min(axis=1)) <= 1.5 / FPS


def test_drums_come_back_right_after_a_skipped_accent():
    """A mover who skips a stop now and then: the clock may drop the skipped beat and the
    next (``stop_beats`` < 1), never more, and plays on at the same tempo and phase."""
    probs, truth, _ = pulses([(20.0, 100.0)])
    peaks = np.flatnonzero(probs > 0.5)
    skipped = peaks[8::5]  # every 5th beat from the 9th brings no peak
    probs[skipped] = 0.02
    _, events = run(probs)
    beats = clock_beats(events)
    matched = np.abs(truth[:, None] - beats[None]).min(axis=1) <= 0.07
    for k in range(8, len(truth) - 2, 5):
        assert matched[k + 2], f"beat {k + 2}, two after the skipped beat {k}, has no drum"
    assert matched[8:].mean() >= 0.6


def test_stops_within_two_beats_of_stillness_and_restarts():
    probs, truth, blocks = pulses([(12.0, 96.0), (6.0, None), (12.0, 96.0)])
    decoder, events = run(probs)
    beats = clock_beats(events)
    still = [(blocks[0][1], blocks[1][0])]
    assert beats_into_stillness(beats, still, period_s=60.0 / 96.0) == 0
    quiet = [e for e in events if blocks[0][1] + 2.5 <= e.time_s < blocks[1][0]]
    assert all(e.confidence < decoder.min_confidence for e in quiet)
    relock = relock_beats(truth, beats, change_s=blocks[1][0])
    assert relock is not None and relock <= 4


@pytest.mark.parametrize("factor", [0.7, 1.3])
def test_relocks_after_a_tempo_change(factor):
    probs, truth, blocks = pulses([(12.0, 100.0), (14.0, 100.0 * factor)])
    _, events = run(probs)
    beats = clock_beats(events)
    relock = relock_beats(truth, beats, change_s=truth[truth >= 12.0][0])
    assert relock is not None and relock <= 4
    assert events[-1].tempo_bpm == pytest.approx(100.0 * factor, rel=0.03)


def test_silence_never_starts_the_clock():
    decoder, events = run(np.full(300, 0.02))
    assert not decoder.running
    assert not any(e.is_beat or e.confidence >= decoder.min_confidence for e in events)


def test_reset_forgets_the_stream():
    probs, _, _ = pulses([(8.0, 100.0)])
    decoder, first = run(probs)
    decoder.reset()
    again = [decoder.process_frame(float(p)) for p in probs]
    assert again == first


def test_events_are_well_formed():
    probs, _, _ = pulses([(10.0, 120.0), (3.0, None)])
    _, events = run(probs)
    for i, e in enumerate(events):
        assert e.time_s == pytest.approx(i / FPS)
        assert e.next_beat_s > e.time_s
        assert 0.0 <= e.phase < 1.0 and 0.0 <= e.confidence <= 1.0


@pytest.mark.parametrize("field,value", [("start_confidence", 1.5), ("stop_dancing", 0.0), ("stop_dancing", 0.9),
                                         ("stop_beats", -1.0),
                                         ("phase_gain", 0.0), ("period_gain", 2.0),
                                         ("relock_ratio", 0.0), ("relock_s", -1.0)])
def test_bad_config_is_rejected(field, value):
    with pytest.raises(ParameterError, match=field):
        GrooveConfig(**{field: value})


# --- the default beat stage in a real session, on generated exercise with exact beats ---

@pytest.fixture(scope="module")
def squats_with_a_pause():
    """Squats at 96 BPM, a 4-s pause, squats again; one clean camera view."""
    from ibeat_io.exercise import ExercisePlan, Move, Still, make_exercise_clip

    plan = ExercisePlan((Still(1.0), Move("squat", 20, 96.0), Still(4.0), Move("squat", 16, 96.0),
                         Still(3.0)))
    clip = make_exercise_clip(plan, seed=3)
    (keypoints, _), = clip.views(1)
    return clip, keypoints


@pytest.mark.slow
def test_session_follows_exercise_stops_and_relocks(squats_with_a_pause):
    from ibeat_core.session import SessionConfig, run_session
    from ibeat_metrics.following import evaluate_following
    from ibeat_models import load_networks

    clip, keypoints = squats_with_a_pause
    assert SessionConfig().tracker == "groove"
    result = run_session(load_networks(), clip.timestamps_s, keypoints)
    beats = sorted(result.beats, key=lambda b: b.time_s)
    scores = evaluate_following(
        clip.beat_times_s, [b.time_s for b in beats], [b.tempo_bpm for b in beats],
        motion_start_s=float(clip.moving[0, 0]), still_intervals=clip.still,
        relock_times_s=clip.moving[1:, 0], hit_times_s=[h.time_s for h in result.hits])
    assert scores["lock_beats"] is not None and scores["lock_beats"] <= 4
    assert scores["relock_beats"][0] is not None and scores["relock_beats"][0] <= 4
    assert scores["beats_into_stillness"] == 0
    assert scores["first_drums_s"] <= 2.5
    assert scores["f_measure"] >= 0.85
