"""Tests of ibeat_core.drums: pitch mapping, the 16th grid, style."""

import numpy as np
import pytest

from ibeat_core.drums import (
    DRUM_CLASSES,
    GM_EXPORT_PITCHES,
    N_DRUM_CLASSES,
    PITCH_TO_CLASS,
    STEPS_PER_BEAT,
    DrumGrid,
    drum_style,
    grid_to_notes,
    notes_to_grid,
    pitch_to_class,
    pitches_to_classes,
    split_beats,
    velocity_to_midi,
)
from ibeat_core.errors import ParameterError

# The Roland TD-11 table of shared/data/groove-midi/SOURCE.md ("correction").
ROLAND_TABLE = {
    "kick": [36],
    "snare": [38, 37, 40],
    "closed_hihat": [42, 22, 44],
    "open_hihat": [46, 26],
    "low_tom": [43, 58],
    "mid_tom": [47, 45],
    "high_tom": [50, 48],
    "crash": [49, 52, 55, 57],
    "ride": [51, 53, 59],
}
# Every pitch GMD uses, as listed in SOURCE.md.
GMD_PITCHES = [
    22, 26, 36, 37, 38, 40, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 55, 57, 58, 59,
]


def random_grid(rng, n_steps=32, *, bpm=97.0, start_s=0.0, density=0.3):
    """A grid whose hits are MIDI velocities / 127 and offsets any float32."""
    hits = np.where(
        rng.random((n_steps, N_DRUM_CLASSES)) < density,
        rng.integers(1, 128, (n_steps, N_DRUM_CLASSES)) / 127,
        0.0,
    ).astype(np.float32)
    offsets = np.where(hits > 0, rng.uniform(-0.5, 0.5, hits.shape), 0.0).astype(np.float32)
    return DrumGrid(hits, offsets, bpm, start_s)


class TestPitchMapping:
    def test_constants(self):
        assert len(DRUM_CLASSES) == N_DRUM_CLASSES == 9
        assert STEPS_PER_BEAT == 4
        assert GM_EXPORT_PITCHES == (36, 38, 42, 46, 43, 47, 50, 49, 51)

    @pytest.mark.parametrize("pitch", GMD_PITCHES)
    def test_every_gmd_pitch_maps_with_the_roland_table(self, pitch):
        (name,) = [n for n, pitches in ROLAND_TABLE.items() if pitch in pitches]
        assert pitch_to_class(pitch) == DRUM_CLASSES.index(name)

    def test_roland_table_covers_exactly_the_gmd_pitches(self):
        assert sorted(p for ps in ROLAND_TABLE.values() for p in ps) == GMD_PITCHES

    def test_export_pitches_map_back_to_their_class(self):
        assert [pitch_to_class(p) for p in GM_EXPORT_PITCHES] == list(range(N_DRUM_CLASSES))

    @pytest.mark.parametrize(
        "pitch, name",
        [(35, "kick"), (27, "snare"), (39, "snare"), (54, "closed_hihat"), (67, "open_hihat"),
         (41, "low_tom"), (60, "mid_tom"), (62, "high_tom"), (82, "ride")],
    )
    def test_noteseq_fallback_outside_roland(self, pitch, name):
        assert pitch_to_class(pitch) == DRUM_CLASSES.index(name)

    def test_roland_wins_over_noteseq_on_toms(self):
        # note-seq puts 45 low and 48 mid; GMD's Roland kit has them mid and high.
        assert pitch_to_class(45) == DRUM_CLASSES.index("mid_tom")
        assert pitch_to_class(48) == DRUM_CLASSES.index("high_tom")
        assert pitch_to_class(58) == DRUM_CLASSES.index("low_tom")

    def test_unknown_pitch_has_no_class(self):
        assert pitch_to_class(0) == -1
        assert pitch_to_class(127) == -1
        assert set(PITCH_TO_CLASS.values()) == set(range(N_DRUM_CLASSES))

    @pytest.mark.parametrize("bad", [-1, 128, 36.0, "36", None, True])
    def test_bad_pitch_raises(self, bad):
        with pytest.raises(ParameterError, match="pitch"):
            pitch_to_class(bad)

    def test_vectorised_matches_scalar(self):
        pitches = np.arange(128)
        assert pitches_to_classes(pitches).tolist() == [pitch_to_class(int(p)) for p in pitches]

    @pytest.mark.parametrize("bad", [[36, 128], [36.5], [[36]]])
    def test_vectorised_bad_pitches_raise(self, bad):
        with pytest.raises(ParameterError):
            pitches_to_classes(bad)


