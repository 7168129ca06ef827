"""3D clips: loading, what a VR or game client sends of them, and replaying them to a server."""

import json

import grpc
import numpy as np
import pytest

from ibeat_core.body3d import LAYOUTS_3D, CoordinateFrame, to_canonical
from ibeat_core.errors import ParameterError
from ibeat_core.skeleton import COCO17_JOINTS
from ibeat_grpc.replay import clip_frames, main, replay, report
from ibeat_grpc.server import start_server
from ibeat_grpc.v1 import ibeat_pb2 as pb
from ibeat_io.clips import bundled_clip_path, save_clip
from ibeat_io.clips3d import (BODIES, BODY_LAYOUTS, CHEST_UP, CLAVICLE_OUT, FRAMES, NECK_UP,
                              SPINE_UP, client_frames, is_clip3d, load_clip3d, save_clip3d)
from ibeat_io.exercise import ExercisePlan, Move, Still, make_exercise_clip
from ibeat_io.projection import Mocap3D
from ibeat_models import load_networks

TIMEOUT_S = 60
J = {name: i for i, name in enumerate(COCO17_JOINTS)}


@pytest.fixture(scope="module")
def bounce():
    """A generated 124 BPM bounce, 3D, 30 fps, about 9 s."""
    plan = ExercisePlan((Still(0.5), Move("bounce", 16, 124.0), Still(0.5)))
    return make_exercise_clip(plan, seed=0).mocap


@pytest.fixture(scope="module")
def server():
    running = start_server(0, networks=load_networks(), max_sessions=4)
    yield running
    running.stop(1)


def _points(mocap, **kwargs):
    return client_frames(mocap, **kwargs)[1]


@pytest.mark.parametrize("frame", list(FRAMES))
@pytest.mark.parametrize("body", BODIES)
def test_every_body_in_every_frame(bounce, body, frame):
    t, points, layout = client_frames(bounce, body=body, rate_hz=90.0, frame=frame)
    assert layout == BODY_LAYOUTS[body] and layout in LAYOUTS_3D
    assert points.dtype == np.float32 and t.dtype == np.float64
    assert points.shape == (len(t), LAYOUTS_3D[layout].n_joints, 4)
    assert (points[..., 3] == 1.0).all()  # the generated body has every joint
    # Back in the canonical frame the server uses, every engine's points are the same.
    handedness, up = FRAMES[frame]
    canonical = to_canonical(points[..., :3], CoordinateFrame(handedness=handedness, up=up))
    openxr = _points(bounce, body=body, rate_hz=90.0, frame="openxr")
    np.testing.assert_allclose(canonical, openxr[..., :3], atol=1e-6)


def test_unity_is_openxr_with_z_negated_and_godot_is_openxr(bounce):
    openxr = _points(bounce, body="humanoid", frame="openxr")
    unity = _points(bounce, body="humanoid", frame="unity")
    np.testing.assert_array_equal(unity[..., [0, 1, 3]], openxr[..., [0, 1, 3]])
    np.testing.assert_array_equal(unity[..., 2], -openxr[..., 2])
    assert np.abs(openxr[..., 2]).max() > 0.05  # the z axis is really used
    np.testing.assert_array_equal(_points(bounce, body="humanoid", frame="godot"), openxr)


@pytest.mark.parametrize("rate_hz", [72.0, 90.0, 120.0])
def test_headset_rates_resample_linearly(rate_hz):
    # 2 s at 30 fps; every joint moves along x at 1 m/s, so x is the time itself.
    fps, n = 30.0, 61
    joints = np.zeros((n, 17, 3))
    joints[..., 0] = (np.arange(n) / fps)[:, None]
    t, points, _ = client_frames(Mocap3D("line", joints, fps), rate_hz=rate_hz)
    assert len(t) == int(2.0 * rate_hz) + 1
    np.testing.assert_allclose(t, np.arange(len(t)) / rate_hz)
    assert t[-1] == pytest.approx(2.0)
    np.testing.assert_allclose(points[..., 0], np.broadcast_to(t[:, None], (len(t), 17)),
                               atol=1e-6)
    # Wire timestamps strictly increase.
    assert (np.diff(clip_frames(t, points)[0]) > 0).all()


