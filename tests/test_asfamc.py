"""Tests for ibeat_io.asfamc: ASF/AMC parsing, forward kinematics, the CMU exercise takes.

Forward kinematics is checked exactly on a tiny synthetic skeleton written to a
tmp dir; the CMU takes are read from the shared copy (``$IBEAT_DATA`` or
``../shared/data``) and those tests skip without it.
"""

import numpy as np
import pytest

from ibeat_core.errors import ParameterError
from ibeat_io.asfamc import (
    CMU_EXERCISE_ACTIONS,
    CMU_EXERCISE_DIR,
    INCH_M,
    LABEL_BLOCK_FRAMES,
    SUBJECT93_FPS,
    CmuTake,
    forward_kinematics,
    list_cmu_exercise,
    load_action_segments,
    load_cmu_exercise,
    parse_amc,
    parse_asf,
)
from ibeat_io.projection import Mocap3D, to_2d_views

UNIT_M = INCH_M / 0.45  # the synthetic ASF uses CMU's ':units length 0.45'

# A chain root -> upper (+y, 9 units, rotates about z) -> lower (+x, 4.5 units,
# local frame turned 90 deg about z, so its rx turns about world y) -> tip (+y,
# 4.5 units, local x = world y, local y = world z; rx then ry).
SYNTH_ASF = """# synthetic test skeleton
:version 1.10
:name synth
:units
  mass 1.0
  length 0.45
  angle deg
:documentation
  three bones
:root
   order TX TY TZ RX RY RZ
   axis XYZ
   position 0 0 0
   orientation 0 0 0
:bonedata
  begin
     id 1
     name upper
     direction 0 2 0
     length 9
     axis 0 0 0  XYZ
    dof rz
    limits (-180.0 180.0)
  end
  begin
     id 2
     name lower
     direction 1 0 0
     length 4.5
     axis 0 0 90  XYZ
    dof rx
    limits (-180.0 180.0)
  end
  begin
     id 3
     name tip
     direction 0 1 0
     length 4.5
     axis 90 0 90  XYZ
    dof rx ry
    limits (-180.0 180.0)
           (-180.0 180.0)
  end
:hierarchy
  begin
    root upper
    upper lower
    lower tip
  end
"""

# (root TX TY TZ RX RY RZ, upper rz, lower rx, tip rx ry) per frame, and the
# expected far ends of upper, lower and tip in units of the bone lengths'
# scale (U = 4.5 ASF units), worked out by hand.
SYNTH_FRAMES = [
    # rest pose: upper up to (0, 2U), lower to (U, 2U), tip to (U, 3U)
    ((0, 0, 0, 0, 0, 0), 0, 0, (0, 0), [(0, 2, 0), (1, 2, 0), (1, 3, 0)]),
    # upper rz 90 turns the whole chain about z: (0,2)->(-2,0), +x -> +y
    ((0, 0, 0, 0, 0, 0), 90, 0, (0, 0), [(-2, 0, 0), (-2, 1, 0), (-3, 1, 0)]),
    # lower rx 90 turns about its local x = world y: +x -> -z; tip (+y) stays +y
    ((0, 0, 0, 0, 0, 0), 0, 90, (0, 0), [(0, 2, 0), (0, 2, -1), (0, 3, -1)]),
    # tip rx 90 (about world y) then ry 90 (about world z): +y -> +y -> -x
    # (the reverse order would give +y -> -x -> +z)
    ((0, 0, 0, 0, 0, 0), 0, 0, (90, 90), [(0, 2, 0), (1, 2, 0), (0, 2, 0)]),
    # tip ry -90 alone (about world z): +y -> +x
    ((0, 0, 0, 0, 0, 0), 0, 0, (0, -90), [(0, 2, 0), (1, 2, 0), (2, 2, 0)]),
    # root RX 90 then RZ 90 (order listed): +y -> +z -> +z; +x -> +x -> +y
    ((0, 0, 0, 90, 0, 90), 0, 0, (0, 0), [(0, 0, 2), (0, 1, 2), (0, 1, 3)]),
    # root translation in ASF units (4.5, 9, -4.5) = (U, 2U, -U)
    ((4.5, 9, -4.5, 0, 0, 0), 0, 0, (0, 0), [(1, 4, -1), (2, 4, -1), (2, 5, -1)]),
]


def write_synth(tmp_path, frames=SYNTH_FRAMES, *, extra=""):
    asf = tmp_path / "synth.asf"
    asf.write_text(SYNTH_ASF)
    lines = [":FULLY-SPECIFIED", ":DEGREES"]
    for k, (root, upper, lower, tip, _) in enumerate(frames, start=1):
        lines += [str(k), "root " + " ".join(map(str, root)), f"upper {upper}",
                  f"lower {lower}", f"tip {tip[0]} {tip[1]}"]
    amc = tmp_path / "synth.amc"
    amc.write_text("\n".join(lines) + "\n" + extra)
    return asf, amc


