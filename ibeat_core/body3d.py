"""3D bodies in: joint layouts, coordinate frames, and the view the 2D motion chain sees.

VR headsets and controllers, game avatars and motion capture give 3D joints
``[x, y, z, confidence]`` in metres, each engine in its own convention (Unity:
left-handed, y up; Godot and OpenXR: right-handed, y up; Blender: right-handed,
z up). The motion chain (directogram, VisBeatNet, B-HMM) reads a 2D view of
the body, as a camera gives it, so a :class:`BodyFrontEnd` turns the 3D frames
into COCO-17 2D keypoints on the engine's grid:

1. **Slots.** The layout's joints go to their COCO-17 twins
   (:data:`LAYOUTS_3D`); a slot the layout lacks is missing, as a joint a
   detector missed. Any subset works: head + hands fills the nose and the wrists.
   The joints are then resampled onto the engine's 30 Hz grid, whatever rate
   the client sends (a headset's 72-120 Hz), so each grid frame is seen once.
2. **Frame.** Positions become ibeat's canonical frame: metres, right-handed,
   y up (:class:`CoordinateFrame`), so the same motion sent in Unity's frame
   and in OpenXR's gives the same beats. (A stream whose handedness is
   declared wrongly is the body mirrored front to back, which the default
   view does not see either.)
3. **View.** The body is seen by a virtual camera, as the beat network's
   training views were: ``projection="world-oblique"`` (the default) is a
   fixed camera 45 degrees off the world's depth axis, so a player facing the
   content is seen three-quarter on (motion towards the camera, a punch,
   shows as well as motion across it), and a body that turns or spins is
   seen turning, as a camera in the room would. ``"world"`` looks along the
   depth axis; ``"facing"`` turns with the body (its image plane holds the up
   axis and the body's left-right axis, from the left/right joint pairs seen,
   smoothed over ``facing_time_s``) and ``"oblique"`` looks from 45 degrees to
   the side of that. Measured on held-out dance and exercise (``ibeat evaluate
   input``, ``docs/results.md`` "Bodies in 3D"), the fixed oblique view is
   the best or near it everywhere; the views that turn with the body lose
   the tempo of ballroom dancers, who turn all the time (tempo agreement 0.16
   facing, 0.43 fixed oblique, full body).
4. **Scale.** In metres there is no body scale to estimate: the chain's body
   unit is a nominal torso of ``torso_m`` (see
   :attr:`~ibeat_core.keypoints.KeypointConfig.body_scale`).
5. **Detector jitter.** The beat network learned from pose detectors, whose
   jitter is its floor of "no motion": a noise-free stream reads as a body
   barely moving (16 generated exercise clips, full body: coverage 0.43
   noise-free, 0.74 with the jitter). The view gets the jitter the training
   views had (``jitter_m``, Gaussian, from a generator seeded by ``seed``, so
   the same stream gives the same beats).
6. **Completion.** A body without shoulders (head + hands) is completed in
   the motion chain, after resampling (:mod:`ibeat_core.completion`).

Pure and deterministic; the streaming front end is the offline one
(:func:`project_body` loops it).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .errors import ParameterError
from .keypoints import KeypointConfig, Resampler
from .skeleton import COCO17_JOINTS, N_JOINTS

__all__ = ["HUMANOID_BONES", "TRACKED_POINTS", "HEAD_HANDS", "Layout3D", "LAYOUTS_3D",
           "CoordinateFrame", "PROJECTIONS", "Body3DConfig", "to_canonical", "BodyProjector",
           "BodyFrontEnd", "project_body"]

#: Unity ``HumanBodyBones`` 0..18, in enum order (``Hips`` .. ``RightHand``): a client
#: sends ``animator.GetBoneTransform((HumanBodyBones)i).position`` for i = 0..18.
HUMANOID_BONES = (
    "Hips", "LeftUpperLeg", "RightUpperLeg", "LeftLowerLeg", "RightLowerLeg", "LeftFoot",
    "RightFoot", "Spine", "Chest", "Neck", "Head", "LeftShoulder", "RightShoulder",
    "LeftUpperArm", "RightUpperArm", "LeftLowerArm", "RightLowerArm", "LeftHand", "RightHand",
)
#: OpenXR-style tracked points (headset, controllers, optional body trackers).
TRACKED_POINTS = ("head", "left_hand", "right_hand", "hips", "left_elbow", "right_elbow",
                  "left_knee", "right_knee", "left_foot", "right_foot")
#: A headset and two controllers.
HEAD_HANDS = ("head", "left_hand", "right_hand")


@dataclass(frozen=True)
class Layout3D:
    """A 3D joint layout.

    Attributes
    ----------
    name : str
    joints : tuple of str
        Joint names in wire order.
    slots : tuple of int
        Entry ``k``: the layout joint that stands for COCO-17 joint ``k``, or -1.
    """

    name: str
    joints: tuple
    slots: tuple

    def __post_init__(self):
        if len(self.slots) != N_JOINTS or max(self.slots) >= len(self.joints):
            raise ParameterError(f"layout {self.name}: slots must map 17 COCO joints into "
                                 f"{len(self.joints)} joints")

    @property
    def n_joints(self) -> int:
        return len(self.joints)


def _slots(pairs: dict) -> tuple:
    """``{coco joint name: layout index}`` -> slots tuple."""
    return tuple(pairs.get(name, -1) for name in COCO17_JOINTS)


def _named(joints, mapping: dict) -> tuple:
    """``{coco joint name: layout joint name}`` -> slots tuple."""
    return _slots({coco: joints.index(own) for coco, own in mapping.items()})


#: Layout name -> :class:`Layout3D`. The Humanoid bones' positions are joint
#: centres (UpperArm = shoulder, LowerArm = elbow, Hand = wrist, UpperLeg =
#: hip, LowerLeg = knee, Foot = ankle); ``Head`` stands for the nose.
#: ``hips`` of the tracked points is one waist tracker: it takes the left-hip
#: slot (:mod:`ibeat_core.completion` puts the right hip on it for a body
#: without shoulders, so it weighs as a body's two hips).
LAYOUTS_3D = {
    "coco17_3d": Layout3D("coco17_3d", COCO17_JOINTS, tuple(range(N_JOINTS))),
    "humanoid": Layout3D("humanoid", HUMANOID_BONES, _named(HUMANOID_BONES, {
        "nose": "Head", "left_shoulder": "LeftUpperArm", "right_shoulder": "RightUpperArm",
        "left_elbow": "LeftLowerArm", "right_elbow": "RightLowerArm", "left_wrist": "LeftHand",
        "right_wrist": "RightHand", "left_hip": "LeftUpperLeg", "right_hip": "RightUpperLeg",
        "left_knee": "LeftLowerLeg", "right_knee": "RightLowerLeg", "left_ankle": "LeftFoot",
        "right_ankle": "RightFoot"})),
    "tracked_points": Layout3D("tracked_points", TRACKED_POINTS, _named(TRACKED_POINTS, {
        "nose": "head", "left_wrist": "left_hand", "right_wrist": "right_hand",
        "left_hip": "hips", "left_elbow": "left_elbow", "right_elbow": "right_elbow",
        "left_knee": "left_knee", "right_knee": "right_knee", "left_ankle": "left_foot",
        "right_ankle": "right_foot"})),
    "head_hands": Layout3D("head_hands", HEAD_HANDS, _named(HEAD_HANDS, {
        "nose": "head", "left_wrist": "left_hand", "right_wrist": "right_hand"})),
}


@dataclass(frozen=True)
class CoordinateFrame:
    """How a client's 3D coordinates are laid out.

    Attributes
    ----------
    handedness : {"right", "left"}
        Unity is left-handed; Godot, OpenXR, Blender and the mocap datasets right-handed.
    up : {"y", "z"}
        The vertical axis (y: Unity, Godot, OpenXR; z: Blender, Unreal).
    units_m : float
        Metres per coordinate unit (1 for metres, 0.01 for centimetres).

    Examples
    --------
    >>> CoordinateFrame(handedness="left")   # Unity
    CoordinateFrame(handedness='left', up='y', units_m=1.0)
    """

    handedness: str = "right"
    up: str = "y"
    units_m: float = 1.0

    def __post_init__(self):
        if self.handedness not in ("right", "left"):
            raise ParameterError(f"handedness must be 'right' or 'left', got {self.handedness!r}")
        if self.up not in ("y", "z"):
            raise ParameterError(f"up must be 'y' or 'z', got {self.up!r}")
        if not (np.isfinite(self.units_m) and self.units_m > 0):
            raise ParameterError(f"units_m must be > 0 metres per unit, got {self.units_m!r}")


#: Views of a 3D body the motion chain can be given (see the module docstring).
PROJECTIONS = ("facing", "oblique", "world", "world-oblique")


@dataclass(frozen=True)
class Body3DConfig:
    """A 3D body stream: layout, frame and the view the motion chain gets.

    Attributes
    ----------
    layout : str
        A key of :data:`LAYOUTS_3D`.
    frame : CoordinateFrame
    projection : str
        One of :data:`PROJECTIONS`.
    facing_time_s : float
        Time constant [s] of the smoothing of the body's left-right axis.
    torso_m : float
        The body unit [m] of the motion chain (a nominal torso).
    min_confidence : float
        Joints below this confidence are missing.
    jitter_m : float
        Standard deviation [m] of the detector-like jitter added to the view per
        frame and joint (training views: 0.2 % of the body height at 1.5x on
        average for the confidences drawn, about 4 mm for 1.7 m); 0 for none.
    seed : int
        Seeds the jitter.
    """

    layout: str = "coco17_3d"
    frame: CoordinateFrame = CoordinateFrame()
    projection: str = "world-oblique"
    facing_time_s: float = 1.0
    torso_m: float = 0.5
    min_confidence: float = KeypointConfig.min_confidence
    jitter_m: float = 0.004
    seed: int = 0

    def __post_init__(self):
        if self.layout not in LAYOUTS_3D:
            raise ParameterError(f"unknown 3D layout {self.layout!r}; known: "
                                 f"{', '.join(LAYOUTS_3D)}")
        if self.projection not in PROJECTIONS:
            raise ParameterError(f"projection must be one of {PROJECTIONS}, "
                                 f"got {self.projection!r}")
        if not (np.isfinite(self.facing_time_s) and self.facing_time_s > 0):
            raise ParameterError(f"facing_time_s must be > 0 seconds, got {self.facing_time_s!r}")
        if not (np.isfinite(self.torso_m) and self.torso_m > 0):
            raise ParameterError(f"torso_m must be > 0 metres, got {self.torso_m!r}")
        if not (np.isfinite(self.jitter_m) and self.jitter_m >= 0):
            raise ParameterError(f"jitter_m must be >= 0 metres, got {self.jitter_m!r}")

    @property
    def spec(self) -> Layout3D:
        return LAYOUTS_3D[self.layout]

    def keypoint_config(self, keypoints: KeypointConfig) -> KeypointConfig:
        """``keypoints`` with the fixed metric body scale of the projected view."""
        return replace(keypoints, body_scale=self.torso_m)


def _canonical_matrix(frame: CoordinateFrame) -> np.ndarray:
    """``M`` with ``canonical = M @ p`` (see :func:`to_canonical`)."""
    m = np.eye(3) * frame.units_m
    if frame.up == "z":
        m = np.array([[1.0, 0, 0], [0, 0, 1.0], [0, -1.0, 0]]) @ m
    if frame.handedness == "left":
        m = np.diag([1.0, 1.0, -1.0]) @ m
    return m


def to_canonical(points, frame: CoordinateFrame) -> np.ndarray:
    """Positions ``(..., 3)`` in ``frame`` -> metres, right-handed, y up.

    z up becomes y up by a rotation about x; a left-handed frame is then
    mirrored along its depth axis (z), which is how Unity's frame differs
    from OpenXR's.

    Examples
    --------
    >>> to_canonical([1.0, 2.0, 3.0], CoordinateFrame(handedness="left")).tolist()
    [1.0, 2.0, -3.0]
    >>> to_canonical([1.0, 2.0, 3.0], CoordinateFrame(up="z")).tolist()
    [1.0, 3.0, -2.0]
    """
    return np.asarray(points, dtype=np.float64) @ _canonical_matrix(frame).T


# Left/right COCO pairs that give the body's left-right axis, best first: the
# torso if seen, else every limb and face pair seen.
_LEFTS = np.array([5, 11, 9, 7, 13, 15, 3, 1])
_RIGHTS = _LEFTS + 1
_IS_TORSO = np.arange(len(_LEFTS)) < 2
_UP = np.array([0.0, 1.0, 0.0])
_OBLIQUE = np.pi / 4


class BodyProjector:
    """The view of a 3D body, one grid frame at a time (see the module docstring).

    Parameters
    ----------
    config : Body3DConfig
    """

    def __init__(self, config: Body3DConfig = Body3DConfig()):
        self.config = config
        self._slots = np.asarray(config.spec.slots)
        self._has = self._slots >= 0
        self._to_canonical = _canonical_matrix(config.frame).T
        self.reset()

    def reset(self):
        # The body's rightward axis (unit, horizontal); a camera on the world's
        # depth axis until a left/right pair has been seen.
        self._right = np.array([1.0, 0.0, 0.0])
        self._seen_axis = False
        self._last_t = None
        self._rng = np.random.default_rng(self.config.seed)

    def slots(self, points) -> np.ndarray:
        """A frame of the layout's joints in COCO-17 slots.

        Parameters
        ----------
        points : array_like, shape (J, 4) or (J, 3)
            ``[x, y, z(, confidence)]`` per layout joint, in the client's frame.

        Returns
        -------
        np.ndarray, shape (17, 4), float64
            ``[x, y, z, confidence]``; a slot the layout lacks has confidence 0.

        Raises
        ------
        ParameterError
            For a joint count other than the layout's or a non-numeric array.
        """
        pts = np.asarray(points)
        n = self.config.spec.n_joints
        if (pts.dtype.kind not in "fiu" or pts.ndim != 2 or pts.shape[0] != n
                or pts.shape[1] not in (3, 4)):
            raise ParameterError(f"3D layout {self.config.layout!r} expects ({n}, 3|4) "
                                 f"[x, y, z(, confidence)] per frame, got {pts.shape}")
        out = np.zeros((N_JOINTS, 4))
        out[self._has, :pts.shape[1]] = pts[self._slots[self._has]]
        if pts.shape[1] == 3:
            out[self._has, 3] = 1.0
        return out

    def view(self, timestamp_s: float, positions) -> np.ndarray:
        """The 2D view of one frame.

        Parameters
        ----------
        timestamp_s : float
            Frame time [s]; strictly increasing (paces the facing axis' smoothing).
        positions : array_like, shape (17, 3)
            COCO-17 joints in the client's frame, NaN where missing.

        Returns
        -------
        np.ndarray, shape (17, 3), float64
            COCO-17 ``[u, v, confidence]`` [m, v down]: confidence 1 for a joint
            seen, NaN and 0 where missing.
        """
        t = float(timestamp_s)
        dt = 0.0 if self._last_t is None else max(t - self._last_t, 0.0)
        self._last_t = t
        p = np.asarray(positions, dtype=np.float64) @ self._to_canonical
        ok = np.isfinite(p).all(axis=1)
        self._update_axis(p, dt)
        out = np.empty((N_JOINTS, 3))
        out[:, 0] = p @ self._view_axis()
        out[:, 1] = -p[:, 1]
        out[:, 2] = ok
        if self.config.jitter_m > 0:
            out[:, :2] += self._rng.standard_normal((N_JOINTS, 2)) * self.config.jitter_m
        return out

    def _update_axis(self, p: np.ndarray, dt: float):
        """Move the smoothed rightward axis towards the one the left/right pairs show now."""
        if self.config.projection.startswith("world"):
            return
        d = p[_RIGHTS] - p[_LEFTS]
        seen = np.isfinite(d).all(axis=1)
        seen &= _IS_TORSO if (seen & _IS_TORSO).any() else ~_IS_TORSO
        axis = d[seen].sum(axis=0)
        axis[1] = 0.0  # horizontal
        norm = np.hypot(axis[0], axis[2])
        if not norm > 1e-6:
            return
        axis /= norm
        if not self._seen_axis:
            self._right, self._seen_axis = axis, True
            return
        # An axis, not a direction: hands crossing over flip the pair, not the body.
        if axis @ self._right < 0:
            axis = -axis
        w = 1.0 - np.exp(-dt / self.config.facing_time_s)
        mixed = (1.0 - w) * self._right + w * axis
        norm = np.hypot(mixed[0], mixed[2])
        if norm > 1e-6:
            self._right = mixed / norm

    def _view_axis(self) -> np.ndarray:
        """The image's horizontal axis in the canonical frame."""
        if self.config.projection == "world":
            return np.array([1.0, 0.0, 0.0])
        if self.config.projection == "world-oblique":
            return np.array([np.cos(_OBLIQUE), 0.0, np.sin(_OBLIQUE)])
        # A camera in front of the body: the body's right is the image's left.
        left = -self._right
        if self.config.projection == "facing":
            return left
        forward = np.cross(_UP, self._right)
        return np.cos(_OBLIQUE) * left + np.sin(_OBLIQUE) * forward


class BodyFrontEnd:
    """3D frames at the client's rate -> the 2D view on the engine's grid.

    The joints are resampled onto the grid first (:class:`~ibeat_core.keypoints.Resampler`
    in 3D: the same interpolation and gap rules as 2D keypoints), then each grid
    frame is seen once: a headset at 90 Hz costs one view per 30 Hz frame, not three.

    Parameters
    ----------
    config : Body3DConfig
    keypoints : KeypointConfig
        The grid rate, gap and confidence rules (``min_confidence`` is the config's).
    """

    def __init__(self, config: Body3DConfig = Body3DConfig(),
                 keypoints: KeypointConfig = KeypointConfig()):
        self.config = config
        self.projector = BodyProjector(config)
        self._resampler = Resampler(replace(keypoints, min_confidence=config.min_confidence),
                                    dims=3)

    def reset(self):
        self.projector.reset()
        self._resampler.reset()

    def process_frame(self, timestamp_s: float, points):
        """One frame of the layout's joints ``(J, 3|4)`` at ``timestamp_s`` [s].

        Returns
        -------
        times_s : np.ndarray, shape (n,)
            The grid frames it completes (often 0 or 1).
        keypoints : np.ndarray, shape (n, 17, 3)
            Their 2D views (:meth:`BodyProjector.view`).
        positions : np.ndarray, shape (n, 17, 3)
            Their joints in the client's frame, NaN where missing.

        Raises
        ------
        ParameterError
            A frame that does not fit the layout, or a timestamp that does not
            increase; the state is then unchanged.
        """
        times, positions = self._resampler.process_frame(timestamp_s,
                                                         self.projector.slots(points))
        keypoints = np.empty((len(times), N_JOINTS, 3))
        for i, (t, xyz) in enumerate(zip(times, positions)):
            keypoints[i] = self.projector.view(t, xyz)
        return times, keypoints, positions


def project_body(timestamps_s, points, config: Body3DConfig = Body3DConfig(),
                 keypoints: KeypointConfig = KeypointConfig()):
    """:class:`BodyFrontEnd` over a whole clip.

    Parameters
    ----------
    timestamps_s : array_like, shape (T,)
    points : array_like, shape (T, J, 3|4)

    Returns
    -------
    times_s : np.ndarray, shape (N,)
        Grid times [s].
    keypoints : np.ndarray, shape (N, 17, 3)
    positions : np.ndarray, shape (N, 17, 3)
    """
    front = BodyFrontEnd(config, keypoints)
    rows = [front.process_frame(t, p) for t, p in zip(timestamps_s, points)]
    if not rows:
        return np.zeros(0), np.zeros((0, N_JOINTS, 3)), np.zeros((0, N_JOINTS, 3))
    return tuple(np.concatenate(parts) for parts in zip(*rows))
