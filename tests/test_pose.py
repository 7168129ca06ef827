"""Pose adapter: landmark mapping, person choice, estimator input checks, bundled models."""

import hashlib
import os
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest

from ibeat_core.errors import IbeatError, ParameterError
from ibeat_video import pose_bundle
from ibeat_video.pose import (MIN_FRAME_SIDE, MODELS_DIR, POSE_MODELS, PoseConfig,
                              PoseEstimator, _native_logs_filtered, landmarks_to_coco17,
                              pick_person, pose_model_path)

# COCO-17 joint -> the BlazePose landmark it must come from (MediaPipe's numbering).
BLAZEPOSE_SOURCE = {
    "nose": 0, "left_eye": 2, "right_eye": 5, "left_ear": 7, "right_ear": 8,
    "left_shoulder": 11, "right_shoulder": 12, "left_elbow": 13, "right_elbow": 14,
    "left_wrist": 15, "right_wrist": 16, "left_hip": 23, "right_hip": 24,
    "left_knee": 25, "right_knee": 26, "left_ankle": 27, "right_ankle": 28,
}
COCO = list(BLAZEPOSE_SOURCE)

# Local copies of the registry packages the bundles are built from (developer machines).
WHEEL = Path(os.environ.get("IBEAT_POSE_WHEEL",
                            "/tmp/mp/mediapipe-0.10.21-cp311-cp311-manylinux_2_28_x86_64.whl"))
NPM_TGZ = Path(os.environ.get("IBEAT_POSE_NPM_TGZ",
                              "/tmp/task/mediapipe-pose-0.5.1675469404.tgz"))


# --------------------------------------------------------------------------- mapping

def _landmarks():
    """33 distinct landmarks: x = i / 40, y = 1 - i / 50, z = -i, visibility = i / 32."""
    i = np.arange(33, dtype=np.float64)
    return np.stack([i / 40, 1 - i / 50, -i, i / 32], axis=1)


def test_each_coco_joint_comes_from_its_blazepose_landmark():
    lm = _landmarks()
    kp = landmarks_to_coco17(lm, 640, 480)
    assert kp.shape == (17, 3) and kp.dtype == np.float32
    for k, name in enumerate(COCO):
        src = BLAZEPOSE_SOURCE[name]
        np.testing.assert_allclose(kp[k], [lm[src, 0] * 640, lm[src, 1] * 480, lm[src, 3]],
                                   rtol=1e-6, err_msg=name)


def test_pixels_scale_with_width_and_height():
    lm = _landmarks()
    a, b = landmarks_to_coco17(lm, 100, 100), landmarks_to_coco17(lm, 1920, 1080)
    np.testing.assert_allclose(b[:, 0], a[:, 0] * 19.2, rtol=1e-6)
    np.testing.assert_allclose(b[:, 1], a[:, 1] * 10.8, rtol=1e-6)
    np.testing.assert_array_equal(a[:, 2], b[:, 2])


def test_visibility_becomes_clipped_confidence_and_nan_is_missing():
    lm = _landmarks()
    lm[11, 3] = 1.7   # left shoulder: visibility beyond 1
    lm[12, 3] = -0.2  # right shoulder: below 0
    lm[0, :2] = np.nan  # nose lost
    kp = landmarks_to_coco17(lm, 640, 480)
    assert kp[COCO.index("left_shoulder"), 2] == 1.0
    assert kp[COCO.index("right_shoulder"), 2] == 0.0
    assert np.isnan(kp[0, :2]).all() and kp[0, 2] == 0.0
    # Out-of-frame landmarks keep their (extrapolated) position.
    lm[15, :2] = [-0.1, 1.2]
    np.testing.assert_allclose(landmarks_to_coco17(lm, 100, 100)[COCO.index("left_wrist"), :2],
                               [-10, 120], rtol=1e-6)


@pytest.mark.parametrize("shape", [(17, 4), (33, 3), (33,), (2, 33, 4)])
def test_mapping_rejects_wrong_shapes(shape):
    with pytest.raises(ParameterError, match=r"\(33, 4\)"):
        landmarks_to_coco17(np.zeros(shape), 640, 480)


@pytest.mark.parametrize("size", [(0, 480), (640, -1), (640, float("nan"))])
def test_mapping_rejects_bad_sizes(size):
    with pytest.raises(ParameterError, match="positive"):
        landmarks_to_coco17(_landmarks(), *size)


# --------------------------------------------------------------------------- pick_person

