"""DrumGenNet's body calibration fit (``ibeat_train.body_calibration``): the quantile table,
the recorder that sees the body's raw style, the command's refusals, and the shipped table."""

import json
import shutil

import numpy as np
import pytest

pytest.importorskip("torch", reason="ibeat_train needs torch (the optional [train] extra)")

from ibeat_cli.main import main  # noqa: E402
from ibeat_core.drumgen import BodyCalibration, DrumGenConfig, DrumPatternGenerator  # noqa: E402
from ibeat_core.drums import GENRES  # noqa: E402
from ibeat_core.session import run_session  # noqa: E402
from ibeat_models.drumgen import DrumGenRuntime  # noqa: E402
from ibeat_models.runtime import model_dir  # noqa: E402
from ibeat_train.body_calibration import (SESSION, RecordingDrumGen,  # noqa: E402
                                          calibration_table, position_quantiles,
                                          record_style_contexts)
from ibeat_train.drumgen import Performance  # noqa: E402


def performance(genre: str, style) -> Performance:
    style = np.asarray(style, np.float32)
    hits = np.zeros((len(style), 9), np.float32)
    return Performance("drummer0/session0/0", GENRES.index(genre), style, hits > 0, hits)


class BarLogits:
    """A bar-aware stand-in network that carries a body calibration: its "e" read at half."""

    bar_aware = True
    velocity_levels = None

    def __init__(self):
        q = np.linspace(0.0, 1.0, 5)
        self.body_calibration = {"source": [q] * 4, "target": {"any": [q, q / 2, q, q]},
                                 "density": 1.0}
        self.seen = []

    def logits(self, style_ctx, hits_ctx, genre, bar=None):
        self.seen.append((np.array(style_ctx), bar))
        return np.arange(36, dtype=np.float32).reshape(4, 9) / 36 - float(np.mean(style_ctx))


def test_position_quantiles_are_per_sixteenth_of_the_beat():
    contexts = np.array([[0.0, 0.1, 0.2, 0.3] * 3, [1.0, 0.1, 0.4, 0.5] * 3], np.float32)
    table = position_quantiles(contexts, 3)
    assert np.shape(table) == (4, 3)
    np.testing.assert_allclose(table, [[0, 0.5, 1], [0.1, 0.1, 0.1], [0.2, 0.3, 0.4],
                                       [0.3, 0.4, 0.5]], atol=1e-6)
    # The same numbers as the columns p::4 of the contexts, rounded to 4 decimals.
    rng = np.random.default_rng(0)
    contexts = rng.random((50, 12)).astype(np.float32)
    table = position_quantiles(contexts, 11)
    for p in range(4):
        assert table[p] == np.quantile(contexts[:, p::4].ravel(), np.linspace(0, 1, 11)) \
            .round(4).tolist()


def test_calibration_table_maps_the_body_onto_each_feels_drum_style():
    contexts = np.tile([0.6, 0.6, 0.2, 0.2], (10, 3)) * np.linspace(0.5, 1, 10)[:, None]
    gmd = [performance("rock", [1.0, 0.0, 0.8, 0.2] * 8),
           performance("any", [0.5, 0.5, 0.5, 0.5] * 8)]
    table = calibration_table(contexts, gmd, quantiles=5, density=0.3)
    assert list(table) == ["density", "source", "target"] and table["density"] == 0.3
    # "any" is every performance; a genre GMD does not play falls back on it.
    assert set(table["target"]) == {"any", "rock"}
    assert table["target"]["rock"] == [[1.0] * 5, [0.0] * 5, [0.8] * 5, [0.2] * 5]
    assert table["target"]["any"][0] == [0.5, 0.5, 0.75, 1.0, 1.0]
    cal = BodyCalibration(table["source"], table["target"], table["density"])
    body = np.array(contexts[4], np.float32)
    np.testing.assert_allclose(cal.style_map("rock")(body), [1.0, 0.0, 0.8, 0.2] * 3)
    np.testing.assert_allclose(cal.style_map("jazz")(body), cal.style_map("any")(body))


