"""Pose estimation: RGB frames -> COCO-17 keypoints of one person, with MediaPipe.

:class:`PoseEstimator` runs MediaPipe Tasks' ``PoseLandmarker`` in VIDEO mode
(detection on the first frame, then landmark tracking from frame to frame)
with a model bundled in ``ibeat_video/pose_models`` (built by
:mod:`ibeat_video.pose_bundle`; nothing is downloaded). Its 33 BlazePose
landmarks become COCO-17 through :func:`ibeat_core.skeleton.from_blazepose33`,
with each landmark's visibility as the joint confidence. When several people
are in view it follows one: the most prominent at first, then whoever is
nearest the person it followed (:func:`pick_person`).

Keypoints are in pixels of the frame given, ``x`` to the right and ``y`` down,
like the AIST++ 2D keypoints ibeat trains on.

MediaPipe's native code (absl, TFLite, LiteRT) prints a few dozen INFO and
WARNING lines to stderr while a model loads and on the first inferences; the
environment variables glog and TensorFlow honour (``GLOG_minloglevel``,
``TF_CPP_MIN_LOG_LEVEL``) have no effect on mediapipe 1.x. So those calls run
with file descriptor 2 captured, and everything but those known lines is
written back to stderr afterwards. Set ``IBEAT_POSE_LOGS=1`` to see them.
"""

from __future__ import annotations

import atexit
import contextlib
import numbers
import os
import re
import sys
import tempfile
import threading
import time
import weakref
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ibeat_core.errors import IbeatError, ParameterError
from ibeat_core.skeleton import from_blazepose33

__all__ = ["POSE_MODELS", "MODELS_DIR", "MIN_FRAME_SIDE", "PoseConfig", "PoseEstimate",
           "PoseEstimator", "landmarks_to_coco17", "pick_person", "pose_model_path"]

#: Names of the bundled models, fastest first.
POSE_MODELS = ("lite", "full")
MODELS_DIR = Path(__file__).resolve().parent / "pose_models"
#: Smallest frame side [px] :meth:`PoseEstimator.estimate` accepts. The networks
#: see 224x224 (detector) and 256x256 (landmarks) crops: a person in a smaller
#: frame is a few pixels tall and never found, so such a frame is a setup error.
MIN_FRAME_SIDE = 32
#: A joint is used for a person's box and centre when its confidence is at least this.
MIN_JOINT_CONFIDENCE = 0.5
#: :func:`pick_person` keeps following the previous person only if one is within
#: this many of its body sizes (box diagonal); otherwise the most prominent wins.
MAX_JUMP_BODY_SIZES = 1.0
#: The followed person is remembered this long [ms] through frames with nobody.
HOLD_MS = 1000

# COCO-17 indices of the shoulders and hips: the torso, whose centre is stable.
_TORSO = (5, 6, 11, 12)


@dataclass(frozen=True)
class PoseConfig:
    """Settings of :class:`PoseEstimator`.

    Attributes
    ----------
    model : {"lite", "full"}
        Bundled landmark network: ``lite`` is faster, ``full`` more accurate
        (figures in ``docs/results/pose.md``).
    num_poses : int
        People MediaPipe tracks at once (>= 1). More than one lets
        :func:`pick_person` keep the same dancer when someone else walks in;
        each tracked person costs one landmark-network run per frame.
    min_detection_confidence, min_presence_confidence, min_tracking_confidence : float
        MediaPipe's thresholds in [0, 1]: detector score to start tracking a
        person, landmark-network presence score to keep them, and tracking
        overlap below which the detector runs again.
    """

    model: str = "lite"
    num_poses: int = 3
    min_detection_confidence: float = 0.5
    min_presence_confidence: float = 0.5
    min_tracking_confidence: float = 0.5

    def __post_init__(self):
        if self.model not in POSE_MODELS:
            raise ParameterError(f"unknown pose model {self.model!r}; choose one of "
                                 f"{', '.join(POSE_MODELS)}")
        if (not isinstance(self.num_poses, numbers.Integral) or isinstance(self.num_poses, bool)
                or self.num_poses < 1):
            raise ParameterError(f"num_poses must be an integer >= 1, got {self.num_poses!r}")
        for name in ("min_detection_confidence", "min_presence_confidence",
                     "min_tracking_confidence"):
            value = getattr(self, name)
            if not isinstance(value, numbers.Real) or not 0.0 <= float(value) <= 1.0:
                raise ParameterError(f"{name} must be in [0, 1], got {value!r}")


@dataclass(frozen=True)
class PoseEstimate:
    """The pose found in one frame.

    Attributes
    ----------
    keypoints : np.ndarray or None, shape (17, 3), float32
        COCO-17 ``[x_px, y_px, confidence]`` of the person followed; None when
        nobody is in the frame.
    n_people : int
        People MediaPipe found in the frame (at most ``PoseConfig.num_poses``).
    inference_ms : float
        Wall-clock time of the MediaPipe call [ms].
    """

    keypoints: np.ndarray | None
    n_people: int
    inference_ms: float


