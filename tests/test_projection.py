"""Tests for ibeat_io.projection: cameras, projection, detector noise, 2D views."""

import numpy as np
import pytest

from ibeat_core.errors import ParameterError
from ibeat_io.projection import (
    DEFAULT_IMAGE_SIZE,
    PERSON_HEIGHT_M,
    Mocap3D,
    PinholeCamera,
    add_detector_noise,
    look_at_camera,
    project,
    random_camera,
    to_2d_views,
)

CENTRE = np.array(DEFAULT_IMAGE_SIZE) / 2.0


def standing_clip(n_frames=120, fps=30.0, walk_m_per_s=0.0):
    """A crude upright figure, facing +z, walking along x, left on +x."""
    joints = np.zeros((n_frames, 17, 3))
    heights = [1.6, 1.65, 1.65, 1.6, 1.6, 1.45, 1.45, 1.15, 1.15, 0.9, 0.9,
               0.95, 0.95, 0.5, 0.5, 0.08, 0.08]
    joints[..., 1] = heights
    side = np.array([0, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1])
    joints[..., 0] = 0.15 * side + walk_m_per_s * np.arange(n_frames)[:, None] / fps
    joints[:, 0, 2] = 0.1
    return Mocap3D(name="figure", joints=joints, fps=fps)


def test_target_projects_to_image_centre():
    rng = np.random.default_rng(1)
    target = np.array([0.3, 0.95, -2.0])
    for _ in range(20):
        cam = random_camera(rng, target, roll_std_rad=0.1)
        np.testing.assert_allclose(project(target, cam), CENTRE, atol=1e-3)


def test_orientation_up_is_up_and_frontal_left_is_image_right():
    cam = look_at_camera([0, 1, 0], distance_m=4, height_m=1, azimuth_rad=0.0, focal_px=1000)
    up, left = project([[0, 1.5, 0], [0.5, 1, 0]], cam)
    assert up[1] < CENTRE[1] and up[0] == pytest.approx(CENTRE[0], abs=1e-3)
    # The camera faces the person (who faces +z): their left appears on the right.
    assert left[0] > CENTRE[0]


def test_farther_points_look_smaller():
    cam = look_at_camera([0, 1, 0], distance_m=3, height_m=1, azimuth_rad=np.pi / 2, focal_px=1000)
    near = project([[0, 1, 0], [0, 2, 0]], cam)
    far = project([[-3, 1, 0], [-3, 2, 0]], cam)
    near_len = np.linalg.norm(near[1] - near[0])
    far_len = np.linalg.norm(far[1] - far[0])
    assert near_len == pytest.approx(1000 / 3, rel=1e-5)
    assert far_len == pytest.approx(near_len / 2, rel=1e-5)


def test_points_behind_camera_are_nan():
    cam = look_at_camera([0, 1, 0], distance_m=4, height_m=1.5, azimuth_rad=0.0, focal_px=1000)
    out = project(np.array([[[0, 1, 0], [0, 1, 9], [0, 1.5, 4.0], [np.nan, 0, 0]]]), cam)
    assert out.shape == (1, 4, 2) and out.dtype == np.float32
    assert np.isfinite(out[0, 0]).all()
    assert np.isnan(out[0, 1:]).all()


def test_random_camera_frames_a_person_like_a_1080p_video():
    rng = np.random.default_rng(2)
    for _ in range(50):
        cam = random_camera(rng, [0, 0.95, 0])
        feet, head = project([[0, 0, 0], [0, PERSON_HEIGHT_M, 0]], cam)
        frac = np.linalg.norm(head - feet) / cam.height_px
        assert 0.35 < frac < 0.65
        assert 1.0 <= cam.position_m[1] <= 2.0
        assert 3.0 <= np.hypot(cam.position_m[0], cam.position_m[2]) <= 6.0


def test_camera_rejects_bad_parameters():
    with pytest.raises(ParameterError, match="pitch"):
        PinholeCamera(position_m=(0, 0, 0), yaw_rad=0, pitch_rad=2.0, focal_px=100)
    with pytest.raises(ParameterError, match="focal_px"):
        PinholeCamera(position_m=(0, 0, 0), yaw_rad=0, pitch_rad=0, focal_px=0)
    with pytest.raises(ParameterError, match=r"\(2,\)"):
        look_at_camera([0, 1], distance_m=3, height_m=1, azimuth_rad=0, focal_px=100)
    with pytest.raises(ParameterError, match=r"\(4, 2\)"):
        project(np.zeros((4, 2)), look_at_camera([0, 1, 0], distance_m=3, height_m=1,
                                                 azimuth_rad=0, focal_px=100))


def clean_keypoints(n_frames=2000, height_px=500.0):
    y = np.linspace(0, height_px, 17)
    kp = np.zeros((n_frames, 17, 2))
    kp[..., 0] = 900.0
    kp[..., 1] = 200.0 + y
    return kp


def test_noise_is_deterministic_with_a_seed():
    kp = clean_keypoints(300)
    a = add_detector_noise(kp, np.random.default_rng(7))
    b = add_detector_noise(kp, np.random.default_rng(7))
    c = add_detector_noise(kp, np.random.default_rng(8))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c, equal_nan=True)
    assert a.shape == (300, 17, 3) and a.dtype == np.float32


