"""The online beat stage with a stand-in network: streaming plumbing, clocks and state."""

import numpy as np
import pytest

from ibeat_core.beat_tracking import OnlineBeatTracker, track_clip
from ibeat_metrics.beats import tempo_agrees
from ibeat_core.rhythm import motion_rhythm


class OffsetNetwork:
    """A network that calls the causal kinematic offset its beat probability.

    It keeps the last row in its state, so a tracker that shares state across
    streams would be caught.
    """

    def __init__(self):
        from ibeat_core.kinematic import KinematicOffsetTracker
        self._cls = KinematicOffsetTracker

    def initial_state(self):
        return self._cls()

    def step(self, row, flux, state):
        k = state.process_frame(row)
        return k, float(np.clip(k, 0.0, 1.0)) ** 4, state


def test_online_tracker_matches_causal_offsets_and_clock(aist_clip):
    t, kp = aist_clip.timestamps_s + 100.0, aist_clip.keypoints
    online = track_clip(OffsetNetwork(), t, kp)
    causal = motion_rhythm(t, kp, causal=True)
    np.testing.assert_array_equal(online.times_s, causal.times_s)
    np.testing.assert_allclose(online.offsets, causal.offsets, atol=1e-12)
    assert np.all(online.next_beat_s > online.times_s)
    assert online.beat_times_s.min() >= 100.0
    # Even this crude network gives the clip's 80 BPM (or a metrical multiple) once locked.
    assert tempo_agrees(float(np.median(online.tempo_bpm[len(online.tempo_bpm) // 2:])), 80.0)


@pytest.mark.slow
def test_reset_and_independent_streams(aist_clip):
    t, kp = aist_clip.timestamps_s[:300], aist_clip.keypoints[:300]
    tracker = OnlineBeatTracker(OffsetNetwork())
    first = [f for a, b in zip(t, kp) for f in tracker.process_frame(a, b)]
    tracker.reset()
    again = [f for a, b in zip(t, kp) for f in tracker.process_frame(a, b)]
    assert first == again
    other = OnlineBeatTracker(OffsetNetwork())
    interleaved = []
    for a, b in zip(t, kp):
        interleaved += other.process_frame(a, b)
        tracker.process_frame(a + 1000.0, b)   # a second stream must not disturb the first
    assert [f.beat_prob for f in interleaved] == [f.beat_prob for f in first]


def test_online_tracker_reports_the_measured_causal_offsets(aist_clip):
    """Beside the network's offsets, each frame carries the core's causal offsets."""
    t, kp = aist_clip.timestamps_s, aist_clip.keypoints
    tracker = OnlineBeatTracker(OffsetNetwork())
    frames = [f for a, b in zip(t, kp) for f in tracker.process_frame(a, b)]
    causal = motion_rhythm(t, kp, causal=True)
    np.testing.assert_allclose([f.kinematic_offset for f in frames], causal.offsets, atol=1e-12)
