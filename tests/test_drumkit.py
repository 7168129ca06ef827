"""Tests of ibeat_io.drumkit (the synthesised kit) and ibeat_io.audio (WAV)."""

import importlib.util

import numpy as np
import pretty_midi
import pytest
import soundfile

from ibeat_io.drumkit import (
    LIMIT_THRESHOLD,
    MIX_GAIN,
    PEAK_CEILING,
    SAMPLE_RATE,
    VOICE_LENGTHS_S,
    render_clicks,
    render_grid,
    render_hits,
    soft_limit,
    synth_voice,
)
from ibeat_core.drums import DRUM_CLASSES, N_DRUM_CLASSES, DrumGrid
from ibeat_core.errors import ParameterError
from ibeat_io.audio import render_with_fluidsynth, write_wav

CLASSES = range(N_DRUM_CLASSES)


def rms(x):
    return float(np.sqrt(np.mean(np.asarray(x, dtype=np.float64) ** 2)))


def centroid_hz(x, sample_rate=SAMPLE_RATE):
    spectrum = np.abs(np.fft.rfft(x))
    freqs = np.fft.rfftfreq(x.size, 1 / sample_rate)
    return float((spectrum * freqs).sum() / spectrum.sum())


class TestSynthVoice:
    @pytest.mark.parametrize("drum_class", CLASSES)
    def test_shape_level_and_no_clipping(self, drum_class):
        x = synth_voice(drum_class, 1.0)
        assert x.dtype == np.float32
        assert x.shape == (round(VOICE_LENGTHS_S[drum_class] * SAMPLE_RATE),)
        assert np.all(np.isfinite(x))
        assert 0.1 < np.abs(x).max() <= 1.0
        assert abs(x[-1]) < 1e-3  # faded out, no click at the end

    @pytest.mark.parametrize("drum_class", CLASSES)
    def test_deterministic_for_a_seed(self, drum_class):
        np.testing.assert_array_equal(synth_voice(drum_class, 0.7, seed=3),
                                      synth_voice(drum_class, 0.7, seed=3))
        assert not np.array_equal(synth_voice(drum_class, 0.7, seed=3),
                                  synth_voice(drum_class, 0.7, seed=4))

    @pytest.mark.parametrize("drum_class", CLASSES)
    def test_louder_and_brighter_with_velocity(self, drum_class):
        soft, mid, hard = (synth_voice(drum_class, v) for v in (0.2, 0.5, 1.0))
        assert rms(soft) < rms(mid) < rms(hard)
        assert rms(hard) / rms(soft) > 5  # > 14 dB of dynamics
        assert centroid_hz(soft) < centroid_hz(hard)

    def test_voices_differ_in_register(self):
        def peak_hz(x):
            return np.argmax(np.abs(np.fft.rfft(x))) * SAMPLE_RATE / x.size

        # Pitched drums: kick lowest, then the toms from low to high.
        kick, low, mid, high = (peak_hz(synth_voice(k, 0.8)) for k in (0, 4, 5, 6))
        assert 40 < kick < low < mid < high < 250
        # Noisy ones: snare below the metal; hats brightest.
        c = {name: centroid_hz(synth_voice(k, 0.8)) for k, name in enumerate(DRUM_CLASSES)}
        assert c["snare"] < min(c["crash"], c["closed_hihat"], c["open_hihat"])
        assert max(c["crash"], c["ride"]) < min(c["closed_hihat"], c["open_hihat"])

    def test_works_at_other_sample_rates(self):
        for sr in (8000, 22050, 48000):
            x = synth_voice(7, 1.0, sample_rate=sr)
            assert x.size == round(VOICE_LENGTHS_S[7] * sr) and np.all(np.isfinite(x))

    @pytest.mark.parametrize(
        "args, kwargs, match",
        [
            ((9, 1.0), {}, "drum_class"),
            ((-1, 1.0), {}, "drum_class"),
            ((1.0, 1.0), {}, "drum_class"),
            ((0, 0.0), {}, "velocity"),
            ((0, 1.5), {}, "velocity"),
            ((0, "loud"), {}, "velocity"),
            ((0, 1.0), {"sample_rate": 1000}, "sample_rate"),
            ((0, 1.0), {"sample_rate": 44100.0}, "sample_rate"),
            ((0, 1.0), {"seed": -1}, "seed"),
        ],
    )
    def test_bad_input_raises(self, args, kwargs, match):
        with pytest.raises(ParameterError, match=match):
            synth_voice(*args, **kwargs)


