"""B-HMM: accuracy on synthetic activations, stopping and restarting, the model
against a dense reference, and the madmom-style streaming state tests."""

import time

import numpy as np
import pytest

from ibeat_core.beat_hmm import (BeatEvent, BeatHMM, BeatHMMConfig, BeatTracker, track_online,
                                 valid_beat_probs, viterbi)
from ibeat_core.errors import ParameterError
from ibeat_metrics.beats import precision_recall_f

FPS = 30.0
TEMPI = [66.0, 90.0, 128.0, 170.0]
START_S = 0.3  # first beat of every synthetic train [s]


def beat_grid(bpm, start_s, end_s):
    """True beat times [s] from ``start_s`` every 60/bpm seconds, before ``end_s``."""
    return np.arange(start_s, end_s - 1e-9, 60.0 / bpm)


def activation(beats_s, duration_s, *, rng=None, background=0.0, peak=(1.0, 1.0),
               jitter_frames=0, miss_rate=0.0, false_peaks_hz=0.0):
    """Synthetic network output at 30 fps: a peak at the frame of every beat.

    ``background`` is the upper end of the uniform noise floor; peaks are drawn
    uniformly from ``peak``; beats are moved by up to ``jitter_frames``, dropped
    with ``miss_rate``, and ``false_peaks_hz`` spurious peaks are added.
    """
    n = int(round(duration_s * FPS))
    rng = rng or np.random.default_rng(0)
    p = rng.uniform(0.0, background, n) if background else np.zeros(n)
    frames = np.round(np.asarray(beats_s) * FPS).astype(int)
    if jitter_frames:
        frames += rng.integers(-jitter_frames, jitter_frames + 1, len(frames))
    frames = frames[(rng.random(len(frames)) >= miss_rate) & (frames >= 0) & (frames < n)]
    p[frames] = rng.uniform(*peak, len(frames))
    false = rng.integers(0, n, rng.poisson(false_peaks_hz * duration_s))
    p[false] = np.maximum(p[false], rng.uniform(0.3, 0.9, len(false)))
    return p


def f_after(reference_s, estimated_s, start_s, end_s=np.inf):
    """F-measure (70 ms window) of the beats in [start_s, end_s)."""
    ref = reference_s[(reference_s >= start_s) & (reference_s < end_s)]
    est = estimated_s[(estimated_s >= start_s - 0.07) & (estimated_s < end_s)]
    return precision_recall_f(ref, est)[2]


def warmup_s(bpm):
    """Half-way between the 3rd and 4th beat of a train that starts at ``START_S``."""
    return START_S + 2.5 * 60.0 / bpm


@pytest.mark.parametrize("bpm", TEMPI)
def test_clean_pulse_train_online(bpm):
    beats = beat_grid(bpm, START_S, 30.0)
    result = track_online(activation(beats, 30.0))
    assert f_after(beats, result.beat_times_s, warmup_s(bpm)) >= 0.9
    settled = np.arange(len(result.tempo_bpm)) / FPS > warmup_s(bpm)
    assert np.all(np.abs(result.tempo_bpm[settled] / bpm - 1) <= 0.02)
    assert np.all(result.confidence[settled] > 0.5)


@pytest.mark.parametrize("bpm", TEMPI)
def test_clean_pulse_train_viterbi(bpm):
    beats = beat_grid(bpm, START_S, 30.0)
    result = viterbi(activation(beats, 30.0))
    assert f_after(beats, result.beat_times_s, warmup_s(bpm)) >= 0.9
    assert result.dancing[int(warmup_s(bpm) * FPS):].all()
    assert np.all(np.abs(result.tempo_bpm[int(warmup_s(bpm) * FPS):] / bpm - 1) <= 0.02)


