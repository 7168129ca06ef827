"""Tests of ibeat_io.drum_files: drum hits to a General MIDI file and a WAV, read back."""

import numpy as np
import pretty_midi
import pytest
import soundfile

from ibeat_core.drums import GM_EXPORT_PITCHES
from ibeat_core.errors import ParameterError
from ibeat_io.drum_files import drum_audio, write_drums
from ibeat_io.drumkit import SAMPLE_RATE

# A kick, a snare, a closed hi-hat and a crash (classes 0, 1, 2, 7).
ONSETS = np.array([0.0, 0.5, 0.75, 1.5])
CLASSES = np.array([0, 1, 2, 7])
VELOCITIES = np.array([1.0, 0.5, 0.25, 0.8])


def _notes(path):
    pm = pretty_midi.PrettyMIDI(str(path))
    (drums,) = pm.instruments
    assert drums.is_drum
    notes = sorted(drums.notes, key=lambda n: n.start)
    return pm, notes


def test_midi_and_wav_hold_the_hits(tmp_path):
    midi, wav = tmp_path / "d.mid", tmp_path / "d.wav"
    written = write_drums(ONSETS, CLASSES, VELOCITIES, tempo_bpm=100.0, duration_s=2.0, seed=0,
                          midi=midi, wav=wav)
    assert written == {"midi": str(midi), "wav": str(wav)}
    assert list(written) == ["midi", "wav"]

    pm, notes = _notes(midi)
    assert [n.pitch for n in notes] == [GM_EXPORT_PITCHES[c] for c in CLASSES] == [36, 38, 42, 49]
    assert [n.velocity for n in notes] == [127, 64, 32, 102]       # round(127 v)
    tick_s = 60.0 / 100.0 / 480
    np.testing.assert_allclose([n.start for n in notes], ONSETS, atol=tick_s / 2)
    assert pm.get_tempo_changes()[1] == pytest.approx([100.0], rel=1e-5)

    audio, rate = soundfile.read(wav)
    assert rate == SAMPLE_RATE and audio.ndim == 1
    assert len(audio) == round((2.0 + 1.0) * SAMPLE_RATE)
    # Each hit starts at its onset: louder in the 45 ms after it than in the 10 ms before.
    for t in ONSETS:
        i = round(t * SAMPLE_RATE)
        before = np.abs(audio[max(i - 441, 0):i]).max(initial=0.0)
        assert np.abs(audio[i:i + 2000]).max() > 1.5 * before
    crash = round(1.5 * SAMPLE_RATE)
    assert np.abs(audio[crash - 441:crash]).max() < 1e-3 < 0.1 < np.abs(audio[crash:]).max()
    # The file is drum_audio's samples in 16-bit PCM.
    expected = drum_audio(ONSETS, CLASSES, VELOCITIES, duration_s=2.0, seed=0)
    np.testing.assert_allclose(audio, expected, atol=1.5 / 32768)


def test_hits_before_time_zero_are_left_out_of_both_files(tmp_path):
    onsets = np.array([-0.2, 0.25, 0.5])
    write_drums(onsets, [1, 0, 7], [1.0, 1.0, 1.0], tempo_bpm=120.0, duration_s=1.0, seed=0,
                midi=tmp_path / "d.mid", wav=tmp_path / "d.wav")
    _, notes = _notes(tmp_path / "d.mid")
    assert [n.pitch for n in notes] == [36, 49]
    audio, _ = soundfile.read(tmp_path / "d.wav")
    kept = drum_audio(onsets[1:], [0, 7], [1.0, 1.0], duration_s=1.0, seed=0)
    np.testing.assert_allclose(audio, kept, atol=1.5 / 32768)


@pytest.mark.parametrize("tempo", [None, 0.0])
def test_no_tempo_writes_120_bpm(tmp_path, tempo):
    write_drums(ONSETS, CLASSES, VELOCITIES, tempo_bpm=tempo, duration_s=2.0, seed=0,
                midi=tmp_path / "d.mid")
    pm, notes = _notes(tmp_path / "d.mid")
    assert pm.get_tempo_changes()[1] == pytest.approx([120.0])
    assert len(notes) == 4


