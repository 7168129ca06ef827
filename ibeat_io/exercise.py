"""Rhythmic-exercise clips with exact beat times: a 3D body that moves on a tempo plan.

Fitness and therapy users move to a beat on purpose, and a synthetic body that
does so gives ground truth no recording has: every beat time exact, every
pause, restart and tempo change known to the sample. That is where lock time,
relock and stop/start behaviour can be measured exactly (issue 12, ground
truth 2).

The pieces, all pure numpy and deterministic from an explicit seed:

* :class:`Person`: a COCO-17 body in metres (y up, floor at y = 0, facing +z,
  its left on +x), 1.5-1.95 m tall, segment lengths from anthropometric
  ratios of the height, each varied by a few per cent per person;
* the exercises (:data:`EXERCISES`), each a function of the beat phase whose
  **accent lies on the beat**: a sharp stop or impact that a listener would
  clap on. Movements into an accent are quick, ease in and brake hard at the
  accent (a Beta(4, 2) position profile: zero velocity at the start, the
  largest deceleration at the stop); movements away from it are slower and
  settle without a stop (Beta(2, 3)), so the accent is the strongest stop of
  a cycle. Where each beat lies in its cycle:

  ================  =====  ===========================================================
  exercise          cycle  the beat is ...
  ================  =====  ===========================================================
  ``squat``         1      the bottom of the squat (the descent stops sharply)
  ``bounce``        1      the bottom of a quick knee bend
  ``jumping_jack``  2      the landing: feet apart and hands overhead on even beats,
                           feet together and hands at the sides on odd beats
  ``punch``         2      full extension of a jab: left fist on even beats, right on odd
  ``step``          2      a foot strike when marching in place: left foot on even
                           beats, right on odd
  ``clap``          1      the hands' contact in front of the chest
  ``head_nod``      1      the lowest point of a nod
  ``arm_circle``    1      the top of a forward arm circle, where the hands brake to
                           a near stop
  ================  =====  ===========================================================

  A repetition varies in amplitude (a few per cent) and in timing (the body's
  accents fall a few ms around the beats: :attr:`ExerciseClip.accent_times_s`),
  the body sways slightly and breathes, and large movements shrink at fast
  tempi as a person's would (a squat at 190 BPM is a pulse).
* :class:`ExercisePlan`: :class:`Move` segments (an exercise, a number of beat
  intervals, a constant tempo or a linear ramp in time) and :class:`Still`
  pauses. Consecutive moves form one block of motion (a step change of tempo
  is two moves in a row); a different exercise needs a pause between. The
  beat times come from integrating the tempo, so they are exact.
* :func:`make_exercise_clip`: plan + seed -> :class:`ExerciseClip`, whose
  :attr:`~ExerciseClip.mocap` is a :class:`~ibeat_io.projection.Mocap3D` for
  :func:`~ibeat_io.projection.to_2d_views` (random camera distance, height,
  azimuth and roll, detector jitter and dropouts), and
  :meth:`ExerciseClip.views` adds what those views lack (:class:`ViewConfig`):
  occlusion of the side away from the camera, extra dropped joints, extra
  jitter.
* :func:`exercise_suite`: the evaluation suite, a fixed-seed set of clips
  covering every exercise at 50-190 BPM with and without pauses, restarts,
  step changes and ramps, many people and cameras.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from ibeat_core.errors import ParameterError
from ibeat_core.skeleton import N_JOINTS
from ibeat_io.mocap import axis_rotation
from ibeat_io.projection import Mocap3D, PinholeCamera, add_detector_noise, to_2d_views

__all__ = [
    "PLAN_BPM_RANGE",
    "SUITE_BPM_RANGE",
    "Person",
    "Timing",
    "EXERCISES",
    "Move",
    "Still",
    "ExercisePlan",
    "PlanLayout",
    "MotionConfig",
    "ViewConfig",
    "ExerciseClip",
    "make_exercise_clip",
    "exercise_views",
    "exercise_suite",
]

#: Tempi [BPM] a plan may use: beyond them the movements stop being humanly plausible.
PLAN_BPM_RANGE = (40.0, 240.0)
#: Tempo range [BPM] of :func:`exercise_suite`.
SUITE_BPM_RANGE = (50.0, 190.0)

GRAVITY_MPS2 = 9.81
# Standing legs are not locked straight: hip-to-ankle distance over thigh + shank.
_LEG_EXTENSION = 0.985
# A relaxed arm hangs slightly bent: shoulder-to-wrist distance over its length.
_ARM_EXTENSION = 0.97

# COCO-17 indices (ibeat_core.skeleton.COCO17_JOINTS); joints 0-4 are the face.
_SHOULDERS, _ELBOWS, _WRISTS = (5, 6), (7, 8), (9, 10)
_HIPS, _KNEES, _ANKLES = (11, 12), (13, 14), (15, 16)
_LEFT_SIDE = (1, 3, 5, 7, 9, 11, 13, 15)
_RIGHT_SIDE = (2, 4, 6, 8, 10, 12, 14, 16)
_SIDES = np.array([1.0, -1.0])  # +x is the person's left: left joints first, as in COCO

# Independent random streams of one clip, so that one never shifts another.
_STREAM_PERSON, _STREAM_ACCENTS, _STREAM_SWAY, _STREAM_VIEWS = range(4)


# --- the body -------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    """Body proportions of one person, in metres.

    The lengths of :meth:`average` are fractions of the height after
    Drillis & Contini (1966), as tabulated in Winter, *Biomechanics and Motor
    Control of Human Movement*: ankle 0.039, knee 0.285, hip 0.530, shoulder
    0.818, eye 0.936 of the height; upper arm 0.186, forearm 0.146. The
    widths put the hip joints 0.12 and the shoulder joints 0.23 of the height
    apart (21 and 40 cm at 1.75 m), where pose detectors place those keypoints.

    Attributes
    ----------
    height_m : float
        Standing height (floor to top of the head).
    ankle_m : float
        Ankle joint above the floor.
    shank_m, thigh_m : float
        Knee to ankle, hip to knee.
    hip_half_m : float
        Half the distance between the hip joints.
    trunk_m : float
        Hip centre to shoulder centre.
    shoulder_half_m : float
        Half the distance between the shoulder joints.
    upper_arm_m, forearm_m : float
        Shoulder to elbow, elbow to wrist.
    neck_m : float
        Shoulder centre to the head's pivot (the top of the neck, about ear level).
    head_m : float
        Scale of the face points around the pivot (the height, varied).
    """

    height_m: float
    ankle_m: float
    shank_m: float
    thigh_m: float
    hip_half_m: float
    trunk_m: float
    shoulder_half_m: float
    upper_arm_m: float
    forearm_m: float
    neck_m: float
    head_m: float

    # Fractions of the height, in field order after height_m.
    _RATIOS = (0.039, 0.246, 0.245, 0.060, 0.288, 0.115, 0.186, 0.146, 0.092, 1.0)

    def __post_init__(self):
        values = [getattr(self, f.name) for f in fields(self)]
        if not all(np.isfinite(v) and v > 0 for v in values):
            raise ParameterError(f"every body length must be finite and > 0 m, got {self!r}")

    @classmethod
    def average(cls, height_m: float = 1.75) -> "Person":
        """A person of ``height_m`` [m] with the textbook proportions.

        Examples
        --------
        >>> p = Person.average(1.75)
        >>> round(p.ankle_m + p.shank_m + p.thigh_m, 2)   # hip joint height [m]
        0.93
        """
        return cls(height_m, *(r * height_m for r in cls._RATIOS))

    @classmethod
    def random(cls, rng: np.random.Generator, *, height_range=(1.5, 1.95),
               ratio_std: float = 0.03, width_std: float = 0.05) -> "Person":
        """A random person: height uniform in ``height_range`` [m], each length ratio
        times ``1 + N(0, std)`` (clipped at 2 std): ``ratio_std`` for lengths,
        ``width_std`` for the hip and shoulder widths (builds differ more in width).

        Examples
        --------
        >>> p = Person.random(np.random.default_rng(0))
        >>> bool(1.5 <= p.height_m <= 1.95), bool(0.9 < p.thigh_m / (0.245 * p.height_m) < 1.1)
        (True, True)
        """
        height = float(rng.uniform(*height_range))
        std = np.array([ratio_std, ratio_std, ratio_std, width_std, ratio_std, width_std,
                        ratio_std, ratio_std, ratio_std, ratio_std])
        factor = 1.0 + np.clip(rng.standard_normal(len(std)), -2.0, 2.0) * std
        return cls(height, *(float(r * f * height) for r, f in zip(cls._RATIOS, factor)))

    @property
    def leg_m(self) -> float:
        """Hip-to-ankle distance of a standing leg [m]."""
        return _LEG_EXTENSION * (self.thigh_m + self.shank_m)

    @property
    def reach_m(self) -> float:
        """Shoulder-to-wrist distance of a straight arm [m]."""
        return self.upper_arm_m + self.forearm_m

    @property
    def scale(self) -> float:
        """Height over 1.75 m: sizes movements to the body."""
        return self.height_m / 1.75


# Face points around the head pivot, in the head's frame (x left, y up, z
# forward), as fractions of the height: nose tip in front, eyes above and
# apart, ears to the sides at about eye level (typical adult head).
_FACE = np.array([
    [0.0, 0.005, 0.062],     # nose
    [0.018, 0.026, 0.052],   # left eye
    [-0.018, 0.026, 0.052],  # right eye
    [0.045, 0.012, -0.002],  # left ear
    [-0.045, 0.012, -0.002],  # right ear
])


@dataclass
class _Pose:
    """A pose per frame in the body's heading frame (x left, y up, z forward).

    Attributes
    ----------
    pelvis : (T, 3)
        Hip centre [m].
    lean, bend, twist, nod : (T,)
        Trunk pitch forward, trunk tilt to the left, trunk rotation that
        brings the left shoulder forward, head pitch down [rad].
    trunk_scale : (T,)
        Trunk length factor (breathing).
    ankles : (T, 2, 3)
        Left and right ankle targets [m] (the feet; the legs reach for them).
    wrists : (T, 2, 3)
        Left and right wrist targets [m], relative to their shoulders.
    knee_hint, elbow_hint : (T, 2, 3)
        Directions the knees and elbows bend towards.
    """

    pelvis: np.ndarray
    lean: np.ndarray
    bend: np.ndarray
    twist: np.ndarray
    nod: np.ndarray
    trunk_scale: np.ndarray
    ankles: np.ndarray
    wrists: np.ndarray
    knee_hint: np.ndarray
    elbow_hint: np.ndarray

    def take(self, index) -> "_Pose":
        return _Pose(**{f.name: getattr(self, f.name)[index].copy() for f in fields(self)})

    def put(self, index, other: "_Pose"):
        for f in fields(self):
            getattr(self, f.name)[index] = getattr(other, f.name)

    def blend(self, other: "_Pose", weight) -> "_Pose":
        """``self`` where ``weight`` is 0, ``other`` where it is 1; weight (T,)."""
        out = {}
        for f in fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            w = np.reshape(weight, (-1,) + (1,) * (a.ndim - 1))
            out[f.name] = a + w * (b - a)
        return _Pose(**out)


def _stance_x(person: Person) -> float:
    """Ankle distance from the midline when standing [m]: a little wider than the hips."""
    return person.hip_half_m + 0.02 * person.scale


def _pelvis_height(person: Person, dx):
    """Hip-centre height [m] with the ankles ``dx`` [m] out from the hips, legs standing."""
    return person.ankle_m + np.sqrt(person.leg_m ** 2 - np.square(dx))


def _arm(person: Person, side, *, out, forward, extension=_ARM_EXTENSION):
    """Wrist offset from its shoulder [m], (..., 3), of an arm raised ``out`` to the side and
    ``forward`` [rad] from hanging; ``side`` +1 left, -1 right."""
    out, forward = np.broadcast_arrays(np.asarray(out, dtype=np.float64),
                                       np.asarray(forward, dtype=np.float64))
    d = np.stack([side * np.sin(out), -np.cos(out) * np.cos(forward),
                  np.cos(out) * np.sin(forward)], axis=-1)
    return extension * person.reach_m * d


def _neutral(person: Person, n: int) -> _Pose:
    """Standing still, arms hanging, ``n`` frames."""
    x = _stance_x(person)
    wrists = np.stack([_arm(person, s, out=0.12, forward=0.05) for s in _SIDES])
    return _Pose(
        pelvis=np.tile([0.0, _pelvis_height(person, x - person.hip_half_m), 0.0], (n, 1)),
        lean=np.zeros(n), bend=np.zeros(n), twist=np.zeros(n), nod=np.zeros(n),
        trunk_scale=np.ones(n),
        ankles=np.tile([[x, person.ankle_m, 0.0], [-x, person.ankle_m, 0.0]], (n, 1, 1)),
        wrists=np.tile(wrists, (n, 1, 1)),
        knee_hint=np.tile([0.0, 0.0, 1.0], (n, 2, 1)),
        elbow_hint=np.tile([0.0, -0.2, -1.0], (n, 2, 1)),
    )


def _two_link(root, target, l1, l2, hint):
    """Two-bone inverse kinematics: middle and end joints (T, 3) of a limb reaching for
    ``target`` from ``root``, bending towards ``hint``; a target out of reach is
    approached along the line to it."""
    d = target - root
    dist = np.linalg.norm(d, axis=-1, keepdims=True)
    u = d / np.maximum(dist, 1e-9)
    dist = np.clip(dist, abs(l1 - l2) + 1e-3, 0.9999 * (l1 + l2))
    cos_a = (l1 * l1 + dist * dist - l2 * l2) / (2.0 * l1 * dist)
    n = hint - np.sum(hint * u, axis=-1, keepdims=True) * u
    n /= np.maximum(np.linalg.norm(n, axis=-1, keepdims=True), 1e-9)
    mid = root + l1 * (cos_a * u + np.sqrt(np.clip(1.0 - cos_a * cos_a, 0.0, 1.0)) * n)
    return mid, root + dist * u


def _skeleton(person: Person, pose: _Pose) -> np.ndarray:
    """COCO-17 joints (T, 17, 3) [m] of a pose, in the heading frame."""
    n = len(pose.lean)
    trunk = (axis_rotation("x", pose.lean) @ axis_rotation("z", -pose.bend)
             @ axis_rotation("y", -pose.twist))
    up, left = trunk[..., :, 1], trunk[..., :, 0]
    neck = pose.pelvis + (person.trunk_m * pose.trunk_scale)[:, None] * up
    joints = np.empty((n, N_JOINTS, 3))
    for i, side in enumerate(_SIDES):
        joints[:, _SHOULDERS[i]] = neck + side * person.shoulder_half_m * left
        joints[:, _HIPS[i]] = pose.pelvis + [side * person.hip_half_m, 0.0, 0.0]
        joints[:, _KNEES[i]], joints[:, _ANKLES[i]] = _two_link(
            joints[:, _HIPS[i]], pose.ankles[:, i], person.thigh_m, person.shank_m,
            pose.knee_hint[:, i])
        shoulder = joints[:, _SHOULDERS[i]]
        joints[:, _ELBOWS[i]], joints[:, _WRISTS[i]] = _two_link(
            shoulder, shoulder + pose.wrists[:, i], person.upper_arm_m, person.forearm_m,
            pose.elbow_hint[:, i])
    head = trunk @ axis_rotation("x", pose.nod)
    pivot = neck + person.neck_m * up
    face = np.einsum("tij,fj->tfi", head, _FACE * person.head_m)
    joints[:, :5] = pivot[:, None] + face
    return joints


# --- motion shaping --------------------------------------------------------------


def _stroke(u):
    """Position along a movement into an accent, u in [0, 1] -> [0, 1]: the Beta(4, 2)
    distribution function ``5u^4 - 4u^5``. Velocity ``20 u^3 (1 - u)`` starts at 0,
    peaks at u = 3/4 and falls linearly to 0, so the deceleration is largest at the stop."""
    u = np.clip(u, 0.0, 1.0)
    return u ** 4 * (5.0 - 4.0 * u)


def _settle(u):
    """Position along a movement away from an accent, u in [0, 1] -> [0, 1]: the Beta(2, 3)
    distribution function ``6u^2 - 8u^3 + 3u^4``. Velocity ``12 u (1 - u)^2`` peaks early
    (u = 1/3) and dies away slowly, with no deceleration left at the end: the movement
    settles instead of stopping, so it makes no accent of its own."""
    u = np.clip(u, 0.0, 1.0)
    return u * u * (6.0 - 8.0 * u + 3.0 * u * u)


def _ease(u):
    """Quintic smoothstep, u in [0, 1] -> [0, 1]: zero velocity and acceleration at both
    ends; for slow changes of posture (into and out of an exercise's ready pose)."""
    u = np.clip(u, 0.0, 1.0)
    return u ** 3 * (10.0 - 15.0 * u + 6.0 * u * u)


def _tempo_scale(period_s, full_s: float, floor: float):
    """Amplitude factor of a large movement: 1 for beat periods >= ``full_s`` [s], shrinking
    in proportion below it, never under ``floor``."""
    return np.clip(np.asarray(period_s) / full_s, floor, 1.0)


@dataclass(frozen=True)
class Timing:
    """Durations of one movement around an accent, as fractions of the beat period.

    A *stroke* leads into the accent (:func:`_stroke` shape, ending in a sharp
    stop on the beat), a *hold* stays there, a *release* returns to the ready
    pose (:func:`_settle` shape). Each fraction is of the beat interval it lies
    in; the stroke and release are capped in seconds, because a person moves
    no slower just because the music is slow: they wait longer between.

    The stroke is kept shorter than the release: the kinematic offsets see
    decelerations through a 6 Hz low-pass, so what makes the accent stand out
    is not the sharpness of the stop but the larger speed lost there.

    Attributes
    ----------
    stroke, hold, release : float
        Fractions of the beat period, >= 0 (stroke > 0). Movements around
        consecutive accents must not overlap: the exercise checks that the sum
        stays 0.05 under its cycle in beats, which leaves room for the timing
        jitter.
    stroke_max_s, release_max_s : float
        Caps [s] of the stroke and release.
    """

    stroke: float
    hold: float
    release: float
    stroke_max_s: float
    release_max_s: float

    def __post_init__(self):
        parts = (self.stroke, self.hold, self.release)
        if min(parts) < 0 or self.stroke <= 0:
            raise ParameterError(f"need stroke > 0 and hold, release >= 0, got {parts}")

    @property
    def span(self) -> float:
        """Stroke + hold + release, in beat periods."""
        return self.stroke + self.hold + self.release

    def stroke_s(self, period_s):
        return np.minimum(self.stroke * np.asarray(period_s), self.stroke_max_s)

    def hold_s(self, period_s):
        return self.hold * np.asarray(period_s)

    def release_s(self, period_s):
        return np.minimum(self.release * np.asarray(period_s), self.release_max_s)


@dataclass(frozen=True)
class _Block:
    """The timing of one block of motion, for an exercise's pose function.

    Attributes
    ----------
    t : (T,)
        Frame times [s], within the block's active window.
    accents : (N,)
        Where the body puts its accents [s]: the beats plus human timing jitter.
    before, after : (N,)
        The exact beat interval [s] ending / starting at each beat (the first
        beat's ``before`` is its ``after``, the last beat's ``after`` its ``before``).
    gain : (N,)
        Amplitude factor of each repetition.
    person : Person
    """

    t: np.ndarray
    accents: np.ndarray
    before: np.ndarray
    after: np.ndarray
    gain: np.ndarray
    person: Person

    def amplitude(self, factor=1.0):
        """Per-frame amplitude (T,): the repetitions' gains times ``factor`` (one per accent),
        interpolated between accents so that a pose never jumps."""
        return np.interp(self.t, self.accents, self.gain * factor)


def _strike(block: _Block, timing: Timing, select=slice(None)):
    """Level (T,) in [0, 1]: 0 at the ready pose, 1 at the accents (those ``select`` picks).

    Stroke into each accent, hold, release; 0 in between.
    """
    a, before, after = block.accents[select], block.before[select], block.after[select]
    stroke, hold, release = timing.stroke_s(before), timing.hold_s(after), timing.release_s(after)
    dt = block.t[:, None] - a[None, :]
    level = np.where((dt >= -stroke) & (dt < 0), _stroke(1.0 + dt / stroke), 0.0)
    level += (dt >= 0) & (dt < hold)
    rel = (dt >= hold) & (dt < hold + release)
    level += np.where(rel, 1.0 - _settle((dt - hold) / np.maximum(release, 1e-9)), 0.0)
    return level.sum(axis=1)


def _lift(block: _Block, timing: Timing, select):
    """Level (T,) of a foot that lifts (:func:`_settle`, ``timing.release``) and comes down on
    the accents ``select`` picks (:func:`_stroke`, ``timing.stroke``): 1 up, 0 on the floor."""
    a, before = block.accents[select], block.before[select]
    down, up = timing.stroke_s(before), timing.release_s(before)
    dt = block.t[:, None] - a[None, :]
    rising = (dt >= -down - up) & (dt < -down)
    level = np.where(rising, _settle((dt + down + up) / up), 0.0)
    level += np.where((dt >= -down) & (dt < 0), 1.0 - _stroke(1.0 + dt / down), 0.0)
    return level.sum(axis=1)


def _toggle(block: _Block, targets, durations, initial: float):
    """A value (T,) that reaches ``targets[k]`` at accent k, moving there during the
    ``durations[k]`` [s] before it (:func:`_stroke`), and holds it until the next move;
    ``initial`` before the first move."""
    a = block.accents
    passed = np.searchsorted(a, block.t, side="right")
    held = np.concatenate([[initial], targets])
    value = held[passed]
    nxt = np.minimum(passed, len(a) - 1)
    u = 1.0 - (a[nxt] - block.t) / durations[nxt]
    moving = (passed < len(a)) & (u >= 0)
    return np.where(moving, value + (targets[nxt] - value) * _stroke(u), value)


# --- the exercises ---------------------------------------------------------------


@dataclass(frozen=True)
class _Exercise:
    """An exercise: its name, cycle, timing, and the pose as a function of the beats.

    Subclasses define :meth:`pose` (the exercise's pose per frame of a block) and
    :meth:`lead_s` / :meth:`tail_s`: how long before the first accent the motion
    starts and after the last accent it ends, from its ready pose, given the
    block's beat intervals. The clip moves between standing and the ready pose
    in ``ready_s`` before and after.
    """

    name: str = ""
    beats_per_cycle: int = 1
    timing: Timing = Timing(0.3, 0.05, 0.6, 0.25, 0.5)
    ready_s: float = 0.0

    def __post_init__(self):
        if self.timing.span > self.beats_per_cycle - 0.05:
            raise ParameterError(
                f"{self.name}: stroke + hold + release = {self.timing.span} beats overlaps "
                f"the next movement of a {self.beats_per_cycle}-beat cycle")

    def lead_s(self, intervals_s: np.ndarray) -> float:
        return float(self.timing.stroke_s(intervals_s[0]))

    def tail_s(self, intervals_s: np.ndarray) -> float:
        return float(self.timing.hold_s(intervals_s[-1]) + self.timing.release_s(intervals_s[-1]))

    def pose(self, block: _Block) -> _Pose:
        raise NotImplementedError


@dataclass(frozen=True)
class _Squat(_Exercise):
    """Squat, one per beat: **the beat is the bottom of the squat**, where the descent
    stops sharply; the person then rises smoothly and stands until the next descent.
    The arms rise forward as the body goes down (counterbalance) and stop with it.
    Depth shrinks for beat periods under ``full_depth_period_s`` (pulse squats)."""

    name: str = "squat"
    timing: Timing = Timing(0.32, 0.06, 0.57, 0.6, 1.0)
    drop: float = 0.17  # pelvis drop at full depth, fraction of the height
    full_depth_period_s: float = 0.9
    lean_rad: float = 0.5
    arm_raise_rad: float = 1.3

    def pose(self, b):
        p = b.person
        pose = _neutral(p, len(b.t))
        depth = _strike(b, self.timing) * b.amplitude(
            _tempo_scale(b.before, self.full_depth_period_s, 0.3))
        drop = self.drop * p.height_m * depth
        pose.pelvis[:, 1] -= drop
        pose.pelvis[:, 2] -= 0.45 * drop  # hips go back, knees forward: heels stay down
        pose.lean += self.lean_rad * depth
        for i, side in enumerate(_SIDES):
            pose.wrists[:, i] = _arm(p, side, out=0.12, forward=0.05 + self.arm_raise_rad * depth)
        return pose


@dataclass(frozen=True)
class _Bounce(_Exercise):
    """Knee bounce, one per beat: **the beat is the bottom of a quick knee bend**; the
    downward motion brakes hard on the beat, the body rises smoothly. Arms swing a
    little forward with the drop, the head dips slightly."""

    name: str = "bounce"
    timing: Timing = Timing(0.3, 0.05, 0.6, 0.2, 0.5)
    drop: float = 0.034  # fraction of the height (6 cm at 1.75 m)

    def pose(self, b):
        p = b.person
        pose = _neutral(p, len(b.t))
        level = _strike(b, self.timing) * b.amplitude(_tempo_scale(b.before, 0.45, 0.5))
        pose.pelvis[:, 1] -= self.drop * p.height_m * level
        pose.pelvis[:, 2] -= 0.2 * self.drop * p.height_m * level
        pose.lean += 0.08 * level
        pose.nod += 0.1 * level
        for i, side in enumerate(_SIDES):
            pose.wrists[:, i] = _arm(p, side, out=0.12, forward=0.05 + 0.2 * level)
        return pose


@dataclass(frozen=True)
class _JumpingJack(_Exercise):
    """Jumping jack, two beats per cycle: **every beat is a landing**: on even beats
    (cycle phase 0) the feet land apart and the hands arrive overhead, on odd beats
    (phase 1/2) the feet land together and the hands arrive at the thighs.

    Flight follows gravity (``min(0.42 P, 0.24 s)`` in the air, hops of up to
    7 cm); the knees absorb each landing within ``min(0.2 P, 0.08 s)``, wait
    bent, and push off again. The feet spread during the flight and stop on
    landing; the arms sweep over the last ``min(0.7 P, 0.4 s)`` before it, up
    to overhead for beat periods of 0.57 s or more, proportionally less below. A
    block that ends with the feet apart closes them, unaccented, over
    ``close_s`` after its last landing.
    """

    name: str = "jumping_jack"
    beats_per_cycle: int = 2
    ready_s: float = 0.4
    flight: float = 0.42
    flight_max_s: float = 0.24
    absorb: float = 0.2
    absorb_max_s: float = 0.08
    arms: float = 0.7
    arms_max_s: float = 0.4
    close_s: float = 0.8
    spread: float = 0.24  # ankle distance from the midline with the feet apart, fraction of height

    def _flight_s(self, period):
        return np.minimum(self.flight * np.asarray(period), self.flight_max_s)

    def _absorb_s(self, period):
        return np.minimum(self.absorb * np.asarray(period), self.absorb_max_s)

    def lead_s(self, intervals_s):
        # The push-off from the ready crouch lasts as long as a landing's absorption.
        first = intervals_s[0]
        return max(float(np.minimum(self.arms * first, self.arms_max_s)),
                   float(self._flight_s(first) + self._absorb_s(first)))

    def tail_s(self, intervals_s):
        ends_apart = len(intervals_s) % 2 == 0  # the last beat has an even index
        return float(self._absorb_s(intervals_s[-1])) + (self.close_s if ends_apart else 0.0)

    def pose(self, b):
        p = b.person
        pose = _neutral(p, len(b.t))
        n, t, a = len(b.accents), b.t, b.accents
        out_beat = np.arange(n) % 2 == 0
        gain = b.gain

        flight = self._flight_s(b.before)
        v = GRAVITY_MPS2 * flight / 2.0  # take-off and landing speed [m/s]
        absorb = self._absorb_s(b.after)
        # A landing at v, braked over `absorb` with velocity v (1 - u)^2, sinks v absorb / 3;
        # before the first take-off the person crouches as deep (the ready pose).
        sink = v * absorb / 3.0
        sink_before = np.concatenate([[v[0] * float(self._absorb_s(b.before[0])) / 3.0], sink[:-1]])
        # Push-off: velocity v s^2 over `push` rises exactly the crouch depth.
        push = 3.0 * sink_before / v
        takeoff = a - flight

        y = -np.concatenate([sink_before[:1], sink])[np.searchsorted(a, t, side="right")]
        dt_flight = t[:, None] - takeoff[None, :]
        in_flight = (dt_flight >= 0) & (dt_flight < flight)
        y = np.where(in_flight.any(axis=1), np.sum(np.where(
            in_flight, v * dt_flight - 0.5 * GRAVITY_MPS2 * dt_flight ** 2, 0.0), axis=1), y)
        u = (t[:, None] - a[None, :]) / absorb
        landing = (u >= 0) & (u < 1)
        y = np.where(landing.any(axis=1), np.sum(np.where(
            landing, -sink * (1.0 - (1.0 - u) ** 3), 0.0), axis=1), y)
        s = (t[:, None] - (takeoff - push)[None, :]) / push
        pushing = (s >= 0) & (s < 1)
        y = np.where(pushing.any(axis=1), np.sum(np.where(
            pushing, -sink_before + v * push * s ** 3 / 3.0, 0.0), axis=1), y)

        x0 = _stance_x(p)
        feet_out = self.spread * p.height_m * np.clip(gain, 0.8, 1.15)
        spread = _toggle(b, np.where(out_beat, feet_out - x0, 0.0), flight, 0.0)
        arms_s = np.minimum(self.arms * b.before, self.arms_max_s)
        # Fast jacks raise the arms less (to shoulder height at 190 BPM), keeping the
        # hands under about 8 m/s.
        overhead = 0.12 + 2.73 * _tempo_scale(b.before, 0.57, 0.3) * gain
        raise_rad = _toggle(b, np.where(out_beat, np.minimum(overhead, 3.0), 0.12), arms_s, 0.12)
        if out_beat[-1]:
            close = _ease((t - a[-1] - absorb[-1]) / self.close_s)
            spread *= 1.0 - close
            raise_rad += close * (0.12 - raise_rad)
        pose.pelvis[:, 1] = _pelvis_height(p, x0 + spread - p.hip_half_m) + y
        for i, side in enumerate(_SIDES):
            pose.ankles[:, i, 0] = side * (x0 + spread)
            pose.ankles[:, i, 1] = p.ankle_m + np.maximum(y, 0.0)
            pose.knee_hint[:, i] = np.stack([side * 0.3 * spread / (self.spread * p.height_m),
                                             np.zeros_like(y), np.ones_like(y)], axis=1)
            pose.wrists[:, i] = _arm(p, side, out=raise_rad, forward=0.05)
        return pose


@dataclass(frozen=True)
class _Punch(_Exercise):
    """Alternating jabs from a boxing guard, two beats per cycle: **the beat is the full
    extension of a punch**, where the fist stops: the left fist on even beats (cycle
    phase 0), the right on odd beats (phase 1/2). The trunk turns into each punch and
    stops with it; the fist returns to the guard smoothly."""

    name: str = "punch"
    beats_per_cycle: int = 2
    ready_s: float = 1.0
    timing: Timing = Timing(0.35, 0.06, 0.9, 0.2, 0.6)
    twist_rad: float = 0.22

    def pose(self, b):
        p = b.person
        pose = _neutral(p, len(b.t))
        # Guard stance: feet a little wider, knees soft.
        pose.ankles[:, :, 0] *= 1.0 + 0.3 * p.scale
        pose.pelvis[:, 1] -= 0.03 * p.scale
        levels = []
        for i, side in enumerate(_SIDES):
            level = _strike(b, self.timing, slice(i, None, 2)) * b.amplitude()
            levels.append(level)
            x_guard = -side * (p.shoulder_half_m - 0.09 * p.scale)
            guard = np.array([x_guard, 0.0, 0.25 * p.scale])
            x_hit = -side * (p.shoulder_half_m - 0.04 * p.scale)
            z_hit = np.sqrt((0.97 * p.reach_m) ** 2 - x_hit ** 2 - (0.02 * p.scale) ** 2)
            hit = np.array([x_hit, 0.02 * p.scale, z_hit])
            pose.wrists[:, i] = guard + np.minimum(level, 1.0)[:, None] * (hit - guard)
            pose.elbow_hint[:, i] = [side * 0.5, -1.0, 0.0]
        pose.twist += self.twist_rad * (levels[0] - levels[1])
        pose.lean += 0.04 * (levels[0] + levels[1])
        return pose


@dataclass(frozen=True)
class _Step(_Exercise):
    """Marching in place, two beats per cycle: **the beat is a foot strike**: the left
    foot comes down on even beats (cycle phase 0), the right foot on odd beats (phase
    1/2). Each foot lifts smoothly (``timing.release``) after the other lands and comes
    down with a sharp stop (``timing.stroke``); the weight shifts onto the standing
    foot, the pelvis dips on each strike and the arms swing opposite to the legs."""

    name: str = "step"
    beats_per_cycle: int = 2
    timing: Timing = Timing(0.3, 0.0, 0.5, 0.2, 0.4)
    bob: Timing = Timing(0.15, 0.0, 0.5, 0.08, 0.35)
    lift: float = 0.09  # foot lift, fraction of the height (16 cm at 1.75 m)

    def lead_s(self, intervals_s):
        return float(self.timing.stroke_s(intervals_s[0]) + self.timing.release_s(intervals_s[0]))

    def tail_s(self, intervals_s):
        return float(self.bob.release_s(intervals_s[-1]))

    def pose(self, b):
        p = b.person
        pose = _neutral(p, len(b.t))
        lift = [_lift(b, self.timing, slice(i, None, 2))
                * b.amplitude(_tempo_scale(b.before, 0.5, 0.5)) for i in range(2)]
        for i in range(2):
            pose.ankles[:, i, 1] += self.lift * p.height_m * lift[i]
            pose.ankles[:, i, 2] += 0.03 * p.height_m * lift[i]
        pose.pelvis[:, 0] -= 0.012 * p.height_m * (lift[0] - lift[1])
        pose.pelvis[:, 1] -= 0.008 * p.height_m * _strike(b, self.bob) * b.amplitude()
        for i, side in enumerate(_SIDES):
            swing = 0.45 * lift[1 - i] - 0.25 * lift[i]
            pose.wrists[:, i] = _arm(p, side, out=0.12, forward=0.05 + swing)
        return pose


@dataclass(frozen=True)
class _Clap(_Exercise):
    """Clapping, one per beat: **the beat is the hands' contact** in front of the chest;
    the hands close with a sharp stop and open smoothly."""

    name: str = "clap"
    ready_s: float = 1.0
    timing: Timing = Timing(0.32, 0.04, 0.59, 0.2, 0.5)
    open_m: float = 0.24  # wrist distance from the midline with the hands open, at 1.75 m

    def pose(self, b):
        p = b.person
        pose = _neutral(p, len(b.t))
        closed = 1.0 - _strike(b, self.timing)
        width = b.amplitude(_tempo_scale(b.before, 0.5, 0.5))
        for i, side in enumerate(_SIDES):
            contact = np.array([side * 0.035 * p.scale - side * p.shoulder_half_m,
                                -0.12 * p.scale, 0.35 * p.scale])
            opened = np.array([side * self.open_m * p.scale - side * p.shoulder_half_m,
                               -0.15 * p.scale, 0.30 * p.scale])
            pose.wrists[:, i] = contact + (closed * width)[:, None] * (opened - contact)
            pose.elbow_hint[:, i] = [side * 0.5, -1.0, 0.0]
        return pose


@dataclass(frozen=True)
class _HeadNod(_Exercise):
    """Head nod, one per beat: **the beat is the lowest point of the nod**; the head
    pitches down with a sharp stop and comes back up smoothly. Only the face and, a
    little, the upper trunk move."""

    name: str = "head_nod"
    timing: Timing = Timing(0.3, 0.06, 0.59, 0.18, 0.5)
    nod_rad: float = 0.32

    def pose(self, b):
        pose = _neutral(b.person, len(b.t))
        level = _strike(b, self.timing) * b.amplitude(_tempo_scale(b.before, 0.4, 0.5))
        pose.nod += self.nod_rad * level
        pose.lean += 0.03 * level
        return pose


@dataclass(frozen=True)
class _ArmCircle(_Exercise):
    """Forward arm circles, arms out to the sides, one circle per beat: **the beat is the
    top of the circle**, where the hands brake to ``1 - brake`` of their mean speed.

    The circle's angle over a beat is ``(1 - brake) u + brake * stroke(v)`` of a
    turn, u the beat phase and v the phase of a sweep over the beat's last
    ``min(P, sweep_max_s)``: the hands creep, then sweep through the front,
    bottom and back and brake hard into the top. The first circle starts from
    the top one beat before the first beat; the arms stop at the top on the last.
    """

    name: str = "arm_circle"
    ready_s: float = 1.0
    radius: float = 0.13  # hand circle radius, fraction of the height
    brake: float = 0.65
    sweep_max_s: float = 0.55

    def lead_s(self, intervals_s):
        return float(intervals_s[0])

    def tail_s(self, intervals_s):
        return 0.0

    def pose(self, b):
        p = b.person
        pose = _neutral(p, len(b.t))
        starts = np.concatenate([[b.accents[0] - b.before[0]], b.accents])
        k = np.clip(np.searchsorted(starts, b.t, side="right") - 1, 0, len(starts) - 2)
        u = np.clip((b.t - starts[k]) / (starts[k + 1] - starts[k]), 0.0, 1.0)
        u = np.where(b.t >= starts[-1], 0.0, u)
        sweep = np.minimum(1.0, self.sweep_max_s / np.diff(starts)[k])
        v = (u - 1.0 + sweep) / sweep
        turn = 2.0 * np.pi * ((1.0 - self.brake) * u + self.brake * _stroke(v))
        radius = self.radius * p.height_m * b.amplitude(_tempo_scale(b.before, 0.6, 0.4))
        reach = _ARM_EXTENSION * p.reach_m
        lateral = np.sqrt(reach ** 2 - radius ** 2)
        for i, side in enumerate(_SIDES):
            pose.wrists[:, i] = np.stack([side * lateral, radius * np.cos(turn),
                                          radius * np.sin(turn)], axis=1)
            pose.elbow_hint[:, i] = [0.0, -0.3, -1.0]
        return pose


#: The exercises by name.
EXERCISES: dict[str, _Exercise] = {e.name: e for e in (
    _Squat(), _Bounce(), _JumpingJack(), _Punch(), _Step(), _Clap(), _HeadNod(), _ArmCircle())}


# --- the plan --------------------------------------------------------------------


@dataclass(frozen=True)
class Move:
    """A stretch of one exercise on a tempo.

    Parameters
    ----------
    exercise : str
        A key of :data:`EXERCISES`.
    n_beats : int
        Beat intervals in this stretch, >= 1. A block of moves has one more beat
        than the sum of its intervals; a move's last beat is the next move's first.
    bpm : float
        Tempo [BPM] at the first beat, within :data:`PLAN_BPM_RANGE`.
    end_bpm : float, optional
        Tempo at the last beat: the tempo runs linearly in time from ``bpm`` to
        ``end_bpm`` (a ramp); None keeps ``bpm`` (constant).
    """

    exercise: str
    n_beats: int
    bpm: float
    end_bpm: float | None = None

    def __post_init__(self):
        if self.exercise not in EXERCISES:
            raise ParameterError(f"unknown exercise {self.exercise!r}; known: {sorted(EXERCISES)}")
        if not (isinstance(self.n_beats, (int, np.integer)) and self.n_beats >= 1):
            raise ParameterError(f"n_beats must be an integer >= 1, got {self.n_beats!r}")
        for tempo in (self.bpm, self.end_bpm if self.end_bpm is not None else self.bpm):
            if not PLAN_BPM_RANGE[0] <= tempo <= PLAN_BPM_RANGE[1]:
                raise ParameterError(f"tempo must lie in {PLAN_BPM_RANGE} BPM, got {tempo!r}")

    @property
    def tempo_range_bpm(self) -> tuple[float, float]:
        """(start, end) tempo [BPM]."""
        return float(self.bpm), float(self.bpm if self.end_bpm is None else self.end_bpm)

    def beat_offsets_s(self) -> tuple[np.ndarray, np.ndarray]:
        """Beat times from the move's first beat [s], and the tempo at each [BPM].

        The tempo f(t) runs linearly from f0 to f1 over the move's duration
        ``D = 120 n / (f0 + f1)``; beat j is where the integral of f(t) / 60
        reaches j, ``f0 t + (f1 - f0) t^2 / (2 D) = 60 j``.

        Returns
        -------
        times_s : np.ndarray, shape (n_beats + 1,)
        tempo_bpm : np.ndarray, shape (n_beats + 1,)

        Examples
        --------
        >>> t, f = Move("clap", 4, 120.0).beat_offsets_s()
        >>> t.tolist(), f.tolist()
        ([0.0, 0.5, 1.0, 1.5, 2.0], [120.0, 120.0, 120.0, 120.0, 120.0])
        >>> t, f = Move("clap", 2, 100.0, end_bpm=140.0).beat_offsets_s()
        >>> float(t[-1]), f.round(6).tolist()      # D = 120 * 2 / 240
        (1.0, [100.0, 121.655251, 140.0])
        """
        f0, f1 = self.tempo_range_bpm
        j = np.arange(self.n_beats + 1, dtype=np.float64)
        if f0 == f1:
            return 60.0 * j / f0, np.full(len(j), f0)
        duration = 120.0 * self.n_beats / (f0 + f1)
        c = (f1 - f0) / (2.0 * duration)
        # The quadratic's root in a form without cancellation.
        times = 120.0 * j / (f0 + np.sqrt(f0 * f0 + 240.0 * c * j))
        times[-1] = duration  # exact, whatever the rounding of the square root
        return times, f0 + (f1 - f0) * times / duration


@dataclass(frozen=True)
class Still:
    """The body stands still (breathing and slight sway only) for ``duration_s`` [s], > 0."""

    duration_s: float

    def __post_init__(self):
        if not (np.isfinite(self.duration_s) and self.duration_s > 0):
            raise ParameterError(f"duration_s must be > 0 s, got {self.duration_s!r}")


@dataclass(frozen=True)
class PlanLayout:
    """Where everything of an :class:`ExercisePlan` lies in time, exactly.

    Attributes
    ----------
    beat_times_s : np.ndarray, shape (N,)
        The beats [s].
    tempo_bpm : np.ndarray, shape (N,)
        The plan's tempo at each beat [BPM]; at a step change, the new tempo.
    beat_block : np.ndarray, shape (N,), int
        The block of motion each beat belongs to.
    moving : np.ndarray, shape (M, 2)
        Each block's ``(start, end)`` [s], from leaving standing to standing again.
    active : np.ndarray, shape (M, 2)
        The part of it that is the exercise itself [s], after taking the ready
        pose and before leaving it.
    exercises : tuple of str, length M
    tempo_changes_s : np.ndarray, shape (K,)
        The beats [s] where a move follows a move within a block.
    duration_s : float
        The whole plan [s].
    """

    beat_times_s: np.ndarray
    tempo_bpm: np.ndarray
    beat_block: np.ndarray
    moving: np.ndarray
    active: np.ndarray
    exercises: tuple
    tempo_changes_s: np.ndarray
    duration_s: float


@dataclass(frozen=True)
class ExercisePlan:
    """What the person does, in order: :class:`Move` and :class:`Still` items.

    Consecutive moves are one block of continuous motion and must share their
    exercise (a step change of tempo is two moves in a row); a different
    exercise starts after a :class:`Still`. Each block starts from standing: the
    person takes the exercise's ready pose, makes the lead-in movement into the
    first beat, and after the last beat returns to standing.

    Examples
    --------
    >>> plan = ExercisePlan((Still(1.0), Move("squat", 8, 60.0), Still(3.0),
    ...                      Move("clap", 4, 120.0), Move("clap", 4, 150.0), Still(1.0)))
    >>> layout = plan.layout()
    >>> layout.exercises, len(layout.beat_times_s)
    (('squat', 'clap'), 18)
    >>> np.diff(layout.beat_times_s[9:]).round(3).tolist()
    [0.5, 0.5, 0.5, 0.5, 0.4, 0.4, 0.4, 0.4]
    """

    items: tuple

    def __post_init__(self):
        items = tuple(self.items)
        object.__setattr__(self, "items", items)
        if not all(isinstance(i, (Move, Still)) for i in items):
            raise ParameterError("a plan holds only Move and Still items")
        if not any(isinstance(i, Move) for i in items):
            raise ParameterError("a plan needs at least one Move")
        for a, b in zip(items, items[1:]):
            if isinstance(a, Move) and isinstance(b, Move) and a.exercise != b.exercise:
                raise ParameterError(
                    f"a change of exercise ({a.exercise} -> {b.exercise}) needs a Still between")

    def layout(self) -> PlanLayout:
        """Beats, tempi, motion and stillness of the plan, exactly.

        A block starts where the one before it (or the stillness) ends: the
        person takes the ready pose (``ready_s``), makes the lead-in into the
        first beat, moves on the beats, finishes the last movement and returns
        to standing (``ready_s``); a :class:`Still` adds its duration.

        Returns
        -------
        PlanLayout
        """
        beats, tempi, block_of, moving, active, names, changes = [], [], [], [], [], [], []
        cursor = 0.0
        i = 0
        while i < len(self.items):
            item = self.items[i]
            if isinstance(item, Still):
                cursor += item.duration_s
                i += 1
                continue
            moves = []
            while i < len(self.items) and isinstance(self.items[i], Move):
                moves.append(self.items[i])
                i += 1
            exercise = EXERCISES[moves[0].exercise]
            offsets = [m.beat_offsets_s() for m in moves]
            intervals = np.concatenate([np.diff(t) for t, _ in offsets])
            start = cursor + exercise.ready_s + exercise.lead_s(intervals)
            times, tempo = [np.array([start])], [offsets[0][1][:1].copy()]
            for k, (t, f) in enumerate(offsets):
                base = times[-1][-1]
                if k > 0:
                    changes.append(base)
                    tempo[-1][-1] = f[0]  # at a step change the beat takes the new tempo
                times.append(base + t[1:])
                tempo.append(f[1:].copy())
            times, tempo = np.concatenate(times), np.concatenate(tempo)
            end = times[-1] + exercise.tail_s(intervals)
            beats.append(times)
            tempi.append(tempo)
            block_of.append(np.full(len(times), len(names)))
            active.append((start - exercise.lead_s(intervals), end))
            moving.append((cursor, end + exercise.ready_s))
            names.append(exercise.name)
            cursor = end + exercise.ready_s
        return PlanLayout(np.concatenate(beats), np.concatenate(tempi), np.concatenate(block_of),
                       np.array(moving), np.array(active), tuple(names),
                       np.array(changes, dtype=np.float64), cursor)


# --- clips -----------------------------------------------------------------------


@dataclass(frozen=True)
class MotionConfig:
    """The human imperfection of a clip's motion.

    Attributes
    ----------
    timing_jitter_s : float
        Standard deviation [s] of the body's accents around the beats
        (clipped at 3 std, and at 2.5 % of the shorter neighbouring beat
        interval so that consecutive movements never overlap).
    amplitude_std : float
        Relative standard deviation of each repetition's amplitude (clipped at
        2.5 std).
    sway_m : float
        Amplitude [m] of the slow standing sway of the pelvis (0.05-0.3 Hz).
    breathing : float
        Relative trunk-length change with breathing (0.2-0.33 Hz).
    """

    timing_jitter_s: float = 0.004
    amplitude_std: float = 0.06
    sway_m: float = 0.008
    breathing: float = 0.004

    def __post_init__(self):
        if min(self.timing_jitter_s, self.amplitude_std, self.sway_m, self.breathing) < 0:
            raise ParameterError(f"every MotionConfig value must be >= 0, got {self!r}")


@dataclass(frozen=True)
class ViewConfig:
    """How a clip's 2D views degrade, on top of the cameras of
    :func:`~ibeat_io.projection.to_2d_views`.

    Attributes
    ----------
    detector_noise : bool
        :func:`~ibeat_io.projection.add_detector_noise` at its defaults (jitter,
        short dropouts, confidences); False gives exact keypoints, confidence 1.
    extra_jitter_px : float
        More Gaussian jitter, standard deviation [px] for a person 540 px tall
        (scaled with the person's size, as the detector noise is).
    dropout_prob : float
        Extra dropped joints: probability per frame and joint that a dropout
        burst starts.
    dropout_burst_frames : float
        Mean length of those bursts [frames], >= 1.
    occlusions_per_min : float
        Mean number per minute of spans in which the side of the body away
        from the camera is occluded.
    occlusion_s : (float, float)
        Range [s] of a span's duration (uniform).
    occluded_missing : float
        Share of the side's joints that the detector loses during a span
        (per span and joint); the others are guessed: confidence uniform in
        ``occluded_conf`` and positions off by ``occluded_jitter``.
    occluded_conf : (float, float)
        Confidence range of guessed joints.
    occluded_jitter : float
        Standard deviation of guessed positions, as a fraction of the
        person's height in the image.
    """

    detector_noise: bool = True
    extra_jitter_px: float = 0.0
    dropout_prob: float = 0.0
    dropout_burst_frames: float = 3.0
    occlusions_per_min: float = 0.0
    occlusion_s: tuple[float, float] = (0.5, 3.0)
    occluded_missing: float = 0.3
    occluded_conf: tuple[float, float] = (0.02, 0.3)
    occluded_jitter: float = 0.02

    def __post_init__(self):
        if min(self.extra_jitter_px, self.occlusions_per_min, self.occluded_jitter) < 0:
            raise ParameterError(f"jitter and occlusion rates must be >= 0, got {self!r}")
        for name in ("dropout_prob", "occluded_missing"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ParameterError(f"{name} must lie in [0, 1], got {getattr(self, name)!r}")
        if not self.dropout_burst_frames >= 1:
            raise ParameterError(
                f"dropout_burst_frames must be >= 1, got {self.dropout_burst_frames!r}")
        if not 0 < self.occlusion_s[0] <= self.occlusion_s[1]:
            raise ParameterError(f"occlusion_s must be 0 < low <= high, got {self.occlusion_s!r}")
        if not 0.0 <= self.occluded_conf[0] <= self.occluded_conf[1] <= 1.0:
            raise ParameterError(f"occluded_conf must satisfy 0 <= low <= high <= 1, "
                                 f"got {self.occluded_conf!r}")


def _readonly(x, dtype=np.float64):
    a = np.array(x, dtype=dtype)
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class ExerciseClip:
    """A generated exercise clip and its exact ground truth.

    Attributes
    ----------
    mocap : Mocap3D
        Joints (T, 17, 3) [m], y up, floor at 0, at ``mocap.fps``;
        ``mocap.beat_times_s`` are the beats, ``mocap.dance`` the exercises
        joined by ``+``.
    beat_times_s : np.ndarray, shape (N,)
        The beats [s], exact (from the plan).
    tempo_bpm : np.ndarray, shape (N,)
        The plan's tempo at each beat [BPM]; at a step change, the new tempo.
    accent_times_s : np.ndarray, shape (N,)
        Where the body actually puts each accent [s]: the beat plus a few ms of
        human timing jitter.
    beat_block : np.ndarray, shape (N,), int
        The block of motion (row of ``moving``) each beat belongs to.
    moving : np.ndarray, shape (M, 2)
        ``(start_s, end_s)`` of each block: from the moment the body leaves
        standing (ready pose, lead-in) until it stands again.
    exercises : tuple of str, length M
        The exercise of each block.
    tempo_changes_s : np.ndarray, shape (K,)
        Beats [s] at which a new move starts within a block (step change or
        the start of a ramp).
    plan : ExercisePlan
    person : Person
    view_config : ViewConfig
        What :meth:`views` applies.
    seed : int
        The seed everything random came from.
    """

    mocap: Mocap3D
    beat_times_s: np.ndarray
    tempo_bpm: np.ndarray
    accent_times_s: np.ndarray
    beat_block: np.ndarray
    moving: np.ndarray
    exercises: tuple
    tempo_changes_s: np.ndarray
    plan: ExercisePlan
    person: Person
    view_config: ViewConfig
    seed: int

    @property
    def fps(self) -> float:
        return self.mocap.fps

    @property
    def duration_s(self) -> float:
        return self.mocap.duration_s

    @property
    def timestamps_s(self) -> np.ndarray:
        """Frame times [s], shape (T,)."""
        return np.arange(self.mocap.n_frames) / self.mocap.fps

    @property
    def still(self) -> np.ndarray:
        """``(start_s, end_s)`` of every stillness, shape (K, 2): the clip outside ``moving``."""
        edges = np.concatenate([[0.0], self.moving.ravel(), [self.duration_s]]).reshape(-1, 2)
        return edges[edges[:, 1] > edges[:, 0]]

    def views(self, n_views: int = 1) -> list[tuple[np.ndarray, PinholeCamera]]:
        """The clip's own 2D views: :func:`exercise_views` with its ``view_config``,
        seeded from its seed (the same views every call)."""
        rng = np.random.default_rng([self.seed, _STREAM_VIEWS])
        return exercise_views(self, rng, n_views=n_views)


def make_exercise_clip(plan: ExercisePlan, *, seed: int, person: Person | None = None,
                       fps: float = 30.0, motion: MotionConfig = MotionConfig(),
                       views: ViewConfig = ViewConfig(), name: str | None = None) -> ExerciseClip:
    """Generate the clip of a plan.

    Parameters
    ----------
    plan : ExercisePlan
    seed : int
        Seeds the person (unless given), timing jitter, amplitudes, sway and
        the views; the same seed gives the same clip.
    person : Person, optional
        Default: :meth:`Person.random` from the seed.
    fps : float
        Frame rate [Hz] of the clip.
    motion : MotionConfig
    views : ViewConfig
        Stored in the clip for :meth:`ExerciseClip.views`.
    name : str, optional
        Clip name; default from the exercises and the seed.

    Returns
    -------
    ExerciseClip

    Examples
    --------
    >>> clip = make_exercise_clip(ExercisePlan((Still(1.0), Move("bounce", 8, 120.0),
    ...                                         Still(1.0))), seed=3)
    >>> clip.mocap.joints.shape, clip.beat_times_s[:3].tolist()
    ((195, 17, 3), [1.15, 1.65, 2.15])
    >>> clip.moving.round(3).tolist(), clip.still.round(3).tolist()
    ([[1.0, 5.475]], [[0.0, 1.0], [5.475, 6.5]])
    """
    if not (np.isfinite(fps) and fps > 0):
        raise ParameterError(f"fps must be > 0 Hz, got {fps!r}")
    if not isinstance(plan, ExercisePlan):
        raise ParameterError(f"plan must be an ExercisePlan, got {type(plan).__name__}")
    layout = plan.layout()
    if person is None:
        person = Person.random(np.random.default_rng([seed, _STREAM_PERSON]))
    rng = np.random.default_rng([seed, _STREAM_ACCENTS])
    n_beats = len(layout.beat_times_s)
    # Movements around neighbouring accents keep 5 % of a beat apart (Timing): an
    # accent moves at most half of that, so that they never overlap.
    gaps = np.diff(layout.beat_times_s)
    shortest = np.minimum(np.r_[np.inf, gaps], np.r_[gaps, np.inf])
    limit = np.minimum(3.0 * motion.timing_jitter_s, 0.025 * shortest)
    accents = layout.beat_times_s + np.clip(
        motion.timing_jitter_s * rng.standard_normal(n_beats), -limit, limit)
    gains = 1.0 + motion.amplitude_std * np.clip(rng.standard_normal(n_beats), -2.5, 2.5)

    # Enough frames to hold the whole plan (the tolerance keeps 6.0 s x 30 Hz at 180).
    n_frames = max(2, int(np.ceil(layout.duration_s * fps - 1e-6)))
    t = np.arange(n_frames) / fps
    pose = _neutral(person, n_frames)
    for block, exercise_name in enumerate(layout.exercises):
        exercise = EXERCISES[exercise_name]
        sel = layout.beat_block == block
        beats = layout.beat_times_s[sel]
        intervals = np.diff(beats)
        (start, end), (act0, act1) = layout.moving[block], layout.active[block]
        frames = (t >= start) & (t < end)
        block_motion = _Block(t=np.clip(t[frames], act0, act1), accents=accents[sel],
                              before=np.concatenate([intervals[:1], intervals]),
                              after=np.concatenate([intervals, intervals[-1:]]),
                              gain=gains[sel], person=person)
        # Into and out of the ready pose: smoothstep over ready_s around the active part.
        weight = np.ones(frames.sum())
        if exercise.ready_s > 0:
            tf = t[frames]
            weight = _ease(np.minimum(tf - start, end - tf) / exercise.ready_s)
        pose.put(frames, pose.take(frames).blend(exercise.pose(block_motion), weight))

    _add_sway(pose, t, motion, np.random.default_rng([seed, _STREAM_SWAY]))
    joints = _skeleton(person, pose)
    names = "+".join(dict.fromkeys(layout.exercises))
    mocap = Mocap3D(name=name or f"{names}_seed{seed}", joints=joints, fps=fps, dance=names,
                    beat_times_s=layout.beat_times_s)
    return ExerciseClip(
        mocap=mocap, beat_times_s=_readonly(layout.beat_times_s),
        tempo_bpm=_readonly(layout.tempo_bpm), accent_times_s=_readonly(accents),
        beat_block=_readonly(layout.beat_block, np.int64), moving=_readonly(layout.moving),
        exercises=layout.exercises, tempo_changes_s=_readonly(layout.tempo_changes_s),
        plan=plan, person=person, view_config=views, seed=int(seed))


def _add_sway(pose: _Pose, t, motion: MotionConfig, rng):
    """Standing sway (two slow sines per horizontal axis, a slight side tilt) and breathing,
    over the whole clip: nobody stands perfectly still."""
    for axis, amp in ((0, motion.sway_m), (2, 0.6 * motion.sway_m)):
        f = rng.uniform([0.15, 0.05], [0.3, 0.12])
        ph = rng.uniform(0, 2 * np.pi, 2)
        pose.pelvis[:, axis] += amp * (0.7 * np.sin(2 * np.pi * f[0] * t + ph[0])
                                       + 0.3 * np.sin(2 * np.pi * f[1] * t + ph[1]))
    pose.bend += 0.01 * np.sin(2 * np.pi * rng.uniform(0.08, 0.2) * t + rng.uniform(0, 2 * np.pi))
    pose.trunk_scale *= 1.0 + motion.breathing * np.sin(
        2 * np.pi * rng.uniform(0.2, 0.33) * t + rng.uniform(0, 2 * np.pi))


# --- views -----------------------------------------------------------------------


def exercise_views(clip: ExerciseClip, rng: np.random.Generator, *, n_views: int = 1,
                   config: ViewConfig | None = None) -> list[tuple[np.ndarray, PinholeCamera]]:
    """2D views of a clip: :func:`~ibeat_io.projection.to_2d_views`, then extra jitter,
    extra dropped joints and side occlusion per ``config``.

    Parameters
    ----------
    clip : ExerciseClip
    rng : np.random.Generator
        Cameras and noise.
    n_views : int
        Number of random cameras, >= 1.
    config : ViewConfig, optional
        Default: the clip's ``view_config``.

    Returns
    -------
    views : list of (np.ndarray, PinholeCamera)
        COCO-17 keypoints (T, 17, 3) float32, ``[x, y, confidence]`` in pixels
        (missing joints: NaN and confidence 0), and the camera.

    Examples
    --------
    >>> clip = make_exercise_clip(ExercisePlan((Move("clap", 4, 100.0),)), seed=0)
    >>> hide_a_side = ViewConfig(detector_noise=False, occlusions_per_min=60.0,
    ...                          occluded_missing=1.0)
    >>> (kp, camera), = exercise_views(clip, np.random.default_rng(0), config=hide_a_side)
    >>> kp.shape, np.unique(np.nonzero(kp[..., 2] == 0)[1]).tolist()   # joints ever lost
    ((150, 17, 3), [1, 3, 5, 7, 9, 11, 13, 15])
    """
    config = clip.view_config if config is None else config
    out = []
    for kp, camera in to_2d_views(clip.mocap, rng, n_views=n_views, noise=config.detector_noise):
        kp = kp.copy()
        if config.extra_jitter_px > 0 or config.dropout_prob > 0:
            # The detector-noise model once more, for its jitter and dropout bursts only:
            # confidences stay as they were.
            more = add_detector_noise(kp, rng, jitter_px=config.extra_jitter_px,
                                      dropout_prob=config.dropout_prob,
                                      burst_mean_frames=config.dropout_burst_frames,
                                      conf_range=(1.0, 1.0))
            lost = more[..., 2] == 0
            kp[..., :2] = more[..., :2]
            kp[..., 2] = np.where(lost, 0.0, kp[..., 2])
        if config.occlusions_per_min > 0:
            _occlude_far_side(kp, clip, camera, rng, config)
        out.append((kp, camera))
    return out


def _occlude_far_side(kp, clip: ExerciseClip, camera, rng, config: ViewConfig):
    """Occlude, in spans, the side of the body away from ``camera`` (in place)."""
    joints = clip.mocap.joints
    cam = np.asarray(camera.position_m)
    dist = [np.linalg.norm(joints[:, list(side)] - cam, axis=-1).mean() for side in (
        _LEFT_SIDE, _RIGHT_SIDE)]
    side = np.array(_LEFT_SIDE if dist[0] > dist[1] else _RIGHT_SIDE)
    n_frames = len(kp)
    visible = kp[..., 2] > 0
    extent = (np.max(np.where(visible, kp[..., 1], -np.inf), axis=1)
              - np.min(np.where(visible, kp[..., 1], np.inf), axis=1))
    enough = visible.sum(axis=1) >= 2
    height_px = float(np.median(extent[enough])) if enough.any() else 0.0
    n_spans = rng.poisson(config.occlusions_per_min * clip.duration_s / 60.0)
    for _ in range(n_spans):
        first = int(rng.integers(n_frames))
        length = max(1, int(round(rng.uniform(*config.occlusion_s) * clip.fps)))
        last = min(n_frames, first + length)
        span = slice(first, last)
        lost = rng.random(len(side)) < config.occluded_missing
        for joint, gone in zip(side, lost):
            if gone:
                kp[span, joint] = [np.nan, np.nan, 0.0]
                continue
            present = kp[span, joint, 2] > 0  # a joint already dropped stays dropped
            n = last - first
            sigma = config.occluded_jitter * height_px
            guess = kp[span, joint, :2] + rng.normal(0.0, sigma, (n, 2))
            kp[span, joint, :2] = np.where(present[:, None], guess, np.nan)
            kp[span, joint, 2] = np.where(present, rng.uniform(*config.occluded_conf, n), 0.0)


# --- the evaluation suite ----------------------------------------------------------

_SCENARIOS = ("constant", "step", "ramp", "pause", "switch")


def _suite_plan(rng, exercise: str, scenario: str, bpm: float, others) -> ExercisePlan:
    """One plan of the suite: about 12-34 s of motion around a start tempo."""
    lo, hi = SUITE_BPM_RANGE

    def beats(seconds, tempo):
        return max(4, int(round(seconds * tempo / 60.0)))

    def away(tempo, smallest, largest):
        """A tempo ``smallest``-``largest`` (relative) away, in a direction that stays in range."""
        factor = 1.0 + rng.uniform(smallest, largest) * rng.choice([-1.0, 1.0])
        if not lo <= tempo * factor <= hi:
            factor = 2.0 - factor
        return float(np.clip(tempo * factor, lo, hi))

    items = [Still(float(rng.uniform(0.5, 2.0)))]
    if scenario == "constant":
        items.append(Move(exercise, beats(rng.uniform(10, 30), bpm), bpm))
    elif scenario == "step":
        new = away(bpm, 0.1, 0.3)
        items += [Move(exercise, beats(rng.uniform(6, 14), bpm), bpm),
                  Move(exercise, beats(rng.uniform(6, 14), new), new)]
    elif scenario == "ramp":
        end = away(bpm, 0.15, 0.4)
        items += [Move(exercise, beats(rng.uniform(4, 8), bpm), bpm),
                  Move(exercise, beats(rng.uniform(6, 12), (bpm + end) / 2), bpm, end_bpm=end),
                  Move(exercise, beats(rng.uniform(4, 8), end), end)]
    else:
        second = exercise if scenario == "pause" else str(rng.choice(others))
        new = bpm if rng.random() < 0.5 else away(bpm, 0.1, 0.3)
        items += [Move(exercise, beats(rng.uniform(6, 14), bpm), bpm),
                  Still(float(rng.uniform(2.0, 5.0))),
                  Move(second, beats(rng.uniform(6, 14), new), new)]
    items.append(Still(float(rng.uniform(1.0, 2.5))))
    return ExercisePlan(tuple(items))


#: View degradations the suite cycles through: detector noise only; side occlusion;
#: extra dropouts and jitter; all of them.
_SUITE_VIEWS = (
    ViewConfig(),
    ViewConfig(occlusions_per_min=6.0),
    ViewConfig(dropout_prob=0.01, extra_jitter_px=1.0),
    ViewConfig(occlusions_per_min=6.0, dropout_prob=0.01, extra_jitter_px=1.0),
)


def exercise_suite(seed: int = 0, n_clips: int = 40, *, fps: float = 30.0) -> list[ExerciseClip]:
    """The rhythmic-exercise evaluation suite: varied clips with exact beats.

    Clip ``i`` does exercise ``i % 8`` (the order of :data:`EXERCISES`) in
    scenario ``(i // 8) % 5``: a constant tempo; a step change of 10-30 %;
    a ramp of 15-40 % between two constant stretches; a pause of 2-5 s and a
    restart (at the same tempo or 10-30 % off); a pause and another exercise.
    Start tempi are spread evenly (log scale) over :data:`SUITE_BPM_RANGE`
    in a shuffled order, and every tempo stays in that range. Each clip has
    its own random person and a view degradation (detector noise only, side
    occlusion, extra dropouts and jitter, or all), and is 10-40 s long.

    The default ``seed=0`` with the default ``n_clips`` is **the evaluation
    suite**: keep it for measuring; train on other seeds.

    Parameters
    ----------
    seed : int
    n_clips : int
        >= 1; 40 covers every exercise in every scenario once.
    fps : float
        Frame rate [Hz] of the clips.

    Returns
    -------
    clips : list of ExerciseClip
        Named ``"ex<i>_<exercise>_<scenario>_<bpm>bpm"``.
    """
    if not (isinstance(n_clips, (int, np.integer)) and n_clips >= 1):
        raise ParameterError(f"n_clips must be an integer >= 1, got {n_clips!r}")
    rng = np.random.default_rng(seed)
    names = list(EXERCISES)
    lo, hi = SUITE_BPM_RANGE
    slots = (rng.permutation(n_clips) + rng.uniform(size=n_clips)) / n_clips
    clips = []
    for i in range(n_clips):
        exercise = names[i % len(names)]
        scenario = _SCENARIOS[(i // len(names)) % len(_SCENARIOS)]
        bpm = float(lo * (hi / lo) ** slots[i])
        plan = _suite_plan(rng, exercise, scenario, bpm, [n for n in names if n != exercise])
        clips.append(make_exercise_clip(
            plan, seed=int(rng.integers(2 ** 31)), fps=fps,
            views=_SUITE_VIEWS[i % len(_SUITE_VIEWS)],
            name=f"ex{i:03d}_{exercise}_{scenario}_{bpm:.0f}bpm"))
    return clips