def test_synthetic_chain_forward_kinematics_is_exact(tmp_path):
    asf, amc = write_synth(tmp_path)
    skeleton = parse_asf(asf)
    assert skeleton.names == ("root", "upper", "lower", "tip")
    assert skeleton.parents == (-1, 0, 1, 2)
    assert skeleton.length_to_m == pytest.approx(0.056444, rel=1e-5)  # CMU's FAQ value
    assert skeleton.dofs[0] == ("tx", "ty", "tz", "rx", "ry", "rz")
    motion = parse_amc(amc, skeleton)
    assert motion.n_frames == len(SYNTH_FRAMES) and motion.degrees
    positions, rotations = forward_kinematics(skeleton, motion)
    assert positions.shape == (len(SYNTH_FRAMES), 4, 3)
    expected = np.array([f[-1] for f in SYNTH_FRAMES], dtype=np.float64) * 4.5 * UNIT_M
    np.testing.assert_allclose(positions[:, 1:], expected, atol=1e-12)
    np.testing.assert_allclose(rotations[0], np.broadcast_to(np.eye(3), (4, 3, 3)), atol=1e-12)
    # every world rotation is a proper rotation
    np.testing.assert_allclose(np.linalg.det(rotations), 1.0, atol=1e-12)


def test_radians_are_honoured(tmp_path):
    frames = [((0, 0, 0, 0, 0, 0), np.pi / 2, 0, (0, 0), None)]
    asf, amc = write_synth(tmp_path, frames)
    amc.write_text(amc.read_text().replace(":DEGREES", ":RADIANS"))
    skeleton = parse_asf(asf)
    motion = parse_amc(amc, skeleton)
    assert not motion.degrees
    positions, _ = forward_kinematics(skeleton, motion)
    np.testing.assert_allclose(positions[0, 1], [-2 * 4.5 * UNIT_M, 0, 0], atol=1e-12)


def test_malformed_files_raise(tmp_path):
    asf, amc = write_synth(tmp_path)
    skeleton = parse_asf(asf)
    with pytest.raises(FileNotFoundError):
        parse_asf(tmp_path / "missing.asf")
    bad = tmp_path / "bad.amc"
    bad.write_text(amc.read_text().replace("lower 0\n", "lower 0 0\n", 1))
    with pytest.raises(ParameterError, match="lower"):
        parse_amc(bad, skeleton)
    bad.write_text(amc.read_text().replace("tip 0 0\n", "", 1))
    with pytest.raises(ParameterError, match="'tip' is given in 6 of 7"):
        parse_amc(bad, skeleton)
    bad.write_text(amc.read_text().replace("upper 0", "elbow 0", 1))
    with pytest.raises(ParameterError, match="elbow"):
        parse_amc(bad, skeleton)
    bad.write_text(amc.read_text().replace("\n3\n", "\n4\n", 1))
    with pytest.raises(ParameterError, match="frame 4 follows frame 2"):
        parse_amc(bad, skeleton)
    bad_asf = tmp_path / "bad.asf"
    bad_asf.write_text(SYNTH_ASF.replace("dof rx ry", "dof rx ry l"))
    with pytest.raises(ParameterError, match="only"):
        parse_asf(bad_asf)
    bad_asf.write_text(SYNTH_ASF.replace("    lower tip\n", ""))
    with pytest.raises(ParameterError, match="not in :hierarchy"):
        parse_asf(bad_asf)
    bad_asf.write_text(SYNTH_ASF.replace("orientation 0 0 0", "orientation 0 90 0"))
    with pytest.raises(ParameterError, match="orientation"):
        parse_asf(bad_asf)
    bad_asf.write_text(SYNTH_ASF.replace("axis XYZ\n   position", "axis ZYX\n   position"))
    with pytest.raises(ParameterError, match="disagree"):
        parse_asf(bad_asf)


