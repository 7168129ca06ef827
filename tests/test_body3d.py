"""3D bodies, partial skeletons and their completion (issue 13)."""

from dataclasses import replace

import numpy as np
import pytest

from ibeat_core.body3d import (HEAD_HANDS, HUMANOID_BONES, LAYOUTS_3D, TRACKED_POINTS,
                               Body3DConfig, BodyFrontEnd, CoordinateFrame, project_body,
                               to_canonical)
from ibeat_core.completion import complete_body, hide_switches, needs_completion
from ibeat_core.errors import ParameterError
from ibeat_core.keypoints import KeypointConfig, body_scale
from ibeat_core.rhythm import MotionRhythmTracker, RhythmConfig, motion_rhythm
from ibeat_core.skeleton import COCO17_JOINTS

HEAD_WRISTS = [0, 9, 10]


# --- layouts and frames ------------------------------------------------------------

def test_layouts_fill_the_coco_slots_they_name():
    named = {"coco17_3d": dict(zip(COCO17_JOINTS, COCO17_JOINTS)),
             "head_hands": {"nose": "head", "left_wrist": "left_hand",
                            "right_wrist": "right_hand"},
             "humanoid": {"nose": "Head", "left_wrist": "LeftHand", "right_shoulder": "RightUpperArm",
                          "left_knee": "LeftLowerLeg", "right_ankle": "RightFoot",
                          "left_hip": "LeftUpperLeg"},
             "tracked_points": {"nose": "head", "right_wrist": "right_hand", "left_hip": "hips",
                                "left_ankle": "left_foot", "right_elbow": "right_elbow"}}
    for name, pairs in named.items():
        spec = LAYOUTS_3D[name]
        for coco, own in pairs.items():
            assert spec.joints[spec.slots[COCO17_JOINTS.index(coco)]] == own, (name, coco)
    assert LAYOUTS_3D["head_hands"].joints == HEAD_HANDS
    assert len(HUMANOID_BONES) == 19 and HUMANOID_BONES[17] == "LeftHand"
    assert LAYOUTS_3D["tracked_points"].joints == TRACKED_POINTS
    # Tracked points hold one waist, in the left-hip slot.
    assert LAYOUTS_3D["tracked_points"].slots[COCO17_JOINTS.index("right_hip")] == -1


def test_frames_convert_to_right_handed_y_up_metres():
    p = np.array([0.1, 1.6, -0.4])
    assert np.allclose(to_canonical(p, CoordinateFrame()), p)
    assert np.allclose(to_canonical(p * [1, 1, -1], CoordinateFrame(handedness="left")), p)
    # z up: (x, y, z) -> (x, z, -y), a proper rotation (a right-handed frame stays one).
    zup = np.array([p[0], -p[2], p[1]])
    assert np.allclose(to_canonical(zup, CoordinateFrame(up="z")), p)
    assert np.allclose(to_canonical(p * 100, CoordinateFrame(units_m=0.01)), p)


@pytest.mark.parametrize("kwargs", [dict(handedness="up"), dict(up="x"), dict(units_m=0.0)])
def test_bad_frames_are_rejected(kwargs):
    with pytest.raises(ParameterError):
        CoordinateFrame(**kwargs)


@pytest.mark.parametrize("kwargs", [dict(layout="kinect"), dict(projection="top"),
                                    dict(facing_time_s=0.0), dict(torso_m=-1.0),
                                    dict(jitter_m=float("nan"))])
def test_bad_body_configs_are_rejected(kwargs):
    with pytest.raises(ParameterError):
        Body3DConfig(**kwargs)


# --- the projector -------------------------------------------------------------------

def _standing(n=1):
    """A standing body facing -z (OpenXR forward), COCO-17 (n, 17, 3) metres."""
    body = np.zeros((17, 3))
    body[:, 1] = [1.6, 1.63, 1.63, 1.6, 1.6, 1.4, 1.4, 1.1, 1.1, 0.85, 0.85, 0.9, 0.9, 0.5, 0.5,
                  0.1, 0.1]
    # The body's left is -x when it faces -z (a right-handed y-up frame).
    side = np.array([0, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1], dtype=float)
    body[:, 0] = side * np.array([0, .03, .03, .07, .07, .18, .18, .2, .2, .22, .22, .1, .1, .1,
                                  .1, .1, .1])
    return np.repeat(body[None], n, axis=0)


