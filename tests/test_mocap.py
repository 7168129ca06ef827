"""Tests for ibeat_io.mocap: BVH parsing and FK, CMU salsa and Dance-with-Melody loaders.

The CMU checks run on a committed 60-frame fixture. Dance with Melody has no
redistribution license, so nothing of it is committed: its tests run on the
shared copy when present and skip otherwise.
"""

import csv
import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from ibeat_core.errors import ParameterError
from ibeat_io.projection import Mocap3D
from ibeat_io.datasets import default_data_dir
from ibeat_io.mocap import (
    CMU_FPS,
    CMU_SCALE_TO_M,
    DWM_FPS,
    _forward_kinematics,
    _parse_bvh,
    list_dwm_sequences,
    list_salsa_takes,
    load_bvh_sequence,
    load_dwm_sequence,
)

FIXTURE_DIR = Path(__file__).parent / "fixtures" / "cmu"
FIXTURE = FIXTURE_DIR / "60_01_first60.bvh.gz"
REPO = Path(__file__).resolve().parents[1]


def shared_data(name):
    """Folder of a shared dataset, or None: $IBEAT_DATA, then ./shared/data, then ../shared/data."""
    candidates = [default_data_dir(), REPO / "shared" / "data", REPO.parent / "shared" / "data"]
    return next((c / name for c in candidates if c is not None and (c / name).is_dir()), None)


DWM_ROOT = shared_data("dance-with-melody")
CMU_ROOT = shared_data("cmu-salsa-bvh")
needs_dwm = pytest.mark.skipif(DWM_ROOT is None, reason="Dance-with-Melody data not present")
needs_cmu = pytest.mark.skipif(CMU_ROOT is None, reason="CMU salsa data not present")

LIMBS = [(5, 7), (7, 9), (6, 8), (8, 10), (11, 13), (13, 15), (12, 14), (14, 16),
         (5, 6), (11, 12), (1, 2), (0, 1), (3, 4)]


@pytest.fixture(scope="module")
def salsa():
    return load_bvh_sequence(FIXTURE)


def rest_pose_file(tmp_path):
    """The fixture's hierarchy with one all-zero frame: the BVH rest pose."""
    text = gzip.decompress(FIXTURE.read_bytes()).decode("ascii")
    hierarchy = text.partition("MOTION")[0]
    n_channels = sum(int(line.split()[1]) for line in hierarchy.splitlines()
                     if line.strip().startswith("CHANNELS"))
    path = tmp_path / "rest.bvh"
    path.write_text(hierarchy + "MOTION\nFrames: 1\nFrame Time: 0.008333\n"
                    + " ".join(["0"] * n_channels) + "\n")
    return path


def test_fixture_loads_at_60fps_despite_header(salsa):
    assert isinstance(salsa, Mocap3D)
    assert salsa.joints.shape == (60, 17, 3) and salsa.joints.dtype == np.float32
    assert salsa.fps == CMU_FPS == 60.0  # the header says 120 fps
    assert salsa.duration_s == pytest.approx(1.0)
    assert salsa.name == "60_01_first60" and salsa.dance == "salsa"
    assert salsa.beat_times_s is None
    assert np.isfinite(salsa.joints).all()


def test_fk_bone_lengths_are_constant(salsa):
    for a, b in LIMBS:
        length = np.linalg.norm(salsa.joints[:, a] - salsa.joints[:, b], axis=1)
        assert np.ptp(length) < 1e-4, (a, b)


def test_fk_thigh_length_is_the_scaled_offset(salsa):
    thigh = np.linalg.norm(salsa.joints[:, 13] - salsa.joints[:, 11], axis=1)
    shin_offset_units = np.hypot(0.287655, 0.005715)  # lShin OFFSET in the file
    np.testing.assert_allclose(thigh, shin_offset_units * CMU_SCALE_TO_M, rtol=1e-5)