def test_label_segments_from_a_file(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("1 1 1 3 3 5\n")  # 6 blocks for 62..72 frames
    segments = load_action_segments(path, n_frames=66, fps=120.0)
    assert segments == [(0.0, 0.3, "JumpJack"), (0.3, 0.5, "Squat"), (0.5, 0.55, "ArmCircle")]
    with pytest.raises(ParameterError, match="expected"):
        load_action_segments(path, n_frames=73, fps=120.0)
    path.write_text("1 13\n")
    with pytest.raises(ParameterError, match="13"):
        load_action_segments(path, n_frames=24, fps=120.0)


# --- the real CMU takes ---------------------------------------------------------------


@pytest.fixture(scope="module")
def folder(data_dir):
    path = data_dir / CMU_EXERCISE_DIR
    if not path.is_dir():
        pytest.skip(f"{CMU_EXERCISE_DIR} not in the shared data")
    return path


@pytest.fixture(scope="module")
def takes(folder):
    return {name: load_cmu_exercise(name, folder) for name in ("13_29", "13_30", "13_31")}


def dominant_hz(signal, fps, lo=0.2, hi=4.0):
    """Frequency of the largest peak of the Hann-windowed, zero-padded spectrum."""
    x = (signal - signal.mean()) * np.hanning(len(signal))
    n = 8 * len(x)
    spectrum, freqs = np.abs(np.fft.rfft(x, n)), np.fft.rfftfreq(n, 1.0 / fps)
    band = (freqs >= lo) & (freqs <= hi)
    return freqs[band][np.argmax(spectrum[band])]


def segment(take, action, n=0):
    """Joints ``(T, 17, 3)`` of the n-th segment labelled ``action``."""
    found = [(a, b) for a, b, name in take.segments if name == action]
    a, b = found[n]
    fps = take.mocap.fps
    return take.mocap.joints[int(round(a * fps)):int(round(b * fps))].astype(np.float64)


def test_lists_seven_takes(folder):
    names = [p.stem for p in list_cmu_exercise(folder.parent)]
    assert names == ["13_17", "13_29", "13_30", "13_31", "93_04", "93_05", "93_08"]
    assert list_cmu_exercise(folder) == list_cmu_exercise(folder.parent)


def test_exercise_take_shape_fps_and_units(takes, folder):
    take = takes["13_29"]
    assert isinstance(take, CmuTake) and isinstance(take.mocap, Mocap3D)
    assert (take.subject, take.activity, take.mocap.dance) == ("13", "exercise", "exercise")
    mocap = take.mocap
    assert mocap.joints.shape == (4592, 17, 3) and mocap.joints.dtype == np.float32
    assert mocap.fps == 120.0 and mocap.duration_s == pytest.approx(38.27, abs=0.01)
    assert mocap.beat_times_s is None and np.isfinite(mocap.joints).all()

    # SOURCE.md: head-to-foot 1.62-1.64 m for subject 13 (far end of the head bone
    # to the lowest foot point, straight from the skeleton's forward kinematics)
    skeleton = parse_asf(folder / "asf_amc" / "13.asf")
    positions, _ = forward_kinematics(skeleton, parse_amc(folder / "asf_amc" / "13_29.amc",
                                                          skeleton))
    feet = [skeleton.index[b] for b in ("lfoot", "ltoes", "rfoot", "rtoes", "ltibia", "rtibia")]
    head_to_foot = positions[:, skeleton.index["head"], 1] - positions[:, feet, 1].min(axis=1)
    assert 1.60 < np.median(head_to_foot) < 1.66
    # the 8-cm ankle rule puts the floor where Vicon's y = 0 is, within 2 cm
    raw_ankles = positions[:, [skeleton.index["ltibia"], skeleton.index["rtibia"]], 1]
    shift = mocap.joints[:, 15:17, 1] - raw_ankles
    assert abs(np.median(shift)) < 0.02
    # feet on the floor: ankles ~8 cm above y = 0 most of the time
    assert 0.06 < np.median(mocap.joints[:, 15:17, 1].min(axis=1)) < 0.11
    # standing eye height of a ~1.75 m person
    assert 1.5 < np.median(mocap.joints[:, 1:3, 1]) < 1.75


def test_rigid_bones_y_up_and_right_handed(takes):
    j = takes["13_30"].mocap.joints.astype(np.float64)
    for a, b in [(5, 7), (7, 9), (11, 13), (13, 15), (6, 8), (8, 10), (12, 14), (14, 16), (5, 6)]:
        length = np.linalg.norm(j[:, a] - j[:, b], axis=1)
        assert length.std() < 1e-5 and 0.1 < length.mean() < 0.5
    assert np.mean(j[:, 0, 1] > j[:, 15:17, 1].max(axis=1) + 0.5) > 0.99  # y up, head high
    left = j[:, 5] - j[:, 6]
    forward = j[:, 0] - 0.5 * (j[:, 3] + j[:, 4])
    assert np.mean(np.sum(np.cross(left, [0.0, 1.0, 0.0]) * forward, axis=1) > 0) > 0.99


def test_grounded_feet_do_not_slide(takes):
    """The FK convention (L = C M C^-1, dofs in the order listed) keeps planted feet still:
    swapping the order or inverting C makes them slide at 0.15-0.7 m/s on this take."""
    mocap = takes["13_29"].mocap
    for ankle in (15, 16):
        p = mocap.joints[:, ankle].astype(np.float64)
        grounded = p[:-1, 1] < np.percentile(p[:, 1], 5) + 0.02
        speed = np.linalg.norm(np.diff(p[:, [0, 2]], axis=0), axis=1) * mocap.fps
        assert np.median(speed[grounded]) < 0.08


def test_labels_cover_every_frame(takes, folder):
    for name, take in takes.items():
        n_frames, fps = take.mocap.n_frames, take.mocap.fps
        labels = (folder / "labels_mocap6" / f"{name}.txt").read_text().split()
        assert len(labels) == -(-n_frames // LABEL_BLOCK_FRAMES)
        segs = take.segments
        assert segs[0][0] == 0.0 and segs[-1][1] == pytest.approx(n_frames / fps)
        assert all(a[1] == b[0] for a, b in zip(segs, segs[1:]))  # back to back
        assert all(a[2] != b[2] for a, b in zip(segs, segs[1:]))  # runs merged
        # each segment's frames carry its label
        for start, end, action in segs:
            blocks = labels[int(round(start * fps)) // 12:-(-int(round(end * fps)) // 12)]
            assert {CMU_EXERCISE_ACTIONS[int(k) - 1] for k in blocks} == {action}
    assert [s[2] for s in takes["13_29"].segments] == [
        "JumpJack", "Twist", "ArmCircle", "ToeTouchOneHand", "KneeRaise", "Squat"]
    assert takes["13_29"].segments[0][:2] == (0.0, 3.9)


def test_jumping_jacks_at_0_9_hz_in_free_fall_at_g(takes):
    """Wrist height repeats at ~0.9 Hz (SOURCE.md: 0.91-0.95) inside every JumpJack segment,
    and the hips fall at g while both feet are off the floor: fps and metres are right."""
    for name, take in takes.items():
        j = segment(take, "JumpJack")
        fps = take.mocap.fps
        assert 0.85 < dominant_hz(j[:, 9:11, 1].mean(axis=1), fps) < 1.0, name
        hips = j[:, 11:13, 1].mean(axis=1)
        accel = np.gradient(np.gradient(hips)) * fps ** 2
        airborne = j[:, 15:17, 1].min(axis=1) > 0.13  # both ankles 5 cm above standing
        core = airborne & np.roll(airborne, 4) & np.roll(airborne, -4)
        assert core.sum() > 0.1 * fps, name
        assert -11.5 < np.median(accel[core]) < -8.5, name


def test_known_periods_of_jog_and_squats(takes):
    for name in ("13_30", "13_31"):
        j = segment(takes[name], "Jog")
        assert 2.4 < dominant_hz(j[:, 11:13, 1].mean(axis=1), 120.0) < 2.85  # steps/s
    for name in ("13_29", "13_30"):
        j = segment(takes[name], "Squat")
        assert 0.3 < dominant_hz(j[:, 11:13, 1].mean(axis=1), 120.0) < 0.47


def test_charleston_fps_is_a_parameter(folder):
    take = load_cmu_exercise(folder / "asf_amc" / "93_04.amc")
    assert load_cmu_exercise("93_04.amc", folder).mocap.n_frames == 506
    assert (take.subject, take.activity, take.segments) == ("93", "charleston", None)
    assert take.mocap.fps == SUBJECT93_FPS and take.mocap.n_frames == 506
    slow = load_cmu_exercise("93_04", folder.parent, fps=60.0)
    assert slow.mocap.fps == 60.0
    assert slow.mocap.duration_s == pytest.approx(2 * take.mocap.duration_s)
    np.testing.assert_array_equal(slow.mocap.joints, take.mocap.joints)
    assert 0.06 < np.median(take.mocap.joints[:, 15:17, 1].min(axis=1)) < 0.11


def test_projects_to_2d_views(takes):
    mocap = takes["13_30"].mocap
    views = to_2d_views(mocap, np.random.default_rng(1), n_views=2)
    assert len(views) == 2
    for keypoints, camera in views:
        assert keypoints.shape == (mocap.n_frames, 17, 3) and keypoints.dtype == np.float32
        visible = keypoints[..., 2] > 0
        assert visible.mean() > 0.9
        xy = keypoints[..., :2][visible]
        assert np.all((xy >= 0) & (xy <= [camera.width_px, camera.height_px]))


def test_bad_takes_raise(folder, tmp_path):
    with pytest.raises(FileNotFoundError, match="no such take"):
        load_cmu_exercise("13_99", folder)
    with pytest.raises(ParameterError, match="13_29"):
        load_cmu_exercise("jumping", folder)
    with pytest.raises(FileNotFoundError):
        list_cmu_exercise(tmp_path)
    with pytest.raises(FileNotFoundError):
        load_cmu_exercise("13_29", tmp_path)
    with pytest.raises(ParameterError, match="fps"):
        load_cmu_exercise("93_04", folder, fps=0.0)