def test_missing_joints_go_out_with_confidence_zero():
    joints = np.ones((10, 17, 3))
    joints[4, J["left_wrist"]] = np.nan
    points = _points(Mocap3D("gap", joints, 30.0), body="head-hands", rate_hz=30.0)
    # At the clip's own rate, frames are taken as they are: only frame 4's left hand is out.
    assert points[4, 1].tolist() == [0.0, 0.0, 0.0, 0.0]
    assert (np.delete(points[..., 3].ravel(), 4 * 3 + 1) == 1.0).all()
    # Between frames, any sample that mixes in the missing joint is missing too.
    t, points, _ = client_frames(Mocap3D("gap", joints, 30.0), body="head-hands", rate_hz=90.0)
    missed = t[points[:, 1, 3] == 0] * 30.0
    assert len(missed) and (np.abs(missed - 4) < 1).all()


def test_humanoid_bones_sit_on_their_joints(bounce):
    t, points, _ = client_frames(bounce, body="humanoid", rate_hz=bounce.fps)
    np.testing.assert_allclose(t * bounce.fps, np.arange(bounce.n_frames), atol=1e-9)
    bone = {name: points[:, i, :3] for i, name in enumerate(LAYOUTS_3D["humanoid"].joints)}
    joint = {name: bounce.joints[:, i] for name, i in J.items()}
    for side in ("Left", "Right"):
        s = side.lower()
        for b, j in (("Hand", "wrist"), ("LowerArm", "elbow"), ("UpperArm", "shoulder"),
                     ("UpperLeg", "hip"), ("LowerLeg", "knee"), ("Foot", "ankle")):
            np.testing.assert_allclose(bone[side + b], joint[f"{s}_{j}"], atol=1e-6)
    mid_hips = (joint["left_hip"] + joint["right_hip"]) / 2
    mid_shoulders = (joint["left_shoulder"] + joint["right_shoulder"]) / 2
    head = (joint["left_ear"] + joint["right_ear"]) / 2
    np.testing.assert_allclose(bone["Hips"], mid_hips, atol=1e-6)
    np.testing.assert_allclose(bone["Head"], head, atol=1e-6)
    np.testing.assert_allclose(bone["Spine"], mid_hips + SPINE_UP * (mid_shoulders - mid_hips),
                               atol=1e-6)
    np.testing.assert_allclose(bone["Chest"], mid_hips + CHEST_UP * (mid_shoulders - mid_hips),
                               atol=1e-6)
    np.testing.assert_allclose(bone["Neck"], mid_shoulders + NECK_UP * (head - mid_shoulders),
                               atol=1e-6)
    np.testing.assert_allclose(
        bone["LeftShoulder"],
        mid_shoulders + CLAVICLE_OUT * (joint["left_shoulder"] - mid_shoulders), atol=1e-6)
    # Up the spine, bottom to top, on a standing body.
    heights = [bone[b][:, 1] for b in ("Hips", "Spine", "Chest", "Neck", "Head")]
    assert all((lo < hi).all() for lo, hi in zip(heights, heights[1:]))


def test_head_falls_back_to_the_nose_and_hips_need_both_hips(bounce):
    joints = np.array(bounce.joints[:5])
    joints[:, J["left_ear"]] = np.nan
    joints[:, J["right_hip"]] = np.nan
    clip = Mocap3D("partial", joints, bounce.fps)
    humanoid = _points(clip, body="humanoid", rate_hz=bounce.fps)
    names = LAYOUTS_3D["humanoid"].joints
    np.testing.assert_allclose(humanoid[:, names.index("Head"), :3], joints[:, J["nose"]],
                               atol=1e-6)
    for bone in ("Hips", "Spine", "Chest", "RightUpperLeg"):
        assert (humanoid[:, names.index(bone)] == 0).all()
    tracked = _points(clip, body="tracked-points", rate_hz=bounce.fps)
    names = LAYOUTS_3D["tracked_points"].joints
    assert (tracked[:, names.index("hips"), 3] == 0).all()
    for point, coco in (("head", "nose"), ("left_hand", "left_wrist"),
                        ("right_foot", "right_ankle"), ("left_elbow", "left_elbow")):
        np.testing.assert_allclose(tracked[:, names.index(point), :3], joints[:, J[coco]],
                                   atol=1e-6)


