"""COCO-17 skeleton: joint names, index maps from other pose layouts, mirroring.

The canonical ibeat skeleton is COCO-17 in 2D: an array of shape
``(..., 17, 3)`` float32 holding ``[x, y, confidence]`` per joint. A missing
joint has NaN ``x`` and ``y`` and confidence 0. The converters here turn the
outputs of common pose estimators (MediaPipe BlazePose, OpenPose BODY_25)
into that layout; :func:`mirror` flips a pose left/right for augmentation.

Index maps are tuples: entry ``k`` is the source landmark for COCO joint ``k``.
"""

import numpy as np

from ibeat_core.errors import ParameterError

__all__ = [
    "COCO17_JOINTS",
    "N_JOINTS",
    "COCO17_MIRROR",
    "COCO17_BONES",
    "TORSO",
    "BLAZEPOSE33_JOINTS",
    "BODY25_JOINTS",
    "BLAZEPOSE33_TO_COCO17",
    "BODY25_TO_COCO17",
    "LAYOUTS",
    "from_blazepose33",
    "from_body25",
    "to_coco17",
    "mirror",
]

COCO17_JOINTS = (
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
)
N_JOINTS = len(COCO17_JOINTS)

# Index permutation that swaps every left joint with its right twin.
COCO17_MIRROR = (0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15)

# Limb pairs for drawing: legs, torso, arms, then the face.
COCO17_BONES = (
    (11, 13), (13, 15), (12, 14), (14, 16),
    (5, 6), (11, 12), (5, 11), (6, 12),
    (5, 7), (7, 9), (6, 8), (8, 10),
    (0, 1), (0, 2), (1, 3), (2, 4),
)

# Shoulders and hips: the rigid part of the body used for size and centre.
TORSO = (5, 6, 11, 12)

#: MediaPipe BlazePose's 33 landmarks, in order.
BLAZEPOSE33_JOINTS = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_pinky",
    "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb", "left_hip",
    "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle", "left_heel",
    "right_heel", "left_foot_index", "right_foot_index",
)
#: OpenPose BODY_25's joints, in order.
BODY25_JOINTS = (
    "Nose", "Neck", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist", "MidHip",
    "RHip", "RKnee", "RAnkle", "LHip", "LKnee", "LAnkle", "REye", "LEye", "REar", "LEar",
    "LBigToe", "LSmallToe", "LHeel", "RBigToe", "RSmallToe", "RHeel",
)

# MediaPipe BlazePose: 0 nose, 2/5 left/right eye centre, 7/8 ears,
# 11-16 shoulders/elbows/wrists, 23-28 hips/knees/ankles; in every pair the
# lower index is the left joint.
BLAZEPOSE33_TO_COCO17 = (0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28)

# OpenPose BODY_25: 15/16 REye/LEye, 17/18 REar/LEar, 2-4 right arm,
# 5-7 left arm, 9-11 right leg, 12-14 left leg (1 neck, 8 MidHip unused).
BODY25_TO_COCO17 = (0, 16, 15, 18, 17, 5, 2, 6, 3, 7, 4, 12, 9, 13, 10, 14, 11)

# Layout name -> (joint count, accepted last-axis sizes).
LAYOUTS = {
    "coco17": (N_JOINTS, (2, 3)),
    "blazepose33": (33, (2, 3, 4)),
    "body25": (25, (2, 3)),
}


def from_blazepose33(points):
    """Convert MediaPipe BlazePose landmarks to COCO-17 keypoints.

    Parameters
    ----------
    points : np.ndarray, shape (..., 33, C)
        BlazePose landmarks. ``C`` is 2 ``(x, y)``, 3 ``(x, y, z)`` or
        4 ``(x, y, z, visibility)``; ``z`` is dropped. ``x`` and ``y`` keep
        their unit (pixels or normalised image coordinates).

    Returns
    -------
    keypoints : np.ndarray, shape (..., 17, 3), float32
        ``[x, y, confidence]``. Confidence is the visibility clipped to
        [0, 1], or 1.0 when the input has none. A landmark with a non-finite
        coordinate becomes missing (NaN x, y and confidence 0).

    Raises
    ------
    ParameterError
        If the joint axis is not 33 long or ``C`` is not 2, 3 or 4.

    Examples
    --------
    >>> import numpy as np
    >>> lm = np.zeros((33, 4), dtype=np.float32)
    >>> lm[11] = [0.4, 0.3, -0.1, 0.9]  # left shoulder
    >>> from_blazepose33(lm)[5]
    array([0.4, 0.3, 0.9], dtype=float32)
    """
    pts = _checked(points, "blazepose33")
    xy = pts[..., BLAZEPOSE33_TO_COCO17, :2]
    conf = pts[..., BLAZEPOSE33_TO_COCO17, 3] if pts.shape[-1] == 4 else None
    return _assemble(xy, conf)