class TestRenderHits:
    def test_length(self):
        assert render_hits([0.0], [0], [1.0], duration_s=0.25).shape == (11025,)
        crash_end_s = 0.5 + VOICE_LENGTHS_S[7]
        assert render_hits([0.5], [7], [1.0]).size == round(crash_end_s * SAMPLE_RATE)
        assert render_hits([], [], [], duration_s=1.0).shape == (SAMPLE_RATE,)
        assert render_hits([], [], []).shape == (0,)

    def test_never_clips_but_is_not_silent(self):
        # Every drum at full velocity on every 16th: far beyond full scale.
        onsets = np.repeat(np.arange(16) * 0.125, N_DRUM_CLASSES)
        classes = np.tile(np.arange(N_DRUM_CLASSES), 16)
        x = render_hits(onsets, classes, np.ones(onsets.size))
        assert np.abs(x).max() <= 1.0
        assert rms(x) > 0.3

    def test_quiet_hits_are_quiet_but_audible(self):
        x = render_hits([0.0], [1], [0.05])
        assert 0 < np.abs(x).max() < 0.01

    def test_deterministic_and_seeded(self):
        args = ([0.0, 0.1, 0.2, 0.3], [1, 2, 7, 8], [1.0, 0.5, 0.8, 0.6])
        np.testing.assert_array_equal(render_hits(*args, seed=1), render_hits(*args, seed=1))
        assert not np.array_equal(render_hits(*args, seed=1), render_hits(*args, seed=2))

    @pytest.mark.parametrize("drum_class", CLASSES)
    def test_louder_velocity_louder_mix(self, drum_class):
        assert rms(render_hits([0.0], [drum_class], [0.3])) < rms(
            render_hits([0.0], [drum_class], [0.9]))

    def test_dry_single_hit_is_the_voice_times_the_mix_gain(self):
        x = render_hits([0.1], [1], [64 / 127], duration_s=1.0, room=0.0)
        voice = synth_voice(1, 64 / 127)
        start = round(0.1 * SAMPLE_RATE)
        expected = soft_limit(MIX_GAIN * voice.astype(np.float64))
        np.testing.assert_allclose(x[start:start + voice.size], expected, atol=1e-6)
        assert np.all(x[:start] == 0)

    def test_room_adds_a_tail(self):
        end = round(VOICE_LENGTHS_S[1] * SAMPLE_RATE)
        dry = render_hits([0.0], [1], [1.0], duration_s=1.0, room=0.0)
        wet = render_hits([0.0], [1], [1.0], duration_s=1.0, room=0.5)
        assert not np.any(dry[end:])
        assert 1e-4 < rms(wet[end:end + 2000]) < 0.1 * rms(wet[:end])
        with pytest.raises(ParameterError, match="room"):
            render_hits([0.0], [1], [1.0], room=2.0)

    def test_cut_at_both_ends(self):
        x = render_hits([-0.05, 0.95], [0, 0], [1.0, 1.0], duration_s=1.0)
        assert x.shape == (SAMPLE_RATE,) and np.abs(x[:100]).max() > 0

    def test_velocity_zero_is_silent(self):
        assert not np.any(render_hits([0.0, 0.5], [0, 1], [0.0, 0.0], duration_s=1.0))

    def test_next_hihat_chokes_an_open_hihat(self):
        ringing = render_hits([0.0], [3], [1.0], duration_s=1.0, room=0.0)
        choked = render_hits([0.0, 0.25], [3, 2], [1.0, 0.01], duration_s=1.0, room=0.0)
        late = slice(round(0.4 * SAMPLE_RATE), None)
        assert rms(choked[late]) < 0.01 * rms(ringing[late])

    @pytest.mark.parametrize(
        "onsets, classes, velocities, kwargs, match",
        [
            ([0.0], [0, 1], [1.0], {}, "one length"),
            ([np.inf], [0], [1.0], {}, "finite"),
            ([0.0], [9], [1.0], {}, "classes"),
            ([0.0], [0.5], [1.0], {}, "classes"),
            ([0.0], [0], [1.2], {}, "velocities"),
            ([0.0], [0], [np.nan], {}, "velocities"),
            ([0.0], [0], [1.0], {"duration_s": -1.0}, "duration_s"),
            ([0.0], [0], [1.0], {"sample_rate": 0}, "sample_rate"),
        ],
    )
    def test_bad_input_raises(self, onsets, classes, velocities, kwargs, match):
        with pytest.raises(ParameterError, match=match):
            render_hits(onsets, classes, velocities, **kwargs)


