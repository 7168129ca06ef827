"""3D clips from files, and what a VR or game client would send of them.

:func:`load_clip3d` reads any 3D clip ibeat knows as a
:class:`~ibeat_io.projection.Mocap3D` (COCO-17 joints in metres, right-handed,
y up, floor at 0):

* an AIST++ 3D keypoint file ``<root>/keypoints3d/<name>.npy``, with the
  dataset's ``index.csv`` and ``aist_music_bpm.json`` in ``<root>``;
* a Dance-with-Melody sequence folder ``DANCE_*`` holding ``skeletons.json.gz``,
  with the dataset's ``index.csv`` in its parent;
* a CMU BVH file (``.bvh`` or ``.bvh.gz``, the salsa takes);
* a CMU ASF/AMC take (``.amc``, with ``<subject>.asf`` beside it);
* an ibeat 3D ``.npz`` clip (:func:`save_clip3d`), holding

  - ``joints``: float32 ``(T, 17, 3)`` COCO-17 positions [m], right-handed,
    y up, NaN where a joint is missing;
  - ``fps``: the frame rate [Hz], a scalar > 0;
  - ``beat_times_s`` (optional): float64 ``(N,)`` beat times [s] from frame 0;
  - ``dance`` (optional): the dance style or activity, a string.

:func:`client_frames` turns a clip into the frames a headset, a game avatar or
body trackers would stream (:data:`BODIES`), at the client's rate and in its
engine's coordinate frame (:data:`FRAMES`), as ``[x, y, z, confidence]`` per
joint of the wire layouts of :data:`ibeat_core.body3d.LAYOUTS_3D`.

>>> from ibeat_io.projection import Mocap3D
>>> clip = Mocap3D(name="still", joints=np.ones((31, 17, 3)), fps=30.0)
>>> t, points, layout = client_frames(clip, body="head-hands", rate_hz=90.0, frame="unity")
>>> t.shape, points.shape, layout, points[0, 0].tolist()
((91,), (91, 3, 4), 'head_hands', [1.0, 1.0, -1.0, 1.0])
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from ibeat_core.body3d import LAYOUTS_3D
from ibeat_core.errors import ParameterError
from ibeat_core.skeleton import COCO17_JOINTS, N_JOINTS

from .aistpp3d import load_aist3d_clip
from .asfamc import load_cmu_exercise
from .mocap import load_bvh_sequence, load_dwm_sequence
from .projection import Mocap3D

__all__ = ["BODIES", "FRAMES", "DEFAULT_BODY", "DEFAULT_RATE_HZ", "DEFAULT_FRAME",
           "MAX_RATE_HZ", "BODY_LAYOUTS", "SPINE_UP", "CHEST_UP", "NECK_UP", "CLAVICLE_OUT",
           "is_clip3d", "load_clip3d", "save_clip3d", "client_frames"]

#: What a client tracks of the body: every COCO-17 joint, a headset and two
#: controllers, an avatar's Unity Humanoid bones, or OpenXR-style tracked points.
BODIES = ("full", "head-hands", "humanoid", "tracked-points")
#: Body -> the :data:`~ibeat_core.body3d.LAYOUTS_3D` layout it is sent as.
BODY_LAYOUTS = {"full": "coco17_3d", "head-hands": "head_hands", "humanoid": "humanoid",
                "tracked-points": "tracked_points"}
#: Engine -> its coordinate frame ``(handedness, up axis)``; every one is in metres.
FRAMES = {"openxr": ("right", "y"), "godot": ("right", "y"), "unity": ("left", "y")}
DEFAULT_BODY = "full"
#: A headset's display rate [Hz] (Quest: 72, 90 or 120).
DEFAULT_RATE_HZ = 90.0
DEFAULT_FRAME = "openxr"
#: The highest client rate [Hz] the protocol accepts (``SessionConfig.nominal_fps``).
MAX_RATE_HZ = 1000.0

_NPZ_KEYS = ("joints", "fps")
_DWM_FILE = "skeletons.json.gz"
_AIST_INDEX = "index.csv"
_AIST_KEYPOINTS = "keypoints3d"

# Proportions of the Humanoid bones a COCO-17 skeleton lacks, as fractions of
# a segment between joints it has (Unity's bone origins, roughly): Spine just
# above the pelvis and Chest mid-torso (of mid-hips -> mid-shoulders), Neck at
# the base of the neck (of mid-shoulders -> Head), each clavicle's origin next
# to the sternum (of mid-shoulders -> that shoulder joint).
SPINE_UP = 0.2
CHEST_UP = 0.55
NECK_UP = 0.3
CLAVICLE_OUT = 0.2

# Layout joint -> the COCO-17 joint or derived point (see _derived_points) it is.
_SOURCES = {
    "coco17_3d": {name: name for name in COCO17_JOINTS},
    "head_hands": {"head": "nose", "left_hand": "left_wrist", "right_hand": "right_wrist"},
    "tracked_points": {
        "head": "nose", "left_hand": "left_wrist", "right_hand": "right_wrist", "hips": "mid_hips",
        "left_elbow": "left_elbow", "right_elbow": "right_elbow", "left_knee": "left_knee",
        "right_knee": "right_knee", "left_foot": "left_ankle", "right_foot": "right_ankle"},
    "humanoid": {
        "Hips": "mid_hips", "LeftUpperLeg": "left_hip", "RightUpperLeg": "right_hip",
        "LeftLowerLeg": "left_knee", "RightLowerLeg": "right_knee", "LeftFoot": "left_ankle",
        "RightFoot": "right_ankle", "Spine": "spine", "Chest": "chest", "Neck": "neck",
        "Head": "head", "LeftShoulder": "left_clavicle", "RightShoulder": "right_clavicle",
        "LeftUpperArm": "left_shoulder", "RightUpperArm": "right_shoulder",
        "LeftLowerArm": "left_elbow", "RightLowerArm": "right_elbow", "LeftHand": "left_wrist",
        "RightHand": "right_wrist"},
}


def is_clip3d(path) -> bool:
    """Whether ``path`` names a 3D clip :func:`load_clip3d` reads (by its kind, not its contents).

    A ``.npz`` counts when it holds ``joints`` (a 2D clip holds ``keypoints``);
    an unreadable or missing ``.npz`` does not. ``.npy``, ``.bvh``, ``.bvh.gz``
    and ``.amc`` count by their suffix alone, so that a missing one is reported
    as a missing 3D clip.

    Examples
    --------
    >>> is_clip3d("60_01_scaled.bvh.gz"), is_clip3d("13_29.amc"), is_clip3d("clip.pkl")
    (True, True, False)
    """
    path = Path(path)
    kind = _kind(path)
    if kind != "npz":
        return kind is not None
    try:
        with _open_npz(path) as data:
            return "joints" in data.files
    except (OSError, ParameterError):
        return False


def load_clip3d(path) -> Mocap3D:
    """Load a 3D clip of any kind the module docstring lists.

    Parameters
    ----------
    path : str or Path
        The clip's file, or a Dance-with-Melody sequence folder.

    Returns
    -------
    Mocap3D
        ``joints`` (T, 17, 3) float32 [m], right-handed, y up; ``fps`` [Hz].

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist, or a dataset file it needs (the AIST++
        index and tempo table, the DwM index, the ASF skeleton) is missing.
    ParameterError
        For a path of no 3D kind, or malformed contents.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such 3D clip: {path}")
    kind = _kind(path)
    if kind == "npy":
        return _load_aist(path)
    if kind == "dwm":
        return load_dwm_sequence(path)
    if kind == "bvh":
        return load_bvh_sequence(path)
    if kind == "amc":
        return load_cmu_exercise(path).mocap
    if kind == "npz":
        return _load_npz(path)
    raise ParameterError(f"{path} is not a 3D clip: expected an AIST++ 3D .npy, a "
                         f"Dance-with-Melody folder (with {_DWM_FILE}), .bvh, .bvh.gz, .amc "
                         f"or an ibeat 3D .npz")


