import numpy as np
import pytest

from ibeat_core.directogram import N_BINS, DirectogramTracker, directogram
from ibeat_core.errors import ParameterError
from ibeat_core.keypoints import body_scale, resample
from ibeat_core.rhythm import motion_rhythm


def test_direction_bins_over_full_circle():
    for k in range(N_BINS):
        angle = -np.pi + (k + 0.5) * 2 * np.pi / N_BINS
        xy = np.zeros((2, 17, 2))
        xy[1] = [np.cos(angle), np.sin(angle)]
        d = directogram(xy, np.ones(2), fps=30)
        assert int(np.argmax(d[1])) == k
        assert d[1].sum() == pytest.approx(17 * 30)


def test_missing_joint_is_neither_motion_nor_a_stop():
    xy = np.zeros((4, 17, 2))
    xy[:, :, 0] = np.arange(4)[:, None] * 0.1    # everyone moves right at constant speed
    xy[2, 3] = np.nan                            # one joint lost for a frame
    d = directogram(xy, np.ones(4), fps=10)
    np.testing.assert_allclose(d[1:].sum(axis=1), 17.0)


def test_scale_invariance_pixels_normalised_metres(aist_clip):
    """The same motion in pixels, normalised image coordinates or metres: same directogram."""
    t, kp = aist_clip.timestamps_s[:240], aist_clip.keypoints[:240].astype(np.float64)
    out = []
    for factor, offset in ((1.0, 0.0), (1 / 1920, 0.0), (0.0021, -2.0)):
        scaled = kp.copy()
        scaled[..., :2] = kp[..., :2] * factor + offset
        out.append(motion_rhythm(t, scaled).directogram)
    np.testing.assert_allclose(out[1], out[0], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(out[2], out[0], rtol=1e-6, atol=1e-9)


def test_streaming_directogram_equals_offline(aist_clip):
    times, xy = resample(aist_clip.timestamps_s, aist_clip.keypoints)
    scale = body_scale(xy)
    offline = directogram(xy, scale, fps=30)
    tracker = DirectogramTracker(fps=30)
    online = np.array([tracker.process_frame(x, s) for x, s in zip(xy, scale)])
    np.testing.assert_allclose(online, offline, atol=1e-12)


def test_bad_inputs():
    with pytest.raises(ParameterError):
        directogram(np.zeros((3, 17)), np.ones(3), fps=30)
    with pytest.raises(ParameterError):
        directogram(np.zeros((3, 17, 2)), np.ones(2), fps=30)
    with pytest.raises(ParameterError):
        directogram(np.zeros((3, 17, 2)), np.ones(3), fps=0)
