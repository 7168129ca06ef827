"""Motion-capture loaders: Dance with Melody (JSON) and CMU salsa (BVH) as 3D COCO-17.

Every loader returns a :class:`~ibeat_io.projection.Mocap3D`: joints
``(T, 17, 3)`` float32 in metres, right-handed, y up, with the floor moved to
y = 0 (the datasets put it anywhere), plus the frame rate in Hz. Joints the
capture lacks (nose, eyes, ears) are synthesised from the head so that the
2D views look like a detector's COCO-17 output. See the datasets'
``SOURCE.md`` files for the conventions followed here.
"""

import csv
import gzip
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ibeat_core.errors import ParameterError
from ibeat_io.projection import Mocap3D
from ibeat_core.skeleton import COCO17_JOINTS, N_JOINTS

__all__ = [
    "Mocap3D",
    "DWM_FPS",
    "CMU_FPS",
    "CMU_SCALE_TO_M",
    "list_dwm_sequences",
    "load_dwm_sequence",
    "list_salsa_takes",
    "load_bvh_sequence",
]

# --- Dance with Melody --------------------------------------------------------

DWM_FPS = 25.0
_CM_TO_M = 0.01
# COCO joint -> DwM point, joints 3..16 (ears from the two head-side points).
_DWM_TO_COCO = {3: 0, 4: 1, 5: 3, 6: 12, 7: 4, 8: 13, 9: 6, 10: 15,
                11: 7, 12: 16, 13: 8, 14: 17, 15: 9, 16: 18}
_DWM_HEAD = (0, 1)  # head side A (left), side B (right)
_DWM_HEELS_TOES = (10, 11, 19, 20)
_DWM_N_POINTS = 23
# Face points relative to the head-side midpoint, as
# (forward, up, sideways to the left) in metres: nose tip in front of the
# ears, eyes above it and apart (typical adult head proportions).
_DWM_NOSE = (0.09, -0.02, 0.0)
_DWM_EYE = (0.07, 0.02, 0.03)

# --- CMU salsa BVH --------------------------------------------------------------

# The headers say "Frame Time: 0.008333" (120 fps), but salsa steps only make
# sense at 60 fps, the rate CMU lists for subjects 60/61 (see SOURCE.md).
CMU_FPS = 60.0
# The files were rescaled (head joint to ankle 1.10 units); x1.5 gives a
# 1.65 m head-to-ankle, i.e. a person of about 1.8 m.
CMU_SCALE_TO_M = 1.5
_CMU_TO_COCO = {1: "leftEye", 2: "rightEye", 5: "lShldr", 6: "rShldr",
                7: "lForeArm", 8: "rForeArm", 9: "lHand", 10: "rHand",
                11: "lThigh", 12: "rThigh", 13: "lShin", 14: "rShin",
                15: "lFoot", 16: "rFoot"}
_CMU_HEAD = "head"
# In the head joint's frame (x = left, y = up, z = forward), metres: the nose
# is ahead of and below the eye midpoint; ears are beside the head joint (top
# of the neck), raised to just below eye level.
CMU_NOSE_FROM_EYES = (0.0, -0.03, 0.03)
CMU_EAR_FROM_HEAD = (0.07, 0.08, 0.0)
# Ankle joint height above the sole, to put the floor under the BVH ankles.
_ANKLE_HEIGHT_M = 0.08
_ANKLES = (COCO17_JOINTS.index("left_ankle"), COCO17_JOINTS.index("right_ankle"))

# Percentile of the per-frame lowest foot height taken as the floor: robust
# to a few frames of marker glitches below it.
_FLOOR_PERCENTILE = 1.0


def list_dwm_sequences(root):
    """List the Dance-with-Melody sequence folders present under ``root``.

    Sequences come from the ChoreoNet annotations (``choreonet/*.json``);
    entries whose folder is absent (held back or never retrieved) are skipped.

    Parameters
    ----------
    root : str or Path
        Dataset root (holds ``index.csv``, ``choreonet/`` and ``DANCE_*``).

    Returns
    -------
    folders : list of Path
        ``root / "DANCE_<type>_<id>"``, sorted by type then numeric id.
    """
    root = Path(root)
    names = set()
    for path in sorted((root / "choreonet").glob("*.json")):
        names.update(entry["name"] for entry in json.loads(path.read_text()))
    present = [name for name in names if (root / name / "skeletons.json.gz").is_file()]
    return [root / name for name in sorted(present, key=_dwm_sort_key)]