@pytest.mark.parametrize("bpm", TEMPI)
def test_noisy_activation(bpm):
    """Background noise, jitter of +-1 frame, 15 % missed beats, one false peak every 2 s."""
    beats = beat_grid(bpm, START_S, 40.0)
    p = activation(beats, 40.0, rng=np.random.default_rng(int(bpm)), background=0.1,
                   peak=(0.5, 1.0), jitter_frames=1, miss_rate=0.15, false_peaks_hz=0.5)
    online = track_online(p)
    offline = viterbi(p)
    assert f_after(beats, online.beat_times_s, warmup_s(bpm)) >= 0.75
    assert f_after(beats, offline.beat_times_s, warmup_s(bpm)) >= 0.75
    assert abs(np.median(online.tempo_bpm[int(10 * FPS):]) / bpm - 1) <= 0.03


@pytest.mark.parametrize("bpm", [66.0, 90.0, 128.0])
def test_stop_and_restart(bpm):
    """15 s of dance, 5 s still (p ~ U(0, 0.03)), then the dance resumes off-phase."""
    period = 60.0 / bpm
    stop_s, restart_s, end_s = 15.0, 20.0, 35.0
    before = beat_grid(bpm, START_S, stop_s)
    after = beat_grid(bpm, restart_s + 0.37 * period, end_s)
    rng = np.random.default_rng(1)
    p = np.maximum(activation(np.concatenate([before, after]), end_s, rng=rng),
                   rng.uniform(0.0, 0.03, int(end_s * FPS)))
    result = track_online(p)
    times = np.arange(len(p)) / FPS
    beats_s = result.beat_times_s
    gap_beats = beats_s[(beats_s > stop_s) & (beats_s < restart_s)]
    # At most the first expected beat after the stop is reported, nothing later.
    assert len(gap_beats) <= 1
    assert np.all(gap_beats <= before[-1] + period + 0.07)
    quiet = (times > before[-1] + 3.5 * period) & (times < restart_s)
    assert np.all(result.confidence[quiet] < 0.3)
    # Locked from the 4th beat after the restart on.
    assert f_after(after, result.beat_times_s, after[3] - period / 2) >= 0.95
    # Viterbi calls the stillness "not dancing" and reports no beat in it.
    offline = viterbi(p)
    assert not offline.dancing[(times > before[-1] + period) & (times < after[0] - period)].any()
    assert f_after(np.concatenate([before, after]), offline.beat_times_s, warmup_s(bpm)) >= 0.95


def test_dancing_probability_rises_with_the_pulse_and_falls_when_it_stops():
    bpm = 100.0
    period = 60.0 / bpm
    beats = beat_grid(bpm, START_S, 12.0)
    p = np.maximum(activation(beats, 18.0, rng=np.random.default_rng(4)),
                   np.random.default_rng(5).uniform(0.0, 0.03, int(18.0 * FPS)))
    tracker = BeatTracker()
    assert tracker.dancing == 0.5  # undecided before the first frame
    dancing = []
    for x in p:
        tracker.process_frame(x)
        dancing.append(tracker.dancing)
    dancing, times = np.array(dancing), np.arange(len(p)) / FPS
    assert dancing[(times > 4.0) & (times < beats[-1])].min() > 0.9
    assert dancing[times > beats[-1] + 2.5 * period].max() < 0.5


def test_still_from_the_start_reports_nothing():
    p = np.random.default_rng(2).uniform(0.0, 0.03, int(20 * FPS))
    result = track_online(p)
    assert len(result.beat_frames) == 0
    assert result.confidence[int(3 * FPS):].max() < 0.3
    assert len(viterbi(p).beat_frames) == 0


def test_tempo_change_is_followed():
    """90 BPM for 15 s, then 120 BPM, with no break in the pulse."""
    first = beat_grid(90.0, START_S, 15.0)
    second = beat_grid(120.0, first[-1] + 0.5, 30.0)
    beats = np.concatenate([first, second])
    p = activation(beats, 30.0)
    times = np.arange(len(p)) / FPS
    for result in (track_online(p), viterbi(p)):
        after_4 = times >= second[4]
        assert np.all(np.abs(result.tempo_bpm[after_4] / 120.0 - 1) <= 0.03)
        assert f_after(second, result.beat_times_s, second[4]) >= 0.95
        assert f_after(first, result.beat_times_s, warmup_s(90.0), second[0]) >= 0.9