def _rotate_y(points, angle):
    c, s = np.cos(angle), np.sin(angle)
    rot = np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
    return points @ rot.T


def test_facing_view_turns_with_the_body_and_the_default_view_does_not():
    t = np.arange(120) / 60.0
    body = _standing(120)
    config = Body3DConfig(jitter_m=0.0, projection="facing")
    _, front, _ = project_body(t, body, config)
    _, turned, _ = project_body(t, _rotate_y(body, 1.1), config)
    np.testing.assert_allclose(turned, front, atol=1e-9)
    # A fixed world camera sees the turned body narrower.
    _, world, _ = project_body(t, _rotate_y(body, 1.1), replace(config, projection="world"))
    assert np.ptp(world[0, :, 0]) < 0.6 * np.ptp(front[0, :, 0])
    # The image is seen from the front: the body's right on the image's left, y down.
    assert front[0, 6, 0] < front[0, 5, 0] and front[0, 15, 1] > front[0, 0, 1]
    # The default, a fixed camera three-quarter on: shoulders 0.36 m apart look 0.25 m apart.
    _, oblique, _ = project_body(t, body, Body3DConfig(jitter_m=0.0))
    assert Body3DConfig().projection == "world-oblique"
    assert np.ptp(oblique[0, [5, 6], 0]) == pytest.approx(0.36 * np.cos(np.pi / 4))
    _, oblique_turned, _ = project_body(t, _rotate_y(body, np.pi / 4), Body3DConfig(jitter_m=0.0))
    # Turned 45 degrees, the body is seen side on: the shoulders overlap.
    assert np.ptp(oblique_turned[0, [5, 6], 0]) == pytest.approx(0.0, abs=1e-9)


def test_front_end_resamples_to_the_grid_and_keeps_client_positions():
    # Head + hands at 90 Hz in Unity's frame; the left hand untracked in the first frames.
    t = np.arange(30) / 90.0
    points = np.zeros((30, 3, 4))
    points[:, :, :3] = _standing()[0, [0, 9, 10]] * [1, 1, -1]
    points[:, :, 2] += np.linspace(0, -0.3, 30)[:, None]        # walking forwards
    points[:, :, 3] = 1.0
    points[:4, 1, 3] = 0.0
    front = BodyFrontEnd(Body3DConfig(layout="head_hands",
                                      frame=CoordinateFrame(handedness="left")))
    out = [front.process_frame(ti, p) for ti, p in zip(t, points)]
    times = np.concatenate([o[0] for o in out])
    kp = np.concatenate([o[1] for o in out])
    positions = np.concatenate([o[2] for o in out])
    np.testing.assert_allclose(times, np.arange(len(times)) / 30.0, atol=1e-12)   # 30 Hz grid
    assert len(times) == 10
    # Grid frame 3 (t = 0.1 s) is input frame 9: positions as the client sent them.
    np.testing.assert_allclose(positions[3][[0, 9, 10]], points[9, :, :3], atol=1e-9)
    assert np.isnan(positions[0, 9]).all() and kp[0, 9, 2] == 0 and np.isnan(kp[0, 9, :2]).all()
    assert kp[3, 9, 2] == 1 and np.isfinite(kp[3, 9, :2]).all()
    assert np.isnan(kp[:, 5, :2]).all()    # no shoulder sent: missing (completed in the chain)


def test_front_end_errors_leave_its_state_alone():
    front = BodyFrontEnd(Body3DConfig(layout="head_hands"))
    good = np.ones((3, 4))
    front.process_frame(1.0, good)
    with pytest.raises(ParameterError, match=r"\(3, 3\|4\)"):
        front.process_frame(2.0, np.ones((17, 4)))
    with pytest.raises(ParameterError, match="strictly increase"):
        front.process_frame(0.5, good)
    times, kp, _ = front.process_frame(1.1, good)
    assert len(times) == 3 and np.isfinite(kp[:, 0, :2]).all()


# --- completion and scale of partial bodies ----------------------------------------------