def load_dwm_sequence(folder):
    """Load one Dance-with-Melody sequence as 3D COCO-17 joints.

    Follows the dataset's SOURCE.md: world = ``skeletons + center``, z
    negated (the data is left-handed), cm to m, then the COCO mapping
    (ears from the two head-side points). Nose and eyes are not captured
    and are synthesised from the head-side midpoint: the nose 9 cm in
    front and 2 cm down, the eyes 7 cm in front, 2 cm up and 3 cm to each
    side, "front" being the horizontal normal of the head-side axis on the
    toes' side. Finally y is shifted so that the heel/toe markers touch
    y = 0.

    Parameters
    ----------
    folder : str or Path
        A ``DANCE_<type>_<id>`` folder; ``index.csv`` is read from its
        parent (the dataset root).

    Returns
    -------
    Mocap3D
        ``joints`` (T, 17, 3) float32 metres at ``fps`` = 25.0 Hz;
        ``dance`` from ``index.csv`` (e.g. ``"waltz"``); ``beat_times_s``
        (N + 1,) seconds, the ChoreoNet grid: beat k at motion frame
        ``k * T / N`` with N = ``choreonet_beats``.

    Raises
    ------
    ParameterError
        If the sequence is not in ``index.csv`` or the skeleton array does
        not have 23 points.
    """
    folder = Path(folder)
    rows = _read_dwm_index(folder.parent)
    if folder.name not in rows:
        raise ParameterError(f"{folder.name!r} is not listed in {folder.parent / 'index.csv'}")
    row = rows[folder.name]
    with gzip.open(folder / "skeletons.json.gz", "rt") as f:
        raw = json.load(f)
    points = np.asarray(raw["skeletons"], dtype=np.float64)
    center = np.asarray(raw["center"], dtype=np.float64)
    if points.ndim != 3 or points.shape[1:] != (_DWM_N_POINTS, 3) \
            or center.shape != (len(points), 3):
        raise ParameterError(
            f"{folder.name}: expected skeletons (T, {_DWM_N_POINTS}, 3) and center (T, 3), "
            f"got {points.shape} and {center.shape}"
        )
    world = (points + center[:, None, :]) * _CM_TO_M
    world[..., 2] *= -1.0

    joints = np.empty((len(world), N_JOINTS, 3))
    for coco, src in _DWM_TO_COCO.items():
        joints[:, coco] = world[:, src]
    joints[:, :3] = _dwm_face(world)
    joints[..., 1] -= _floor_height(world[:, _DWM_HEELS_TOES, 1].min(axis=1))

    n_frames = len(joints)
    n_beats = int(row["choreonet_beats"])
    beat_times_s = np.arange(n_beats + 1) * (n_frames / n_beats) / DWM_FPS
    return Mocap3D(name=folder.name, joints=joints, fps=DWM_FPS, dance=row["dance"],
                   beat_times_s=beat_times_s)


def list_salsa_takes(root):
    """List the CMU salsa BVH files under ``root``.

    Parameters
    ----------
    root : str or Path
        Folder with ``<subject>_<trial>_scaled.bvh.gz`` files.

    Returns
    -------
    paths : list of Path
        The ``*.bvh`` and ``*.bvh.gz`` files, sorted by name; subject 60
        (lead) and 61 (follow) of the same trial are partners.
    """
    root = Path(root)
    return sorted([*root.glob("*.bvh"), *root.glob("*.bvh.gz")])


