import numpy as np
import pytest

from ibeat_core.errors import ParameterError
from ibeat_core.keypoints import (BodyScaleTracker, KeypointConfig, Resampler, body_scale,
                                  body_size, mask_missing, resample, torso_length,
                                  valid_keypoints, valid_timestamps)


def _walker(t):
    """A COCO-17 stick figure (torso 100 px) swinging its wrists; positions at times t [s]."""
    base = np.array([[0, -160], [-8, -168], [8, -168], [-15, -165], [15, -165],
                     [-40, -100], [40, -100], [-50, -50], [50, -50], [-55, 0], [55, 0],
                     [-25, 0], [25, 0], [-25, 80], [25, 80], [-25, 160], [25, 160]], float)
    kp = np.repeat(base[None], len(t), axis=0)
    kp[:, 9, 0] += 30 * np.sin(2 * np.pi * 1.5 * t)
    kp[:, 10, 1] += 20 * np.cos(2 * np.pi * 1.5 * t)
    kp[:, :, 0] += 5 * t[:, None]  # slow drift across the image
    kp += 400
    return np.concatenate([kp, np.ones(kp.shape[:2] + (1,))], axis=2)


def test_valid_keypoints_shapes_and_errors():
    assert valid_keypoints(np.zeros((3, 17, 2))).shape == (3, 17, 3)
    with pytest.raises(ParameterError, match="expected 17 joints, got 33"):
        valid_keypoints(np.zeros((3, 33, 3)))
    with pytest.raises(ParameterError, match=r"\(T, J, 2\)"):
        valid_keypoints(np.zeros((3, 17)))
    with pytest.raises(ParameterError, match="numeric"):
        valid_keypoints(np.full((1, 17, 3), "a"))


@pytest.mark.parametrize("bad, message", [
    ([0.0, 0.1, 0.1], "strictly increase"),
    ([0.0, 0.2, 0.1], "strictly increase"),
    ([0.0, np.nan], "NaN or Inf"),
    ([[0.0, 1.0]], "1-D"),
])
def test_valid_timestamps_rejects(bad, message):
    with pytest.raises(ParameterError, match=message):
        valid_timestamps(bad)


def test_nan_inf_and_low_confidence_are_missing():
    kp = np.ones((1, 17, 3))
    kp[0, 0, 0] = np.nan
    kp[0, 1, 1] = np.inf
    kp[0, 2, 2] = 0.05
    kp[0, 3, 2] = np.nan
    xy, valid = mask_missing(kp, min_confidence=0.2)
    assert valid[0].tolist() == [False] * 4 + [True] * 13
    assert np.isnan(xy[0, :4]).all() and np.isfinite(xy[0, 4:]).all()


def test_resample_jittered_rates_recovers_motion():
    rng = np.random.default_rng(0)
    for rate in (10, 24, 60, 120):
        t = np.cumsum(rng.uniform(0.7, 1.3, size=int(6 * rate)) / rate)
        times, xy = resample(t, _walker(t))
        assert np.allclose(np.diff(times), 1 / 30)
        truth = _walker(times)[..., :2]
        # Linear interpolation error of a 30 px, 1.5 Hz swing: A (2 pi f dt)^2 / 8.
        dt = 1.3 / rate
        tol = 30 * (2 * np.pi * 1.5 * dt) ** 2 / 8 + 0.1
        assert np.nanmax(np.abs(xy - truth)) < tol, rate


def test_resample_gap_leaves_frames_missing_not_zero():
    t = np.r_[np.arange(0, 1, 1 / 30), np.arange(2, 3, 1 / 30)]
    times, xy = resample(t, _walker(t))
    in_gap = (times > t[29]) & (times < 2.0)
    assert in_gap.sum() > 20
    assert np.isnan(xy[in_gap]).all()
    assert np.isfinite(xy[~in_gap]).all()
    assert not np.any(xy[~in_gap] == 0)


def test_resample_low_confidence_joint_never_jumps_to_origin():
    t = np.arange(0, 2, 1 / 30)
    kp = _walker(t)
    kp[10:20, 9, 2] = 0.0   # wrist lost for a third of a second
    kp[30, 9, :2] = np.nan  # and one NaN frame
    _, xy = resample(t, kp)
    wrist = xy[:, 9]
    assert np.isnan(wrist[10:20]).all()
    assert np.nanmin(wrist) > 300  # never (0, 0)


def test_streaming_resampler_equals_offline():
    rng = np.random.default_rng(1)
    t = np.cumsum(rng.uniform(0.005, 0.06, size=200))
    kp = _walker(t)
    kp[rng.random(kp.shape[:2]) < 0.05, 2] = 0.0
    t_off, xy_off = resample(t, kp)
    r = Resampler()
    got = [r.process_frame(ti, ki) for ti, ki in zip(t, kp)]
    t_on = np.concatenate([g[0] for g in got])
    xy_on = np.concatenate([g[1] for g in got])
    np.testing.assert_array_equal(t_on, t_off)
    np.testing.assert_allclose(xy_on, xy_off, equal_nan=True, atol=1e-9)


def test_microsecond_stamps_at_the_grid_rate_give_one_grid_frame_each():
    # A sender at 30 fps stamping whole microseconds lands up to 0.5 us beside each grid
    # time (33333 us for 33333.3 us): each frame is its grid frame, none waits for the next.
    t = np.round(np.arange(90) / 30.0 * 1e6) / 1e6
    kp = _walker(t)
    r = Resampler()
    counts = [len(r.process_frame(ti, ki)[0]) for ti, ki in zip(t, kp)]
    assert counts == [1] * len(t)
    t_off, xy_off = resample(t, kp)
    np.testing.assert_allclose(t_off, np.arange(90) / 30.0, atol=0)
    np.testing.assert_array_equal(xy_off, mask_missing(kp)[0])


def test_streaming_body_scale_equals_the_array_functions_exactly():
    """The per-frame scalar path of BodyScaleTracker gives the same floats as body_size."""
    rng = np.random.default_rng(7)
    xy = rng.normal(0, 50, size=(400, 17, 2))
    # Every pattern of the four torso joints missing, and some frames with only stand-ins.
    for i in range(400):
        xy[i, [5, 6, 11, 12][:i % 5]] = np.nan
    xy[::37] = np.nan
    xy[::41, 0] = [0.0, 0.0]
    torso, stand_in = body_size(xy)
    online, offline = BodyScaleTracker(KeypointConfig()), BodyScaleTracker(KeypointConfig())
    for i in range(len(xy)):
        assert online.process_pose(xy[i]) == pytest.approx(
            offline.process_frame(torso[i], stand_in[i]), rel=0, abs=0, nan_ok=True)


def test_streaming_resampler_rejects_time_going_backwards():
    r = Resampler()
    r.process_frame(1.0, _walker(np.array([1.0]))[0])
    for bad in (1.0, 0.5, np.nan):
        with pytest.raises(ParameterError):
            r.process_frame(bad, _walker(np.array([1.0]))[0])


def test_body_scale_tracks_torso_and_ignores_missing():
    t = np.arange(0, 3, 1 / 30)
    kp = _walker(t)
    _, xy = resample(t, kp)
    assert np.allclose(torso_length(xy), 100.0)
    xy[40:50, [5, 6, 11, 12]] = np.nan
    scale = body_scale(xy)
    assert np.allclose(scale, 100.0)
    tracker = BodyScaleTracker(KeypointConfig())
    assert np.isnan(tracker.process_frame(np.nan))
    assert tracker.process_frame(50.0) == 50.0
