"""Tests of ibeat_io.midi and ibeat_io.groove (MIDI files, Groove MIDI Dataset)."""

import time
from dataclasses import replace
from pathlib import Path

import mido
import numpy as np
import pretty_midi
import pytest

from ibeat_core.drums import N_DRUM_CLASSES, STEPS_PER_BEAT, DrumGrid, pitches_to_classes
from ibeat_core.errors import ParameterError
from ibeat_io.datasets import default_data_dir
from ibeat_io.groove import GROOVE_DIR_NAME, GrooveEntry, load_groove_file, load_info
from ibeat_io.midi import (
    END_MARKER,
    MIDI_RESOLUTION,
    grid_to_pretty_midi,
    notes_to_pretty_midi,
    pretty_midi_to_grid,
    read_midi,
    write_midi,
)

FIXTURES = Path(__file__).parent / "fixtures" / "groove"
# The real dataset: $IBEAT_DATA, else the shared/ folder beside the checkout
# (the layout of developer machines and CI).
_GMD_CANDIDATES = [
    root / GROOVE_DIR_NAME
    for root in (default_data_dir(), Path(__file__).resolve().parents[2] / "shared" / "data")
    if root is not None
]
GMD_ROOT = next((p for p in _GMD_CANDIDATES if (p / "info.csv").is_file()), None)
TICK_STEPS = STEPS_PER_BEAT / MIDI_RESOLUTION  # one tick in steps (1/120)


def random_grid(rng, n_steps, *, bpm, tick_aligned):
    hits = np.where(
        rng.random((n_steps, N_DRUM_CLASSES)) < 0.3,
        rng.integers(1, 128, (n_steps, N_DRUM_CLASSES)) / 127,
        0.0,
    )
    if tick_aligned:
        offsets = rng.integers(-60, 60, hits.shape) / 120
    else:
        offsets = rng.uniform(-0.5, 0.5, hits.shape)
    hits[0] = 0.0  # step 0 would lose negative offsets (no time before 0)
    return DrumGrid(hits, np.where(hits > 0, offsets, 0.0), bpm)


def assert_same_grid(a, b, *, offset_atol=1e-6):
    assert a.n_steps == b.n_steps
    np.testing.assert_array_equal(a.hits, b.hits)
    np.testing.assert_allclose(a.offsets, b.offsets, atol=offset_atol)
    assert a.bpm == pytest.approx(b.bpm, rel=1e-5)


class TestGridMidiRoundTrip:
    @pytest.mark.parametrize("bpm, n_steps", [(120.0, 64), (97.3, 37), (181.0, 5)])
    def test_file_round_trip_is_lossless(self, tmp_path, bpm, n_steps):
        grid = random_grid(np.random.default_rng(n_steps), n_steps, bpm=bpm, tick_aligned=True)
        path = tmp_path / "grid.mid"
        write_midi(path, grid)
        back = read_midi(path)
        assert_same_grid(back, grid)
        assert back.start_s == 0.0

    def test_offsets_round_to_the_tick(self, tmp_path):
        grid = random_grid(np.random.default_rng(5), 48, bpm=133.0, tick_aligned=False)
        write_midi(tmp_path / "g.mid", grid)
        assert_same_grid(read_midi(tmp_path / "g.mid"), grid, offset_atol=TICK_STEPS / 2 + 1e-6)

    def test_extreme_offsets_stay_on_their_step(self, tmp_path):
        hits = np.zeros((8, N_DRUM_CLASSES))
        offsets = np.zeros_like(hits)
        hits[2:5, 1] = 1.0  # snares on adjacent steps: late, early, late
        offsets[2:5, 1] = [0.4999, -0.5, 0.4999]
        grid = DrumGrid(hits, offsets, 120.0)
        write_midi(tmp_path / "g.mid", grid)
        back = read_midi(tmp_path / "g.mid")
        np.testing.assert_array_equal(back.hits, grid.hits)
        assert back.offsets[2:5, 1].tolist() == pytest.approx([59 / 120, -0.5, 59 / 120])

    def test_file_layout(self):
        grid = random_grid(np.random.default_rng(0), 16, bpm=120.0, tick_aligned=True)
        pm = grid_to_pretty_midi(grid)
        (drums,) = pm.instruments
        assert drums.is_drum and len(drums.notes) == np.count_nonzero(grid.hits)
        assert pm.resolution == MIDI_RESOLUTION
        assert [e.text for e in pm.text_events] == [END_MARKER]
        by_pitch = {}
        for note in sorted(drums.notes, key=lambda n: n.start):
            assert note.end - note.start <= grid.step_s / 2 * (1 + 1e-5)
            assert note.start >= by_pitch.get(note.pitch, -1.0)  # no overlaps
            by_pitch[note.pitch] = note.end

    def test_empty_grid(self, tmp_path):
        grid = DrumGrid.from_hits(np.zeros((12, N_DRUM_CLASSES)), bpm=90.0)
        write_midi(tmp_path / "e.mid", grid)
        assert_same_grid(read_midi(tmp_path / "e.mid"), grid)

    def test_write_to_missing_folder_raises(self, tmp_path):
        grid = DrumGrid.from_hits(np.zeros((4, 9)), bpm=120.0)
        with pytest.raises(FileNotFoundError):
            write_midi(tmp_path / "nope" / "g.mid", grid)