class TestDrumGrid:
    def test_arrays_are_float32_copies_and_read_only(self):
        hits = np.zeros((4, 9))
        grid = DrumGrid.from_hits(hits, bpm=120)
        assert grid.hits.dtype == grid.offsets.dtype == np.float32
        assert not grid.hits.flags.writeable
        hits[0, 0] = 1.0
        assert grid.hits[0, 0] == 0.0
        assert isinstance(grid.bpm, float)

    def test_timing_properties(self):
        grid = DrumGrid.from_hits(np.zeros((8, 9)), bpm=100.0, start_s=1.0)
        assert grid.step_s == pytest.approx(0.15)
        assert grid.duration_s == pytest.approx(1.2)

    @pytest.mark.parametrize(
        "hits, offsets, bpm, start_s, match",
        [
            (np.zeros((4, 8)), np.zeros((4, 8)), 120, 0, "shape"),
            (np.zeros(9), np.zeros(9), 120, 0, "shape"),
            (np.zeros((4, 9)), np.zeros((5, 9)), 120, 0, "offsets"),
            (np.full((4, 9), 1.5), np.zeros((4, 9)), 120, 0, r"\[0, 1\]"),
            (np.full((4, 9), np.nan), np.zeros((4, 9)), 120, 0, "finite"),
            (np.zeros((4, 9)), np.full((4, 9), 0.5), 120, 0, "offsets"),
            (np.zeros((4, 9)), np.zeros((4, 9)), 0, 0, "bpm"),
            (np.zeros((4, 9)), np.zeros((4, 9)), np.inf, 0, "bpm"),
            (np.zeros((4, 9)), np.zeros((4, 9)), 120, np.nan, "start_s"),
        ],
    )
    def test_bad_grid_raises(self, hits, offsets, bpm, start_s, match):
        with pytest.raises(ParameterError, match=match):
            DrumGrid(hits, offsets, bpm, start_s)


class TestNotesToGrid:
    def test_quantises_to_nearest_16th_and_keeps_microtiming(self):
        bpm = 100.0
        step_s = 60 / bpm / 4  # 0.15 s
        onsets = np.array([0.0, 3 * step_s + 0.03, 5 * step_s - 0.06, 8 * step_s])
        grid = notes_to_grid(onsets, [36, 38, 42, 49], [127, 100, 50, 1], bpm=bpm)
        assert grid.n_steps == 9
        assert np.count_nonzero(grid.hits) == 4
        assert grid.hits[0, 0] == 1.0
        assert grid.hits[3, 1] == pytest.approx(100 / 127)
        assert grid.offsets[3, 1] == pytest.approx(0.2, abs=1e-6)
        assert grid.hits[5, 2] == pytest.approx(50 / 127)
        assert grid.offsets[5, 2] == pytest.approx(-0.4, abs=1e-6)
        assert grid.hits[8, 7] == pytest.approx(1 / 127)

    def test_half_step_boundary(self):
        # Exactly half a step late belongs to the next step, offset -0.5.
        grid = notes_to_grid([0.03125], [36], [90], bpm=240.0)
        assert grid.n_steps == 2 and grid.hits[1, 0] > 0
        assert grid.offsets[1, 0] == -0.5
        # Just before it stays on the step, with an offset that float32 would
        # round to 0.5 kept below.
        grid = notes_to_grid([0.03125 - 1e-10], [36], [90], bpm=240.0)
        assert grid.hits[0, 0] > 0 and 0.4999 < grid.offsets[0, 0] < 0.5

    def test_start_s_shifts_step_zero(self):
        grid = notes_to_grid([10.5, 10.75], [36, 38], [100, 100], bpm=120.0, start_s=10.5)
        assert grid.start_s == 10.5
        assert grid.hits[0, 0] > 0 and grid.hits[2, 1] > 0

    def test_loudest_note_of_a_class_wins_a_step(self):
        step_s = 0.125
        onsets = [0.02, -0.02, 0.01, 0.0]
        pitches = [38, 40, 37, 36]  # three snares, one kick
        grid = notes_to_grid(onsets, pitches, [60, 110, 80, 20], bpm=120.0)
        assert grid.hits[0, 1] == pytest.approx(110 / 127)
        assert grid.offsets[0, 1] == pytest.approx(-0.02 / step_s)
        assert grid.hits[0, 0] == pytest.approx(20 / 127)

    def test_ties_keep_the_earliest(self):
        grid = notes_to_grid([0.01, -0.01], [38, 38], [90, 90], bpm=120.0)
        assert grid.offsets[0, 1] == pytest.approx(-0.08)

    def test_drops_unmapped_silent_and_out_of_window_notes(self):
        onsets = [0.0, 0.125, 0.25, 0.5, 1.0, -0.5]
        pitches = [36, 21, 38, 42, 49, 36]  # 21 has no class
        grid = notes_to_grid(onsets, pitches, [100, 100, 0, 100, 100, 100], bpm=120.0, n_steps=6)
        assert grid.n_steps == 6
        assert np.flatnonzero(grid.hits.any(axis=1)).tolist() == [0, 4]

    def test_empty(self):
        grid = notes_to_grid([], [], [], bpm=120.0)
        assert grid.hits.shape == (0, N_DRUM_CLASSES)
        assert drum_style(grid.hits).shape == (0,)

    @pytest.mark.parametrize(
        "onsets, pitches, velocities, kwargs, match",
        [
            ([0.0, 0.1], [36], [100], {}, "one length"),
            ([np.nan], [36], [100], {}, "finite"),
            ([0.0], [36], [128], {}, "velocities"),
            ([0.0], [36], [-1], {}, "velocities"),
            ([0.0], [200], [100], {}, "pitches"),
            ([0.0], [36], [100], {"bpm": -5}, "bpm"),
            ([0.0], [36], [100], {"n_steps": -1}, "n_steps"),
            ([[0.0]], [[36]], [[100]], {}, "1-D"),
        ],
    )
    def test_bad_input_raises(self, onsets, pitches, velocities, kwargs, match):
        kwargs = {"bpm": 120.0, **kwargs}
        with pytest.raises(ParameterError, match=match):
            notes_to_grid(onsets, pitches, velocities, **kwargs)