def test_noise_confidence_range_and_missing_convention():
    kp = clean_keypoints(1000)
    kp[10, 3] = np.nan
    noisy = add_detector_noise(kp, np.random.default_rng(0), conf_range=(0.4, 0.9))
    missing = np.isnan(noisy[..., 0])
    np.testing.assert_array_equal(missing, np.isnan(noisy[..., 1]))
    np.testing.assert_array_equal(noisy[missing, 2], 0.0)
    assert np.all((noisy[~missing, 2] >= 0.4) & (noisy[~missing, 2] <= 0.9))
    assert missing[10, 3]


def test_jitter_scales_with_person_size():
    rng = np.random.default_rng(3)
    small = add_detector_noise(clean_keypoints(height_px=250), rng, dropout_prob=0.0)
    large = add_detector_noise(clean_keypoints(height_px=1000), rng, dropout_prob=0.0)
    err_small = np.std(small[..., 0] - 900.0)
    err_large = np.std(large[..., 0] - 900.0)
    assert err_large / err_small == pytest.approx(4.0, rel=0.1)
    noiseless = add_detector_noise(clean_keypoints(), rng, jitter_px=0.0, dropout_prob=0.0)
    np.testing.assert_allclose(noiseless[..., :2], clean_keypoints(), rtol=1e-6)


@pytest.mark.parametrize("burst_mean", [1.0, 4.0])
def test_dropout_rate_and_burst_length(burst_mean):
    noisy = add_detector_noise(clean_keypoints(20000), np.random.default_rng(4),
                               dropout_prob=0.01, burst_mean_frames=burst_mean)
    dropped = np.isnan(noisy[..., 0])
    # Overlapping bursts merge, so the rate is a little below p * mean.
    assert dropped.mean() == pytest.approx(0.01 * burst_mean, rel=0.2)
    starts = dropped[1:] & ~dropped[:-1]
    mean_run = dropped[1:].sum() / starts.sum()
    assert mean_run == pytest.approx(burst_mean, rel=0.2)


@pytest.mark.parametrize(
    "kwargs, match",
    [({"dropout_prob": 1.5}, "dropout_prob"), ({"conf_range": (0.8, 0.2)}, "conf_range"),
     ({"burst_mean_frames": 0.5}, "burst_mean_frames"), ({"jitter_px": -1.0}, "jitter_px")],
)
def test_noise_rejects_bad_parameters(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        add_detector_noise(clean_keypoints(10), np.random.default_rng(0), **kwargs)


def test_noise_rejects_wrong_shape():
    with pytest.raises(ParameterError, match=r"\(10, 16, 2\)"):
        add_detector_noise(np.zeros((10, 16, 2)), np.random.default_rng(0))


def test_to_2d_views_shapes_and_clean_confidence():
    views = to_2d_views(standing_clip(), np.random.default_rng(5), n_views=3, noise=False)
    assert len(views) == 3
    for kp, cam in views:
        assert kp.shape == (120, 17, 3) and kp.dtype == np.float32
        np.testing.assert_array_equal(kp[..., 2], 1.0)
        assert isinstance(cam, PinholeCamera)
        # Upright: head above ankles in the image (y down).
        assert np.all(kp[:, 0, 1] < kp[:, 15, 1])


def test_following_camera_keeps_a_travelling_dancer_in_frame():
    clip = standing_clip(n_frames=600, walk_m_per_s=1.0)  # 20 m in 20 s
    followed = to_2d_views(clip, np.random.default_rng(6), n_views=4, noise=False)
    for kp, cam in followed:
        hips_x = kp[:, 11:13, 0].mean(axis=1)
        assert np.all(np.abs(hips_x - cam.width_px / 2) < 0.25 * cam.width_px)
    static = to_2d_views(clip, np.random.default_rng(6), n_views=4, noise=False, follow=False)
    assert any(np.isnan(kp[..., 0]).any() or np.nanmax(np.abs(kp[..., 0])) > 2 * cam.width_px
               for kp, cam in static)


def test_to_2d_views_is_deterministic_and_validates():
    clip = standing_clip()
    a = to_2d_views(clip, np.random.default_rng(9), n_views=2)
    b = to_2d_views(clip, np.random.default_rng(9), n_views=2)
    for (ka, ca), (kb, cb) in zip(a, b):
        np.testing.assert_array_equal(ka, kb)
        assert ca == cb
    with pytest.raises(ParameterError, match="n_views"):
        to_2d_views(clip, np.random.default_rng(0), n_views=0)
    with pytest.raises(ParameterError, match="Mocap3D"):
        to_2d_views(clip.joints, np.random.default_rng(0), n_views=1)


def test_mocap3d_validates_and_is_read_only():
    with pytest.raises(ParameterError, match=r"\(10, 16, 3\)"):
        Mocap3D(name="x", joints=np.zeros((10, 16, 3)), fps=25.0)
    with pytest.raises(ParameterError, match="fps"):
        Mocap3D(name="x", joints=np.zeros((10, 17, 3)), fps=0.0)
    with pytest.raises(ParameterError, match="beat_times_s"):
        Mocap3D(name="x", joints=np.zeros((10, 17, 3)), fps=25.0, beat_times_s=[1.0, 0.5])
    clip = standing_clip()
    with pytest.raises(ValueError):
        clip.joints[0, 0, 0] = 1.0
