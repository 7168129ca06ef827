"""Beat trackers chosen by name: the session runs whatever tracker its config names."""

import math

import numpy as np
import pytest

from ibeat_core.beat_hmm import BeatEvent
from ibeat_core.beat_tracking import BeatFrame, OnlineBeatTracker
from ibeat_core.errors import ParameterError
from ibeat_core.session import Session, SessionConfig
from ibeat_core.trackers import (DEFAULT_TRACKER, TRACKERS, build_tracker, register_tracker)
from ibeat_models import load_networks


class MetronomeTracker:
    """A tracker that hears a steady beat every ``period_s`` from t = 0, whatever the body does."""

    min_bpm = 40.0
    min_confidence = 0.5

    def __init__(self, period_s: float):
        self.period_s = period_s
        self.resets = 0

    def reset(self):
        self.resets += 1

    def process_frame_steps(self, timestamp_s, keypoints):
        """No network steps: returns at once (a generator, as the protocol asks)."""
        yield from ()
        t = float(timestamp_s)
        next_beat = (math.floor(t / self.period_s) + 1) * self.period_s
        frame = BeatFrame(time_s=t, offset=0.0, kinematic_offset=0.5, beat_prob=0.0,
                          is_beat=False, tempo_bpm=60.0 / self.period_s, phase=0.0,
                          confidence=1.0, next_beat_s=next_beat)
        return [(frame, np.asarray(keypoints, float)[:, :2], 1.0)]


@pytest.fixture
def metronome():
    built = []

    def factory(networks, rhythm, hmm):
        built.append(MetronomeTracker(0.5))
        return built[-1]

    register_tracker("test-metronome", factory)
    yield built
    del TRACKERS["test-metronome"]


def test_the_default_is_the_groove_and_the_papers_visbeat_bhmm_stays():
    from ibeat_core.beat_hmm import BeatTracker
    from ibeat_core.groove import GrooveDecoder

    assert SessionConfig().tracker == DEFAULT_TRACKER == "groove"
    groove = build_tracker("groove", load_networks())
    assert isinstance(groove.decoder, GrooveDecoder)
    assert (groove.min_bpm, groove.min_confidence) == (groove.decoder.config.hmm.min_bpm,
                                                       groove.decoder.config.stop_dancing)
    tracker = build_tracker("visbeat", load_networks())
    assert isinstance(tracker, OnlineBeatTracker) and isinstance(tracker.decoder, BeatTracker)
    assert (tracker.min_bpm, tracker.min_confidence) == (tracker.decoder.config.min_bpm,
                                                         tracker.decoder.config.min_confidence)


def test_an_unknown_tracker_is_refused_with_the_known_names():
    with pytest.raises(ParameterError, match="unknown beat tracker 'nope'; known: .*visbeat"):
        SessionConfig(tracker="nope")
    with pytest.raises(ParameterError, match="unknown beat tracker"):
        build_tracker("nope", None)
    with pytest.raises(ParameterError, match="already registered"):
        register_tracker("visbeat", lambda *a: None)


def test_a_session_plays_on_the_beats_of_the_tracker_its_config_names(metronome, aist_clip):
    session = Session(load_networks(), SessionConfig(tracker="test-metronome", seed=1))
    assert session.tracker is metronome[0] and metronome[0].resets == 1
    t, kp = aist_clip.timestamps_s[:150], aist_clip.keypoints[:150]
    events = [e for a, b in zip(t - t[0], kp) for e in session.push(a, b)]
    beats = [e for e in events if type(e).__name__ == "BeatCue"]
    # The clip lasts 2.48 s; the beat at 2.5 s is committed ahead of its time.
    assert [b.time_s for b in beats] == [0.5, 1.0, 1.5, 2.0, 2.5]
    assert {b.tempo_bpm for b in beats} == {120.0}
    assert all(b.time_s - b.emitted_s >= SessionConfig().lead_s for b in beats)
    session.reset()
    assert metronome[0].resets == 2


def test_an_online_tracker_takes_another_decoder():
    class Probe:
        """A decoder that records what the activation gave it and never finds a beat."""

        min_bpm, min_confidence = 50.0, 0.7

        def __init__(self):
            self.probs = []

        def reset(self):
            self.probs = []

        def process_frame(self, p):
            self.probs.append(p)
            return BeatEvent(len(self.probs) / 30.0, False, 100.0, 0.0, 0.0, 1.0)

    class Half:
        def initial_state(self):
            return None

        def step(self, row, flux, state):
            return 0.25, 0.5, state

    decoder = Probe()
    tracker = OnlineBeatTracker(Half(), decoder=decoder)
    assert (tracker.min_bpm, tracker.min_confidence) == (50.0, 0.7)
    kp = np.zeros((17, 3))
    kp[:, 2] = 1.0
    kp[:, :2] = np.random.default_rng(0).random((17, 2))
    frames = [f for i in range(20) for f in tracker.process_frame(i / 30.0, kp)]
    assert frames and decoder.probs == [0.5] * len(frames)
    assert all(f.tempo_bpm == 100.0 and f.beat_prob == 0.5 for f in frames)