def save_clip3d(path, mocap: Mocap3D) -> None:
    """Write ``mocap`` as an ibeat 3D ``.npz`` clip (compressed; see the module docstring).

    Raises
    ------
    ParameterError
        If ``path`` does not end in ``.npz`` (numpy would append it, and the
        clip would not be where asked).
    """
    path = Path(path)
    if path.suffix.lower() != ".npz":
        raise ParameterError(f"an ibeat 3D clip is a .npz file, got {path}")
    extra = {}
    if mocap.beat_times_s is not None:
        extra["beat_times_s"] = np.asarray(mocap.beat_times_s, dtype=np.float64)
    if mocap.dance is not None:
        extra["dance"] = np.str_(mocap.dance)
    np.savez_compressed(path, joints=np.asarray(mocap.joints, dtype=np.float32),
                        fps=np.float64(mocap.fps), **extra)


def client_frames(mocap: Mocap3D, *, body: str = DEFAULT_BODY, rate_hz: float = DEFAULT_RATE_HZ,
                  frame: str = DEFAULT_FRAME) -> tuple[np.ndarray, np.ndarray, str]:
    """What a VR or game client tracking ``body`` would send of a clip.

    The clip is resampled linearly to the client's rate, the body's joints
    are picked or derived in layout order, and moved into the engine's frame.

    Parameters
    ----------
    mocap : Mocap3D
        Joints (T, 17, 3) [m], right-handed, y up, at ``mocap.fps`` [Hz].
    body : str
        One of :data:`BODIES`: ``"full"`` sends the 17 COCO joints;
        ``"head-hands"`` the nose as the head and the wrists as the hands;
        ``"tracked-points"`` adds the mid-hip point as the waist tracker,
        elbows, knees and the ankles as the feet; ``"humanoid"`` the Unity
        Humanoid bones' origins: Hips = mid-hips, UpperLeg = hip, LowerLeg =
        knee, Foot = ankle, UpperArm = shoulder, LowerArm = elbow, Hand =
        wrist, Head = the ears' midpoint (the nose where an ear is missing),
        and, along the segments named, Spine = :data:`SPINE_UP` and Chest =
        :data:`CHEST_UP` of mid-hips -> mid-shoulders, Neck = :data:`NECK_UP`
        of mid-shoulders -> Head, Left/RightShoulder (clavicle) =
        :data:`CLAVICLE_OUT` of mid-shoulders -> that shoulder.
    rate_hz : float
        The client's frame rate [Hz], in (0, :data:`MAX_RATE_HZ`]; a headset
        sends at its display rate (72, 90 or 120).
    frame : str
        One of :data:`FRAMES`: the engine whose coordinate frame the points are
        in (Unity is left-handed: z is negated).

    Returns
    -------
    timestamps_s : np.ndarray, shape (N,), float64
        ``k / rate_hz`` for k = 0 .. N-1, up to the clip's last frame time
        ``(T - 1) / mocap.fps`` [s].
    points : np.ndarray, shape (N, J, 4), float32
        ``[x, y, z, confidence]`` per joint of the layout [m]; confidence 1,
        or 0 with ``[0, 0, 0]`` where the clip has the joint (or a joint it
        is derived from) as NaN.
    layout : str
        The layout's name, a key of :data:`~ibeat_core.body3d.LAYOUTS_3D`.

    Raises
    ------
    ParameterError
        For an unknown body or frame, or a rate out of range.
    """
    if body not in BODY_LAYOUTS:
        raise ParameterError(f"body must be one of {', '.join(BODIES)}, got {body!r}")
    if frame not in FRAMES:
        raise ParameterError(f"frame must be one of {', '.join(FRAMES)}, got {frame!r}")
    rate_hz = float(rate_hz)
    if not (np.isfinite(rate_hz) and 0 < rate_hz <= MAX_RATE_HZ):
        raise ParameterError(f"rate_hz must be in (0, {MAX_RATE_HZ:g}] Hz, got {rate_hz!r}")
    timestamps_s, joints = _resample(mocap.joints, mocap.fps, rate_hz)
    layout = BODY_LAYOUTS[body]
    derived = _derived_points(joints)
    sources = _SOURCES[layout]
    xyz = np.stack([derived[sources[name]] for name in LAYOUTS_3D[layout].joints], axis=1)
    xyz = _to_engine(xyz, FRAMES[frame][0])
    ok = np.isfinite(xyz).all(axis=-1)
    points = np.zeros(xyz.shape[:2] + (4,), dtype=np.float32)
    points[ok, :3] = xyz[ok]
    points[..., 3] = ok
    return timestamps_s, points, layout