class TestRoundTrip:
    @pytest.mark.parametrize("start_s", [0.0, 3.7])
    def test_grid_notes_grid_is_lossless(self, start_s):
        random = random_grid(np.random.default_rng(1), 64, start_s=start_s)
        hits, offsets = random.hits.copy(), random.offsets.copy()
        # The exact boundaries must survive too.
        hits[10, :2] = 1.0
        offsets[10, :2] = [-0.5, np.nextafter(np.float32(0.5), np.float32(0))]
        grid = DrumGrid(hits, offsets, random.bpm, random.start_s)
        back = notes_to_grid(*grid_to_notes(grid), bpm=grid.bpm, start_s=grid.start_s,
                             n_steps=grid.n_steps)
        np.testing.assert_array_equal(back.hits, grid.hits)
        np.testing.assert_array_equal(back.offsets, np.where(grid.hits > 0, grid.offsets, 0))
        assert (back.bpm, back.start_s) == (grid.bpm, grid.start_s)

    def test_notes_are_sorted_by_step_with_export_pitches_and_midi_velocities(self):
        grid = random_grid(np.random.default_rng(2))
        onsets, pitches, velocities = grid_to_notes(grid)
        steps = np.nonzero(grid.hits)[0]
        assert np.all(np.diff(steps) >= 0)
        assert set(pitches.tolist()) <= set(GM_EXPORT_PITCHES)
        assert velocities.dtype == np.int64 and velocities.min() >= 1
        np.testing.assert_array_equal(
            (velocities / 127).astype(np.float32), grid.hits[grid.hits > 0]
        )

    def test_faint_hit_stays_a_hit(self):
        assert velocity_to_midi([1e-4]).tolist() == [1]

    def test_grid_to_notes_rejects_non_grids(self):
        with pytest.raises(ParameterError, match="DrumGrid"):
            grid_to_notes(np.zeros((4, 9)))


class TestStyle:
    def test_style_is_max_over_classes(self):
        grid = random_grid(np.random.default_rng(3), 48)
        style = drum_style(grid.hits)
        assert style.shape == (48,) and style.dtype == np.float32
        np.testing.assert_array_equal(style, grid.hits.max(axis=1))

    def test_style_of_real_notes(self):
        grid = notes_to_grid([0.0, 0.0, 0.25], [36, 42, 38], [64, 127, 32], bpm=120.0)
        assert drum_style(grid.hits).tolist() == pytest.approx([1.0, 0.0, 32 / 127])

    def test_bad_shape_raises(self):
        with pytest.raises(ParameterError, match="shape"):
            drum_style(np.zeros((4, 8)))


class TestSplitBeats:
    def test_shapes(self):
        hits = np.arange(8 * 9).reshape(8, 9)
        beats = split_beats(hits)
        assert beats.shape == (2, 4, 9)
        np.testing.assert_array_equal(beats[1, 0], hits[4])
        assert split_beats(np.zeros(12), steps_per_beat=3).shape == (4, 3)

    @pytest.mark.parametrize(
        "steps, spb", [(np.zeros((6, 9)), 4), (np.zeros(()), 4), (np.zeros(8), 0)]
    )
    def test_bad_input_raises(self, steps, spb):
        with pytest.raises(ParameterError):
            split_beats(steps, steps_per_beat=spb)
