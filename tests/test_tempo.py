import numpy as np
import pytest

from ibeat_core.errors import ParameterError
from ibeat_metrics.beats import tempo_agrees
from ibeat_core.tempo import TempoConfig, estimate_tempo, tempo_curve

FPS = 30.0


def _pulses(bpm, seconds=20.0, width=8, phase=0.0):
    t = np.arange(int(seconds * FPS)) / FPS
    return np.maximum(np.cos(2 * np.pi * (t * bpm / 60 + phase)), 0) ** width


@pytest.mark.parametrize("bpm", [66.0, 80.0, 97.0, 123.0, 150.0, 172.0])
def test_pulse_train_tempo(bpm):
    est = estimate_tempo(_pulses(bpm))
    assert tempo_agrees(est, bpm, tolerance=0.02)


def test_bar_periodicity_does_not_pass_for_the_beat():
    """A waltz-like signal: a big swell every bar of 3 beats and a small pulse on each beat."""
    beat, bar = _pulses(90.0, width=16), _pulses(30.0, width=2)
    est = estimate_tempo(0.3 * beat + bar, 0.3 * beat + bar)
    assert tempo_agrees(est, 90.0)


def test_no_motion_or_short_clip_gives_zero():
    assert estimate_tempo(np.zeros(300)) == 0.0
    assert estimate_tempo(_pulses(100.0, seconds=0.5)) == 0.0


def test_tempo_curve_follows_a_tempo_change():
    x = np.r_[_pulses(80.0, 15), _pulses(120.0, 15)]
    curve = tempo_curve(x)
    assert tempo_agrees(float(np.median(curve[:200])), 80.0)
    assert tempo_agrees(float(np.median(curve[-200:])), 120.0)


def test_config_and_input_validation():
    with pytest.raises(ParameterError):
        TempoConfig(min_bpm=200, max_bpm=100)
    with pytest.raises(ParameterError, match="Nyquist"):
        TempoConfig(n_harmonics=8)
    with pytest.raises(ParameterError):
        estimate_tempo(np.zeros((10, 2)))
    with pytest.raises(ParameterError):
        estimate_tempo(np.zeros(100), np.zeros(99))