@pytest.mark.parametrize("kwargs, match", [
    (dict(body="legs"), "body must be one of"),
    (dict(frame="unreal"), "frame must be one of"),
    (dict(rate_hz=0.0), "rate_hz"),
    (dict(rate_hz=1001.0), "rate_hz"),
    (dict(rate_hz=float("nan")), "rate_hz"),
])
def test_bad_parameters(bounce, kwargs, match):
    with pytest.raises(ParameterError, match=match):
        client_frames(bounce, **kwargs)


def test_npz_round_trip(bounce, tmp_path):
    joints = np.array(bounce.joints)
    joints[3, 5] = np.nan
    clip = Mocap3D("x", joints, 29.97, dance="bounce", beat_times_s=bounce.beat_times_s)
    path = tmp_path / "bounce3d.npz"
    save_clip3d(path, clip)
    assert is_clip3d(path)
    back = load_clip3d(path)
    assert back.name == "bounce3d" and back.fps == 29.97 and back.dance == "bounce"
    np.testing.assert_array_equal(back.joints, joints.astype(np.float32))  # NaN kept
    np.testing.assert_array_equal(back.beat_times_s, bounce.beat_times_s)
    save_clip3d(path, Mocap3D("y", joints[:2], 60.0))
    back = load_clip3d(path)
    assert back.dance is None and back.beat_times_s is None


def test_bad_files_get_clear_errors(bounce, tmp_path):
    with pytest.raises(FileNotFoundError, match="no such 3D clip"):
        load_clip3d(tmp_path / "missing.bvh")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ParameterError, match="not a 3D clip"):
        load_clip3d(tmp_path / "notes.txt")
    with pytest.raises(ParameterError, match="not a 3D clip"):
        load_clip3d(tmp_path)  # a folder without skeletons.json.gz
    with pytest.raises(ParameterError, match=r"\.npz"):
        save_clip3d(tmp_path / "clip.npy", bounce)
    np.save(tmp_path / "alone.npy", np.zeros((4, 17, 3)))
    with pytest.raises(FileNotFoundError, match="index.csv"):
        load_clip3d(tmp_path / "alone.npy")
    cases = {
        "no_fps": (dict(joints=np.zeros((4, 17, 3))), "lacks \\['fps'\\]"),
        "shape": (dict(joints=np.zeros((4, 16, 3)), fps=30.0), r"\(T >= 1, 17, 3\)"),
        "empty": (dict(joints=np.zeros((0, 17, 3)), fps=30.0), r"\(T >= 1, 17, 3\)"),
        "inf": (dict(joints=np.full((4, 17, 3), np.inf), fps=30.0), "infinite"),
        "fps": (dict(joints=np.zeros((4, 17, 3)), fps=-1.0), "fps must be > 0"),
        "fps_array": (dict(joints=np.zeros((4, 17, 3)), fps=[30.0, 30.0]), "fps must be a number"),
    }
    for name, (arrays, match) in cases.items():
        np.savez(tmp_path / f"{name}.npz", **arrays)
        with pytest.raises(ParameterError, match=match):
            load_clip3d(tmp_path / f"{name}.npz")
    (tmp_path / "junk.npz").write_bytes(b"not an archive")
    with pytest.raises(ParameterError, match="not a readable .npz"):
        load_clip3d(tmp_path / "junk.npz")


def test_is_clip3d_tells_3d_from_2d(tmp_path):
    assert not is_clip3d(bundled_clip_path())
    save_clip(tmp_path / "clip2d.npz", np.arange(3) / 30.0, np.zeros((3, 17, 3)))
    assert not is_clip3d(tmp_path / "clip2d.npz")
    (tmp_path / "junk.npz").write_bytes(b"not an archive")
    assert not is_clip3d(tmp_path / "junk.npz") and not is_clip3d(tmp_path / "missing.npz")
    for name in ("a.pkl", "a.mp4", "a.gz"):
        assert not is_clip3d(tmp_path / name)
    for name in ("a.npy", "a.bvh", "A.BVH", "a.bvh.gz", "13_29.amc"):
        assert is_clip3d(tmp_path / name)
    dance = tmp_path / "DANCE_W_1"
    dance.mkdir()
    assert not is_clip3d(dance)
    (dance / "skeletons.json.gz").write_bytes(b"")
    assert is_clip3d(dance)


