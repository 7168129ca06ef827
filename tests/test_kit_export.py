"""``ibeat kit``: the synthesised drum kit as WAV files for engine clients."""

import json
from pathlib import Path

import numpy as np
import soundfile

from ibeat_cli.main import main
from ibeat_core.drums import DRUM_CLASSES, GM_EXPORT_PITCHES
from ibeat_io.drumkit import PEAK_CEILING, VOICE_LENGTHS_S
from ibeat_io.kit_export import KIT_MANIFEST, export_kit

#: Where the Unity package's demo takes its kit from (``ibeat kit --out`` this folder).
UNITY_KIT = Path(__file__).resolve().parents[1] / "unity_client" / "Samples~" / "Demo" / "Audio"


def test_one_sample_per_drum_class_and_a_manifest(tmp_path):
    written = export_kit(tmp_path / "kit", sample_rate=22050, seed=3)
    assert [p.name for p in written] == [f"{n}.wav" for n in DRUM_CLASSES] + [KIT_MANIFEST]
    manifest = json.loads((tmp_path / "kit" / KIT_MANIFEST).read_text())
    assert manifest["sample_rate"] == 22050
    for index, voice in enumerate(manifest["voices"]):
        assert (voice["drum_class"], voice["drum"], voice["gm_pitch"]) == (
            index, DRUM_CLASSES[index], GM_EXPORT_PITCHES[index])
        audio, rate = soundfile.read(tmp_path / "kit" / voice["file"])
        assert rate == 22050 and audio.ndim == 1
        assert len(audio) == round(VOICE_LENGTHS_S[index] * 22050)
        assert 0.1 < np.abs(audio).max() <= PEAK_CEILING + 1e-4   # audible, -1 dBFS at most
        assert abs(voice["length_s"] - len(audio) / rate) < 1e-3


def test_the_command_writes_and_refuses_a_bad_rate(tmp_path, capsys):
    assert main(["kit", "--out", str(tmp_path / "k")]) == 0
    assert "kick.wav" in capsys.readouterr().out
    assert soundfile.info(str(tmp_path / "k" / "kick.wav")).samplerate == 48000
    assert main(["kit", "--out", str(tmp_path / "bad"), "--sample-rate", "5"]) == 2
    assert "sample_rate" in capsys.readouterr().err


def test_the_unity_demo_ships_the_kit_this_command_writes(tmp_path):
    manifest = json.loads((UNITY_KIT / KIT_MANIFEST).read_text())
    export_kit(tmp_path, sample_rate=manifest["sample_rate"], seed=manifest["seed"])
    for voice in manifest["voices"]:
        shipped, _ = soundfile.read(UNITY_KIT / voice["file"], dtype="int16")
        fresh, _ = soundfile.read(tmp_path / voice["file"], dtype="int16")
        # Bit-identical but for a last-bit rounding difference of another BLAS/CPU.
        assert len(shipped) == len(fresh) and np.abs(shipped - fresh.astype(int)).max() <= 2