class TestReadMidi:
    def test_foreign_file_without_marker_pads_to_whole_beats(self):
        pm = pretty_midi.PrettyMIDI(initial_tempo=120.0)
        inst = pretty_midi.Instrument(0, is_drum=True)
        inst.notes.append(pretty_midi.Note(100, 35, 0.5, 0.55))  # note-seq kick, step 4
        pm.instruments.append(inst)
        grid = pretty_midi_to_grid(pm)
        assert grid.n_steps == 8 and grid.hits[4, 0] == pytest.approx(100 / 127)

    def test_ignores_non_drum_tracks_and_warns_on_unmapped_pitches(self):
        pm = pretty_midi.PrettyMIDI(initial_tempo=100.0)
        piano = pretty_midi.Instrument(0)
        piano.notes.append(pretty_midi.Note(100, 36, 0.0, 1.0))
        drums = pretty_midi.Instrument(0, is_drum=True)
        drums.notes += [pretty_midi.Note(90, 38, 0.0, 0.1), pretty_midi.Note(90, 20, 0.3, 0.4)]
        pm.instruments += [piano, drums]
        with pytest.warns(UserWarning, match=r"\[20\]"):
            grid = pretty_midi_to_grid(pm)
        assert np.count_nonzero(grid.hits) == 1 and grid.hits[0, 1] > 0

    def test_several_tempi_need_an_explicit_bpm(self, tmp_path):
        track = mido.MidiTrack([
            mido.MetaMessage("set_tempo", tempo=500000, time=0),
            mido.Message("note_on", channel=9, note=36, velocity=100, time=0),
            mido.Message("note_on", channel=9, note=36, velocity=0, time=60),
            mido.MetaMessage("set_tempo", tempo=600000, time=900),
        ])
        mido.MidiFile(ticks_per_beat=MIDI_RESOLUTION, tracks=[track]).save(tmp_path / "t.mid")
        with pytest.raises(ParameterError, match="bpm="):
            read_midi(tmp_path / "t.mid")
        assert read_midi(tmp_path / "t.mid", bpm=120.0).bpm == 120.0

    def test_explicit_n_steps_crops(self, tmp_path):
        write_midi(tmp_path / "g.mid", DrumGrid.from_hits(np.eye(8, 9), bpm=120.0))
        grid = read_midi(tmp_path / "g.mid", n_steps=3)
        assert grid.n_steps == 3 and np.count_nonzero(grid.hits) == 3

    def test_missing_and_broken_files(self, tmp_path):
        with pytest.raises(FileNotFoundError):
            read_midi(tmp_path / "missing.mid")
        (tmp_path / "bad.mid").write_bytes(b"not a midi file")
        with pytest.raises(ParameterError, match="MIDI"):
            read_midi(tmp_path / "bad.mid")
        with pytest.raises(ParameterError, match="PrettyMIDI"):
            pretty_midi_to_grid("x.mid")


class TestNotesToPrettyMidi:
    def test_click_track(self, tmp_path):
        times = np.array([0.0, 0.51, 1.02, 1.53])
        pm = notes_to_pretty_midi(times, [76, 77, 77, 77], [120, 80, 80, 80], bpm=117.6)
        pm.write(str(tmp_path / "c.mid"))
        back = pretty_midi.PrettyMIDI(str(tmp_path / "c.mid"))
        (inst,) = back.instruments
        assert inst.is_drum
        starts = np.array([n.start for n in inst.notes])
        tick_s = 60 / 117.6 / MIDI_RESOLUTION
        np.testing.assert_allclose(starts, times, atol=tick_s / 2 + 1e-6)
        assert [n.pitch for n in inst.notes] == [76, 77, 77, 77]
        assert back.get_tempo_changes()[1][0] == pytest.approx(117.6, rel=1e-5)

    @pytest.mark.parametrize(
        "onsets, pitches, velocities, match",
        [
            ([0.0, 1.0], [76], [100, 100], "one length"),
            ([-1.0], [76], [100], "onsets_s"),
            ([0.0], [130], [100], "pitches"),
            ([0.0], [76], [0], "velocities"),
        ],
    )
    def test_bad_input_raises(self, onsets, pitches, velocities, match):
        with pytest.raises(ParameterError, match=match):
            notes_to_pretty_midi(onsets, pitches, velocities, bpm=120.0)


