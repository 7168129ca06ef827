"""Partial bodies completed to the skeleton the beat network learned from.

The directogram sums the motion of every joint seen, so a body's rhythm is
weighted as its joints are: in a full COCO-17 body the head counts five times
(nose, eyes, ears), the torso four, the hands two. Head + hands alone (a VR
headset and controllers, or a camera that sees only a face and hands) turn
that into two-thirds hands, and the beat network, trained on whole bodies,
mostly falls silent (AIST++ 3D, 17 held-out clips: beats in 16 % of the
music's beat intervals against 66 % for the full body).

:func:`complete_body` fills the missing joints the way a VR avatar's inverse
kinematics would, from what is tracked: the face moves with the head,
shoulders and hips hang rigidly below it (a standing adult's proportions, in
torso lengths), elbows lie halfway from a shoulder to its hand, and hands not
tracked hang at the sides. Without a head (a waist and foot trackers), the
upper body stands rigidly on the hips instead. Only frames with neither
shoulder seen are completed, so a body a camera sees is left as it is (an
ear hidden in a side view is not filled in). With it, head + hands reach
0.63 coverage on the same clips (``docs/results.md``, "Bodies in 3D").

:class:`Completion` runs it frame by frame in the motion chain (and
:func:`complete_clip` over a clip, the same way): a head a detector loses for
a moment is held (:data:`HOLD_FRAMES`), and a joint that switches between
seen and filled in is missing for that frame (:func:`hide_switches`).

The joints added also get a pose detector's jitter, each its own: the beat
network learned "no motion" as the uncorrelated jitter of seventeen detected
joints, and joints that copy the head's every move, jitter included, read as
a body moving less (the same 17 clips: 0.36 coverage with copies, 0.63 with
their own jitter). The noise comes from one seeded generator per stream
(:class:`Completion`), so a stream and a whole clip draw the same numbers in
the same order.

Positions are 2D, image-like (x sideways, y **down**), as the projected view of
a 3D body (:mod:`ibeat_core.body3d`) and camera keypoints are.
"""

from __future__ import annotations

import numpy as np

__all__ = ["FACE", "SHOULDERS", "HIPS", "ELBOWS", "WRISTS", "BODY_FROM_HEAD", "JITTER",
           "HOLD_FRAMES", "needs_completion", "complete_body", "hide_switches", "Completion",
           "complete_clip"]

FACE = (1, 2, 3, 4)
SHOULDERS = (5, 6)
ELBOWS = (7, 8)
WRISTS = (9, 10)
HIPS = (11, 12)
#: Joint -> offset from the nose in torso lengths (x to the image's right, y
#: down) of an upright body seen from the front: shoulders 0.25 m below the
#: head and 0.36 m apart, hips 0.8 m below and 0.2 m apart, hands hanging
#: 0.55 m below the shoulders, for a 0.5 m torso.
BODY_FROM_HEAD = {5: (0.36, 0.5), 6: (-0.36, 0.5), 11: (0.2, 1.6), 12: (-0.2, 1.6),
                  9: (0.45, 1.6), 10: (-0.45, 1.6)}
# The nose from the middle of the hips, for a body anchored at its waist.
_HEAD_FROM_HIPS = np.array([0.0, -1.6])
# Every joint's offset from the head (NaN: not placed from the head): the face on it.
_TEMPLATE = np.full((17, 2), np.nan)
_TEMPLATE[[0, *FACE]] = 0.0
for _joint, _offset in BODY_FROM_HEAD.items():
    _TEMPLATE[_joint] = _offset
# An elbow sits this far [torso lengths] below the shoulder-hand midpoint.
_ELBOW_DROP_XY = np.array([0.0, 0.2])
#: Jitter of an added joint [torso lengths, standard deviation per frame]: the
#: synthetic detector noise the beat network trained with (0.2 % of the body
#: height, 1.5x on average for the confidences drawn: about 4 mm of a 0.5 m torso).
JITTER = 0.008


#: Grid frames (0.27 s at 30 Hz) over which the last head seen stands in for one
#: a detector lost, while a body is completed: without it, each dropout of the
#: nose removes the whole completed body for a frame or two, and the few joints
#: left read as a jolt (2D head + wrists on the exercise suite: coverage 0.56,
#: 12 beats into stillness; with it 0.70).
HOLD_FRAMES = 8


def needs_completion(xy, scale: float) -> bool:
    """Whether :func:`complete_body` completes this frame ``(17, 2)``: neither shoulder
    seen, the nose or a hip seen, a body scale known."""
    seen = np.isfinite(xy[:, 0]) & np.isfinite(xy[:, 1])
    return bool((seen[0] or seen[11] or seen[12]) and not (seen[5] or seen[6])
                and np.isfinite(scale) and scale > 0)


