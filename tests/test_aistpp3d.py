"""Tests for ibeat_io.aistpp3d: the AIST++ 3D keypoint clips as Mocap3D.

The real-data tests read the shared copy (``$IBEAT_DATA`` or ``../shared/data``)
and skip without it; the error tests build tiny folders in a tmp dir.
"""

import csv
import json

import numpy as np
import pytest

from ibeat_core.errors import ParameterError
from ibeat_io.aistpp import list_aist_files, load_aist_clip, music_tempo
from ibeat_io.aistpp3d import (
    AIST3D_FPS,
    AISTPP3D_DIR,
    Aist3DClip,
    aist_music_tempi,
    list_aist3d_clips,
    load_aist3d_clip,
)
from ibeat_io.projection import Mocap3D, to_2d_views

KNOWN = "gBR_sBM_cAll_d04_mBR0_ch04"  # 80 BPM, 720 frames; also in the 2D sample


@pytest.fixture(scope="module")
def folder(data_dir):
    path = data_dir / AISTPP3D_DIR
    if not path.is_dir():
        pytest.skip(f"{AISTPP3D_DIR} not in the shared data")
    return path


@pytest.fixture(scope="module")
def index(folder):
    with open(folder / "index.csv", newline="") as f:
        return {row["file"].split("/")[-1].removesuffix(".npy"): row for row in csv.DictReader(f)}


@pytest.fixture(scope="module")
def clips(folder):
    return [load_aist3d_clip(path) for path in list_aist3d_clips(folder.parent)]


def body_height_m(joints):
    """Standing height from the joint chain (pose independent): ankle height (8 cm) +
    shin + thigh + hip-mid to shoulder-mid + shoulder-mid to nose + nose to crown (12 cm)."""
    def seg(a, b):
        return np.median(np.linalg.norm(a - b, axis=-1))
    legs = 0.5 * (seg(joints[:, 15], joints[:, 13]) + seg(joints[:, 13], joints[:, 11])
                  + seg(joints[:, 16], joints[:, 14]) + seg(joints[:, 14], joints[:, 12]))
    hips, shoulders = joints[:, 11:13].mean(axis=1), joints[:, 5:7].mean(axis=1)
    return 0.08 + legs + seg(hips, shoulders) + seg(shoulders, joints[:, 0]) + 0.12


def test_lists_the_55_indexed_clips_sorted(folder, index):
    paths = list_aist3d_clips(folder.parent)
    assert len(paths) == 55 == len(index)
    assert [p.stem for p in paths] == sorted(index)
    assert list_aist3d_clips(folder) == paths  # the dataset folder itself works too
    assert len({p.stem.split("_")[0] for p in paths}) == 10  # all genres


def test_known_clip_shape_fps_tempo_and_metadata(folder):
    clip = load_aist3d_clip(KNOWN, root=folder.parent)
    assert isinstance(clip, Aist3DClip) and isinstance(clip.mocap, Mocap3D)
    mocap = clip.mocap
    assert mocap.name == clip.name == KNOWN
    assert mocap.joints.shape == (720, 17, 3) and mocap.joints.dtype == np.float32
    assert mocap.fps == AIST3D_FPS == 60.0 and mocap.duration_s == pytest.approx(12.0)
    assert (clip.genre, clip.dancer, clip.music_id, clip.tempo_bpm) == ("BR", "d04", "mBR0", 80.0)
    assert mocap.dance == "break"
    assert mocap.beat_times_s is None  # only the tempo is known, not the phase
    # a path, with or without root, gives the same clip
    by_path = load_aist3d_clip(folder / "keypoints3d" / f"{KNOWN}.npy")
    np.testing.assert_array_equal(by_path.mocap.joints, mocap.joints)


def test_only_units_and_floor_change(folder):
    raw = np.load(folder / "keypoints3d" / f"{KNOWN}.npy").astype(np.float64)
    joints = load_aist3d_clip(KNOWN, root=folder).mocap.joints.astype(np.float64)
    np.testing.assert_allclose(joints[..., [0, 2]], raw[..., [0, 2]] / 100.0, atol=1e-6)
    shift = joints[..., 1] - raw[..., 1] / 100.0
    np.testing.assert_allclose(shift, shift.flat[0], atol=1e-5)  # one constant
    assert -0.8 < shift.flat[0] < -0.6  # the AIST++ floor sits ~0.7 m below the origin


def test_tempo_table_matches_the_index_and_every_clip_lasts_16_beats(clips, index, folder):
    tempi = aist_music_tempi(folder)
    assert tempi["mHO5"] == 135.0 and tempi["mJB0"] == 80.0
    for clip in clips:
        row = index[clip.name]
        assert clip.tempo_bpm == float(row["bpm"]) == music_tempo(clip.name)  # 2D loader's table
        assert clip.mocap.n_frames == int(row["frames"])
        # SOURCE.md: with 60 fps and this table every clip is 16.00 +- 0.03 beats
        assert clip.mocap.duration_s * clip.tempo_bpm / 60.0 == pytest.approx(16.0, abs=0.03)
    assert sorted({c.tempo_bpm for c in clips})[0] == 80.0
    assert sorted({c.tempo_bpm for c in clips})[-1] == 135.0