def test_the_recorder_sees_the_raw_body_style_and_forwards_the_logits():
    net = BarLogits()
    recorder = RecordingDrumGen(net)
    assert recorder.bar_aware and recorder.velocity_levels is None
    assert BodyCalibration.of(recorder) is None
    style = np.tile(np.array([0.9, 0.6, 0.3, 0.2], np.float32), 3)
    config = DrumGenConfig(genre="funk", temperature=0, body_calibration=True)
    DrumPatternGenerator(recorder, config).next_beat(style)
    # Through the recorder the network gets the style as it came, and the bar.
    np.testing.assert_array_equal(recorder.contexts[0], style)
    np.testing.assert_array_equal(net.seen[0][0], style)
    assert net.seen[0][1] is not None and len(net.seen[0][1]) == 8
    # Without it, the same generator reads the "e" at half.
    direct = BarLogits()
    DrumPatternGenerator(direct, config).next_beat(style)
    np.testing.assert_allclose(direct.seen[0][0][1::4], style[1::4] / 2, rtol=1e-6)
    # The logits come back unchanged; the shipped network's meta table is hidden too.
    shipped = DrumGenRuntime()
    wrapped = RecordingDrumGen(shipped)
    assert BodyCalibration.of(shipped) is not None and BodyCalibration.of(wrapped) is None
    hits, bar = np.zeros((12, 9), np.float32), np.eye(8, dtype=np.float32)[0]
    np.testing.assert_array_equal(wrapped.logits(style, hits, 3, bar=bar),
                                  shipped.logits(style, hits, 3, bar=bar))
    np.testing.assert_array_equal(wrapped.contexts[0], style)


def test_sessions_record_one_context_per_beat_whatever_drumgen_plays(networks, aist_clip):
    from dataclasses import replace

    beats = run_session(networks, aist_clip.timestamps_s, aist_clip.keypoints,
                        config=SESSION).beats
    [shipped] = record_style_contexts(networks, [aist_clip], progress=False)
    assert shipped.shape == (len(beats), 12) and len(beats) > 8
    assert shipped.min() >= 0 and shipped.max() <= 1
    # The style a session computes does not depend on the hits DrumGenNet plays.
    [paper] = record_style_contexts(replace(networks, drumgen=networks.drumgen_paper),
                                    [aist_clip], progress=False)
    np.testing.assert_array_equal(paper, shipped)


@pytest.fixture
def drumgen_folder(tmp_path):
    """A copy of the shipped DrumGenNet folder."""
    out = tmp_path / "drumgen"
    shutil.copytree(model_dir("drumgen"), out)
    return out


def test_the_calibration_command_refuses_clearly(tmp_path, drumgen_folder, capsys):
    def run(*args):
        code = main(["train", "drumgen-calibration", *args])
        err = capsys.readouterr().err
        # One line of error, after any progress bar.
        assert code == 2 and "Traceback" not in err, err
        assert err.strip().splitlines()[-1].startswith("ibeat train: error: "), err
        return err.strip().splitlines()[-1]

    out = ["--out", str(drumgen_folder)]
    assert "does not exist" in run("--data", str(tmp_path / "nowhere"), *out)
    assert "meta.json does not exist" in run("--data", str(tmp_path), "--out",
                                             str(tmp_path / "none"))
    (drumgen_folder / "drumgen.onnx").rename(tmp_path / "moved.onnx")
    assert "drumgen.onnx does not exist" in run("--data", str(tmp_path), *out)
    (tmp_path / "moved.onnx").rename(drumgen_folder / "drumgen.onnx")
    assert "--steps and --seed do not apply" in run("--data", str(tmp_path), "--steps", "5", *out)
    before = (drumgen_folder / "meta.json").read_text()
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "none of the motion sequences" in run("--data", str(empty), *out)
    assert (drumgen_folder / "meta.json").read_text() == before


def test_the_shipped_target_is_gmd_trains_drum_style(data_dir):
    from ibeat_io.groove import GROOVE_DIR_NAME
    from ibeat_train.drumgen import load_performances

    shipped = json.loads((model_dir("drumgen") / "meta.json").read_text())["body_calibration"]
    performances = load_performances(data_dir / GROOVE_DIR_NAME, split="train")
    table = calibration_table(np.zeros((1, 12)), performances)
    assert table["target"] == shipped["target"]
    assert shipped["fitted_on"]["target"].endswith(f"all {len(performances)}")


@pytest.mark.slow
def test_the_command_reproduces_the_shipped_table(data_dir, drumgen_folder):
    """The whole fit: 151 sessions (about 90 s on one thread)."""
    meta = json.loads((drumgen_folder / "meta.json").read_text())
    shipped = meta.pop("body_calibration")
    (drumgen_folder / "meta.json").write_text(json.dumps(meta, indent=1))
    assert main(["train", "drumgen-calibration", "--data", str(data_dir),
                 "--out", str(drumgen_folder)]) == 0
    refit = json.loads((drumgen_folder / "meta.json").read_text())
    assert refit.pop("body_calibration") == shipped
    assert refit == meta