def pose_model_path(model: str) -> Path:
    """Path of a bundled ``.task`` model.

    Parameters
    ----------
    model : {"lite", "full"}

    Raises
    ------
    ParameterError
        For an unknown name.
    FileNotFoundError
        If the bundled file is missing (a broken install).

    Examples
    --------
    >>> pose_model_path("lite").name
    'pose_landmarker_lite.task'
    """
    if model not in POSE_MODELS:
        raise ParameterError(f"unknown pose model {model!r}; choose one of "
                             f"{', '.join(POSE_MODELS)}")
    path = MODELS_DIR / f"pose_landmarker_{model}.task"
    if not path.is_file():
        raise FileNotFoundError(f"bundled pose model {path} is missing: reinstall ibeat, or "
                                f"rebuild it with `python -m ibeat_video.pose_bundle --out "
                                f"{MODELS_DIR}`")
    return path


def landmarks_to_coco17(landmarks, width, height) -> np.ndarray:
    """Convert one person's BlazePose landmarks to COCO-17 keypoints in pixels.

    Parameters
    ----------
    landmarks : array_like, shape (33, 4)
        ``[x, y, z, visibility]`` per BlazePose landmark, ``x`` and ``y``
        normalised to the frame's width and height (MediaPipe's
        ``NormalizedLandmark``; may fall outside [0, 1] for joints out of view).
    width, height : int
        Frame size [px], > 0.

    Returns
    -------
    keypoints : np.ndarray, shape (17, 3), float32
        ``[x_px, y_px, confidence]``; confidence is the visibility clipped to
        [0, 1]. A non-finite landmark becomes missing (NaN x, y, confidence 0).

    Raises
    ------
    ParameterError
        On a wrong shape or a non-positive size.

    Examples
    --------
    >>> lm = np.zeros((33, 4))
    >>> lm[11] = [0.25, 0.5, 0.0, 0.9]  # BlazePose left shoulder
    >>> landmarks_to_coco17(lm, 640, 480)[5]  # COCO left shoulder
    array([160. , 240. ,   0.9], dtype=float32)
    """
    lm = np.asarray(landmarks, dtype=np.float64)
    if lm.shape != (33, 4):
        raise ParameterError(f"landmarks must have shape (33, 4) [x, y, z, visibility], "
                             f"got {lm.shape}")
    for name, value in (("width", width), ("height", height)):
        if not isinstance(value, numbers.Real) or not value > 0:
            raise ParameterError(f"{name} must be a positive number of pixels, got {value!r}")
    kp = from_blazepose33(lm)
    kp[:, 0] *= width
    kp[:, 1] *= height
    return kp


def _geometry(kp: np.ndarray):
    """(torso centre (2,), body size [px], box area [px^2]) of one person; None if no joint."""
    finite = np.isfinite(kp[:, :2]).all(axis=1)
    good = finite & (kp[:, 2] >= MIN_JOINT_CONFIDENCE)
    if not good.any():
        good = finite
    if not good.any():
        return None
    xy = kp[good, :2].astype(np.float64)
    span = xy.max(axis=0) - xy.min(axis=0)
    torso = np.zeros(len(kp), dtype=bool)
    torso[list(_TORSO)] = True
    centre_joints = good & torso if (good & torso).any() else good
    centre = kp[centre_joints, :2].astype(np.float64).mean(axis=0)
    return centre, float(np.hypot(*span)), float(span[0] * span[1])