def from_body25(points):
    """Convert OpenPose BODY_25 keypoints to COCO-17 keypoints.

    OpenPose writes an undetected joint as all zeros; such joints (and any
    with a non-finite value) become missing.

    Parameters
    ----------
    points : np.ndarray, shape (..., 25, C)
        BODY_25 keypoints, ``C`` = 2 ``(x, y)`` or 3 ``(x, y, score)``.

    Returns
    -------
    keypoints : np.ndarray, shape (..., 17, 3), float32
        ``[x, y, confidence]``; confidence is the score clipped to [0, 1]
        (1.0 when the input has none), 0 for missing joints, whose x and y
        are NaN.

    Raises
    ------
    ParameterError
        If the joint axis is not 25 long or ``C`` is not 2 or 3.

    Examples
    --------
    >>> import numpy as np
    >>> op = np.zeros((25, 3), dtype=np.float32)
    >>> op[5] = [320.0, 200.0, 0.8]  # LShoulder; everything else undetected
    >>> kp = from_body25(op)
    >>> kp[5]
    array([320. , 200. ,   0.8], dtype=float32)
    >>> kp[6]
    array([nan, nan,  0.], dtype=float32)
    """
    pts = _checked(points, "body25")
    src = pts[..., BODY25_TO_COCO17, :]
    zero = np.all(src == 0, axis=-1)
    xy = np.where(zero[..., None], np.nan, src[..., :2])
    conf = src[..., 2] if pts.shape[-1] == 3 else None
    return _assemble(xy, conf)


def to_coco17(points, *, layout):
    """Convert keypoints in a named layout to COCO-17.

    Parameters
    ----------
    points : np.ndarray, shape (..., J, C)
        Keypoints in ``layout``. For ``"coco17"``, ``J`` = 17 and ``C`` is
        2 ``(x, y)`` or 3 ``(x, y, confidence)``; see
        :func:`from_blazepose33` and :func:`from_body25` for the others.
    layout : {"coco17", "blazepose33", "body25"}
        Name of the input layout (see ``LAYOUTS``).

    Returns
    -------
    keypoints : np.ndarray, shape (..., 17, 3), float32
        ``[x, y, confidence]``, missing joints as NaN x, y and confidence 0.

    Raises
    ------
    ParameterError
        For an unknown layout, or a joint count or ``C`` that does not fit it;
        the message names the expected count.

    Examples
    --------
    >>> import numpy as np
    >>> to_coco17(np.ones((4, 17, 2)), layout="coco17").shape
    (4, 17, 3)
    >>> to_coco17(np.ones((4, 18, 2)), layout="coco17")
    Traceback (most recent call last):
    ...
    ibeat_core.errors.ParameterError: layout 'coco17' expects shape (..., 17, 2|3), got (4, 18, 2)
    """
    if layout == "blazepose33":
        return from_blazepose33(points)
    if layout == "body25":
        return from_body25(points)
    pts = _checked(points, layout)
    conf = pts[..., 2] if pts.shape[-1] == 3 else None
    return _assemble(pts[..., :2], conf)


def mirror(keypoints, *, width=None):
    """Mirror poses left/right: flip x and swap left and right joints.

    Only column 0 (x) changes, so this works for 2D ``[x, y, confidence]``
    keypoints and for 3D ``[x, y, z]`` joints alike. Applying it twice
    returns the input.

    Parameters
    ----------
    keypoints : np.ndarray, shape (..., 17, C), C >= 2
        COCO-17 keypoints or joints.
    width : float, optional
        Image width in the unit of x (e.g. pixels, or 1.0 for normalised
        coordinates): x becomes ``width - x``. By default x becomes ``-x``.

    Returns
    -------
    mirrored : np.ndarray, same shape as ``keypoints``
        Floating dtype of the input (float32 for integer input).

    Raises
    ------
    ParameterError
        If the shape is not ``(..., 17, C)`` with ``C >= 2``.

    Examples
    --------
    >>> import numpy as np
    >>> kp = np.zeros((17, 3), dtype=np.float32)
    >>> kp[5] = [100.0, 50.0, 0.9]  # left shoulder
    >>> m = mirror(kp, width=640)
    >>> m[6]  # now the right shoulder
    array([540. ,  50. ,   0.9], dtype=float32)
    >>> bool(np.array_equal(mirror(m, width=640), kp))
    True
    """
    kp = np.asarray(keypoints)
    if kp.ndim < 2 or kp.shape[-2] != N_JOINTS or kp.shape[-1] < 2:
        raise ParameterError(
            f"mirror expects shape (..., {N_JOINTS}, C>=2), got {kp.shape}"
        )
    dtype = kp.dtype if np.issubdtype(kp.dtype, np.floating) else np.float32
    out = kp[..., COCO17_MIRROR, :].astype(dtype, copy=True)
    out[..., 0] = -out[..., 0] if width is None else width - out[..., 0]
    return out


def _checked(points, layout):
    """Return ``points`` as a float array after checking it fits ``layout``."""
    if layout not in LAYOUTS:
        raise ParameterError(
            f"unknown layout {layout!r}; expected one of {sorted(LAYOUTS)}"
        )
    n_joints, sizes = LAYOUTS[layout]
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim < 2 or pts.shape[-2] != n_joints or pts.shape[-1] not in sizes:
        sizes_txt = "|".join(str(s) for s in sizes)
        raise ParameterError(
            f"layout {layout!r} expects shape (..., {n_joints}, {sizes_txt}), "
            f"got {pts.shape}"
        )
    return pts


def _assemble(xy, conf):
    """Stack ``xy`` (..., 17, 2) and ``conf`` (..., 17) or None into COCO-17.

    Enforces the missing-joint convention: a non-finite x, y or confidence
    gives NaN x, y and confidence 0.
    """
    conf = np.ones(xy.shape[:-1]) if conf is None else np.clip(conf, 0.0, 1.0)
    missing = ~np.isfinite(xy).all(axis=-1) | ~np.isfinite(conf)
    out = np.empty(xy.shape[:-1] + (3,), dtype=np.float32)
    out[..., :2] = np.where(missing[..., None], np.nan, xy)
    out[..., 2] = np.where(missing, 0.0, conf)
    return out