def test_partial_2d_body_gets_a_scale_from_what_is_seen():
    xy = np.full((3, 17, 2), np.nan)
    xy[:, 0] = [100, 100]
    xy[:, 9] = [160, 180]                     # 100 px from the nose
    xy[:, 10] = [40, 180]
    scale = body_scale(xy)
    assert np.allclose(scale, 70.0)           # 0.7 x the nose-wrist distance
    full = np.zeros((3, 17, 2))
    full[:, [11, 12], 1] = 100.0               # hips 100 px below the shoulders
    assert np.allclose(body_scale(full), 100.0)
    assert np.allclose(body_scale(xy, config=KeypointConfig(body_scale=0.5)), 0.5)


def test_completion_touches_only_bodies_without_a_torso():
    full = np.zeros((17, 2))
    np.testing.assert_array_equal(complete_body(full, 1.0)[0], full)
    # A camera that sees the shoulders but not an ear or a hip: left as it is.
    partial = full.copy()
    partial[[3, 11]] = np.nan
    assert not needs_completion(partial, 1.0) and not complete_body(partial, 1.0)[1].any()
    head_hands = np.full((17, 2), np.nan)
    head_hands[[0, 9, 10]] = [[0.0, 0.0], [0.3, 0.5], [-0.3, 0.5]]
    assert needs_completion(head_hands, 0.5) and not needs_completion(head_hands, np.nan)
    done, added = complete_body(head_hands, 0.5)
    assert added.sum() == 10                                 # face, shoulders, elbows, hips
    # Head to hips are filled in; legs stay missing (nothing says where the feet are).
    assert np.isfinite(done[:13]).all() and np.isnan(done[13:]).all()
    np.testing.assert_allclose(done[1:5], 0.0)               # the face moves with the head
    assert done[11, 1] > done[5, 1] > done[0, 1]             # hips below shoulders below the head
    np.testing.assert_array_equal(done[[0, 9, 10]], head_hands[[0, 9, 10]])
    unknown, none_added = complete_body(head_hands, np.nan)
    assert np.isnan(unknown[5]).all() and not none_added.any()
    # A waist tracker alone (one hip) and feet: the other hip at the same place, the
    # head above the waist.
    waist = np.full((17, 2), np.nan)
    waist[11] = [0.1, 1.0]
    done, added = complete_body(waist, 0.5)
    np.testing.assert_array_equal(done[12], done[11])
    assert done[0, 1] < done[5, 1] < done[11, 1] and added[0] and not added[11]


def test_a_joint_switching_between_seen_and_filled_in_is_missing_that_frame():
    xy = np.full((17, 2), np.nan)
    xy[[0, 9, 10]] = [[0.0, 0.0], [0.3, 0.5], [-0.3, 0.5]]
    seen_shoulders = xy.copy()
    seen_shoulders[[5, 6]] = [[0.2, 0.3], [-0.2, 0.3]]          # the shoulders come into view
    done, added = complete_body(xy, 0.5)
    shown = hide_switches(done, added, np.zeros(17, dtype=bool))
    assert np.isnan(shown[5]).all()                      # filled in from the first frame: new
    assert np.isfinite(hide_switches(done, added, added)[5]).all()
    back, back_added = complete_body(seen_shoulders, 0.5)
    shown = hide_switches(back, back_added, added)
    assert np.isnan(shown[5]).all() and np.isnan(shown[1]).all()   # back to seen
    np.testing.assert_array_equal(shown[0], xy[0])


def test_a_head_lost_for_a_moment_is_held_and_the_body_stays_complete():
    from ibeat_core.completion import HOLD_FRAMES, Completion

    stage = Completion()
    xy = np.full((17, 2), np.nan)
    xy[[0, 9, 10]] = [[0.0, 0.0], [0.3, 0.5], [-0.3, 0.5]]
    first = stage.process_frame(xy, 0.5)
    lost = xy.copy()
    lost[0] = np.nan
    held = [stage.process_frame(lost, 0.5) for _ in range(HOLD_FRAMES)]
    assert all(np.isfinite(b[:13]).all() for b in held)
    np.testing.assert_allclose(held[-1][0], first[0])
    gone = stage.process_frame(lost, 0.5)                 # lost for longer: no body to complete
    assert np.isnan(gone[[0, 5, 11]]).all() and np.isfinite(gone[9]).all()