def test_metres_y_up_feet_on_the_floor_right_handed(clips):
    heights = []
    for clip in clips:
        j = clip.mocap.joints.astype(np.float64)
        assert np.isfinite(j).all()
        heights.append(body_height_m(j))
        lowest_ankle = j[:, 15:17, 1].min(axis=1)
        assert 0.05 < np.median(lowest_ankle) < 0.16, clip.name  # ankles ~8 cm above y = 0
        # y is up: the nose above the hips above the ankles nearly always
        assert np.mean((j[:, 0, 1] > j[:, 11:13, 1].mean(1)) &
                       (j[:, 11:13, 1].mean(1) > j[:, 15:17, 1].max(1))) > 0.95, clip.name
        # right-handed: (left x up) points where the face looks (nose ahead of the ears)
        left = (j[:, 5] - j[:, 6]) + (j[:, 11] - j[:, 12])
        forward = j[:, 0] - 0.5 * (j[:, 3] + j[:, 4])
        assert np.mean(np.sum(np.cross(left, [0.0, 1.0, 0.0]) * forward, axis=1) > 0) > 0.9
    assert 1.4 < min(heights) and max(heights) < 2.0  # metres: 1.50-1.77 here


def test_3d_hip_height_follows_the_matching_2d_take(folder, data_dir):
    """The same take's 2D keypoints (view 0) move with the 3D hips, at lag 0 and 60 fps."""
    files = [p for p in list_aist_files(data_dir) if p.stem == KNOWN]
    if not files:
        pytest.skip("the matching 2D take is not in the shared data")
    view = load_aist_clip(files[0], view=0)
    hip_2d = np.nanmean(view.keypoints[:, 11:13, 1], axis=1)  # image y points down
    hip_3d = load_aist3d_clip(KNOWN, root=folder).mocap.joints[:, 11:13, 1].mean(axis=1)
    assert len(hip_2d) == len(hip_3d) == 720
    assert np.median(np.diff(view.timestamps_s)) == pytest.approx(1 / 60, rel=1e-3)
    ok = np.isfinite(hip_2d)

    def r(shift):
        return np.corrcoef(hip_3d[ok][5:-5], np.roll(hip_2d, shift)[ok][5:-5])[0, 1]
    assert r(0) < -0.85
    assert r(0) < r(3) and r(0) < r(-3)


def test_projects_to_2d_views(folder):
    mocap = load_aist3d_clip(KNOWN, root=folder).mocap
    views = to_2d_views(mocap, np.random.default_rng(0), n_views=2)
    assert len(views) == 2
    for keypoints, camera in views:
        assert keypoints.shape == (720, 17, 3) and keypoints.dtype == np.float32
        visible = keypoints[..., 2] > 0
        assert visible.mean() > 0.9
        xy = keypoints[..., :2][visible]
        assert np.all((xy >= 0) & (xy <= [camera.width_px, camera.height_px]))


def test_bad_input_raises(tmp_path, folder):
    with pytest.raises(ParameterError, match="unknown AIST"):
        load_aist3d_clip("gBR_sBM_cAll_d99_mBR0_ch99", root=folder)
    with pytest.raises(FileNotFoundError):
        list_aist3d_clips(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError):
        load_aist3d_clip(KNOWN, root=tmp_path)


def write_dataset(root, name, array, *, with_file=True):
    folder = root / AISTPP3D_DIR
    (folder / "keypoints3d").mkdir(parents=True)
    (folder / "index.csv").write_text(
        "file,genre,dancer,music_id,bpm,frames\n"
        f"keypoints3d/{name}.npy,BR,d04,mBR0,80,{len(array)}\n")
    (folder / "aist_music_bpm.json").write_text(json.dumps({"mBR0": 80}))
    if with_file:
        np.save(folder / "keypoints3d" / f"{name}.npy", array)
    return folder


def test_tiny_dataset_and_its_errors(tmp_path):
    still = np.zeros((30, 17, 3), dtype=np.float32)
    still[:, :, 1] = np.linspace(170.0, 0.0, 17)  # cm: nose at 170, ankles at 0
    folder = write_dataset(tmp_path / "ok", KNOWN, still)
    clip = load_aist3d_clip(KNOWN, root=tmp_path / "ok")
    assert clip.tempo_bpm == 80.0 and clip.mocap.n_frames == 30
    assert clip.mocap.joints[0, 0, 1] == pytest.approx(1.7 + 0.08)  # ankles 8 cm up
    assert list_aist3d_clips(folder) == [folder / "keypoints3d" / f"{KNOWN}.npy"]

    write_dataset(tmp_path / "absent", KNOWN, still, with_file=False)
    assert list_aist3d_clips(tmp_path / "absent") == []
    with pytest.raises(FileNotFoundError, match="listed but absent"):
        load_aist3d_clip(KNOWN, root=tmp_path / "absent")

    write_dataset(tmp_path / "shape", KNOWN, np.zeros((30, 18, 3), dtype=np.float32))
    with pytest.raises(ParameterError, match="17, 3"):
        load_aist3d_clip(KNOWN, root=tmp_path / "shape")

    bad = still.copy()
    bad[3, 4, 0] = np.nan
    write_dataset(tmp_path / "nan", KNOWN, bad)
    with pytest.raises(ParameterError, match="NaN"):
        load_aist3d_clip(KNOWN, root=tmp_path / "nan")
