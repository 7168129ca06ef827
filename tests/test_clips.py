import numpy as np
import pytest

from ibeat_core.errors import ParameterError
from ibeat_io.aistpp import list_aist_files, load_aist_clip, music_tempo
from ibeat_io.clips import bundled_clip_path, load_clip, save_clip


def test_bundled_clip(aist_clip):
    assert aist_clip.keypoints.shape == (720, 17, 3)
    assert aist_clip.timestamps_s[1] == pytest.approx(1 / 60, abs=1e-6)
    assert aist_clip.tempo_bpm == 80.0
    assert load_clip(bundled_clip_path(), view=8).keypoints.shape == (720, 17, 3)


def test_npz_round_trip_and_layouts(tmp_path):
    t = np.arange(5) / 30
    bp = np.random.default_rng(0).uniform(0, 1, size=(5, 33, 4)).astype(np.float32)
    save_clip(tmp_path / "c.npz", t, bp, layout="blazepose33", tempo_bpm=100.0)
    clip = load_clip(tmp_path / "c.npz")
    assert clip.keypoints.shape == (5, 17, 3) and clip.tempo_bpm == 100.0
    np.testing.assert_allclose(clip.keypoints[:, 5, :2], bp[:, 11, :2])   # left shoulder


def test_bad_clips(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_clip(tmp_path / "missing.npz")
    (tmp_path / "x.txt").write_text("no")
    with pytest.raises(ParameterError, match="unsupported"):
        load_clip(tmp_path / "x.txt")
    np.savez(tmp_path / "bad.npz", keypoints=np.zeros((3, 17, 3)))
    with pytest.raises(ParameterError, match="timestamps_s"):
        load_clip(tmp_path / "bad.npz")
    save_clip(tmp_path / "ok.npz", np.arange(3.0), np.zeros((3, 17, 3)))
    with pytest.raises(ParameterError, match="view"):
        load_clip(tmp_path / "ok.npz", view=1)


def test_music_tempo_table():
    assert music_tempo("gBR_sBM_cAll_d04_mBR0_ch01") == 80.0
    assert music_tempo("gJB_sFM_c01_d09_mJB5_ch02") == 130.0
    assert music_tempo("gHO_sBM_c01_d19_mHO0_ch02") == 110.0
    assert music_tempo("no_music_here") is None


def test_real_aist_files_keep_nan_frames(data_dir):
    files = list_aist_files(data_dir)
    assert len(files) >= 8
    ch08 = [f for f in files if f.stem.endswith("ch08")]
    if not ch08:
        pytest.skip("ch08 not in this data copy")
    clip = load_aist_clip(ch08[0], view=0)
    assert len(clip.timestamps_s) == len(clip.keypoints) == 720
    assert np.isnan(clip.keypoints).any()