def _person(cx, cy, height, conf=0.9):
    """A standing COCO-17 person centred on (cx, cy), ``height`` px tall."""
    kp = np.zeros((17, 3), np.float32)
    ys = np.linspace(-0.5, 0.5, 17) * height
    xs = np.tile([-0.1, 0.1], 9)[:17] * height
    kp[:, 0], kp[:, 1], kp[:, 2] = cx + xs, cy + ys, conf
    return kp


def test_pick_person_none_without_candidates():
    assert pick_person([], None) is None
    assert pick_person([], _person(100, 100, 200)) is None


def test_pick_person_takes_the_most_prominent_first():
    small, big = _person(100, 200, 150), _person(400, 200, 300)
    assert pick_person([small, big], None) == 1
    assert pick_person([big, small], None) == 0
    # Prominence is box area x mean confidence: a faint big person loses.
    faint_big, sure_small = _person(400, 200, 200, conf=0.55), _person(100, 200, 170, conf=0.95)
    assert pick_person([faint_big, sure_small], None) == 1


def test_pick_person_keeps_following_when_someone_bigger_appears():
    dancer = _person(200, 300, 200)
    moved = _person(215, 295, 205)
    intruder = _person(600, 300, 400)
    assert pick_person([intruder, moved], dancer) == 1
    assert pick_person([moved, intruder], dancer) == 0


def test_pick_person_switches_to_most_prominent_when_followed_person_left():
    gone = _person(100, 300, 200)  # body size (box diagonal) about 204 px
    far_small, far_big = _person(450, 300, 150), _person(700, 300, 250)
    assert pick_person([far_small, far_big], gone) == 1  # not the nearer, 1.7 sizes away


def test_pick_person_survives_people_without_usable_joints():
    empty = np.full((17, 3), np.nan, np.float32)
    empty[:, 2] = 0.0
    person = _person(200, 200, 200)
    assert pick_person([empty, person], None) == 1
    assert pick_person([empty, person], person) == 1
    assert pick_person([empty], None) == 0
    assert pick_person([person], empty) == 0


# --------------------------------------------------------------------------- estimator

@pytest.fixture
def estimator():
    with PoseEstimator(PoseConfig(model="lite", num_poses=1)) as est:
        yield est


def test_blank_frame_has_nobody(estimator):
    pose = estimator.estimate(np.zeros((96, 128, 3), np.uint8), 0)
    assert pose.keypoints is None and pose.n_people == 0 and pose.inference_ms > 0


def test_timestamps_must_increase_strictly(estimator):
    frame = np.zeros((64, 64, 3), np.uint8)
    estimator.estimate(frame, 100)
    for bad in (100, 99):
        with pytest.raises(ParameterError, match="increase strictly"):
            estimator.estimate(frame, bad)
    estimator.estimate(frame, 101)  # still usable after the error


@pytest.mark.parametrize("bad", [33.3, -1, True, "5"])
def test_timestamp_must_be_a_nonnegative_integer(estimator, bad):
    with pytest.raises(ParameterError, match="timestamp_ms"):
        estimator.estimate(np.zeros((64, 64, 3), np.uint8), bad)


@pytest.mark.parametrize("frame, match", [
    (np.zeros((64, 64), np.uint8), r"\(H, W, 3\)"),
    (np.zeros((64, 64, 4), np.uint8), r"\(H, W, 3\)"),
    (np.zeros((64, 64, 3), np.float32), "uint8"),
    ([[0, 0, 0]], "numpy array"),
    (np.zeros((MIN_FRAME_SIDE - 1, 640, 3), np.uint8), "too small"),
    (np.zeros((480, 8, 3), np.uint8), "too small"),
])
def test_bad_frames_get_clear_errors(estimator, frame, match):
    with pytest.raises(ParameterError, match=match):
        estimator.estimate(frame, 0)


def test_smallest_and_strided_frames_are_accepted(estimator):
    estimator.estimate(np.zeros((MIN_FRAME_SIDE, 47, 3), np.uint8), 0)
    big = np.zeros((200, 300, 3), np.uint8)
    assert estimator.estimate(big[::3, ::2], 1).keypoints is None  # non-contiguous view


def test_closed_estimator_refuses_frames():
    est = PoseEstimator(PoseConfig(model="lite", num_poses=1))
    est.close()
    est.close()  # idempotent
    with pytest.raises(ParameterError, match="closed"):
        est.estimate(np.zeros((64, 64, 3), np.uint8), 0)


