"""Acclaim ASF/AMC motion capture (the CMU database) as 3D COCO-17 joints.

An ASF file describes a skeleton (bone directions, lengths, local axes and
degrees of freedom, and the hierarchy); an AMC file gives, per frame, the root
translation and rotation and each bone's rotation angles. This module parses
both, runs forward kinematics and maps the result to COCO-17 in a
:class:`~ibeat_io.projection.Mocap3D` (metres, right-handed, y up, floor at
y = 0), the same conventions as :mod:`ibeat_io.mocap`.

Forward kinematics (the CMU/Acclaim convention, written for column vectors)
----------------------------------------------------------------------------
Every bone ``j`` has

- a rest direction ``d_j`` (unit vector, world frame of the rest pose) and a
  length ``l_j`` (ASF units, ``:units length s`` means ``s`` units per inch,
  so one unit is ``0.0254 / s`` metres; CMU files have ``s = 0.45``);
- a local frame ``C_j`` from ``axis a1 a2 a3 ORDER``: the rotations by
  ``a1, a2, a3`` about the axes named in ``ORDER`` applied in that order, so
  ``axis ax ay az XYZ`` gives ``C = Rz(az) @ Ry(ay) @ Rx(ax)``;
- a motion rotation ``M_j`` from the AMC values of its ``dof`` list, applied
  in the order listed (``dof rx ry rz`` gives ``M = Rz @ Ry @ Rx``).

Its rotation relative to the parent is ``L_j = C_j @ M_j @ C_j^-1`` (CMU's
documentation writes ``L = Cinv M C`` for row vectors, the same matrix
transposed); the world rotation is ``A_j = A_parent @ L_j`` and the bone's far
end lies at ``p_j = p_parent + A_j @ (l_j d_j)``. The root's rotation is
built from the ``R?`` channels of its ``order`` line in the order listed, its
position is the ``T?`` channels. In the rest pose (all angles 0) every
``A_j`` is the identity, so ``A_j`` maps an offset expressed in the rest
pose's axes (CMU: x = the subject's left, y = up, z = forward) to the world.

The CMU world frame is right-handed with y up, like :class:`Mocap3D`, so no
axis is flipped.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ibeat_core.errors import ParameterError
from ibeat_core.skeleton import N_JOINTS
from ibeat_io.datasets import default_data_dir
from ibeat_io.mocap import CMU_EAR_FROM_HEAD, CMU_NOSE_FROM_EYES, axis_rotation, floor_at_ankles
from ibeat_io.projection import Mocap3D

__all__ = [
    "INCH_M",
    "CMU_EXERCISE_DIR",
    "CMU_EXERCISE_ACTIONS",
    "LABEL_BLOCK_FRAMES",
    "SUBJECT13_FPS",
    "SUBJECT93_FPS",
    "AsfSkeleton",
    "AmcMotion",
    "CmuTake",
    "parse_asf",
    "parse_amc",
    "forward_kinematics",
    "load_asf_amc",
    "load_action_segments",
    "list_cmu_exercise",
    "load_cmu_exercise",
]

#: One inch in metres; ASF lengths are in inches divided by ``:units length``.
INCH_M = 0.0254

#: Folder of the CMU exercise data inside the data root.
CMU_EXERCISE_DIR = "cmu-exercise-asfamc"

#: Action names of the mocap6 labels: label id ``k`` (1..12) is ``CMU_EXERCISE_ACTIONS[k - 1]``.
CMU_EXERCISE_ACTIONS = (
    "JumpJack", "Jog", "Squat", "KneeRaise", "ArmCircle", "Twist", "SideReach", "Box",
    "UpDown", "ToeTouchOneHand", "SideBend", "ToeTouchTwoHands",
)

#: AMC frames per label in ``labels_mocap6/*.txt`` (a 10 Hz block at 120 fps).
LABEL_BLOCK_FRAMES = 12

#: Frame rate of subject 13 (the CMU database's 120 fps; the labels' 10 Hz blocks agree).
SUBJECT13_FPS = 120.0

#: Default frame rate of subject 93 (Charleston); uncertain, see :func:`load_cmu_exercise`.
SUBJECT93_FPS = 120.0

# What each take of the shared folder holds (Mocap3D.dance).
_TAKE_ACTIVITY = {"13_29": "exercise", "13_30": "exercise", "13_31": "exercise",
                  "13_17": "boxing", "93_04": "charleston", "93_05": "charleston",
                  "93_08": "charleston"}
_SUBJECT_FPS = {"13": SUBJECT13_FPS, "93": SUBJECT93_FPS}

# COCO joint -> CMU ASF bone whose far end is that joint.
_CMU_ASF_TO_COCO = {5: "lclavicle", 6: "rclavicle", 7: "lhumerus", 8: "rhumerus",
                    9: "lradius", 10: "rradius", 11: "lhipjoint", 12: "rhipjoint",
                    13: "lfemur", 14: "rfemur", 15: "ltibia", 16: "rtibia"}
# The "head" bone starts at the top of the neck (the far end of "upperneck"),
# about 13 cm above the shoulders like the BVH head joint of ibeat_io.mocap;
# its own rotation is the skull's.
_CMU_NECK_TOP = "upperneck"
_CMU_HEAD = "head"
# Eyes from the top of the neck, in the head frame (x = left, y = up,
# z = forward), metres: up and forward as the CMU salsa BVH eye joints
# (9.4 cm each), 3 cm to each side (as for Dance with Melody).
_CMU_EYE_FROM_NECK_TOP = (0.03, 0.094, 0.094)

_ROOT = "root"
_AXES = "xyz"
_FRAME_LINE = re.compile(r"\d+")


@dataclass(frozen=True, eq=False)
class AsfSkeleton:
    """A parsed ASF skeleton, bones ordered parents first.

    Attributes
    ----------
    name : str
        The ASF ``:name``.
    names : tuple of str
        Bone names, ``"root"`` first, every parent before its children.
    parents : tuple of int
        Index of each bone's parent in ``names``; -1 for the root.
    offsets_m : np.ndarray, shape (J, 3), float64
        ``length * direction`` of each bone in metres, rest-pose world axes
        (zero for the root).
    axes : np.ndarray, shape (J, 3, 3), float64
        Each bone's local frame ``C`` (see the module docstring).
    dofs : tuple of tuple of str
        Each bone's AMC channels in file order: ``"rx"``, ``"ry"``,
        ``"rz"``; the root's are its ``order`` line, e.g.
        ``("tx", "ty", "tz", "rx", "ry", "rz")``.
    length_to_m : float
        Metres per ASF/AMC length unit (``0.0254 / 0.45`` for CMU).
    degrees : bool
        Whether the ASF's ``axis`` angles are in degrees.
    index : dict
        Bone name -> index in ``names``.
    """

    name: str
    names: tuple
    parents: tuple
    offsets_m: np.ndarray
    axes: np.ndarray
    dofs: tuple
    length_to_m: float
    degrees: bool
    index: dict


@dataclass(frozen=True, eq=False)
class AmcMotion:
    """The channel values of an AMC file.

    Attributes
    ----------
    values : dict
        Bone name -> array ``(F, n_dofs)`` float64 in the AMC's units
        (degrees or radians; root translations in ASF length units), columns
        in the order of the bone's ``dof`` list. Bones without dofs are absent.
    n_frames : int
        Number of frames ``F``.
    degrees : bool
        False when the AMC says ``:RADIANS``.
    """

    values: dict
    n_frames: int
    degrees: bool


@dataclass(frozen=True, eq=False)
class CmuTake:
    """One take of the CMU exercise folder.

    Attributes
    ----------
    mocap : Mocap3D
        COCO-17 joints ``(T, 17, 3)`` float32, metres, y up, floor at 0;
        ``dance`` is the activity; ``beat_times_s`` is None (no music).
    subject : str
        CMU subject number, ``"13"`` or ``"93"``.
    activity : str
        ``"exercise"`` (13_29/30/31), ``"boxing"`` (13_17) or
        ``"charleston"`` (93_*); ``"unknown"`` for other files.
    segments : tuple of (float, float, str), or None
        Labelled action segments ``(start_s, end_s, action)`` covering the
        whole take back to back (see :func:`load_action_segments`); None
        when the take has no label file.
    """

    mocap: Mocap3D
    subject: str
    activity: str
    segments: tuple | None


# --- parsing ---------------------------------------------------------------------


def parse_asf(path):
    """Parse an Acclaim ASF skeleton file.

    Parameters
    ----------
    path : str or Path
        The ``.asf`` file.

    Returns
    -------
    AsfSkeleton

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ParameterError
        If a section or bone field is malformed, a dof is not a rotation
        (``rx``, ``ry``, ``rz``), the root has a non-zero ASF
        ``position``/``orientation``, or the hierarchy does not reach every
        bone exactly once.
    """
    path = Path(path)
    text = path.read_text(errors="replace")
    sections = _asf_sections(text, source=path.name)

    length_unit, degrees, name = 1.0, True, "asf"
    for line in sections.get("units", []):
        key, _, value = line.partition(" ")
        if key == "length":
            length_unit = _number(value, source=path.name, what=":units length")
        elif key == "angle":
            degrees = value.strip().lower().startswith("deg")
    if not length_unit > 0:
        raise ParameterError(f"{path.name}: ':units length' must be > 0, got {length_unit}")
    name = sections.get("_name_inline", name)
    to_rad = math.pi / 180.0 if degrees else 1.0

    root_dofs, root_axis_order = _parse_root(sections.get("root"), source=path.name)
    bones = {_ROOT: {"direction": np.zeros(3), "length": 0.0, "axis": np.zeros(3),
                     "order": root_axis_order, "dofs": root_dofs}}
    for bone in _asf_bones(sections.get("bonedata"), source=path.name):
        if bone["name"] in bones:
            raise ParameterError(f"{path.name}: bone {bone['name']!r} is defined twice")
        bones[bone["name"]] = bone

    children = _parse_hierarchy(sections.get("hierarchy"), bones, source=path.name)
    names, parents = [_ROOT], [-1]
    queue = [0]
    while queue:
        parent = queue.pop(0)
        for child in children.get(names[parent], []):
            if child in names:
                raise ParameterError(f"{path.name}: bone {child!r} appears twice in :hierarchy")
            names.append(child)
            parents.append(parent)
            queue.append(len(names) - 1)
    unreached = sorted(set(bones) - set(names))
    if unreached:
        raise ParameterError(f"{path.name}: bones {unreached} are not in :hierarchy")

    length_to_m = INCH_M / length_unit
    offsets = np.array([bones[n]["length"] * bones[n]["direction"] for n in names]) * length_to_m
    axes = np.array([_euler(bones[n]["axis"] * to_rad, bones[n]["order"]) for n in names])
    return AsfSkeleton(name=name, names=tuple(names), parents=tuple(parents),
                       offsets_m=offsets, axes=axes,
                       dofs=tuple(bones[n]["dofs"] for n in names),
                       length_to_m=length_to_m, degrees=degrees,
                       index={n: i for i, n in enumerate(names)})


def parse_amc(path, skeleton):
    """Parse an AMC motion file for a skeleton.

    Parameters
    ----------
    path : str or Path
        The ``.amc`` file (``:FULLY-SPECIFIED``; ``:DEGREES`` or ``:RADIANS``).
    skeleton : AsfSkeleton
        The matching skeleton: it says how many values each bone line holds.

    Returns
    -------
    AmcMotion

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ParameterError
        If the file has no frames, frames are not numbered 1, 2, 3, ...,
        a line names a bone the skeleton lacks, or a bone with dofs is
        missing from a frame or has the wrong number of values.
    """
    path = Path(path)
    text = path.read_text(errors="replace")
    degrees = True
    n_values = {n: len(d) for n, d in zip(skeleton.names, skeleton.dofs)}
    rows = {n: [] for n in n_values}
    n_frames = 0
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line[0] == "#":
            continue
        if line[0] == ":":
            degrees = degrees and line.upper() != ":RADIANS"
            continue
        if _FRAME_LINE.fullmatch(line):
            if int(line) != n_frames + 1:
                raise ParameterError(f"{path.name}:{number}: frame {line} follows frame {n_frames}")
            n_frames += 1
            continue
        if n_frames == 0:
            raise ParameterError(f"{path.name}:{number}: bone values before the first frame number")
        bone, _, fields = line.partition(" ")
        if bone not in rows:
            raise ParameterError(f"{path.name}:{number}: bone {bone!r} is not in {skeleton.name}")
        rows[bone].append(fields)
    if n_frames == 0:
        raise ParameterError(f"{path.name}: no frames; not an AMC file")
    values = {}
    for bone, lines in rows.items():
        n_dofs = n_values[bone]
        if not n_dofs:
            continue
        if len(lines) != n_frames:
            raise ParameterError(f"{path.name}: bone {bone!r} is given in {len(lines)} of "
                                 f"{n_frames} frames")
        try:
            flat = np.array(" ".join(lines).split(), dtype=np.float64)
        except ValueError as err:
            raise ParameterError(f"{path.name}: bone {bone!r} has a non-numeric value") from err
        if flat.size != n_frames * n_dofs:
            raise ParameterError(f"{path.name}: bone {bone!r} has {flat.size} values in "
                                 f"{n_frames} frames; its {n_dofs} dofs need {n_frames * n_dofs}")
        values[bone] = flat.reshape(n_frames, n_dofs)
    return AmcMotion(values=values, n_frames=n_frames, degrees=degrees)


def forward_kinematics(skeleton, motion):
    """Bone end positions and world rotations for every frame.

    Parameters
    ----------
    skeleton : AsfSkeleton
    motion : AmcMotion

    Returns
    -------
    positions : np.ndarray, shape (F, J, 3), float64
        World position in metres of each bone's far end (the root's own
        position for the root), in the order of ``skeleton.names``.
    rotations : np.ndarray, shape (F, J, 3, 3), float64
        World rotation ``A_j`` of each bone (identity in the rest pose).

    Examples
    --------
    A one-bone chain, 1 inch long along +x, turned 90 degrees about z:

    >>> import numpy as np
    >>> skel = AsfSkeleton(name="t", names=("root", "b"), parents=(-1, 0),
    ...     offsets_m=np.array([[0.0, 0, 0], [0.0254, 0, 0]]), axes=np.eye(3)[None].repeat(2, 0),
    ...     dofs=(("tx", "ty", "tz"), ("rz",)), length_to_m=0.0254, degrees=True,
    ...     index={"root": 0, "b": 1})
    >>> motion = AmcMotion(values={"root": np.zeros((1, 3)), "b": np.array([[90.0]])},
    ...                    n_frames=1, degrees=True)
    >>> pos, rot = forward_kinematics(skel, motion)
    >>> np.round(pos[0, 1], 4) + 0.0
    array([0.    , 0.0254, 0.    ])
    """
    n_frames, n_bones = motion.n_frames, len(skeleton.names)
    to_rad = math.pi / 180.0 if motion.degrees else 1.0
    positions = np.empty((n_frames, n_bones, 3))
    rotations = np.empty((n_frames, n_bones, 3, 3))
    for j, (name, parent, dofs) in enumerate(zip(skeleton.names, skeleton.parents,
                                                 skeleton.dofs)):
        values = motion.values.get(name)
        if dofs and values is None:
            raise ParameterError(f"the motion has no values for bone {name!r}")
        local = np.broadcast_to(np.eye(3), (n_frames, 3, 3))
        translation = np.zeros((n_frames, 3))
        for k, dof in enumerate(dofs):
            kind, axis = dof[0], dof[1]
            if kind == "r":
                # Applied in the order listed: a later rotation multiplies on the left.
                local = axis_rotation(axis, values[:, k] * to_rad) @ local
            else:
                translation[:, _AXES.index(axis)] = values[:, k] * skeleton.length_to_m
        c = skeleton.axes[j]
        local = c @ local @ c.T
        if parent < 0:
            rotations[:, j] = local
            positions[:, j] = translation
        else:
            rotations[:, j] = rotations[:, parent] @ local
            positions[:, j] = positions[:, parent] + rotations[:, j] @ skeleton.offsets_m[j]
    return positions, rotations


# --- loading as COCO-17 ---------------------------------------------------------------


def load_asf_amc(amc_path, asf_path, *, fps, name=None, dance=None):
    """Load a CMU ASF/AMC take as 3D COCO-17 joints.

    Runs :func:`forward_kinematics` and maps CMU bone ends to COCO-17:
    shoulders = clavicle ends, elbows = humerus ends, wrists = radius ends,
    hips = hip-joint ends, knees = femur ends, ankles = tibia ends. The face
    is not captured and is synthesised in the head bone's frame (x = left,
    y = up, z = forward) from the top of the neck (the ``upperneck`` end,
    where the ``head`` bone starts): eyes 9.4 cm up, 9.4 cm forward and 3 cm
    to each side; the nose and ears as :func:`ibeat_io.mocap.load_bvh_sequence`
    does (nose 3 cm below and 3 cm in front of the eye midpoint, ears 7 cm to
    each side and 8 cm above the top of the neck). y is then shifted so that
    the floor (1st percentile of the lowest ankle, minus 8 cm) is at 0, as
    for the BVH files.

    Parameters
    ----------
    amc_path : str or Path
        The ``.amc`` motion file.
    asf_path : str or Path
        The matching ``.asf`` skeleton.
    fps : float
        Frame rate in Hz (AMC files do not state it), > 0.
    name : str, optional
        Clip name; defaults to the AMC file's stem.
    dance : str, optional
        Activity recorded as ``Mocap3D.dance``.

    Returns
    -------
    Mocap3D
        ``joints`` (T, 17, 3) float32 metres, right-handed, y up, floor at
        y = 0; ``beat_times_s`` is None.

    Raises
    ------
    FileNotFoundError
        If a file does not exist.
    ParameterError
        If the files are malformed or the skeleton lacks a CMU bone the
        mapping needs.
    """
    if not fps > 0:
        raise ParameterError(f"fps must be > 0 Hz, got {fps!r}")
    skeleton = parse_asf(asf_path)
    needed = set(_CMU_ASF_TO_COCO.values()) | {_CMU_NECK_TOP, _CMU_HEAD}
    missing = sorted(needed - set(skeleton.index))
    if missing:
        raise ParameterError(f"{Path(asf_path).name}: the skeleton lacks CMU bones {missing}")
    motion = parse_amc(amc_path, skeleton)
    positions, rotations = forward_kinematics(skeleton, motion)

    joints = np.empty((motion.n_frames, N_JOINTS, 3))
    for coco, bone in _CMU_ASF_TO_COCO.items():
        joints[:, coco] = positions[:, skeleton.index[bone]]
    neck_top = positions[:, skeleton.index[_CMU_NECK_TOP]]
    head_rot = rotations[:, skeleton.index[_CMU_HEAD]]
    eye = np.array(_CMU_EYE_FROM_NECK_TOP)
    mirror = np.array([-1.0, 1.0, 1.0])
    joints[:, 1] = neck_top + head_rot @ eye
    joints[:, 2] = neck_top + head_rot @ (eye * mirror)
    joints[:, 0] = 0.5 * (joints[:, 1] + joints[:, 2]) + head_rot @ np.array(CMU_NOSE_FROM_EYES)
    ear = np.array(CMU_EAR_FROM_HEAD)
    joints[:, 3] = neck_top + head_rot @ ear
    joints[:, 4] = neck_top + head_rot @ (ear * mirror)
    floor_at_ankles(joints)

    name = Path(amc_path).stem if name is None else name
    return Mocap3D(name=name, joints=joints, fps=float(fps), dance=dance)


def load_action_segments(path, n_frames, fps, *, block_frames=LABEL_BLOCK_FRAMES):
    """Read a mocap6 label file as back-to-back action segments.

    The file holds one integer action id (1..12, see
    :data:`CMU_EXERCISE_ACTIONS`) per block of ``block_frames`` AMC frames,
    ``ceil(n_frames / block_frames)`` of them; the last block may be short.
    Runs of the same id become one segment. Block ``k`` covers frames
    ``[k * block_frames, (k + 1) * block_frames)``; SOURCE.md warns that the
    alignment may be off by one block (0.1 s).

    Parameters
    ----------
    path : str or Path
        A ``labels_mocap6/<take>.txt`` file.
    n_frames : int
        Frames of the matching AMC take.
    fps : float
        Its frame rate in Hz.
    block_frames : int
        AMC frames per label.

    Returns
    -------
    segments : list of (float, float, str)
        ``(start_s, end_s, action)``, in order, the first starting at 0 and
        the last ending at ``n_frames / fps``, each ending where the next
        starts.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ParameterError
        If an id is not 1..12 or the number of labels does not match
        ``n_frames``.
    """
    path = Path(path)
    try:
        ids = np.array(path.read_text().split(), dtype=np.int64)
    except ValueError as err:
        raise ParameterError(f"{path.name}: labels must be integers") from err
    expected = -(-int(n_frames) // int(block_frames))
    if ids.size != expected:
        raise ParameterError(f"{path.name}: {ids.size} labels for {n_frames} frames; expected "
                             f"ceil({n_frames} / {block_frames}) = {expected}")
    bad = sorted(set(ids[(ids < 1) | (ids > len(CMU_EXERCISE_ACTIONS))].tolist()))
    if bad:
        raise ParameterError(f"{path.name}: unknown action ids {bad} (expected 1..12)")
    starts = np.flatnonzero(np.diff(ids, prepend=-1))
    ends = np.append(starts[1:], ids.size)
    return [(float(a * block_frames / fps), float(min(b * block_frames, n_frames) / fps),
             CMU_EXERCISE_ACTIONS[ids[a] - 1]) for a, b in zip(starts, ends)]


def list_cmu_exercise(root=None):
    """List the takes of the CMU exercise folder.

    Parameters
    ----------
    root : str or Path, optional
        The data root (holding ``cmu-exercise-asfamc/``) or that folder
        itself; None reads ``$IBEAT_DATA``.

    Returns
    -------
    paths : list of Path
        The ``asf_amc/*.amc`` files whose subject's ``<subject>.asf`` is
        present, sorted by name (``13_17``, ``13_29``, ..., ``93_08``).

    Raises
    ------
    FileNotFoundError
        If the folder is missing.
    """
    folder = _exercise_root(root) / "asf_amc"
    return sorted(p for p in folder.glob("*.amc")
                  if (folder / f"{_subject(p.stem)}.asf").is_file())


def load_cmu_exercise(take, root=None, *, fps=None):
    """Load one take of the CMU exercise folder with its action segments.

    Parameters
    ----------
    take : str or Path
        A take name such as ``"13_29"`` or the path of its ``.amc`` file;
        the skeleton ``<subject>.asf`` is read from the same folder.
    root : str or Path, optional
        The data root or the ``cmu-exercise-asfamc`` folder (needed when
        ``take`` is a name); None reads ``$IBEAT_DATA``.
    fps : float, optional
        Frame rate in Hz. Defaults to 120 for subject 13 (CMU's capture rate;
        the labels' 12-frame blocks are 10 Hz at it, and the hips fall at
        g during jumping jacks). For subject 93 (Charleston) the rate is
        **uncertain**: SOURCE.md says the headers state 120 and another
        project plays these takes at 60 fps. The default here is
        :data:`SUBJECT93_FPS` = 120, supported but not proven by the motion:
        at 120 fps the pelvis bounces at 3.3 Hz (about 200 a minute, four per
        basic step: a usual Charleston tempo) and its strongest downward
        accelerations reach g but not beyond it, as subject 13's jumps do;
        at 60 fps that would be 100 a minute and at most 0.5 g. Pass
        ``fps=60.0`` to use the other reading. Other subjects default to 120.

    Returns
    -------
    CmuTake
        The COCO-17 clip (:func:`load_asf_amc`), subject, activity and, for
        13_29/30/31, the labelled segments (:func:`load_action_segments`).

    Raises
    ------
    FileNotFoundError
        If the folder, the AMC file or the subject's ASF file is missing.
    ParameterError
        If the take name is not ``<subject>_<trial>`` or the files are
        malformed.

    Examples
    --------
    >>> from ibeat_io.datasets import default_data_dir
    >>> root = default_data_dir()
    >>> if root is not None and (root / CMU_EXERCISE_DIR).is_dir():  # doctest: +SKIP
    ...     clip = load_cmu_exercise("13_30", root)
    ...     clip.mocap.fps, clip.segments[0][2]
    (120.0, 'JumpJack')
    """
    path = Path(take)
    if path.suffix.lower() == ".amc" and (path.parent != Path(".") or path.is_file()):
        amc = path
        folder = path.parent
    else:
        name = path.name.removesuffix(".amc")
        if path.parent != Path(".") or not re.fullmatch(r"\d+_\d+", name):
            raise ParameterError(f"take must be a name like '13_29' or an .amc path, got {take!r}")
        folder = _exercise_root(root) / "asf_amc"
        amc = folder / f"{name}.amc"
    if not amc.is_file():
        raise FileNotFoundError(f"{amc} does not exist (no such take)")
    subject = _subject(amc.stem)
    asf = folder / f"{subject}.asf"
    if not asf.is_file():
        raise FileNotFoundError(f"{asf} does not exist (the skeleton of subject {subject})")
    if fps is None:
        fps = _SUBJECT_FPS.get(subject, SUBJECT13_FPS)
    activity = _TAKE_ACTIVITY.get(amc.stem, "unknown")
    mocap = load_asf_amc(amc, asf, fps=fps, dance=activity)
    labels = folder.parent / "labels_mocap6" / f"{amc.stem}.txt"
    segments = None
    if labels.is_file():
        segments = tuple(load_action_segments(labels, mocap.n_frames, mocap.fps))
    return CmuTake(mocap=mocap, subject=subject, activity=activity, segments=segments)


# --- helpers ------------------------------------------------------------------------


def _exercise_root(root):
    """The ``cmu-exercise-asfamc`` folder from a data root or the folder itself."""
    base = Path(root) if root is not None else default_data_dir()
    if base is None:
        raise FileNotFoundError("no data directory given: pass root or set $IBEAT_DATA")
    for candidate in (base / CMU_EXERCISE_DIR, base):
        if (candidate / "asf_amc").is_dir():
            return candidate
    raise FileNotFoundError(f"{base} holds no {CMU_EXERCISE_DIR}/asf_amc folder")


def _subject(stem):
    """``"13_29"`` -> ``"13"``."""
    subject, sep, _ = stem.partition("_")
    if not sep or not subject.isdigit():
        raise ParameterError(f"AMC name {stem!r} is not <subject>_<trial>")
    return subject


def _number(text, *, source, what):
    try:
        return float(text)
    except ValueError as err:
        raise ParameterError(f"{source}: {what} is not a number: {text!r}") from err


def _asf_sections(text, *, source):
    """Split ASF text into ``{keyword: [lines]}`` (comments and blanks dropped)."""
    sections, current = {}, None
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith(":"):
            keyword, _, rest = line[1:].partition(" ")
            current = keyword.lower()
            sections[current] = []
            if rest.strip():
                sections[f"_{current}_inline"] = rest.strip()
            continue
        if current is None:
            raise ParameterError(f"{source}: text before the first ':' keyword; not an ASF file")
        sections[current].append(" ".join(line.split()))
    if "bonedata" not in sections or "hierarchy" not in sections:
        raise ParameterError(f"{source}: no :bonedata or :hierarchy section; not an ASF file")
    return sections


def _parse_root(lines, *, source):
    """Root channels (lower case, in ``order``) and its axis order."""
    if lines is None:
        raise ParameterError(f"{source}: no :root section")
    fields = {}
    for line in lines:
        key, _, value = line.partition(" ")
        fields[key.lower()] = value.split()
    order = tuple(v.lower() for v in fields.get("order", []))
    bad = [v for v in order if v not in ("tx", "ty", "tz", "rx", "ry", "rz")]
    if not order or bad:
        raise ParameterError(f"{source}: root 'order' must list TX TY TZ RX RY RZ channels, "
                             f"got {fields.get('order')}")
    axis = fields.get("axis", ["XYZ"])[0].lower()
    if sorted(axis) != list(_AXES):
        raise ParameterError(f"{source}: root 'axis' must be a permutation of XYZ, got {axis!r}")
    rotation_order = "".join(channel[1] for channel in order if channel[0] == "r")
    if len(rotation_order) == 3 and rotation_order != axis:
        raise ParameterError(f"{source}: the root's rotation channels {rotation_order.upper()} "
                             f"disagree with its axis order {axis.upper()}")
    for key in ("position", "orientation"):
        vals = [_number(v, source=source, what=f"root {key}") for v in fields.get(key, [])]
        if any(abs(v) > 1e-9 for v in vals):
            raise ParameterError(f"{source}: a non-zero root {key} {vals} is not supported "
                                 "(CMU files have 0 0 0)")
    return order, axis


def _asf_bones(lines, *, source):
    """Bone dicts from the ``:bonedata`` lines."""
    if lines is None:
        raise ParameterError(f"{source}: no :bonedata section")
    bones, bone = [], None
    for line in lines:
        key, _, value = line.partition(" ")
        key = key.lower()
        if key == "begin":
            bone = {"axis": np.zeros(3), "order": "xyz", "dofs": (), "length": None,
                    "direction": None}
        elif key == "end":
            if bone is None or "name" not in bone or bone["length"] is None \
                    or bone["direction"] is None:
                raise ParameterError(f"{source}: a bone lacks name, direction or length")
            norm = np.linalg.norm(bone["direction"])
            if not norm > 0:
                raise ParameterError(f"{source}: bone {bone['name']!r} has a zero direction")
            bone["direction"] = bone["direction"] / norm
            bones.append(bone)
            bone = None
        elif bone is None:
            raise ParameterError(f"{source}: {key!r} outside a begin/end bone block")
        elif key == "name":
            bone["name"] = value.strip()
        elif key == "direction":
            bone["direction"] = np.array([_number(v, source=source, what="direction")
                                          for v in value.split()])
            if bone["direction"].shape != (3,):
                raise ParameterError(f"{source}: direction needs 3 numbers: {value!r}")
        elif key == "length":
            bone["length"] = _number(value, source=source, what="length")
        elif key == "axis":
            parts = value.split()
            if len(parts) != 4 or sorted(parts[3].lower()) != list(_AXES):
                raise ParameterError(f"{source}: axis must be 3 angles and an order like XYZ, "
                                     f"got {value!r}")
            bone["axis"] = np.array([_number(v, source=source, what="axis") for v in parts[:3]])
            bone["order"] = parts[3].lower()
        elif key == "dof":
            dofs = tuple(v.lower() for v in value.split())
            bad = [d for d in dofs if d not in ("rx", "ry", "rz")]
            if bad:
                raise ParameterError(f"{source}: bone {bone.get('name')!r} has dofs {bad}; only "
                                     "rotations rx, ry, rz are supported")
            bone["dofs"] = dofs
        # id, limits, bodymass, cofmass: not needed for kinematics
    if bone is not None:
        raise ParameterError(f"{source}: the last bone block has no 'end'")
    return bones


def _parse_hierarchy(lines, bones, *, source):
    """``{parent: [children]}`` from the ``:hierarchy`` lines."""
    children = {}
    for line in lines or []:
        parts = line.split()
        if parts[0].lower() in ("begin", "end"):
            continue
        unknown = [p for p in parts if p not in bones]
        if unknown:
            raise ParameterError(f"{source}: :hierarchy names unknown bones {unknown}")
        children.setdefault(parts[0], []).extend(parts[1:])
    return children


def _euler(angles_rad, order):
    """Rotation ``(3, 3)`` applying ``angles_rad[k]`` about axis ``order[k]`` in turn."""
    rot = np.eye(3)
    for angle, axis in zip(angles_rad, order):
        rot = axis_rotation(axis, np.array([angle]))[0] @ rot
    return rot

