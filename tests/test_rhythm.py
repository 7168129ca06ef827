import numpy as np
import pytest

from ibeat_core.errors import ParameterError
from ibeat_metrics.beats import tempo_agrees
from ibeat_core.rhythm import RhythmConfig, analyze, motion_rhythm


def test_analyze_real_clip_finds_the_music_tempo(aist_clip):
    result = analyze(aist_clip.timestamps_s, aist_clip.keypoints)
    assert tempo_agrees(result.tempo_bpm, 80.0)
    beats = result.beat_times_s
    # 12 s at 80 BPM: the dancer marks most beats, never more than two per beat.
    assert 10 <= len(beats) <= 32
    assert np.all(np.diff(beats) >= 60 / 180 - 1e-9)
    assert len(result.rule_beat_times_s) >= len(beats)


def test_analysis_is_deterministic(aist_clip):
    a = analyze(aist_clip.timestamps_s, aist_clip.keypoints)
    b = analyze(aist_clip.timestamps_s, aist_clip.keypoints)
    np.testing.assert_array_equal(a.beat_times_s, b.beat_times_s)
    assert a.tempo_bpm == b.tempo_bpm


def test_times_stay_in_the_senders_clock(aist_clip):
    shifted = analyze(aist_clip.timestamps_s + 1000.0, aist_clip.keypoints)
    plain = analyze(aist_clip.timestamps_s, aist_clip.keypoints)
    np.testing.assert_allclose(shifted.beat_times_s, plain.beat_times_s + 1000.0)


def test_still_person_has_no_beats():
    """Detector jitter of 0.5% of the torso length per frame (as on AIST++) is no dance."""
    t = np.arange(0, 10, 1 / 30)
    kp = np.zeros((len(t), 17, 3))
    kp[..., 0] = np.linspace(100, 200, 17)
    kp[..., 1] = np.linspace(100, 400, 17)
    kp[..., 2] = 1.0
    kp[..., :2] += np.random.default_rng(0).normal(0, 0.6, size=kp[..., :2].shape)
    result = analyze(t, kp)
    assert result.beat_times_s.size <= 2


def test_other_internal_rates(aist_clip):
    for fps in (25.0, 60.0):
        r = motion_rhythm(aist_clip.timestamps_s, aist_clip.keypoints, config=RhythmConfig.at_fps(fps))
        assert np.allclose(np.diff(r.times_s), 1 / fps)
        assert tempo_agrees(analyze(aist_clip.timestamps_s, aist_clip.keypoints,
                                    config=RhythmConfig.at_fps(fps)).tempo_bpm, 80.0)


def test_mixed_rates_rejected():
    from ibeat_core.kinematic import KinematicConfig
    with pytest.raises(ParameterError, match="one fps"):
        RhythmConfig(kinematic=KinematicConfig(fps=60.0))