def _kind(path: Path) -> str | None:
    """Which 3D loader reads ``path``: ``"npy"``, ``"dwm"``, ``"bvh"``, ``"amc"``, ``"npz"``."""
    if path.is_dir():
        return "dwm" if (path / _DWM_FILE).is_file() else None
    name = path.name.lower()
    if name.endswith((".bvh", ".bvh.gz")):
        return "bvh"
    return {".npy": "npy", ".amc": "amc", ".npz": "npz"}.get(path.suffix.lower())


def _load_aist(path: Path) -> Mocap3D:
    """An AIST++ ``.npy`` read with the dataset it sits in (its tempo and name come from there)."""
    root = path.parent.parent
    if path.parent.name != _AIST_KEYPOINTS or not (root / _AIST_INDEX).is_file():
        raise FileNotFoundError(
            f"{path}: an AIST++ 3D keypoint file is read from its dataset folder, "
            f"<root>/{_AIST_KEYPOINTS}/<name>.npy with <root>/{_AIST_INDEX} and "
            f"<root>/aist_music_bpm.json; no {_AIST_INDEX} found at {root}")
    return load_aist3d_clip(path, root=root).mocap


def _open_npz(path: Path) -> np.lib.npyio.NpzFile:
    """``np.load`` of an archive; ParameterError for a file that is not one."""
    try:
        data = np.load(path, allow_pickle=False)
    except (ValueError, zipfile.BadZipFile) as e:
        raise ParameterError(f"{path} is not a readable .npz archive: {e}") from e
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise ParameterError(f"{path} holds a single array, not a .npz archive")
    return data