def _bouncing_head_hands(seconds=8.0, bpm=110.0, rate=90.0):
    """Head and hands of a body bouncing on every beat (2D, pixels, y down), with a pose
    detector's 1-px jitter."""
    t = np.arange(0.0, seconds, 1.0 / rate)
    phase = (t * bpm / 60.0) % 1.0
    dip = 12.0 * np.exp(-phase / 0.08)        # a sharp drop on the beat, then a slow rise
    kp = np.zeros((len(t), 17, 3))
    kp[:, 0, :2] = np.stack([320 + 0 * t, 100 + dip], axis=1)
    kp[:, 9, :2] = np.stack([380 + 3 * np.sin(t), 200 + 1.5 * dip], axis=1)
    kp[:, 10, :2] = np.stack([260 - 3 * np.sin(t), 200 + 1.5 * dip], axis=1)
    kp[:, [0, 9, 10], 2] = 1.0
    kp[..., :2] += np.random.default_rng(0).normal(0.0, 1.0, kp[..., :2].shape)
    return t, kp


def test_streaming_equals_offline_for_a_partial_body_with_joints_coming_and_going():
    t, kp = _bouncing_head_hands(seconds=6.0)
    kp[100:160, 9, 2] = 0.0                   # a hand lost for 2/3 s
    kp[200:209, 0, 2] = 0.0                   # the head lost for 0.1 s (held over)
    kp[300:320, :, 2] = 0.0                   # everything lost for a moment
    kp[400:, [5, 6, 11, 12]] = [[300, 150, 1], [340, 150, 1], [305, 260, 1], [335, 260, 1]]
    offline = motion_rhythm(t, kp, causal=True)
    tracker = MotionRhythmTracker(RhythmConfig())
    frames = [f for ti, k in zip(t, kp) for f in tracker.process_frame(ti, k)]
    np.testing.assert_allclose([f.directogram for f in frames], offline.directogram, atol=1e-12)
    np.testing.assert_allclose([f.offset for f in frames], offline.offsets, atol=1e-12)
    assert np.isfinite(offline.scale[5:]).all()
    assert offline.motion_energy[30:90].min() > 0        # the partial body moves


# --- the engine, 3D and partial, end to end ----------------------------------------------

def _exercise(move, bpm):
    """A generated exercise with exact beats (3D, metres, right-handed y up, 30 fps)."""
    from ibeat_io.exercise import ExercisePlan, Move, Still, make_exercise_clip
    return make_exercise_clip(ExercisePlan((Still(1.0), Move(move, 24, bpm), Still(3.0))), seed=2)


@pytest.fixture(scope="module")
def bounce():
    return _exercise("bounce", 124.0)


def _as_layout(joints, layout):
    """COCO-17 joints (T, 17, 3) -> the layout's (T, J, 4), joints it lacks at confidence 0."""
    spec = LAYOUTS_3D[layout]
    out = np.zeros((len(joints), spec.n_joints, 4), dtype=np.float32)
    for coco, own in enumerate(spec.slots):
        if own >= 0:
            out[:, own, :3] = joints[:, coco]
            out[:, own, 3] = 1.0
    return out


def _beats(result):
    return [(round(b.time_s, 6), round(b.tempo_bpm, 6)) for b in result.beats]


@pytest.mark.parametrize("layout", sorted(LAYOUTS_3D))
def test_every_layout_gives_the_same_beats_in_unity_and_openxr_frames(networks, bounce, layout):
    from ibeat_core.session import SessionConfig, run_session

    t, joints = bounce.timestamps_s, bounce.mocap.joints
    right = _as_layout(joints, layout)
    left = right.copy()
    left[..., 2] *= -1                                    # Unity: left-handed, y up
    zup_cm = right.copy()
    zup_cm[..., :3] = np.stack([right[..., 0], -right[..., 2], right[..., 1]], axis=-1) * 100
    results = []
    for points, frame in ((right, CoordinateFrame()), (left, CoordinateFrame(handedness="left")),
                          (zup_cm, CoordinateFrame(up="z", units_m=0.01))):
        config = SessionConfig(body3d=Body3DConfig(layout=layout, frame=frame))
        results.append(run_session(networks, t, points, config=config))
    assert len(results[0].beats) >= 10, layout
    assert _beats(results[1]) == _beats(results[0])
    assert [b.time_s for b in results[2].beats] == pytest.approx(
        [b.time_s for b in results[0].beats], abs=1e-6)
    # Hits carry the driving joint where the client put it, in its own frame.
    hit = results[1].hits[-1]
    own = LAYOUTS_3D[layout].slots[hit.joint]
    assert own >= 0
    sent = left[:, own, :3]
    assert any(np.allclose([hit.joint_x, hit.joint_y, hit.joint_z], p, atol=1e-5) for p in sent)


