import json

import numpy as np
import pretty_midi
import soundfile

from ibeat_cli.main import main


def test_analyze_bundled_clip_json(capsys, tmp_path):
    rc = main(["analyze", "--json", "--plot", str(tmp_path / "a.png"),
               "--wav", str(tmp_path / "a.wav"), "--midi", str(tmp_path / "a.mid")])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert out["tempo_agrees"] is True
    beats = out["beat_times_s"]
    assert len(beats) > 8 and beats == sorted(beats)
    assert (tmp_path / "a.png").stat().st_size > 10_000
    audio, sr = soundfile.read(tmp_path / "a.wav")
    assert sr == 44100 and np.abs(audio).max() > 0.05 and np.abs(audio).max() <= 1.0
    assert len(audio) / sr >= beats[-1]
    notes = pretty_midi.PrettyMIDI(str(tmp_path / "a.mid")).instruments[0].notes
    np.testing.assert_allclose([n.start for n in notes], beats, atol=2e-3)


def test_analyze_text_output(capsys):
    assert main(["analyze", "--view", "4"]) == 0
    text = capsys.readouterr().out
    assert "tempo" in text and "BPM" in text and "visual beats" in text


def test_analyze_errors_are_clear(capsys, tmp_path):
    assert main(["analyze", "--view", "12"]) == 2
    assert "view must be in 0..8" in capsys.readouterr().err
    assert main(["analyze", str(tmp_path / "dance.mp4")]) == 2
    assert "video" in capsys.readouterr().err
    assert main(["analyze", str(tmp_path / "none.npz")]) == 2
    assert "no such clip" in capsys.readouterr().err


def test_analyze_with_the_shipped_visbeat_model(capsys):
    assert main(["analyze", "--model", "visbeat", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["model"] == "visbeat"
    assert len(out["beat_times_s"]) > 5 and out["beat_times_s"] == sorted(out["beat_times_s"])
    assert 60 <= out["tempo_bpm"] <= 180


def test_train_and_evaluate_need_a_data_directory(capsys, tmp_path):
    assert main(["evaluate", "beats", "--data", str(tmp_path / "nowhere")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["evaluate", "tempo", "--data", str(tmp_path)]) == 2
    assert "holds no dataset" in capsys.readouterr().err


def test_render_writes_drums_that_match_the_streaming_engine(capsys, tmp_path):
    from ibeat_core.session import SessionConfig, run_session
    from ibeat_io.clips import bundled_clip_path, load_clip
    from ibeat_models import load_networks

    rc = main(["render", "-o", str(tmp_path / "d.mid"), "--wav", str(tmp_path / "d.wav"),
               "--plot", str(tmp_path / "d.png"), "--seed", "2", "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert out["beats"] >= 8 and out["hits"] > out["beats"]     # polyphonic: several hits a beat
    clip = load_clip(bundled_clip_path())
    live = run_session(load_networks(), clip.timestamps_s, clip.keypoints,
                       config=SessionConfig(seed=2))
    notes = sorted(pretty_midi.PrettyMIDI(str(tmp_path / "d.mid")).instruments[0].notes,
                   key=lambda n: (n.start, n.pitch))
    expected = sorted((h.time_s - clip.timestamps_s[0], h.pitch, h.midi_velocity) for h in live.hits)
    assert len(notes) == len(expected) == out["hits"]
    np.testing.assert_allclose([n.start for n in notes], [e[0] for e in expected], atol=2e-3)
    assert [n.pitch for n in notes] == [e[1] for e in expected]
    audio, sr = soundfile.read(tmp_path / "d.wav")
    assert np.abs(audio).max() > 0.05 and len(audio) / sr >= clip.timestamps_s[-1] - clip.timestamps_s[0]
    assert (tmp_path / "d.png").stat().st_size > 10_000


def test_render_mono_and_errors(capsys, tmp_path):
    assert main(["render", "--mode", "mono", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["hits"] <= out["beats"]
    assert main(["render"]) == 2                                   # nothing to write
    assert "nothing to write" in capsys.readouterr().err
    assert main(["render", str(tmp_path / "missing.pkl"), "--json"]) == 2
    assert main(["render", "--json", "--temperature", "-1"]) == 2
    assert "temperature" in capsys.readouterr().err