def pick_person(candidates: list, previous: np.ndarray | None) -> int | None:
    """Choose the person to follow among those found in a frame.

    Parameters
    ----------
    candidates : list of np.ndarray, each shape (17, 3)
        COCO-17 ``[x_px, y_px, confidence]`` of everyone in the frame.
    previous : np.ndarray, shape (17, 3), or None
        The person followed in an earlier frame, if any.

    Returns
    -------
    int or None
        Index into ``candidates``; None when it is empty. With no usable
        ``previous``: the most prominent person (box area of the confident
        joints x mean confidence). Otherwise the person whose torso centre is
        nearest the previous one's, provided that is within
        :data:`MAX_JUMP_BODY_SIZES` of the previous body size (the box
        diagonal); if nobody is that close, the followed person has left and
        the most prominent one is taken. Ties go to the lower index.

    Examples
    --------
    >>> a = np.zeros((17, 3), np.float32); a[:, 2] = 1.0
    >>> a[:, 0] = np.linspace(100, 150, 17); a[:, 1] = np.linspace(100, 200, 17)
    >>> b = a.copy(); b[:, :2] = b[:, :2] * 2 + 300  # bigger, elsewhere
    >>> a_moved = a.copy(); a_moved[:, 0] += 5  # ``a`` in the previous frame
    >>> pick_person([a, b], None), pick_person([b, a], a_moved)
    (1, 1)
    """
    if not candidates:
        return None
    geometry = [_geometry(np.asarray(c, dtype=np.float32)) for c in candidates]

    def most_prominent():
        scores = [g[2] * float(np.nanmean(np.asarray(c)[:, 2])) if g else -1.0
                  for c, g in zip(candidates, geometry)]
        return int(np.argmax(scores))

    prev = _geometry(np.asarray(previous, dtype=np.float32)) if previous is not None else None
    if prev is None:
        return most_prominent()
    prev_centre, prev_size, _ = prev
    dist = [np.hypot(*(g[0] - prev_centre)) / max(prev_size, 1.0) if g else np.inf
            for g in geometry]
    nearest = int(np.argmin(dist))
    return nearest if dist[nearest] <= MAX_JUMP_BODY_SIZES else most_prominent()


# Lines MediaPipe's native libraries print while loading and on first inferences:
# LiteRT/TFLite ("INFO: [file.cc:N] ...", "WARNING: ...") and absl
# ("W0000 00:00:... file.cc:N] ...").
_NATIVE_NOISE = re.compile(
    rb"^(?:(?:INFO|WARNING): |[IW]\d{4} [\d:.]+ +\d+ [\w.\-/]+:\d+\] )")
_SHOW_NATIVE_LOGS = os.environ.get("IBEAT_POSE_LOGS", "") not in ("", "0")
_STDERR_LOCK = threading.Lock()


@contextlib.contextmanager
def _native_logs_filtered():
    """Run the block with fd 2 captured; write back all but MediaPipe's INFO/WARNING lines.

    Errors (``E...``/``ERROR:`` lines) and anything other threads print in the
    meantime reach stderr, only later. The capture is process-wide, so one
    lock serialises it.
    """
    if _SHOW_NATIVE_LOGS:
        yield
        return
    with _STDERR_LOCK:
        try:
            sys.stderr.flush()
            saved = os.dup(2)
        except (OSError, ValueError, AttributeError):  # no usable stderr: nothing to protect
            yield
            return
        with tempfile.TemporaryFile() as captured:
            os.dup2(captured.fileno(), 2)
            try:
                yield
            finally:
                with contextlib.suppress(Exception):
                    sys.stderr.flush()
                os.dup2(saved, 2)
                os.close(saved)
                captured.seek(0)
                kept = b"".join(line for line in captured.read().splitlines(keepends=True)
                                if not _NATIVE_NOISE.match(line))
                if kept:
                    os.write(2, kept)


# Open estimators, closed at interpreter exit: MediaPipe's own __del__ then
# fails on half-torn-down modules and prints a TypeError traceback.
_OPEN = weakref.WeakSet()


@atexit.register
def _close_open_estimators():
    for estimator in list(_OPEN):
        with contextlib.suppress(Exception):
            estimator.close()