def _scores(networks, clip, layout):
    from ibeat_core.session import SessionConfig, run_session
    from ibeat_metrics.following import evaluate_following

    config = SessionConfig(body3d=Body3DConfig(layout=layout))
    result = run_session(networks, clip.timestamps_s, _as_layout(clip.mocap.joints, layout),
                         config=config)
    beats = sorted(result.beats, key=lambda b: b.time_s)
    return evaluate_following(clip.beat_times_s, [b.time_s for b in beats],
                              [b.tempo_bpm for b in beats],
                              motion_start_s=float(clip.moving[0, 0]),
                              still_intervals=clip.still), result


@pytest.mark.parametrize("move, bpm", [("squat", 100.0), ("punch", 110.0), ("step", 100.0)])
def test_head_and_hands_follow_exercise_as_the_full_body_does(networks, move, bpm):
    """Issue 13's report: head + hands got no beat at all on a bounce or punch."""
    clip = _exercise(move, bpm)
    full, _ = _scores(networks, clip, "coco17_3d")
    head_hands, result = _scores(networks, clip, "head_hands")
    assert full["tempo_agreement"] >= 0.9 and full["f_measure"] >= 0.8
    assert head_hands["tempo_agreement"] >= 0.9 * full["tempo_agreement"], head_hands
    assert head_hands["f_measure"] >= 0.9 * full["f_measure"], (head_hands, full)
    assert head_hands["beats_into_stillness"] == 0
    assert {h.joint for h in result.hits} <= {0, 9, 10}


def test_2d_head_and_wrists_alone_drive_the_beat(networks):
    from ibeat_core.session import run_session

    t, kp = _bouncing_head_hands(seconds=10.0, bpm=110.0)
    result = run_session(networks, t, kp)
    assert len(result.beats) >= 6
    tempi = np.array([b.tempo_bpm for b in result.beats])
    assert np.mean(np.isclose(tempi, 110.0, rtol=0.05) | np.isclose(tempi, 55.0, rtol=0.05)
                   | np.isclose(tempi, 220.0, rtol=0.05)) >= 0.8


@pytest.mark.parametrize("move, bpm", [("squat", 100.0), ("jumping_jack", 90.0)])
def test_hip_and_foot_trackers_alone_follow_exercise(networks, move, bpm):
    """A fitness app with a waist tracker and two foot trackers: no head, no hands."""
    from ibeat_core.session import SessionConfig, run_session
    from ibeat_metrics.following import evaluate_following

    clip = _exercise(move, bpm)
    points = _as_layout(clip.mocap.joints, "tracked_points")
    keep = [TRACKED_POINTS.index(j) for j in ("hips", "left_foot", "right_foot")]
    points[:, np.setdiff1d(np.arange(len(TRACKED_POINTS)), keep), 3] = 0.0
    result = run_session(networks, clip.timestamps_s, points,
                         config=SessionConfig(body3d=Body3DConfig(layout="tracked_points")))
    beats = sorted(result.beats, key=lambda b: b.time_s)
    scores = evaluate_following(clip.beat_times_s, [b.time_s for b in beats],
                                [b.tempo_bpm for b in beats],
                                motion_start_s=float(clip.moving[0, 0]),
                                still_intervals=clip.still)
    assert scores["f_measure"] >= 0.8 and scores["tempo_agreement"] >= 0.85, scores
    assert {h.joint for h in result.hits} <= {11, 15, 16}   # the waist or a foot drove them