def test_dataset_files_load_like_their_loaders(data_dir):
    from ibeat_io.aistpp3d import list_aist3d_clips, load_aist3d_clip
    from ibeat_io.asfamc import list_cmu_exercise, load_cmu_exercise
    from ibeat_io.mocap import (list_dwm_sequences, list_salsa_takes, load_bvh_sequence,
                                load_dwm_sequence)
    found = []
    for folder, lister, loader in [
            ("aistpp-keypoints3d", list_aist3d_clips, lambda p: load_aist3d_clip(p).mocap),
            ("dance-with-melody", list_dwm_sequences, load_dwm_sequence),
            ("cmu-salsa-bvh", list_salsa_takes, load_bvh_sequence),
            ("cmu-exercise-asfamc", list_cmu_exercise, lambda p: load_cmu_exercise(p).mocap)]:
        if not (data_dir / folder).is_dir():
            continue
        path = lister(data_dir / folder)[0]
        assert is_clip3d(path)
        mocap = load_clip3d(path)
        expected = loader(path)
        assert (mocap.name, mocap.fps) == (expected.name, expected.fps)
        np.testing.assert_array_equal(mocap.joints, expected.joints)
        found.append(folder)
    if not found:
        pytest.skip("no 3D dataset in the data directory")


def test_head_hands_replay_end_to_end(server, bounce):
    t, points, layout = client_frames(bounce, body="head-hands", rate_hz=90.0, frame="unity")
    t_us, kp = clip_frames(t, points)
    config = pb.SessionConfig(layout=pb.SkeletonLayout.Value(f"SKELETON_LAYOUT_{layout.upper()}"),
                              coordinate_space=pb.COORDINATE_SPACE_METERS,
                              handedness=pb.HANDEDNESS_LEFT, up_axis=pb.UP_AXIS_Y)
    r = replay(f"127.0.0.1:{server.port}", t_us, kp, config=config, speed=None,
               timeout_s=TIMEOUT_S)
    assert r.status == grpc.StatusCode.OK, r.details
    accepted = r.messages[0].accepted
    assert (accepted.joints_expected, accepted.values_per_joint) == (3, 4)
    rep = report(r)
    n_frames = round((bounce.n_frames - 1) / bounce.fps * 90) + 1
    assert rep["frames_sent"] == rep["frames_acknowledged"] == len(t) == n_frames
    assert rep["beats"] >= 8 and rep["hits"] >= rep["beats"] // 2
    for h in r.hits:
        assert h.layout_joint in (0, 1, 2) and np.isfinite(h.joint_z)
        # The driving joint's position comes back in the client's own (Unity) frame.
        z = kp[:, h.layout_joint, 2]
        assert z.min() - 1e-4 <= h.joint_z <= z.max() + 1e-4


def test_replay_cli_streams_a_3d_clip(server, bounce, tmp_path, capsys):
    path = tmp_path / "bounce3d.npz"
    save_clip3d(path, bounce)
    rc = main([str(path), "--server", f"127.0.0.1:{server.port}", "--body", "head-hands",
               "--rate", "90", "--speed", "max", "--json"])
    assert rc == 0
    rep = json.loads(capsys.readouterr().out)
    assert (rep["body"], rep["rate_hz"], rep["frame"], rep["layout"]) == (
        "head-hands", 90.0, "openxr", "head_hands")
    assert rep["status"] == "OK" and "view" not in rep
    assert rep["frames_sent"] == rep["frames_acknowledged"] == len(client_frames(bounce)[0])
    assert rep["beats"] > 0 and rep["hits"] > 0


def test_replay_cli_refuses_3d_options_for_a_2d_clip_and_bad_rates(bounce, tmp_path, capsys):
    # Neither reaches a server: nothing listens on port 9.
    assert main(["--server", "127.0.0.1:9", "--body", "humanoid", "--frame", "unity"]) == 2
    assert "--body, --frame only apply to 3D clips" in capsys.readouterr().err
    path = tmp_path / "bounce3d.npz"
    save_clip3d(path, bounce)
    assert main([str(path), "--server", "127.0.0.1:9", "--rate", "0"]) == 2
    assert "rate_hz must be in" in capsys.readouterr().err