class PoseEstimator:
    """COCO-17 keypoints of one person per video frame (MediaPipe PoseLandmarker, VIDEO mode).

    One instance serves one stream: frames must come in order with strictly
    increasing timestamps, since MediaPipe tracks people from frame to frame.
    Close it when done (or use ``with``).

    Parameters
    ----------
    config : PoseConfig

    Raises
    ------
    ParameterError
        For a bad config.
    IbeatError
        If the bundled model cannot be loaded.

    Examples
    --------
    >>> with PoseEstimator(PoseConfig(model="lite")) as est:  # doctest: +SKIP
    ...     pose = est.estimate(rgb, timestamp_ms=0)
    """

    def __init__(self, config: PoseConfig = PoseConfig()):
        if not isinstance(config, PoseConfig):
            raise ParameterError(f"config must be a PoseConfig, got {type(config).__name__}")
        self.config = config
        self._landmarker = None
        path = pose_model_path(config.model)
        import mediapipe as mp
        from mediapipe.tasks.python import BaseOptions, vision

        self._mp = mp
        options = vision.PoseLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(path)),
            running_mode=vision.RunningMode.VIDEO,
            num_poses=int(config.num_poses),
            min_pose_detection_confidence=float(config.min_detection_confidence),
            min_pose_presence_confidence=float(config.min_presence_confidence),
            min_tracking_confidence=float(config.min_tracking_confidence),
            output_segmentation_masks=False)
        with _native_logs_filtered():
            try:
                self._landmarker = vision.PoseLandmarker.create_from_options(options)
                # Warm-up on a blank frame at MediaPipe time 0 (user timestamps are
                # shifted by +1 ms), so the first real frame is not slowed by lazy setup.
                blank = mp.Image(image_format=mp.ImageFormat.SRGB,
                                 data=np.zeros((256, 256, 3), np.uint8))
                self._landmarker.detect_for_video(blank, 0)
            except Exception as exc:  # MediaPipe raises RuntimeError/ValueError with C++ text
                self.close()
                hint = f"python -m ibeat_video.pose_bundle --out {MODELS_DIR}"
                raise IbeatError(f"cannot load pose model {path}: {exc}; rebuild it with "
                                 f"`{hint}`") from None
        _OPEN.add(self)
        self._last_ms = None
        self._previous = None
        self._previous_ms = None
        # MediaPipe logs once more when it first runs the landmark network.
        self._filter_logs = True

    def estimate(self, rgb: np.ndarray, timestamp_ms: int) -> PoseEstimate:
        """Find the followed person in one frame.

        Parameters
        ----------
        rgb : np.ndarray, shape (H, W, 3), uint8
            The frame in RGB order (OpenCV gives BGR: convert with
            ``cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)``), each side at least
            :data:`MIN_FRAME_SIDE` px.
        timestamp_ms : int
            The frame's time [ms] in the stream's clock, >= 0 and strictly
            greater than the previous call's.

        Returns
        -------
        PoseEstimate
            ``keypoints`` None when nobody is found (dark, empty or blurred frames).

        Raises
        ------
        ParameterError
            For a frame of the wrong shape, dtype or too small, a timestamp
            that does not increase, or a closed estimator.
        """
        if self._landmarker is None:
            raise ParameterError("this PoseEstimator is closed; create a new one")
        frame = _valid_rgb(rgb)
        ts = _valid_timestamp(timestamp_ms, self._last_ms)
        height, width = frame.shape[:2]
        image = self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=frame)
        with _native_logs_filtered() if self._filter_logs else contextlib.nullcontext():
            start = time.perf_counter()
            result = self._landmarker.detect_for_video(image, ts + 1)
            inference_ms = (time.perf_counter() - start) * 1e3
        self._last_ms = ts
        candidates = [
            landmarks_to_coco17(
                [[p.x, p.y, p.z if p.z is not None else 0.0,
                  p.visibility if p.visibility is not None else 0.0] for p in pose],
                width, height)
            for pose in result.pose_landmarks]
        if candidates:
            self._filter_logs = False
        previous = (self._previous if self._previous_ms is not None
                    and ts - self._previous_ms <= HOLD_MS else None)
        index = pick_person(candidates, previous)
        keypoints = None if index is None else candidates[index]
        if keypoints is not None:
            self._previous, self._previous_ms = keypoints, ts
        return PoseEstimate(keypoints=keypoints, n_people=len(candidates),
                            inference_ms=inference_ms)

    def close(self):
        """Release MediaPipe's graph; further :meth:`estimate` calls raise. Idempotent."""
        landmarker, self._landmarker = self._landmarker, None
        _OPEN.discard(self)
        if landmarker is not None:
            with _native_logs_filtered():
                landmarker.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _valid_rgb(rgb) -> np.ndarray:
    if not isinstance(rgb, np.ndarray):
        raise ParameterError(f"rgb must be a numpy array of shape (H, W, 3), got "
                             f"{type(rgb).__name__}")
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ParameterError(f"rgb must have shape (H, W, 3), got {rgb.shape}; convert gray, "
                             "BGRA or BGR frames with cv2.cvtColor(..., cv2.COLOR_..2RGB)")
    if rgb.dtype != np.uint8:
        raise ParameterError(f"rgb must be uint8 (0-255), got {rgb.dtype}")
    height, width = rgb.shape[:2]
    if min(height, width) < MIN_FRAME_SIDE:
        raise ParameterError(f"frame {width}x{height} px is too small for pose estimation: "
                             f"each side must be at least {MIN_FRAME_SIDE} px; use a larger "
                             "camera resolution or video")
    return np.ascontiguousarray(rgb)


def _valid_timestamp(timestamp_ms, last_ms) -> int:
    if isinstance(timestamp_ms, bool) or not isinstance(timestamp_ms, numbers.Integral):
        raise ParameterError(f"timestamp_ms must be an integer number of milliseconds, got "
                             f"{timestamp_ms!r}; use int(round(time_s * 1000))")
    ts = int(timestamp_ms)
    if ts < 0:
        raise ParameterError(f"timestamp_ms must be >= 0, got {ts}")
    if last_ms is not None and ts <= last_ms:
        raise ParameterError(f"timestamps must increase strictly: got {ts} ms after {last_ms} ms "
                             "(MediaPipe's video mode tracks people between frames; skip "
                             "repeated frames, or use a new PoseEstimator for a new stream)")
    return ts
