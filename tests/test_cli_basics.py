"""What every command owes a new user: ``--version``, and a clear refusal of impossible ports."""

import numpy as np
import pytest

from ibeat_cli.main import main as ibeat_main
from ibeat_grpc.listen import main as listen_main
from ibeat_grpc.replay import main as replay_main
from ibeat_grpc.server import main as server_main
from ibeat_io.version import package_version


@pytest.mark.parametrize("main, prog", [(ibeat_main, "ibeat"), (server_main, "ibeat-server"),
                                        (replay_main, "ibeat-replay"),
                                        (listen_main, "ibeat-listen")])
def test_every_command_has_a_version(main, prog, capsys):
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0
    assert capsys.readouterr().out.strip() == f"{prog} {package_version()}"


@pytest.mark.parametrize("args, flag", [(["--port", "99999"], "--port"),
                                        (["--port", "-1"], "--port"),
                                        (["--ws-port", "70000"], "--ws-port")])
def test_the_server_refuses_a_port_that_cannot_exist(args, flag, capsys):
    with pytest.raises(SystemExit) as e:
        server_main(args)
    assert e.value.code == 2
    assert f"{flag} must be a TCP port in 0-65535" in capsys.readouterr().err


def test_evaluate_drums_names_a_missing_groove_midi_split(tmp_path, monkeypatch, capsys):
    from ibeat_io import beat_data

    groove = tmp_path / "groove-midi"
    groove.mkdir()
    (groove / "info.csv").write_text(      # GMD's header, no performance
        "drummer,session,id,style,bpm,beat_type,time_signature,midi_filename,audio_filename,"
        "duration,split\n")
    monkeypatch.setattr(beat_data, "build_beat_examples", lambda *a, **k: [object()])
    assert ibeat_main(["evaluate", "drums", "--data", str(tmp_path)]) == 2
    assert "no Groove MIDI train or validation split" in capsys.readouterr().err


@pytest.mark.parametrize("suffix", [".npz", ".pkl"])
@pytest.mark.parametrize("command", ["analyze", "render"])
def test_a_garbage_clip_is_one_line_and_exit_2(tmp_path, capsys, suffix, command):
    clip = tmp_path / f"garbage{suffix}"
    clip.write_bytes(bytes(range(256)) * 12)
    args = [command, str(clip)] + (["-o", str(tmp_path / "x.mid")] if command == "render" else [])
    assert ibeat_main(args) == 2
    err = capsys.readouterr().err
    assert f"is not a readable {suffix} keypoint clip" in err and "Traceback" not in err
    assert not (tmp_path / "x.mid").exists()


def test_listen_without_a_server_is_one_line(capsys):
    assert listen_main(["--server", "127.0.0.1:1"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "None" not in captured.err
    assert captured.err.startswith("ibeat-listen: no server at 127.0.0.1:1")


def _clip(path, keypoints, fps=30.0):
    from ibeat_io.clips import save_clip
    save_clip(path, np.arange(len(keypoints)) / fps, keypoints)
    return path


def test_a_clip_without_drums_says_why(tmp_path, capsys):
    still = np.zeros((300, 17, 3), np.float32)
    still[..., 0] = np.linspace(100, 300, 17)
    still[..., 1] = np.linspace(50, 400, 17)
    still[..., 2] = 1.0
    unseen = still.copy()
    unseen[..., 2] = 0.0
    for name, kp, why in (("still", still, "barely moves"), ("unseen", unseen, "no joint was seen"),
                          ("short", still[:3], "s long")):
        clip = _clip(tmp_path / f"{name}.npz", kp)
        assert ibeat_main(["render", str(clip), "-o", str(tmp_path / f"{name}.mid")]) == 0
        out = capsys.readouterr().out
        assert "0 hits on 0 beats" in out and why in out, out


@pytest.mark.parametrize("args, says", [(["-o", "out.mp4"], "-o/--midi out.mp4"),
                                        (["-o", "x.wav"], "-o/--midi x.wav"),
                                        (["-o", "a.mid", "--wav", "a.mp3"], "--wav a.mp3"),
                                        (["-o", "a.mid", "--plot", "y.xyz"], "--plot y.xyz")])
def test_render_refuses_an_output_it_would_not_write_before_any_work(tmp_path, monkeypatch,
                                                                     capsys, args, says):
    monkeypatch.chdir(tmp_path)
    assert ibeat_main(["render", *args]) == 2
    assert says in capsys.readouterr().err
    assert not list(tmp_path.iterdir())          # nothing written


def test_a_server_open_to_the_network_without_protection_says_so(capsys):
    from ibeat_grpc.server import exposure_warning

    assert exposure_warning("127.0.0.1", tls=False, tokens=None) is None
    assert exposure_warning("localhost", tls=False, tokens=None) is None
    assert exposure_warning("::1", tls=False, tokens=None) is None
    assert "without TLS or a token" in exposure_warning("0.0.0.0", tls=False, tokens=None)
    assert exposure_warning("0.0.0.0", tls=False, tokens=(b"t",)) is None
    assert exposure_warning("192.168.1.20", tls=True, tokens=None) is None
    # The default is this machine only.
    with pytest.raises(SystemExit):
        server_main(["--help"])
    assert "(default: 127.0.0.1)" in " ".join(capsys.readouterr().out.split())