def test_salsa_is_upright_and_on_the_floor(salsa):
    j = salsa.joints
    assert np.all(j[:, :5, 1].min(axis=1) > j[:, 5:7, 1].max(axis=1))  # face above shoulders
    assert np.all(j[:, 5:7, 1].min(axis=1) > j[:, 11:13, 1].max(axis=1))
    assert np.all(j[:, 11:13, 1].min(axis=1) > j[:, 15:17, 1].max(axis=1))
    assert 0.0 <= j[:, 15:17, 1].min() < 0.15


def test_rest_pose_is_a_plausible_person_facing_plus_z(tmp_path):
    rest = load_bvh_sequence(rest_pose_file(tmp_path)).joints[0]
    eye_height = rest[1:3, 1].mean()
    assert 1.5 < eye_height < 1.9
    assert rest[5, 0] > rest[6, 0] and rest[1, 0] > rest[2, 0]  # left is +x
    assert rest[11, 0] > 0 > rest[12, 0]
    assert rest[0, 2] > rest[3:5, 2].max()  # nose in front of the ears
    assert rest[1:3, 1].mean() > rest[0, 1] > rest[5:7, 1].max()


def test_gzip_and_plain_bvh_load_the_same(tmp_path):
    plain = tmp_path / "take.bvh"
    plain.write_bytes(gzip.decompress(FIXTURE.read_bytes()))
    np.testing.assert_array_equal(load_bvh_sequence(plain).joints,
                                  load_bvh_sequence(FIXTURE).joints)


SYNTHETIC_BVH = """HIERARCHY
ROOT a
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Xrotation Zrotation Yrotation
  JOINT b
  {
    OFFSET 0 1 0
    CHANNELS 3 Yrotation Xrotation Zrotation
    End Site
    {
      OFFSET 0 0 1
    }
  }
}
MOTION
Frames: 2
Frame Time: 0.1
1 2 3 90 90 0 0 0 0
1 2 3 0 90 0 0 0 0
"""


def test_channel_order_is_read_from_the_channels_line():
    skeleton, motion = _parse_bvh(SYNTHETIC_BVH, source="synthetic")
    assert skeleton.names == ("a", "b") and skeleton.parents == (-1, 0)
    assert skeleton.channels[0][3:] == ("Xrotation", "Zrotation", "Yrotation")
    positions, rotations = _forward_kinematics(skeleton, motion)
    # Frame 0: Rx(90) @ Rz(90) takes the child offset +y to -x (Rz(90) @ Rx(90) would give +z).
    np.testing.assert_allclose(positions[0, 1], [0, 2, 3], atol=1e-12)
    # Frame 1: Rz(90) alone, the same answer, checks the rotation sign.
    np.testing.assert_allclose(positions[1, 1], [0, 2, 3], atol=1e-12)
    np.testing.assert_allclose(rotations[0, 1], rotations[0, 0])


@pytest.mark.parametrize(
    "text, match",
    [(SYNTHETIC_BVH.replace("1 2 3 0 90 0 0 0 0\n", ""), "2 frames x 9 channels"),
     (SYNTHETIC_BVH.replace("Yrotation Xrotation", "Wrotation Xrotation"), "Wrotation"),
     (SYNTHETIC_BVH.partition("MOTION")[0], "MOTION")],
)
def test_malformed_bvh_raises(text, match):
    with pytest.raises(ParameterError, match=match):
        _parse_bvh(text, source="synthetic")


def test_bvh_without_the_mapped_joints_raises(tmp_path):
    path = tmp_path / "tiny.bvh"
    path.write_text(SYNTHETIC_BVH)
    with pytest.raises(ParameterError, match="leftEye"):
        load_bvh_sequence(path)


def test_list_salsa_takes_on_fixture_dir():
    assert list_salsa_takes(FIXTURE_DIR) == [FIXTURE]