def _load_npz(path: Path) -> Mocap3D:
    """An ibeat 3D ``.npz`` clip, checked (see the module docstring)."""
    with _open_npz(path) as data:
        missing = [key for key in _NPZ_KEYS if key not in data.files]
        if missing:
            raise ParameterError(f"{path} lacks {missing}; an ibeat 3D clip needs "
                                 f"'joints' (T, {N_JOINTS}, 3) and 'fps'")
        joints = np.asarray(data["joints"])
        fps = np.asarray(data["fps"])
        beats = data["beat_times_s"] if "beat_times_s" in data.files else None
        dance = str(data["dance"]) if "dance" in data.files else None
    if (not np.issubdtype(joints.dtype, np.floating) or joints.ndim != 3
            or joints.shape[1:] != (N_JOINTS, 3) or len(joints) == 0):
        raise ParameterError(f"{path}: joints must be floats (T >= 1, {N_JOINTS}, 3), "
                             f"got {joints.dtype} {joints.shape}")
    if np.isinf(joints).any():
        raise ParameterError(f"{path}: joints hold infinite values (a missing joint is NaN)")
    if fps.shape != () or not np.issubdtype(fps.dtype, np.number):
        raise ParameterError(f"{path}: fps must be a number, got {fps.dtype} {fps.shape}")
    if not (np.isfinite(fps) and fps > 0):
        raise ParameterError(f"{path}: fps must be > 0 Hz, got {fps}")
    return Mocap3D(name=path.stem, joints=joints, fps=float(fps), dance=dance, beat_times_s=beats)


def _resample(joints: np.ndarray, fps: float, rate_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """Joints (T, 17, 3) at ``fps`` -> ``(timestamps_s (N,), joints (N, 17, 3))`` at ``rate_hz``.

    Linear between the two frames around each sample; a sample that falls on
    a frame is that frame, so a joint next to a missing (NaN) one keeps its value.
    """
    n_frames = len(joints)
    # The epsilon keeps the last frame when (T - 1) * rate / fps is an integer
    # computed a hair low.
    n = int(np.floor((n_frames - 1) * rate_hz / fps + 1e-9)) + 1
    k = np.arange(n)
    # k * fps / rate rather than (k / rate) * fps: exact when the rates divide.
    pos = k * fps / rate_hz
    i0 = np.minimum(np.floor(pos).astype(np.int64), n_frames - 1)
    i1 = np.minimum(i0 + 1, n_frames - 1)
    w = (pos - i0)[:, None, None]
    a = joints[i0].astype(np.float64)
    b = joints[i1].astype(np.float64)
    return k / rate_hz, np.where(w > 0, (1.0 - w) * a + w * b, a)


def _derived_points(joints: np.ndarray) -> dict:
    """Every COCO-17 joint and derived point a body needs, by name: (N, 3) arrays [m].

    A derived point is NaN where a joint it comes from is.
    """
    named = {name: joints[:, i] for i, name in enumerate(COCO17_JOINTS)}
    mid_hips = 0.5 * (named["left_hip"] + named["right_hip"])
    mid_shoulders = 0.5 * (named["left_shoulder"] + named["right_shoulder"])
    ears = 0.5 * (named["left_ear"] + named["right_ear"])
    head = np.where(np.isfinite(ears).all(axis=-1, keepdims=True), ears, named["nose"])
    return {
        **named,
        "mid_hips": mid_hips,
        "head": head,
        "spine": mid_hips + SPINE_UP * (mid_shoulders - mid_hips),
        "chest": mid_hips + CHEST_UP * (mid_shoulders - mid_hips),
        "neck": mid_shoulders + NECK_UP * (head - mid_shoulders),
        "left_clavicle": mid_shoulders + CLAVICLE_OUT * (named["left_shoulder"] - mid_shoulders),
        "right_clavicle": mid_shoulders + CLAVICLE_OUT * (named["right_shoulder"] - mid_shoulders),
    }


def _to_engine(points: np.ndarray, handedness: str) -> np.ndarray:
    """Canonical (right-handed, y up) positions (..., 3) -> an engine's y-up frame.

    The inverse of :func:`ibeat_core.body3d.to_canonical` for y-up frames: a
    left-handed frame is the right-handed one mirrored along z.
    """
    if handedness == "left":
        return points * np.array([1.0, 1.0, -1.0])
    return points
