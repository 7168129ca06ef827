"""``ibeat evaluate input``: a tiny real run, and the report's arithmetic."""

import json
import shutil

import numpy as np
import pytest

from ibeat_cli.evaluate.body_input import INPUTS, format_input_report, input_cases
from ibeat_cli.evaluate.following import FollowCase
from ibeat_cli.main import main

CLIP = "gMH_sBM_cAll_d24_mMH3_ch04"   # a held-out dancer (d24) of the shipped beat network


@pytest.fixture
def one_clip_data(data_dir, tmp_path):
    """A data folder holding one AIST++ 3D clip, laid out like shared/data."""
    src = data_dir / "aistpp-keypoints3d"
    dst = tmp_path / "data" / "aistpp-keypoints3d"
    (dst / "keypoints3d").mkdir(parents=True)
    shutil.copy(src / "aist_music_bpm.json", dst)
    rows = (src / "index.csv").read_text().splitlines()
    (dst / "index.csv").write_text("\n".join([rows[0]] + [r for r in rows if CLIP in r]) + "\n")
    shutil.copy(src / "keypoints3d" / f"{CLIP}.npy", dst / "keypoints3d")
    return tmp_path / "data"


def test_tiny_run_scores_every_input(one_clip_data, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["evaluate", "input", "--data", str(one_clip_data), "--datasets", "aistpp-3d",
                 "--projections", "facing", "--out", str(out)])
    assert code == 0
    report = json.loads((out / "input.json").read_text())
    assert report["clips"] == 1 and report["projections"] == ["facing"]
    keys = ["2d-camera", "2d-head-wrists", "3d-full facing", "3d-head-hands facing"]
    assert list(report["summary"]) == keys
    for key in keys:
        s = report["summary"][key]["aistpp-3d"]
        assert s["views"] == 1 and 0 <= s["coverage"] <= 1
    # A clip of about 10 s of dance: every input gets drums (issue 13: head + hands got none).
    assert all(report["summary"][k]["aistpp-3d"]["coverage"] > 0.5 for k in keys)
    text = (out / "input.md").read_text()
    assert "| 3d-head-hands facing | 1 |" in text and text in capsys.readouterr().out


def test_bad_dataset_or_projection_is_a_clear_error(capsys):
    assert main(["evaluate", "input", "--data", ".", "--datasets", "kinect"]) == 2
    assert "--datasets" in capsys.readouterr().err
    assert main(["evaluate", "input", "--data", ".", "--projections", "top"]) == 2
    assert "facing" in capsys.readouterr().err


def test_input_cases_stream_3d_at_a_headset_rate():
    t = np.arange(60) / 30.0
    joints = np.random.default_rng(0).normal(size=(60, 17, 3))
    camera = np.ones((60, 17, 3))
    base = FollowCase("aistpp-3d", "x", "jazz", t, camera, t, False)
    cases = input_cases(base, joints, camera)
    assert list(cases) == list(INPUTS)
    case, layout = cases["3d-head-hands"]
    assert layout == "head_hands" and case.keypoints.shape == (178, 3, 4)
    np.testing.assert_allclose(case.timestamps_s[:4], np.arange(4) / 90.0)
    np.testing.assert_allclose(case.keypoints[3, :, :3], joints[1, [0, 9, 10]], atol=1e-6)
    wrists = cases["2d-head-wrists"][0].keypoints
    assert (wrists[:, [0, 9, 10], 2] == 1).all()
    assert (np.delete(wrists, [0, 9, 10], 1)[..., 2] == 0).all()


def test_shares_are_taken_against_the_same_kind_of_full_body():
    row = dict(views=2, coverage=0.4, tempo_agreement=0.5, f_measure=None, amlt=None,
               lock_beats_median=None, lock_beats_share=None, first_drums_s_median=1.0,
               beats_into_stillness=0)
    summary = {"2d-camera": {"dwm": {**row, "coverage": 0.8}},
               "2d-head-wrists": {"dwm": row},
               "3d-full oblique": {"dwm": {**row, "coverage": 0.5}},
               "3d-head-hands oblique": {"dwm": row}}
    lines = format_input_report(summary).splitlines()
    assert lines[5].endswith("| 0.50 / 1.00 / - |")     # 2d-head-wrists / 2d-camera
    assert lines[7].endswith("| 0.80 / 1.00 / - |")     # 3D head + hands / 3D full, same view