@needs_cmu
def test_full_cmu_take_matches_index():
    takes = list_salsa_takes(CMU_ROOT)
    assert len(takes) >= 2 and takes[0].name == "60_01_scaled.bvh.gz"
    with open(CMU_ROOT / "index.csv", newline="") as f:
        row = next(r for r in csv.DictReader(f) if r["file"] == takes[0].name)
    take = load_bvh_sequence(takes[0])
    assert take.n_frames == int(row["frames"])
    assert take.duration_s == pytest.approx(float(row["duration_s_at_60fps"]), abs=0.01)
    # Same motion as the fixture; only the floor offset (estimated per clip) differs.
    head, fixture = take.joints[:60], load_bvh_sequence(FIXTURE).joints
    np.testing.assert_array_equal(head[..., [0, 2]], fixture[..., [0, 2]])
    assert np.ptp(head[..., 1] - fixture[..., 1]) < 1e-5


@pytest.fixture(scope="module")
def dwm():
    folder = list_dwm_sequences(DWM_ROOT)[0]
    with open(DWM_ROOT / "index.csv", newline="") as f:
        row = next(r for r in csv.DictReader(f) if r["name"] == folder.name)
    with gzip.open(folder / "skeletons.json.gz", "rt") as f:
        raw = np.asarray(json.load(f)["skeletons"])
    raw[..., 2] *= -1.0  # same handedness fix as the loader
    return load_dwm_sequence(folder), row, raw


@needs_dwm
def test_dwm_listing_skips_absent_folders():
    folders = list_dwm_sequences(DWM_ROOT)
    assert folders and all((f / "skeletons.json.gz").is_file() for f in folders)
    with open(DWM_ROOT / "index.csv", newline="") as f:
        assert {f.name for f in folders} == {r["name"] for r in csv.DictReader(f)}
    waltz = [f.name for f in folders if f.name.startswith("DANCE_W_")]
    assert waltz == sorted(waltz, key=lambda n: int(n.split("_")[-1]))


@needs_dwm
def test_dwm_shape_fps_and_beat_grid(dwm):
    clip, row, _ = dwm
    n_frames, n_beats = int(row["n_frames"]), int(row["choreonet_beats"])
    assert clip.joints.shape == (n_frames, 17, 3) and clip.joints.dtype == np.float32
    assert clip.fps == DWM_FPS == 25.0
    assert clip.dance == row["dance"]
    assert clip.beat_times_s.shape == (n_beats + 1,)
    assert clip.beat_times_s[0] == 0.0
    assert clip.beat_times_s[-1] == pytest.approx(clip.duration_s)
    period_s = float(row["beat_period_frames"]) / DWM_FPS
    np.testing.assert_allclose(np.diff(clip.beat_times_s), period_s, rtol=1e-3)


@needs_dwm
def test_dwm_is_upright_with_plausible_height(dwm):
    j = dwm[0].joints
    assert np.all(j[:, :5, 1].min(axis=1) > j[:, 15:17, 1].max(axis=1))
    standing_height = np.median(j[:, 1:3, 1].mean(axis=1)) + 0.1  # eyes to crown
    assert 1.5 < standing_height < 1.9
    assert -0.02 < np.percentile(j[:, 15:17, 1].min(axis=1), 1) < 0.15


@needs_dwm
def test_dwm_left_is_on_the_persons_left(dwm):
    clip, _, raw = dwm
    forward = (raw[:, [11, 20]] - raw[:, [10, 19]]).mean(axis=1)  # heels -> toes
    left = np.cross([0.0, 1.0, 0.0], forward)  # y up, right-handed
    for left_joint, right_joint in [(5, 6), (11, 12), (3, 4), (1, 2)]:
        across = clip.joints[:, left_joint] - clip.joints[:, right_joint]
        assert np.mean(np.sum(across * left, axis=1) > 0) > 0.99
    nose_ahead = clip.joints[:, 0] - clip.joints[:, 3:5].mean(axis=1)
    assert np.mean(np.sum(nose_ahead * forward, axis=1) > 0) > 0.99


@needs_dwm
def test_dwm_rejects_unlisted_folder(tmp_path):
    (tmp_path / "index.csv").write_text((DWM_ROOT / "index.csv").read_text())
    with pytest.raises(ParameterError, match="DANCE_X_1"):
        load_dwm_sequence(tmp_path / "DANCE_X_1")