def test_the_wav_can_reach_past_the_duration_to_the_last_hit(tmp_path):
    args = (ONSETS, CLASSES, VELOCITIES)
    short = drum_audio(*args, duration_s=1.0, seed=0)
    assert len(short) == round(2.0 * SAMPLE_RATE)
    write_drums(*args, tempo_bpm=None, duration_s=1.0, seed=0, wav=tmp_path / "d.wav",
                extend_to_last_onset=True)
    assert soundfile.info(tmp_path / "d.wav").frames == round((1.5 + 1.0) * SAMPLE_RATE)
    # A duration past the last hit wins.
    assert len(drum_audio(*args, duration_s=3.0, seed=0, extend_to_last_onset=True)) \
        == round(4.0 * SAMPLE_RATE)


def test_given_pitches_go_to_the_midi_file(tmp_path):
    write_drums(ONSETS, CLASSES, VELOCITIES, tempo_bpm=90.0, duration_s=2.0, seed=0,
                midi=tmp_path / "d.mid", pitches=[35, 40, 44, 57])
    _, notes = _notes(tmp_path / "d.mid")
    assert [n.pitch for n in notes] == [35, 40, 44, 57]


def test_the_seed_changes_the_kit(tmp_path):
    a = drum_audio(ONSETS, CLASSES, VELOCITIES, duration_s=2.0, seed=0)
    b = drum_audio(ONSETS, CLASSES, VELOCITIES, duration_s=2.0, seed=1)
    assert a.shape == b.shape and not np.array_equal(a, b)


def test_nothing_asked_writes_nothing_and_bad_hits_are_refused(tmp_path):
    assert write_drums(ONSETS, CLASSES, VELOCITIES, tempo_bpm=None, duration_s=2.0,
                       seed=0) == {}
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ParameterError, match="one length"):
        write_drums(ONSETS, CLASSES[:2], VELOCITIES, tempo_bpm=None, duration_s=2.0, seed=0,
                    midi=tmp_path / "d.mid")
    with pytest.raises(ParameterError, match="drum_classes"):
        write_drums(ONSETS, [0, 1, 2, 9], VELOCITIES, tempo_bpm=None, duration_s=2.0, seed=0,
                    midi=tmp_path / "d.mid")
    with pytest.raises(ParameterError, match="velocities"):
        write_drums(ONSETS, CLASSES, [1.0, 1.0, 1.0, 2.0], tempo_bpm=None, duration_s=2.0,
                    seed=0, wav=tmp_path / "d.wav")
    assert list(tmp_path.iterdir()) == []


def test_write_heard_keeps_the_wire_pitch_and_velocity(tmp_path):
    """ibeat-replay / ibeat-listen: every MIDI velocity 1..127 survives the trip through [0, 1]."""
    from ibeat_grpc.heard import write_heard
    from ibeat_grpc.v1 import ibeat_pb2 as pb

    start_us = 5_000_000
    hits = [pb.DrumHit(time_us=start_us + 10_000 * i, drum_class=i % 9,
                       gm_pitch=GM_EXPORT_PITCHES[i % 9], velocity=i + 1) for i in range(127)]
    early = pb.DrumHit(time_us=start_us - 1, drum_class=0, gm_pitch=36, velocity=100)
    beats = [pb.BeatEvent(tempo_bpm=90.0), pb.BeatEvent(tempo_bpm=92.0)]
    written = write_heard(beats, [early, *hits], start_us=start_us,
                          end_us=start_us + 2_000_000, midi=tmp_path / "h.mid",
                          wav=tmp_path / "h.wav", seed=3)
    assert list(written) == ["midi", "wav"]
    pm, notes = _notes(tmp_path / "h.mid")
    assert [n.velocity for n in notes] == list(range(1, 128))
    assert [n.pitch for n in notes] == [h.gm_pitch for h in hits]
    assert pm.get_tempo_changes()[1] == pytest.approx([91.0], rel=1e-5)
    assert soundfile.info(tmp_path / "h.wav").frames == round(3.0 * SAMPLE_RATE)