class TestRenderGrid:
    def test_matches_render_hits_with_microtiming(self):
        hits = np.zeros((8, N_DRUM_CLASSES))
        offsets = np.zeros_like(hits)
        hits[0, 0], hits[4, 1], hits[6, 2] = 1.0, 0.8, 0.5
        offsets[4, 1] = 0.25
        grid = DrumGrid(hits, offsets, 120.0, start_s=0.5)
        x = render_grid(grid)
        expected = render_hits(
            [0.5, 0.5 + 4.25 * 0.125, 0.5 + 6 * 0.125], [0, 1, 2], [1.0, 0.8, 0.5],
            duration_s=x.size / SAMPLE_RATE)
        np.testing.assert_array_equal(x, expected)

    def test_default_length_covers_grid_and_tails(self):
        empty = DrumGrid.from_hits(np.zeros((16, N_DRUM_CLASSES)), bpm=120.0)
        assert render_grid(empty).size == 2 * SAMPLE_RATE
        hits = np.zeros((4, N_DRUM_CLASSES))
        hits[3, 7] = 1.0
        tail = render_grid(DrumGrid.from_hits(hits, bpm=120.0))
        assert tail.size == round((0.375 + VOICE_LENGTHS_S[7]) * SAMPLE_RATE)

    def test_rejects_non_grids(self):
        with pytest.raises(ParameterError, match="DrumGrid"):
            render_grid(np.zeros((4, 9)))


class TestClicksAndLimiter:
    def test_clicks(self):
        x = render_clicks([0.0, 0.5], accents=[True, False], duration_s=1.0)
        assert x.shape == (SAMPLE_RATE,) and np.abs(x).max() <= 1.0
        half = SAMPLE_RATE // 2
        assert rms(x[:half]) > rms(x[half:]) > 0
        with pytest.raises(ParameterError, match="accents"):
            render_clicks([0.0, 0.5], accents=[True])

    def test_soft_limit(self):
        x = np.linspace(-5, 5, 10001)
        y = soft_limit(x)
        assert np.all(np.abs(y) <= PEAK_CEILING) and PEAK_CEILING < 0.892   # -1 dBFS
        assert np.all(np.diff(y) >= 0)  # monotone: no fold-over distortion
        small = np.abs(x) <= LIMIT_THRESHOLD
        np.testing.assert_allclose(y[small], x[small], atol=1e-6)
        with pytest.raises(ParameterError, match="threshold"):
            soft_limit(x, threshold=0.95)
        with pytest.raises(ParameterError, match="ceiling"):
            soft_limit(x, ceiling=1.5)

    def test_a_loud_mix_peaks_below_minus_one_dbfs(self):
        # Kick, snare and two toms together on every sixteenth at full velocity.
        times = np.repeat(np.arange(32) * 0.125, 4)
        classes = np.tile([0, 1, 4, 5], 32)
        audio = render_hits(times, classes, np.ones(len(times)))
        assert 0.8 < np.abs(audio).max() <= PEAK_CEILING
        with pytest.raises(ParameterError, match="finite"):
            soft_limit([np.nan])


class TestAudioIO:
    def test_write_wav_round_trip(self, tmp_path):
        x = render_hits([0.0, 0.25], [0, 1], [1.0, 0.7], duration_s=0.5)
        write_wav(tmp_path / "a.wav", x, sample_rate=SAMPLE_RATE)
        y, sr = soundfile.read(str(tmp_path / "a.wav"))
        info = soundfile.info(str(tmp_path / "a.wav"))
        assert sr == SAMPLE_RATE and info.subtype == "PCM_16"
        np.testing.assert_allclose(y, x, atol=1 / 32767 + 1e-6)

    def test_write_wav_clips_instead_of_wrapping(self, tmp_path):
        write_wav(tmp_path / "c.wav", np.array([2.0, -2.0, 0.5]), sample_rate=8000)
        y, _ = soundfile.read(str(tmp_path / "c.wav"))
        assert y[0] > 0.99 and y[1] < -0.99

    @pytest.mark.parametrize(
        "audio, sample_rate, match",
        [
            (np.array([0.0, np.nan]), 8000, "finite"),
            (np.zeros(4, dtype=np.int16), 8000, "floating"),
            (np.zeros((2, 2, 2)), 8000, "shape"),
            (np.zeros(4), 0, "sample_rate"),
        ],
    )
    def test_write_wav_bad_input(self, tmp_path, audio, sample_rate, match):
        with pytest.raises(ParameterError, match=match):
            write_wav(tmp_path / "x.wav", audio, sample_rate=sample_rate)

    def test_write_wav_missing_folder(self, tmp_path):
        with pytest.raises(FileNotFoundError):
            write_wav(tmp_path / "no" / "x.wav", np.zeros(4), sample_rate=8000)

    @pytest.mark.skipif(importlib.util.find_spec("fluidsynth") is not None,
                        reason="pyfluidsynth is installed")
    def test_fluidsynth_missing_is_a_clear_error(self, tmp_path):
        with pytest.raises(ModuleNotFoundError, match="pyfluidsynth"):
            render_with_fluidsynth(pretty_midi.PrettyMIDI(), tmp_path / "kit.sf2")


def test_class_names_cover_all_voices():
    assert len(VOICE_LENGTHS_S) == len(DRUM_CLASSES)