@pytest.mark.parametrize("kwargs, match", [
    ({"model": "heavy"}, "unknown pose model"),
    ({"num_poses": 0}, "num_poses"),
    ({"num_poses": 1.5}, "num_poses"),
    ({"min_detection_confidence": 1.5}, "min_detection_confidence"),
])
def test_config_is_validated(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        PoseConfig(**kwargs)


def test_mediapipe_native_logs_stay_off_stderr(capfd):
    with PoseEstimator(PoseConfig(model="full")) as est:
        est.estimate(np.zeros((64, 64, 3), np.uint8), 0)
    assert capfd.readouterr().err == ""


def test_log_filter_passes_everything_else_through(capfd):
    with _native_logs_filtered():
        os.write(2, b"INFO: [environment.cc:36] Creating LiteRT environment\n"
                    b"W0000 00:00:1795613712.846155   21867 foo_calculator.cc:81] noise\n"
                    b"keep me\nE0000 00:00:1.0  1 bar.cc:2] a real error\n")
    assert capfd.readouterr().err == "keep me\nE0000 00:00:1.0  1 bar.cc:2] a real error\n"


# --------------------------------------------------------------------------- bundled models

def _notice_sha256():
    text = (MODELS_DIR / "NOTICE.md").read_text()
    return dict(re.findall(r"^\| `(pose_landmarker_\w+\.task)` \|.*\| `([0-9a-f]{64})` \|$",
                           text, flags=re.M))


def test_bundled_models_exist_and_match_notice():
    listed = _notice_sha256()
    assert set(listed) == {f"pose_landmarker_{m}.task" for m in POSE_MODELS}
    for model in POSE_MODELS:
        path = pose_model_path(model)
        assert hashlib.sha256(path.read_bytes()).hexdigest() == listed[path.name]
        with zipfile.ZipFile(path) as z:
            assert z.namelist() == ["pose_detector.tflite", "pose_landmarks_detector.tflite"]
            for name, (mean, std) in (("pose_detector.tflite", (127.5, 127.5)),
                                      ("pose_landmarks_detector.tflite", (0.0, 255.0))):
                assert _normalisation(z.read(name)) == (mean, std)
    with pytest.raises(ParameterError, match="unknown pose model"):
        pose_model_path("heavy")


def _model_root(model: bytes):
    from mediapipe.tasks.metadata import schema_py_generated as tfl
    return tfl.Model.GetRootAsModel(model, 0)


def _normalisation(model: bytes):
    """(mean, std) of the image input from a model's TFLITE_METADATA."""
    from mediapipe.tasks.metadata import metadata_schema_py_generated as md
    root = _model_root(model)
    names = [root.Metadata(i).Name() for i in range(root.MetadataLength())]
    assert names.count(b"TFLITE_METADATA") == 1
    buf = root.Buffers(root.Metadata(names.index(b"TFLITE_METADATA")).Buffer())
    meta = md.ModelMetadataT.InitFromObj(
        md.ModelMetadata.GetRootAsModelMetadata(buf.DataAsNumpy().tobytes(), 0))
    norm = meta.subgraphMetadata[0].inputTensorMetadata[0].processUnits[0].options
    return float(norm.mean[0]), float(norm.std[0])


def _buffer_offsets(model: bytes):
    """Byte offset of each non-empty weight buffer inside the flatbuffer."""
    root = _model_root(model)
    base = np.frombuffer(model, np.uint8).__array_interface__["data"][0]
    out = []
    for i in range(root.BuffersLength()):
        if root.Buffers(i).DataLength():
            arr = root.Buffers(i).DataAsNumpy()
            out.append(arr.__array_interface__["data"][0] - base)
    return out


def _tiny_tflite() -> bytes:
    """A syntactically valid one-subgraph TFLite model (not runnable): input, output, 2 buffers."""
    import flatbuffers
    from mediapipe.tasks.metadata import schema_py_generated as tfl
    model = tfl.ModelT()
    model.version, model.description = 3, "tiny"
    tensors = []
    for name, buffer in (("input_1", 0), ("Identity", 1)):
        t = tfl.TensorT()
        t.name, t.shape, t.type, t.buffer = name, [1, 4, 4, 3], tfl.TensorType.FLOAT32, buffer
        tensors.append(t)
    sub = tfl.SubGraphT()
    sub.tensors, sub.inputs, sub.outputs, sub.operators = tensors, [0], [1], []
    model.subgraphs = [sub]
    empty, weights = tfl.BufferT(), tfl.BufferT()
    weights.data = np.arange(7, dtype=np.uint8)
    model.buffers = [empty, weights]
    b = flatbuffers.Builder(0)
    b.Finish(model.Pack(b), b"TFL3")
    return bytes(b.Output())


def test_metadata_writer_is_deterministic_aligned_and_replaces_old_metadata():
    tiny = _tiny_tflite()
    a = pose_bundle.add_image_metadata(tiny, name="t", description="d", mean=0.0, std=255.0)
    b = pose_bundle.add_image_metadata(tiny, name="t", description="d", mean=0.0, std=255.0)
    assert a == b
    assert _normalisation(a) == (0.0, 255.0)
    assert all(off % pose_bundle.BUFFER_ALIGNMENT == 0 for off in _buffer_offsets(a))
    np.testing.assert_array_equal(_model_root(a).Buffers(1).DataAsNumpy(), np.arange(7))
    again = pose_bundle.add_image_metadata(a, name="t", description="d", mean=127.5, std=127.5)
    assert _normalisation(again) == (127.5, 127.5)  # one entry, the new one
    with pytest.raises(IbeatError, match="TFLite"):
        pose_bundle.add_image_metadata(b"not a model", name="t", description="d",
                                       mean=0.0, std=1.0)


def test_bundled_weights_are_aligned():
    with zipfile.ZipFile(pose_model_path("lite")) as z:
        for name in z.namelist():
            offsets = _buffer_offsets(z.read(name))
            assert offsets and all(o % pose_bundle.BUFFER_ALIGNMENT == 0 for o in offsets)


def test_stored_zip_is_reproducible_sorted_and_aligned(tmp_path):
    entries = {"b.bin": bytes(range(50)), "a.bin": b"x" * 3}
    pose_bundle.write_stored_zip(tmp_path / "1.zip", entries)
    pose_bundle.write_stored_zip(tmp_path / "2.zip", dict(reversed(list(entries.items()))))
    data = (tmp_path / "1.zip").read_bytes()
    assert data == (tmp_path / "2.zip").read_bytes()
    with zipfile.ZipFile(tmp_path / "1.zip") as z:
        assert z.testzip() is None
        assert z.namelist() == ["a.bin", "b.bin"]
        for info in z.infolist():
            assert info.compress_type == zipfile.ZIP_STORED
            assert info.date_time == (1980, 1, 1, 0, 0, 0)
            assert z.read(info) == entries[info.filename]
            start = data.index(entries[info.filename], info.header_offset)
            assert start % pose_bundle.ZIP_ALIGNMENT == 0


@pytest.mark.skipif(not (WHEEL.is_file() and NPM_TGZ.is_file()),
                    reason="local mediapipe==0.10.21 wheel / @mediapipe/pose tgz not present "
                           "(set IBEAT_POSE_WHEEL and IBEAT_POSE_NPM_TGZ)")
def test_bundle_builder_reproduces_the_committed_files(tmp_path):
    written = pose_bundle.build_bundles(tmp_path, wheel=WHEEL, npm_tgz=NPM_TGZ)
    for key, path in written.items():
        committed = MODELS_DIR / path.name
        assert path.read_bytes() == committed.read_bytes(), f"{key}: rebuild differs"


def test_bundle_builder_rejects_wrong_package(tmp_path):
    fake = tmp_path / "fake.whl"
    with zipfile.ZipFile(fake, "w") as z:
        z.writestr(pose_bundle.SOURCES["detector"].member, b"tampered")
    with pytest.raises(IbeatError, match="sha256"):
        pose_bundle.build_bundles(tmp_path / "out", wheel=fake, npm_tgz=fake)


# --------------------------------------------------------------------------- real video

@pytest.mark.slow
def test_finds_the_dancer_in_the_dance_video(data_dir, capfd):
    cv2 = pytest.importorskip("cv2")
    path = data_dir / "dance-videos" / "aist_dance2music_test_0.mp4"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    cap = cv2.VideoCapture(str(path))
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    found = 0
    with PoseEstimator(PoseConfig(model="lite")) as est:
        for i in range(60):
            ok, bgr = cap.read()
            assert ok
            h, w = bgr.shape[:2]
            pose = est.estimate(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), round(i * 1000 / fps))
            if pose.keypoints is None:
                continue
            found += 1
            kp = pose.keypoints
            assert kp.shape == (17, 3) and pose.n_people >= 1
            sure = kp[:, 2] >= 0.5
            assert sure.sum() >= 10
            assert ((kp[sure, 0] >= 0) & (kp[sure, 0] < w)
                    & (kp[sure, 1] >= 0) & (kp[sure, 1] < h)).all()
    cap.release()
    assert found >= 57  # 95 % of 60 frames
    assert capfd.readouterr().err == ""  # MediaPipe's logs filtered, landmark network included