class TestGrooveFixtures:
    def test_load_info(self):
        entries = load_info(FIXTURES)
        assert [e.id for e in entries] == [
            "drummer1/session1/10",
            "drummer7/session2/101",
            "drummer9/session1/2",
        ]
        fill = entries[0]
        assert fill.style == "jazz" and fill.full_style == "jazz/funk"
        assert (fill.bpm, fill.beat_type, fill.split) == (116.0, "fill", "train")
        assert fill.duration_s == pytest.approx(1.872843)
        assert load_info(FIXTURES, split="validation") == []

    def test_grids_match_the_files(self):
        for entry in load_info(FIXTURES):
            grid = load_groove_file(FIXTURES, entry)
            pm = pretty_midi.PrettyMIDI(str(FIXTURES / entry.midi_filename))
            notes = pm.instruments[0].notes
            assert grid.bpm == pytest.approx(entry.bpm, rel=1e-5)
            assert grid.n_steps % STEPS_PER_BEAT == 0
            last_step = max(n.start for n in notes) / grid.step_s
            assert grid.n_steps - STEPS_PER_BEAT <= last_step < grid.n_steps
            # At most one note per class and step survives; GMD rarely doubles.
            n_hits = np.count_nonzero(grid.hits)
            assert 0.9 * len(notes) <= n_hits <= len(notes)
            # Offsets are whole ticks of the 480-tick files.
            ticks = grid.offsets[grid.hits > 0] / TICK_STEPS
            np.testing.assert_allclose(ticks, np.rint(ticks), atol=1e-3)

    def test_pop_groove_uses_all_nine_classes(self):
        (entry,) = [e for e in load_info(FIXTURES) if e.style == "pop"]
        grid = load_groove_file(FIXTURES, entry)
        assert np.all(grid.hits.max(axis=0) > 0)
        classes = pitches_to_classes([n.pitch for n in pretty_midi.PrettyMIDI(
            str(FIXTURES / entry.midi_filename)).instruments[0].notes])
        assert classes.min() >= 0

    def test_gmd_file_survives_a_midi_round_trip(self, tmp_path):
        entry = load_info(FIXTURES)[1]
        grid = load_groove_file(FIXTURES, entry)
        write_midi(tmp_path / "gmd.mid", grid)
        assert_same_grid(read_midi(tmp_path / "gmd.mid"), grid)

    def test_filters_split_and_time_signature(self, tmp_path):
        lines = (FIXTURES / "info.csv").read_text().splitlines()
        header, rows = lines[0], lines[1:]
        rows.append(rows[0].replace("4-4", "3-4").replace(",train", ",validation"))
        (tmp_path / "info.csv").write_text("\n".join([header, *rows]) + "\n")
        assert len(load_info(tmp_path)) == 3
        assert len(load_info(tmp_path, four_four_only=False)) == 4
        assert load_info(tmp_path, split="validation") == []
        assert len(load_info(tmp_path, split="validation", four_four_only=False)) == 1

    def test_wrong_root_and_bad_arguments(self, tmp_path):
        with pytest.raises(FileNotFoundError, match="not a folder"):
            load_info(tmp_path / "nowhere")
        with pytest.raises(FileNotFoundError, match="info.csv"):
            load_info(tmp_path)
        with pytest.raises(ParameterError, match="split"):
            load_info(FIXTURES, split="dev")
        (tmp_path / "info.csv").write_text("a,b\n1,2\n")
        with pytest.raises(ParameterError, match="columns"):
            load_info(tmp_path)

    def test_missing_midi_file(self, tmp_path):
        (tmp_path / "info.csv").write_text((FIXTURES / "info.csv").read_text())
        entry = load_info(tmp_path)[0]
        with pytest.raises(FileNotFoundError, match="missing"):
            load_groove_file(tmp_path, entry)
        with pytest.raises(ParameterError, match="GrooveEntry"):
            load_groove_file(FIXTURES, entry.midi_filename)
        assert isinstance(replace(entry, bpm=1.0), GrooveEntry)


@pytest.mark.skipif(GMD_ROOT is None, reason="shared Groove MIDI Dataset not present")
@pytest.mark.slow
def test_real_validation_split_loads_quickly():
    root = GMD_ROOT
    entries = load_info(root, split="validation")
    assert len(entries) > 100
    start = time.perf_counter()
    for entry in entries:
        grid = load_groove_file(root, entry)
        assert grid.hits.shape == grid.offsets.shape == (grid.n_steps, N_DRUM_CLASSES)
        assert grid.n_steps % STEPS_PER_BEAT == 0 and grid.n_steps > 0
        assert grid.bpm == pytest.approx(entry.bpm, rel=1e-4)
        # The grid ends within ~a beat after the last onset; info.csv's
        # duration also counts the last notes' release (up to ~2 s).
        assert entry.duration_s - 3.0 < grid.duration_s < entry.duration_s + 1.5 * 60 / entry.bpm
    assert time.perf_counter() - start < 10.0