def complete_body(xy, scale: float, noise=None) -> tuple[np.ndarray, np.ndarray]:
    """Fill the joints a body without shoulders lacks (see the module docstring).

    In a frame of :func:`needs_completion`, from the head (the nose, or where
    the hips put it): missing face joints at the head, shoulders below it,
    hips below it (or, with one hip seen, as a waist tracker, the other at the
    same place), hands not seen hanging at the sides, missing elbows between
    shoulder and hand. Knees and ankles stay as they are: nothing says where
    the feet are.

    Parameters
    ----------
    xy : np.ndarray, shape (17, 2)
        COCO-17 positions of one frame, NaN where missing.
    scale : float
        Body scale (torso length) in the units of ``xy``; NaN: unknown.
    noise : array_like, shape (17, 2), optional
        Standard normal draws for the added joints' jitter (:data:`JITTER`
        torso lengths); None adds none.

    Returns
    -------
    xy : np.ndarray, shape (17, 2)
        Completed positions; a frame not completed is returned as it is.
    added : np.ndarray, shape (17,), bool
        The joints filled in.

    Examples
    --------
    >>> xy = np.full((17, 2), np.nan); xy[0] = [0, 0]; xy[9] = [1.0, 1.0]
    >>> out, added = complete_body(xy, 0.5)
    >>> out[5].tolist(), out[7].tolist(), out[10].tolist()
    ([0.18, 0.25], [0.59, 0.725], [-0.225, 0.8])
    >>> np.flatnonzero(added).tolist()
    [1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12]
    """
    xy = np.asarray(xy, dtype=np.float64)
    if not needs_completion(xy, scale):
        return xy, np.zeros(len(xy), dtype=bool)
    return _fill(xy, scale, noise)


def _fill(xy: np.ndarray, scale: float, noise) -> tuple[np.ndarray, np.ndarray]:
    """:func:`complete_body` of a frame known to need it."""
    missing = ~(np.isfinite(xy[:, 0]) & np.isfinite(xy[:, 1]))
    if missing[0]:  # no head: it stands on the hips
        hips = [j for j in HIPS if not missing[j]]
        head = xy[hips].sum(axis=0) / len(hips) + scale * _HEAD_FROM_HIPS
    else:
        head = xy[0]
    template = head + scale * _TEMPLATE
    # One hip seen (a waist tracker): the other at the same place.
    for j, other in zip(HIPS, HIPS[::-1]):
        if missing[j] and not missing[other]:
            template[j] = xy[other]
    out = np.where(missing[:, None], template, xy)
    for elbow, shoulder, wrist in zip(ELBOWS, SHOULDERS, WRISTS):
        if missing[elbow]:
            out[elbow] = (out[shoulder] + out[wrist]) / 2 + scale * _ELBOW_DROP_XY
    added = missing & np.isfinite(out[:, 0]) & np.isfinite(out[:, 1])
    if noise is not None:
        out[added] += np.asarray(noise, dtype=np.float64)[added] * (JITTER * scale)
    return out, added


def hide_switches(xy, added, previous) -> np.ndarray:
    """Joints that switch between seen and filled in are missing in the frame they switch.

    A filled-in joint sits where the proportions put it, not where the real one
    was: moving from one to the other would read as a jump of the body.

    Parameters
    ----------
    xy : np.ndarray, shape (17, 2)
        A completed frame.
    added : np.ndarray, shape (17,), bool
        :func:`complete_body`'s mask of that frame.
    previous : np.ndarray, shape (17,), bool
        The mask of the frame before (all False at a stream's start).

    Returns
    -------
    np.ndarray, shape (17, 2)
    """
    switched = added != previous
    if not switched.any():
        return xy
    return np.where(switched[:, None], np.nan, xy)


class Completion:
    """Streaming completion of one body: :func:`complete_body` frame by frame, the head
    held over short dropouts (:data:`HOLD_FRAMES`), and :func:`hide_switches`.

    Parameters
    ----------
    seed : int
        Seeds the added joints' jitter; the same stream gives the same body.
    """

    def __init__(self, seed: int = 0):
        self.seed = seed
        self.reset()

    def reset(self):
        self._rng = np.random.default_rng(self.seed)
        self._none = np.zeros(17, dtype=bool)
        self._added = self._none  # the joints filled in last frame
        self._head = None
        self._head_age = HOLD_FRAMES + 1

    def process_frame(self, xy, scale: float) -> np.ndarray:
        """The body the directogram should see for one grid frame.

        Parameters
        ----------
        xy : np.ndarray, shape (17, 2)
            COCO-17 positions, NaN where missing (left unchanged).
        scale : float
            Body scale in the units of ``xy``.

        Returns
        -------
        np.ndarray, shape (17, 2)
        """
        body, added = xy, self._none
        if not (np.isfinite(xy[5, 0]) or np.isfinite(xy[6, 0])):  # a full body skips all this
            if np.isfinite(xy[0, 0]) and np.isfinite(xy[0, 1]):
                self._head, self._head_age = xy[0], 0
            else:
                self._head_age += 1
                if self._head_age <= HOLD_FRAMES:
                    body = xy.copy()
                    body[0] = self._head
            if needs_completion(body, scale):
                body, added = _fill(body, scale, self._rng.standard_normal(xy.shape))
        else:
            self._head_age = HOLD_FRAMES + 1
        if added is not self._added:
            body = hide_switches(body, added, self._added)
        self._added = added
        return body


def complete_clip(xy, scale, *, seed: int = 0) -> np.ndarray:
    """:class:`Completion` over a whole clip: ``(T, 17, 2)`` positions, ``(T,)`` scale."""
    stage = Completion(seed)
    xy = np.asarray(xy, dtype=np.float64)
    return np.stack([stage.process_frame(x, s) for x, s in zip(xy, scale)]) if len(xy) else xy
