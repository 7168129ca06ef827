"""Kinematic offsets: streaming equals offline-causal, and the madmom-style state tests."""

import numpy as np
import pytest

from ibeat_core.errors import ParameterError
from ibeat_core.kinematic import KinematicConfig, KinematicOffsetTracker, kinematic_offsets
from ibeat_core.rhythm import MotionRhythmTracker, motion_rhythm


@pytest.fixture(scope="module")
def real_directogram(aist_clip):
    return motion_rhythm(aist_clip.timestamps_s, aist_clip.keypoints).directogram


def _stream(tracker, rows):
    return np.array([tracker.process_frame(r) for r in rows])


def test_streaming_equals_offline_causal_sample_for_sample(real_directogram):
    offline = kinematic_offsets(real_directogram, causal=True)
    online = _stream(KinematicOffsetTracker(), real_directogram)
    np.testing.assert_allclose(online, offline, rtol=0, atol=1e-12)


def test_rerun_identical_and_state_is_real(real_directogram):
    tracker = KinematicOffsetTracker()
    first = _stream(tracker, real_directogram)
    tracker.reset()
    np.testing.assert_array_equal(_stream(tracker, real_directogram), first)
    # Without a reset the filter and normaliser remember the first pass.
    assert not np.allclose(_stream(tracker, real_directogram)[:60], first[:60])


def test_offsets_range_and_modes_differ(real_directogram):
    zero_phase = kinematic_offsets(real_directogram)
    causal = kinematic_offsets(real_directogram, causal=True)
    for k in (zero_phase, causal):
        assert k.shape == (len(real_directogram),)
        assert k.min() >= 0.0 and k.max() <= 1.0 and k.max() > 0.9
    assert not np.allclose(zero_phase, causal)


def test_still_body_gives_no_offsets():
    rng = np.random.default_rng(0)
    noise = np.abs(rng.normal(0, 1e-4, size=(300, 18)))
    assert kinematic_offsets(noise).max() < 0.05


def test_config_validation():
    with pytest.raises(ParameterError, match="lowpass_hz"):
        KinematicConfig(lowpass_hz=20.0)
    with pytest.raises(ParameterError):
        kinematic_offsets(np.zeros(10))


def test_whole_chain_streaming_equals_offline_causal(aist_clip):
    """Keypoints frame by frame at 60 fps, with dropped joints and NaN frames, equal the clip pass."""
    kp = aist_clip.keypoints.copy()
    rng = np.random.default_rng(3)
    kp[rng.random(kp.shape[:2]) < 0.03, 2] = 0.0
    kp[100:104] = np.nan
    offline = motion_rhythm(aist_clip.timestamps_s, kp, causal=True)
    tracker = MotionRhythmTracker()
    frames = [f for t, k in zip(aist_clip.timestamps_s, kp) for f in tracker.process_frame(t, k)]
    np.testing.assert_array_equal([f[0] for f in frames], offline.times_s)
    np.testing.assert_allclose([f[1] for f in frames], offline.directogram, rtol=0, atol=1e-9)
    np.testing.assert_allclose([f[2] for f in frames], offline.offsets, rtol=0, atol=1e-12)


def test_lowpass_coefficients_equal_scipy_butter():
    from scipy import signal

    from ibeat_core.kinematic import KinematicConfig, lowpass_coefficients
    for fps, hz in [(30.0, 6.0), (60.0, 6.0), (25.0, 3.0), (120.0, 10.0)]:
        b, a = lowpass_coefficients(KinematicConfig(fps=fps, lowpass_hz=hz))
        b_ref, a_ref = signal.butter(2, hz, btype="low", fs=fps)
        np.testing.assert_allclose(b, b_ref, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(a, a_ref, rtol=1e-12, atol=1e-15)


def test_the_streaming_engine_does_not_load_scipy():
    """scipy.signal alone is about 70 MB in every server process."""
    import subprocess
    import sys
    code = ("import sys; from ibeat_models import load_networks; from ibeat_core.session import Session; "
            "import ibeat_grpc.servicer; s = Session(load_networks()); "
            "print(sorted(m for m in sys.modules if m.startswith('scipy'))[:5])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