def load_bvh_sequence(path, *, fps=CMU_FPS, scale_to_m=CMU_SCALE_TO_M, dance="salsa"):
    """Load a DAZ/Poser-style BVH file (the CMU salsa takes) as 3D COCO-17 joints.

    Parses the hierarchy and each joint's channel order from its
    ``CHANNELS`` line, runs forward kinematics, and maps joints to COCO-17
    (see the dataset's SOURCE.md). The nose is synthesised 3 cm in front of
    and 3 cm below the eye midpoint, the ears 7 cm to each side of the head
    joint, 8 cm up, both in the head's own frame. y is shifted so that the
    floor (lowest ankle minus 8 cm) is at 0.

    Parameters
    ----------
    path : str or Path
        ``.bvh`` file, plain or gzip-compressed.
    fps : float
        Frame rate in Hz. The header's frame time is ignored because the
        CMU salsa files state 120 fps for 60 fps motion.
    scale_to_m : float
        Metres per BVH unit (the salsa files were rescaled to ~1/1.5).
    dance : str, optional
        Dance style recorded in the result.

    Returns
    -------
    Mocap3D
        ``joints`` (T, 17, 3) float32 metres, y up, the character's left on
        +x in the rest pose (which faces +z); ``beat_times_s`` is None.

    Raises
    ------
    ParameterError
        If the file is not valid BVH or lacks a joint the mapping needs.
    """
    path = Path(path)
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    skeleton, motion = _parse_bvh(data.decode("ascii"), source=path.name)
    missing = sorted((set(_CMU_TO_COCO.values()) | {_CMU_HEAD}) - set(skeleton.index))
    if missing:
        raise ParameterError(f"{path.name}: BVH lacks joints {missing}")
    positions, rotations = _forward_kinematics(skeleton, motion)
    positions *= scale_to_m

    def at(name):
        return positions[:, skeleton.index[name]]

    joints = np.empty((len(motion), N_JOINTS, 3))
    for coco, name in _CMU_TO_COCO.items():
        joints[:, coco] = at(name)
    head_rot = rotations[:, skeleton.index[_CMU_HEAD]]
    eye_mid = 0.5 * (at("leftEye") + at("rightEye"))
    joints[:, 0] = eye_mid + head_rot @ np.array(CMU_NOSE_FROM_EYES)
    ear = np.array(CMU_EAR_FROM_HEAD)
    joints[:, 3] = at(_CMU_HEAD) + head_rot @ ear
    joints[:, 4] = at(_CMU_HEAD) + head_rot @ (ear * [-1.0, 1.0, 1.0])
    floor_at_ankles(joints)

    name = path.name.removesuffix(".gz").removesuffix(".bvh")
    return Mocap3D(name=name, joints=joints, fps=fps, dance=dance)


# --- helpers --------------------------------------------------------------------


def _dwm_sort_key(name):
    """``DANCE_W_10`` -> ``("W", 10)`` so that W_2 sorts before W_10."""
    _, kind, number = name.split("_")
    return kind, int(number)


def _read_dwm_index(root):
    """Rows of ``root/index.csv`` keyed by sequence name."""
    with open(Path(root) / "index.csv", newline="") as f:
        return {row["name"]: row for row in csv.DictReader(f)}


def _dwm_face(world):
    """Synthesise nose and eyes from the DwM head-side points.

    Parameters
    ----------
    world : np.ndarray, shape (T, 23, 3)
        Right-handed, y-up world points in metres.

    Returns
    -------
    face : np.ndarray, shape (T, 3, 3)
        Nose, left eye, right eye.
    """
    head_l, head_r = world[:, _DWM_HEAD[0]], world[:, _DWM_HEAD[1]]
    mid = 0.5 * (head_l + head_r)
    left = head_l - head_r
    left[:, 1] = 0.0
    left /= np.linalg.norm(left, axis=1, keepdims=True)
    up = np.array([0.0, 1.0, 0.0])
    # Horizontal normal of the head axis; its sign comes from the feet
    # (heel -> toe), which point forward whatever the head is doing.
    forward = np.cross(left, up)
    toes = world[:, [11, 20]].mean(axis=1) - world[:, [10, 19]].mean(axis=1)
    forward *= np.where(np.sum(forward * toes, axis=1) < 0, -1.0, 1.0)[:, None]

    def place(offset, side=1.0):
        f, u, s = offset
        return mid + f * forward + u * up + side * s * left

    return np.stack([place(_DWM_NOSE), place(_DWM_EYE), place(_DWM_EYE, -1.0)], axis=1)


def _floor_height(lowest_y):
    """Floor height from the per-frame lowest foot point ``(T,)``, same unit."""
    return np.percentile(lowest_y, _FLOOR_PERCENTILE)


def floor_at_ankles(joints: np.ndarray) -> np.ndarray:
    """Move COCO-17 joints ``(T, 17, 3)`` [m, y up] in place so the floor is at y = 0.

    The floor is a low percentile of the lower ankle, less the ankle's height
    above the sole, for mocap without foot markers. Returns ``joints``.
    """
    joints[..., 1] -= _floor_height(joints[:, _ANKLES, 1].min(axis=1) - _ANKLE_HEIGHT_M)
    return joints


@dataclass(frozen=True)
class _BvhSkeleton:
    """Parsed BVH hierarchy; joints are in file order, parents first."""

    names: tuple
    parents: tuple  # index of the parent joint, -1 for the root
    offsets: np.ndarray  # (J, 3) in BVH units
    channels: tuple  # per joint, channel names such as "Zrotation"
    index: dict  # name -> joint index


_CHANNEL = re.compile(r"([XYZ])(position|rotation)")