@pytest.mark.parametrize("bpm", TEMPI)
def test_next_beat_forecast(bpm):
    beats = beat_grid(bpm, START_S, 30.0)
    result = track_online(activation(beats, 30.0))
    times = np.arange(len(result.next_beat_s)) / FPS
    upcoming = np.searchsorted(beats, times, side="right")
    valid = (times > warmup_s(bpm)) & (upcoming < len(beats))
    true_next = beats[upcoming[valid]]
    ahead = true_next - times[valid] >= 0.1
    error_s = np.abs(result.next_beat_s[valid] - true_next)[ahead]
    assert np.median(error_s) < 0.05
    assert np.all(result.next_beat_s > times)


def test_event_fields_in_range():
    p = activation(beat_grid(100.0, 0.3, 20.0), 20.0, rng=np.random.default_rng(5),
                   background=0.2, peak=(0.3, 1.0), jitter_frames=1, miss_rate=0.2)
    tracker = BeatTracker()
    events = [tracker.process_frame(x) for x in p]
    assert all(isinstance(e, BeatEvent) for e in events)
    assert [e.time_s for e in events] == [t / FPS for t in range(len(p))]
    assert all(0.0 <= e.phase < 1.0 and 0.0 <= e.confidence <= 1.0 for e in events)
    assert all(60.0 - 1 <= e.tempo_bpm <= 180.0 + 1 for e in events)
    beats = np.array([e.time_s for e in events if e.is_beat])
    assert np.all(np.diff(beats) >= 0.5 * 60.0 / 180.0)


# --- the model against a dense reference on a small configuration -----------------

SMALL = BeatHMMConfig(fps=10.0, min_bpm=60.0, max_bpm=150.0, substeps=2)


def dense_model(config):
    """Transition matrix ``A[from, to]`` and a log-likelihood function, written
    from the model's definition, state by state."""
    hmm = BeatHMM(config)
    k = config.substeps
    intervals = np.arange(int(round(60 * config.fps * k / config.max_bpm)),
                          int(round(60 * config.fps * k / config.min_bpm)) + 1)
    states = [(i, q) for i, n in enumerate(intervals) for q in range(n)]
    index = {s: n for n, s in enumerate(states)}
    silent = len(states)
    tempo = np.exp(-config.transition_lambda * np.abs(intervals[None] / intervals[:, None] - 1))
    tempo /= tempo.sum(axis=1, keepdims=True)
    tempo[tempo < 1e-12] = 0
    tempo /= tempo.sum(axis=1, keepdims=True)
    p_start = 1 - np.exp(-config.start_rate_hz / config.fps)
    a = np.zeros((silent + 1, silent + 1))
    for (i, q), n in index.items():
        if q + k < intervals[i]:
            a[n, index[i, q + k]] = 1.0
        else:
            a[n, silent] = config.stop_probability
            for j in range(len(intervals)):
                a[n, index[j, q + k - intervals[i]]] = (1 - config.stop_probability) * tempo[i, j]
    a[silent, silent] = 1 - p_start
    for j in range(len(intervals)):
        for r in range(k):
            a[silent, index[j, r]] = p_start / (k * len(intervals))
    is_beat = np.array([q < max(k, intervals[i] / config.observation_lambda) for i, q in states]
                       + [False])

    def log_likelihood(p):
        p = np.clip(p, config.activation_floor, 1 - config.activation_floor)
        return np.where(is_beat, np.log(p), np.log((1 - p) / (config.observation_lambda - 1)))

    assert hmm.n_states == silent + 1
    np.testing.assert_array_equal(hmm.intervals_steps, intervals)
    return hmm, a, log_likelihood, intervals, states


