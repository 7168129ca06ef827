"""Onset envelope and beat style: shapes, units, the GMD invariant, streaming, bad input."""

import math
from pathlib import Path

import numpy as np
import pytest

from ibeat_core.drums import DrumGrid, drum_style
from ibeat_core.errors import ParameterError
from ibeat_core.style import (ENVELOPE_DECAY_S, StyleCalibration, beat_style,
                              fit_style_calibration, onset_envelope)
from ibeat_io.groove import load_groove_file, load_info

GROOVE_FIXTURES = Path(__file__).parent / "fixtures" / "groove"
FPS = 30.0
# The most a hit's decay adds to the next 16th: its tail one frame after the peak.
TAIL_BOUND = math.exp(-1.0 / (ENVELOPE_DECAY_S * FPS)) + 1e-6


def style_errors(grid, **envelope_kwargs):
    """|beat_style of the envelope - drum_style of the grid| per step, beats 1.. that fit."""
    envelope = onset_envelope(grid, fps=FPS, **envelope_kwargs)
    beat = 60.0 / grid.bpm * FPS
    truth = drum_style(grid.hits)
    errors = []
    for b in range(1, grid.n_steps // 4):
        start = b * beat - beat / 8      # half a 16th early: the grid's own filing
        if start + beat > len(envelope):
            break
        style = beat_style(envelope, start_frame=start, end_frame=start + beat)
        errors.append(np.abs(style - truth[4 * b:4 * b + 4]))
    return np.concatenate(errors)


@pytest.fixture(scope="module")
def fixture_grids():
    return [load_groove_file(GROOVE_FIXTURES, e) for e in load_info(GROOVE_FIXTURES)]


def test_envelope_shape_units_and_peaks(fixture_grids):
    for grid in fixture_grids:
        env = onset_envelope(grid)
        assert env.dtype == np.float32
        assert env.shape == (math.ceil(grid.duration_s * FPS),)
        assert env.min() >= 0 and env.max() <= 1
        assert math.isclose(env.max(), drum_style(grid.hits).max(), rel_tol=1e-6)
    assert onset_envelope(fixture_grids[0], n_frames=5).shape == (5,)
    assert onset_envelope(fixture_grids[0], fps=60.0).shape == (
        math.ceil(fixture_grids[0].duration_s * 60.0),)


def test_peak_sits_at_the_hit_time_with_its_velocity():
    hits = np.zeros((8, 9), np.float32)
    hits[3, 2] = 0.6
    offsets = np.zeros_like(hits)
    offsets[3, 2] = 0.25          # a quarter of a 16th late
    grid = DrumGrid(hits, offsets, bpm=90.0, start_s=1.0)   # a 16th = 5 frames at 30 Hz
    env = onset_envelope(grid)
    assert int(np.argmax(env)) == round(3.25 * 5)           # frame 0 is at grid.start_s
    assert math.isclose(float(env.max()), 0.6, rel_tol=1e-6)
    assert np.all(np.diff(env[16:]) <= 0)                   # then it only decays


def test_style_of_the_envelope_is_the_grid_style_on_gmd_fixtures(fixture_grids):
    # Measured on the three fixtures (116 BPM fill, 142 and 100 BPM beats): mean
    # |error| 0.019, 0.005, 0.002 and at most 0.189, the one-frame tail of a hit.
    for grid in fixture_grids:
        errors = style_errors(grid)
        assert errors.mean() <= 0.025
        assert errors.max() <= TAIL_BOUND
        # Without the decay the two agree exactly: the envelope files every hit
        # under its own 16th, as the grid does.
        assert style_errors(grid, decay_s=1e-4).max() <= 1e-6


def test_style_invariant_on_real_gmd_validation(data_dir):
    root = data_dir / "groove-midi"
    entries = [e for e in load_info(root, split="validation") if e.bpm <= 140][:40]
    errors = np.concatenate([style_errors(load_groove_file(root, e)) for e in entries])
    # Measured on all 108 such files: mean 0.0026, max 0.189.
    assert errors.mean() <= 0.01
    assert errors.max() <= TAIL_BOUND


def test_beat_style_reads_fractional_intervals():
    env = np.zeros(20, np.float32)
    env[[2, 7, 12]] = [0.9, 0.3, 0.5]
    np.testing.assert_allclose(beat_style(env, start_frame=0.5, end_frame=16.5),
                               [0.9, 0.3, 0.5, 0.0])
    assert beat_style(env, start_frame=0, end_frame=20, steps_per_beat=2).shape == (2,)
    # 16ths shorter than a frame read the envelope by linear interpolation.
    np.testing.assert_allclose(beat_style(env, start_frame=1.5, end_frame=2.5),
                               [0.675, 0.9, 0.9, 0.675], rtol=1e-6)
    assert beat_style(np.full(4, 2.0), start_frame=0, end_frame=4).max() == 1.0   # clipped


def test_calibration_maps_body_style_onto_the_drum_scale():
    rng = np.random.default_rng(0)
    body = 0.1 + 0.4 * rng.random(5000)                       # compressed, never 0
    drums = np.where(rng.random(5000) < 0.3, 0.0, rng.random(5000))
    cal = fit_style_calibration(body, drums)
    mapped = cal(body)
    assert mapped.dtype == np.float32 and mapped.min() >= 0 and mapped.max() <= 1
    assert abs(np.mean(mapped == 0) - np.mean(drums == 0)) < 0.03   # the silent 16ths come back
    assert np.all(np.diff(cal(np.sort(body))) >= 0)                 # monotone
    assert StyleCalibration(**{k: np.array(v) for k, v in cal.to_dict().items()})(0.3) == \
        pytest.approx(cal(0.3), abs=1e-5)


def test_bad_input_raises_parameter_error(fixture_grids):
    grid = fixture_grids[0]
    env = onset_envelope(grid)
    bad_calls = [
        lambda: onset_envelope(np.zeros((4, 9))),
        lambda: onset_envelope(grid, fps=0),
        lambda: onset_envelope(grid, n_frames=-1),
        lambda: onset_envelope(grid, decay_s=float("nan")),
        lambda: beat_style(env[None], start_frame=0, end_frame=4),
        lambda: beat_style([], start_frame=0, end_frame=1),
        lambda: beat_style([0.0, np.nan], start_frame=0, end_frame=1),
        lambda: beat_style(env, start_frame=-1, end_frame=4),
        lambda: beat_style(env, start_frame=4, end_frame=4),
        lambda: beat_style(env, start_frame=0, end_frame=len(env) + 1),
        lambda: beat_style(env, start_frame=0, end_frame=4, steps_per_beat=0),
        lambda: fit_style_calibration([0.1], [0.2]),
        lambda: StyleCalibration(np.array([0.5, 0.1]), np.array([0.0, 1.0])),
    ]
    for call in bad_calls:
        with pytest.raises(ParameterError):
            call()
