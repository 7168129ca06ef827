"""Skeleton layouts on the wire: what a PoseFrame holds, and how it reaches the engine.

2D layouts (COCO-17, BlazePose 33, BODY_25) are mapped onto COCO-17 here and
sent to the engine as ``[x, y, c]``; 3D layouts (COCO-17 3D, Unity Humanoid
bones, OpenXR-style tracked points, head + hands) go to the engine whole, as
``[x, y, z, c]`` with a :class:`~ibeat_core.body3d.Body3DConfig` that names the
layout and the client's coordinate frame (:mod:`ibeat_core.body3d` projects them).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ibeat_core.body3d import LAYOUTS_3D, Body3DConfig, CoordinateFrame
from ibeat_core.skeleton import (BLAZEPOSE33_JOINTS, BLAZEPOSE33_TO_COCO17, BODY25_JOINTS,
                                 BODY25_TO_COCO17, COCO17_JOINTS, N_JOINTS)

from .v1 import ibeat_pb2 as pb

__all__ = ["WireLayout", "LAYOUTS", "LAYOUT_BY_NAME", "HANDEDNESS", "UP_AXES", "frame_of",
           "layout_infos"]


@dataclass(frozen=True, eq=False)
class WireLayout:
    """One ``SkeletonLayout``.

    Attributes
    ----------
    layout : int
        The ``pb.SkeletonLayout`` value.
    name : str
    joints : tuple of str
        Joint names in wire order.
    is_3d : bool
    slots : tuple of int
        Entry ``k``: the layout joint that stands for COCO-17 joint ``k``, or -1.
    """

    layout: int
    name: str
    joints: tuple
    is_3d: bool
    slots: tuple

    @property
    def n_joints(self) -> int:
        return len(self.joints)

    @property
    def values_per_joint(self) -> int:
        """Floats per joint in ``PoseFrame.keypoints``: x, y(, z), confidence."""
        return 4 if self.is_3d else 3

    @property
    def index(self) -> np.ndarray | None:
        """2D layouts: the gather that turns a frame into COCO-17 (None: it is COCO-17)."""
        if self.is_3d or (self.slots == tuple(range(N_JOINTS)) and self.n_joints == N_JOINTS):
            return None
        return np.asarray(self.slots)

    def layout_joint(self, coco_joint: int) -> int:
        """The layout's index of a COCO-17 joint (``DrumHit.layout_joint``); -1 if it has none."""
        return int(self.slots[coco_joint]) if 0 <= coco_joint < N_JOINTS else -1

    def info(self) -> pb.LayoutInfo:
        return pb.LayoutInfo(layout=self.layout, name=self.name, is_3d=self.is_3d,
                             values_per_joint=self.values_per_joint, joints=list(self.joints))


def _3d(layout: int, name: str) -> WireLayout:
    spec = LAYOUTS_3D[name]
    return WireLayout(layout, name, spec.joints, True, spec.slots)


_COCO17 = WireLayout(pb.SKELETON_LAYOUT_COCO17, "coco17", COCO17_JOINTS, False,
                     tuple(range(N_JOINTS)))
#: Wire layout value -> :class:`WireLayout`.
LAYOUTS = {
    pb.SKELETON_LAYOUT_UNSPECIFIED: _COCO17,
    pb.SKELETON_LAYOUT_COCO17: _COCO17,
    pb.SKELETON_LAYOUT_BLAZEPOSE33: WireLayout(pb.SKELETON_LAYOUT_BLAZEPOSE33, "blazepose33",
                                               BLAZEPOSE33_JOINTS, False, BLAZEPOSE33_TO_COCO17),
    pb.SKELETON_LAYOUT_BODY25: WireLayout(pb.SKELETON_LAYOUT_BODY25, "body25", BODY25_JOINTS,
                                          False, BODY25_TO_COCO17),
    pb.SKELETON_LAYOUT_COCO17_3D: _3d(pb.SKELETON_LAYOUT_COCO17_3D, "coco17_3d"),
    pb.SKELETON_LAYOUT_HUMANOID: _3d(pb.SKELETON_LAYOUT_HUMANOID, "humanoid"),
    pb.SKELETON_LAYOUT_TRACKED_POINTS: _3d(pb.SKELETON_LAYOUT_TRACKED_POINTS, "tracked_points"),
    pb.SKELETON_LAYOUT_HEAD_HANDS: _3d(pb.SKELETON_LAYOUT_HEAD_HANDS, "head_hands"),
}

#: Layout name -> its wire value.
LAYOUT_BY_NAME = {v.name: k for k, v in LAYOUTS.items() if k != pb.SKELETON_LAYOUT_UNSPECIFIED}
#: :class:`~ibeat_core.body3d.CoordinateFrame` handedness and up axis -> wire values.
HANDEDNESS = {"right": pb.HANDEDNESS_RIGHT, "left": pb.HANDEDNESS_LEFT}
UP_AXES = {"y": pb.UP_AXIS_Y, "z": pb.UP_AXIS_Z}

_UNITS_M = {pb.COORDINATE_SPACE_UNSPECIFIED: 1.0, pb.COORDINATE_SPACE_METERS: 1.0,
            pb.COORDINATE_SPACE_CENTIMETERS: 0.01}
# Wire value -> frame; unset means right-handed, y up.
_HANDEDNESS = {pb.HANDEDNESS_UNSPECIFIED: "right", **{v: k for k, v in HANDEDNESS.items()}}
_UP = {pb.UP_AXIS_UNSPECIFIED: "y", **{v: k for k, v in UP_AXES.items()}}


def frame_of(msg: pb.SessionConfig, layout: WireLayout) -> Body3DConfig | None:
    """The engine's 3D settings for a config (None for a 2D layout).

    Raises
    ------
    ValueError
        A 3D layout in image units, or an unknown handedness or up axis; the
        message names the field.
    """
    if msg.handedness not in _HANDEDNESS:
        raise ValueError(f"unknown handedness {msg.handedness}; expected one of "
                         f"{', '.join(pb.Handedness.keys())}")
    if msg.up_axis not in _UP:
        raise ValueError(f"unknown up_axis {msg.up_axis}; expected one of "
                         f"{', '.join(pb.UpAxis.keys())}")
    if not layout.is_3d:
        return None  # 2D is scale-free: any unit will do
    if msg.coordinate_space not in _UNITS_M:
        raise ValueError(f"coordinate_space {pb.CoordinateSpace.Name(msg.coordinate_space)} is "
                         f"an image unit; the 3D layout {layout.name} needs "
                         f"COORDINATE_SPACE_METERS or COORDINATE_SPACE_CENTIMETERS")
    frame = CoordinateFrame(handedness=_HANDEDNESS[msg.handedness], up=_UP[msg.up_axis],
                            units_m=_UNITS_M[msg.coordinate_space])
    return Body3DConfig(layout=layout.name, frame=frame)


def layout_infos() -> list:
    """``ServerInfo.layouts``: every layout a Session accepts, in enum order."""
    return [v.info() for k, v in sorted(LAYOUTS.items()) if k != pb.SKELETON_LAYOUT_UNSPECIFIED]
