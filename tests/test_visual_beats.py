import numpy as np
import pytest

from ibeat_core.errors import ParameterError
from ibeat_core.visual_beats import PeakConfig, VisualBeatConfig, pick_peaks, visual_beats


def test_rule_based_window_wait_and_threshold():
    x = np.zeros(90)
    x[[10, 13]] = [0.8, 0.9]   # 13 is the window maximum
    x[[30, 36]] = [0.7, 0.7]   # 36 is 0.2 s after 30: inside the 0.25 s wait
    x[60] = 0.01               # under the 0.015 threshold above the window mean
    assert pick_peaks(x).tolist() == [13, 30]


def test_rule_based_threshold_is_relative_to_window_mean():
    x = np.full(40, 0.5)
    x[20] = 0.51   # a maximum, but only 0.01 above its surroundings
    assert pick_peaks(x).tolist() == []
    x[20] = 0.6
    assert pick_peaks(x).tolist() == [20]


def test_dp_prefers_even_spacing_over_louder_distractors():
    fps, bpm = 30.0, 100.0
    t = np.arange(int(12 * fps)) / fps
    x = 0.8 * np.maximum(np.cos(2 * np.pi * t * bpm / 60), 0) ** 10
    rng = np.random.default_rng(0)
    for i in rng.choice(len(x), 12, replace=False):
        x[i] = max(x[i], rng.uniform(0.5, 1.0))   # strong but aperiodic stops
    beats = visual_beats(x)
    true = np.round(np.arange(0, 12, 60 / bpm) * fps)
    hit = np.mean([np.min(np.abs(beats - b)) <= 2 for b in true])
    assert hit >= 0.9
    assert np.median(np.diff(beats)) == pytest.approx(18, abs=1)


def test_dp_bridges_a_pause():
    fps = 30.0
    t = np.arange(int(20 * fps)) / fps
    x = np.maximum(np.cos(2 * np.pi * t * 90 / 60), 0) ** 10
    x[int(8 * fps):int(12 * fps)] = 0.0   # the dancer stops for 4 s
    beats = visual_beats(x) / fps
    assert beats.min() < 1.0 and beats.max() > 19.0
    assert not np.any((beats > 8.2) & (beats < 11.8))


def test_empty_and_invalid():
    assert visual_beats(np.zeros(100)).size == 0
    with pytest.raises(ParameterError):
        pick_peaks(np.array([0.0, np.nan]))
    with pytest.raises(ParameterError):
        VisualBeatConfig(alpha=-1)
    with pytest.raises(ParameterError):
        VisualBeatConfig(fps=25.0)   # peaks still at 30 Hz
    assert PeakConfig(fps=60).wait_frames == 15
