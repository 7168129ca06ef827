"""Tests for ibeat_core.skeleton: index maps, converters, mirroring."""

import numpy as np
import pytest

from ibeat_core.errors import ParameterError
from ibeat_core.skeleton import (
    BLAZEPOSE33_TO_COCO17,
    BODY25_TO_COCO17,
    COCO17_BONES,
    COCO17_JOINTS,
    COCO17_MIRROR,
    N_JOINTS,
    TORSO,
    from_blazepose33,
    from_body25,
    mirror,
    to_coco17,
)

# Written out independently of the module's tables, from the layouts' docs.
BLAZEPOSE_BY_NAME = {
    "nose": 0, "left_eye": 2, "right_eye": 5, "left_ear": 7, "right_ear": 8,
    "left_shoulder": 11, "right_shoulder": 12, "left_elbow": 13, "right_elbow": 14,
    "left_wrist": 15, "right_wrist": 16, "left_hip": 23, "right_hip": 24,
    "left_knee": 25, "right_knee": 26, "left_ankle": 27, "right_ankle": 28,
}
BODY25_BY_NAME = {
    "nose": 0, "left_eye": 16, "right_eye": 15, "left_ear": 18, "right_ear": 17,
    "left_shoulder": 5, "right_shoulder": 2, "left_elbow": 6, "right_elbow": 3,
    "left_wrist": 7, "right_wrist": 4, "left_hip": 12, "right_hip": 9,
    "left_knee": 13, "right_knee": 10, "left_ankle": 14, "right_ankle": 11,
}


def labelled(n_points, n_channels, batch=(2,)):
    """Points whose x is the source index and y = 100 + index; extra channels 0.5."""
    pts = np.full(batch + (n_points, n_channels), 0.5)
    pts[..., 0] = np.arange(n_points)
    pts[..., 1] = 100 + np.arange(n_points)
    return pts


def test_joint_tables_are_consistent():
    assert N_JOINTS == len(COCO17_JOINTS) == 17
    assert COCO17_JOINTS[0] == "nose" and COCO17_JOINTS[16] == "right_ankle"
    for i, name in enumerate(COCO17_JOINTS):
        twin = COCO17_JOINTS[COCO17_MIRROR[i]]
        assert twin == name.replace("left", "@").replace("right", "left").replace("@", "right")
    assert all(0 <= a < N_JOINTS and 0 <= b < N_JOINTS for a, b in COCO17_BONES)
    assert [COCO17_JOINTS[i] for i in TORSO] == [
        "left_shoulder", "right_shoulder", "left_hip", "right_hip"]


@pytest.mark.parametrize(
    "table, by_name",
    [(BLAZEPOSE33_TO_COCO17, BLAZEPOSE_BY_NAME), (BODY25_TO_COCO17, BODY25_BY_NAME)],
)
def test_index_maps_match_documented_layouts(table, by_name):
    assert table == tuple(by_name[name] for name in COCO17_JOINTS)


@pytest.mark.parametrize("n_channels", [2, 3, 4])
def test_blazepose_each_joint_from_right_landmark(n_channels):
    out = from_blazepose33(labelled(33, n_channels))
    assert out.shape == (2, 17, 3) and out.dtype == np.float32
    for k, name in enumerate(COCO17_JOINTS):
        assert out[1, k, 0] == BLAZEPOSE_BY_NAME[name]
        assert out[1, k, 1] == 100 + BLAZEPOSE_BY_NAME[name]
    expected_conf = 0.5 if n_channels == 4 else 1.0  # 3 channels = x, y, z
    np.testing.assert_array_equal(out[..., 2], expected_conf)


def test_blazepose_visibility_clipped_and_nan_missing():
    pts = labelled(33, 4, batch=())
    pts[0, 3] = 1.3
    pts[11, 0] = np.nan
    pts[13, 1] = np.inf
    out = from_blazepose33(pts)
    assert out[0, 2] == 1.0
    assert np.isnan(out[5, :2]).all() and out[5, 2] == 0.0
    assert np.isnan(out[7, :2]).all() and out[7, 2] == 0.0


@pytest.mark.parametrize("n_channels", [2, 3])
def test_body25_each_joint_from_right_keypoint(n_channels):
    out = from_body25(labelled(25, n_channels, batch=(3, 2)))
    assert out.shape == (3, 2, 17, 3)
    for k, name in enumerate(COCO17_JOINTS):
        assert out[2, 1, k, 0] == BODY25_BY_NAME[name]
    np.testing.assert_array_equal(out[..., 2], 0.5 if n_channels == 3 else 1.0)


@pytest.mark.parametrize("n_channels", [2, 3])
def test_body25_all_zero_is_missing(n_channels):
    pts = labelled(25, n_channels, batch=())
    pts[2] = 0.0  # RShoulder undetected
    pts[0, :2] = 0.0  # nose at the image corner, still detected when scored
    out = from_body25(pts)
    assert np.isnan(out[6, :2]).all() and out[6, 2] == 0.0
    assert n_channels == 2 or out[0, 2] == 0.5
    assert np.isfinite(out[5, :2]).all()


def test_to_coco17_dispatches_and_enforces_missing_convention():
    bp = labelled(33, 4)
    np.testing.assert_array_equal(to_coco17(bp, layout="blazepose33"), from_blazepose33(bp))
    op = labelled(25, 3)
    np.testing.assert_array_equal(to_coco17(op, layout="body25"), from_body25(op))
    coco = labelled(17, 3)
    coco[0, 4, 1] = np.nan
    out = to_coco17(coco, layout="coco17")
    assert np.isnan(out[0, 4, 0]) and out[0, 4, 2] == 0.0
    np.testing.assert_array_equal(out[1], coco[1].astype(np.float32))


@pytest.mark.parametrize(
    "layout, shape, expected",
    [("coco17", (5, 18, 3), "17"), ("blazepose33", (5, 32, 4), "33"),
     ("body25", (5, 17, 3), "25"), ("body25", (5, 25, 4), "25"), ("body25", (25,), "25")],
)
def test_wrong_joint_count_raises_with_expected_count(layout, shape, expected):
    with pytest.raises(ParameterError) as excinfo:
        to_coco17(np.zeros(shape), layout=layout)
    assert f"(..., {expected}, " in str(excinfo.value)
    assert str(shape) in str(excinfo.value)


def test_unknown_layout_raises():
    with pytest.raises(ParameterError, match="halpe26"):
        to_coco17(np.zeros((26, 3)), layout="halpe26")


def test_mirror_twice_is_identity_and_swaps_sides():
    rng = np.random.default_rng(0)
    kp = rng.uniform(0, 640, size=(4, 17, 3)).astype(np.float32)
    kp[1, 3] = [np.nan, np.nan, 0.0]
    np.testing.assert_array_equal(mirror(mirror(kp)), kp)
    np.testing.assert_allclose(mirror(mirror(kp, width=640), width=640), kp, atol=1e-4)
    once = mirror(kp, width=640)
    np.testing.assert_allclose(once[:, 6, 0], 640 - kp[:, 5, 0])
    np.testing.assert_array_equal(once[:, 6, 1:], kp[:, 5, 1:])
    np.testing.assert_array_equal(mirror(kp)[:, 0, 0], -kp[:, 0, 0])
    assert np.isnan(once[1, 4, :2]).all()


def test_mirror_rejects_wrong_shape():
    with pytest.raises(ParameterError, match=r"\(4, 16, 3\)"):
        mirror(np.zeros((4, 16, 3)))