def _parse_bvh(text, *, source):
    """Parse BVH text into a skeleton and a ``(F, n_channels)`` motion array."""
    head, sep, body = text.partition("MOTION")
    if not sep:
        raise ParameterError(f"{source}: no MOTION section; not a BVH file")
    names, parents, offsets, channels = [], [], [], []
    stack, pending = [], None
    tokens = iter(head.split())
    for tok in tokens:
        if tok in ("ROOT", "JOINT"):
            names.append(next(tokens))
            parents.append(stack[-1] if stack else -1)
            offsets.append((0.0, 0.0, 0.0))
            channels.append(())
            pending = len(names) - 1
        elif tok == "End":
            next(tokens)  # "Site"; an end site only has an offset, unused here
            pending = None
        elif tok == "{":
            stack.append(pending)
        elif tok == "}":
            stack.pop()
        elif tok == "OFFSET":
            offset = tuple(float(next(tokens)) for _ in range(3))
            if stack[-1] is not None:
                offsets[stack[-1]] = offset
        elif tok == "CHANNELS":
            chans = tuple(next(tokens) for _ in range(int(next(tokens))))
            bad = [c for c in chans if not _CHANNEL.fullmatch(c)]
            if bad:
                raise ParameterError(
                    f"{source}: unknown BVH channels {bad} for joint {names[stack[-1]]!r}")
            channels[stack[-1]] = chans
        elif tok != "HIERARCHY":
            raise ParameterError(f"{source}: unexpected token {tok!r} in BVH hierarchy")
    if not names:
        raise ParameterError(f"{source}: BVH hierarchy has no joints")

    frames = re.search(r"Frames:\s*(\d+)", body)
    frame_time = re.search(r"Frame Time:\s*\S+", body)
    if frames is None or frame_time is None:
        raise ParameterError(f"{source}: BVH MOTION section lacks 'Frames:' or 'Frame Time:'")
    values = np.array(body[frame_time.end():].split(), dtype=np.float64)
    n_frames, n_channels = int(frames.group(1)), sum(len(c) for c in channels)
    if values.size != n_frames * n_channels:
        raise ParameterError(
            f"{source}: expected {n_frames} frames x {n_channels} channels = "
            f"{n_frames * n_channels} values, got {values.size}"
        )
    skeleton = _BvhSkeleton(names=tuple(names), parents=tuple(parents),
                            offsets=np.array(offsets), channels=tuple(channels),
                            index={n: i for i, n in enumerate(names)})
    return skeleton, values.reshape(n_frames, n_channels)


def _forward_kinematics(skeleton, motion):
    """Global joint positions and rotations for every frame.

    Each joint's local rotation is the product of its rotation channels in
    the order listed (BVH convention: ``Zrotation Xrotation Yrotation`` means
    ``Rz @ Rx @ Ry``); position channels add to the joint's offset.

    Returns
    -------
    positions : np.ndarray, shape (F, J, 3), BVH units
    rotations : np.ndarray, shape (F, J, 3, 3), local-to-world
    """
    n_frames, n_joints = len(motion), len(skeleton.names)
    positions = np.empty((n_frames, n_joints, 3))
    rotations = np.empty((n_frames, n_joints, 3, 3))
    column = 0
    for j, (parent, chans) in enumerate(zip(skeleton.parents, skeleton.channels)):
        local = np.broadcast_to(np.eye(3), (n_frames, 3, 3))
        translation = np.tile(skeleton.offsets[j], (n_frames, 1))
        for chan in chans:
            axis, kind = _CHANNEL.fullmatch(chan).groups()
            value = motion[:, column]
            column += 1
            if kind == "rotation":
                local = local @ axis_rotation(axis, np.deg2rad(value))
            else:
                translation[:, "XYZ".index(axis)] += value
        if parent < 0:
            rotations[:, j] = local
            positions[:, j] = translation
        else:
            rotations[:, j] = rotations[:, parent] @ local
            positions[:, j] = positions[:, parent] + np.einsum(
                "fij,fj->fi", rotations[:, parent], translation)
    return positions, rotations


def axis_rotation(axis: str, angle_rad) -> np.ndarray:
    """Rotation matrices ``(F, 3, 3)`` about coordinate axis ``"x"``, ``"y"`` or ``"z"``
    (either case), angles ``(F,)`` in radians."""
    c, s = np.cos(angle_rad), np.sin(angle_rad)
    one, zero = np.ones_like(c), np.zeros_like(c)
    rows = {
        "X": [[one, zero, zero], [zero, c, -s], [zero, s, c]],
        "Y": [[c, zero, s], [zero, one, zero], [-s, zero, c]],
        "Z": [[c, -s, zero], [s, c, zero], [zero, zero, one]],
    }[axis.upper()]
    return np.moveaxis(np.array(rows), (0, 1), (-2, -1))