def test_predict_equals_dense_transition_matrix():
    hmm, a, _, _, _ = dense_model(SMALL)
    np.testing.assert_allclose(a.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    alpha = np.random.default_rng(0).random(hmm.n_states)
    np.testing.assert_allclose(hmm.predict(alpha), alpha @ a, rtol=1e-12, atol=0)


def test_forward_filter_equals_dense_forward():
    hmm, a, log_likelihood, _, _ = dense_model(SMALL)
    p = activation(beat_grid(100.0, 0.2, 12.0), 12.0, background=0.3)[::3]  # 10 fps
    tracker = BeatTracker(SMALL)
    prior = hmm.initial.copy()
    for x in p:
        tracker.process_frame(x)
        alpha = prior * np.exp(log_likelihood(x))
        prior = (alpha / alpha.sum()) @ a
    np.testing.assert_allclose(tracker.prediction, prior, rtol=1e-9, atol=1e-300)


def test_viterbi_equals_dense_viterbi():
    hmm, a, log_likelihood, intervals, states = dense_model(SMALL)
    p = activation(beat_grid(80.0, 0.2, 20.0), 20.0, rng=np.random.default_rng(4),
                   background=0.3, peak=(0.4, 1.0), miss_rate=0.2)[::3]
    with np.errstate(divide="ignore"):
        log_a = np.log(a)
    delta = np.log(hmm.initial) + log_likelihood(p[0])
    pointers = []
    for x in p[1:]:
        scores = delta[:, None] + log_a
        pointers.append(np.argmax(scores, axis=0))
        delta = scores.max(axis=0) + log_likelihood(x)
    path = [int(np.argmax(delta))]
    for back in reversed(pointers):
        path.append(int(back[path[-1]]))
    path = path[::-1]
    silent = len(states)
    dancing = np.array([s != silent for s in path])
    beat_frames = [t for t, s in enumerate(path) if s != silent and states[s][1] < SMALL.substeps]
    result = viterbi(p, config=SMALL)
    np.testing.assert_array_equal(result.dancing, dancing)
    np.testing.assert_array_equal(result.beat_frames, beat_frames)
    assert len(beat_frames) > 10
    np.testing.assert_allclose(result.beat_times_s, np.array(beat_frames) / SMALL.fps)


def test_prediction_stays_far_from_underflow():
    p = activation(beat_grid(120.0, 0.3, 120.0), 120.0)
    tracker = BeatTracker()
    smallest = np.inf
    for x in p:
        tracker.process_frame(x)
        smallest = min(smallest, tracker.prediction.min())
    assert smallest > 1e-200


# --- streaming state (madmom style) -------------------------------------------

@pytest.fixture(scope="module")
def noisy_probs():
    return activation(beat_grid(110.0, 0.3, 20.0), 20.0, rng=np.random.default_rng(7),
                      background=0.1, peak=(0.5, 1.0), jitter_frames=1, miss_rate=0.1,
                      false_peaks_hz=0.3)


def _stream(tracker, probs):
    return [tracker.process_frame(x) for x in probs]


def test_rerun_after_reset_is_identical(noisy_probs):
    tracker = BeatTracker()
    first = _stream(tracker, noisy_probs)
    tracker.reset()
    assert _stream(tracker, noisy_probs) == first


def test_no_reset_changes_the_output(noisy_probs):
    tracker = BeatTracker()
    first = _stream(tracker, noisy_probs)
    second = _stream(tracker, noisy_probs)
    assert [e.time_s for e in second][0] == len(noisy_probs) / FPS
    # Already locked: the second pass reports beats from its first beats on.
    assert [e.is_beat for e in second[:60]] != [e.is_beat for e in first[:60]]
    assert [e.confidence for e in second[:30]] != [e.confidence for e in first[:30]]


def test_deterministic_and_track_online_equals_frame_by_frame(noisy_probs):
    events = _stream(BeatTracker(), noisy_probs)
    assert _stream(BeatTracker(), noisy_probs) == events
    result = track_online(noisy_probs)
    np.testing.assert_array_equal(result.beat_frames,
                                  [t for t, e in enumerate(events) if e.is_beat])
    np.testing.assert_array_equal(result.beat_times_s, [e.time_s for e in events if e.is_beat])
    np.testing.assert_array_equal(result.confidence, [e.confidence for e in events])
    np.testing.assert_array_equal(result.next_beat_s, [e.next_beat_s for e in events])
    np.testing.assert_array_equal(result.tempo_bpm, [e.tempo_bpm for e in events])
    np.testing.assert_array_equal(result.phase, [e.phase for e in events])
    once, twice = viterbi(noisy_probs), viterbi(noisy_probs)
    np.testing.assert_array_equal(once.beat_frames, twice.beat_frames)
    np.testing.assert_array_equal(once.tempo_bpm, twice.tempo_bpm)


def test_rejected_frame_leaves_the_state_unchanged(noisy_probs):
    clean = _stream(BeatTracker(), noisy_probs)
    tracker = BeatTracker()
    events = _stream(tracker, noisy_probs[:100])
    with pytest.raises(ParameterError):
        tracker.process_frame(float("nan"))
    events += _stream(tracker, noisy_probs[100:])
    assert events == clean


# --- bad input ---------------------------------------------------------------

@pytest.mark.parametrize("p", [float("nan"), -0.01, 1.01, float("inf")])
def test_bad_frame_probability_raises(p):
    with pytest.raises(ParameterError, match=r"\[0, 1\]"):
        BeatTracker().process_frame(p)


@pytest.mark.parametrize("probs", [[0.1, np.nan], [0.2, 1.5], [-0.1], np.zeros((3, 2))])
def test_bad_probability_arrays_raise(probs):
    for decode in (viterbi, track_online, valid_beat_probs):
        with pytest.raises(ParameterError):
            decode(probs)


def test_empty_input():
    result = viterbi([])
    assert result.beat_frames.shape == (0,) and result.tempo_bpm.shape == (0,)
    online = track_online([])
    assert online.beat_times_s.shape == (0,) and online.confidence.shape == (0,)


@pytest.mark.parametrize("kwargs", [
    dict(fps=0.0), dict(fps=np.nan), dict(min_bpm=120.0, max_bpm=100.0), dict(min_bpm=0.0),
    dict(substeps=0), dict(substeps=2.5), dict(fps=5.0, max_bpm=180.0),
    dict(transition_lambda=0.0), dict(observation_lambda=1.0), dict(stop_probability=0.0),
    dict(stop_probability=1.0), dict(start_rate_hz=0.0), dict(activation_floor=0.0),
    dict(activation_floor=0.5), dict(min_confidence=1.5), dict(tolerance_s=0.0),
])
def test_bad_config_raises(kwargs):
    with pytest.raises(ParameterError):
        BeatHMMConfig(**kwargs)


def test_step_time_report():
    """Median time of one online step over 60 s at 30 fps (printed, not asserted)."""
    p = activation(beat_grid(120.0, 0.3, 60.0), 60.0, rng=np.random.default_rng(9),
                   background=0.1, peak=(0.5, 1.0), jitter_frames=1, miss_rate=0.1)
    tracker = BeatTracker()
    durations_ns = []
    for x in p:
        x = float(x)
        start = time.perf_counter_ns()
        tracker.process_frame(x)
        durations_ns.append(time.perf_counter_ns() - start)
    print(f"\nB-HMM online step: median {np.median(durations_ns) / 1e3:.1f} us, "
          f"p95 {np.percentile(durations_ns, 95) / 1e3:.1f} us over {len(p)} frames, "
          f"{tracker.model.n_states} states")
