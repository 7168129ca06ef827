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
_ELBOW_DROP = 0.2
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


def needs_completion(xy, scale) -> np.ndarray:
    """Frames ``(T,)`` that :func:`complete_body` completes: neither shoulder seen, the
    nose or a hip seen, a body scale known."""
    xy = np.asarray(xy, dtype=np.float64)
    scale = np.asarray(scale, dtype=np.float64)
    seen = np.isfinite(xy).all(axis=-1)
    anchored = seen[:, 0] | seen[:, HIPS].any(axis=1)
    return anchored & ~seen[:, SHOULDERS].any(axis=1) & np.isfinite(scale) & (scale > 0)


def complete_body(xy, scale, noise=None, *, todo=None) -> tuple[np.ndarray, np.ndarray]:
    """Fill the joints a body without shoulders lacks (see the module docstring).

    In the frames of :func:`needs_completion`, from the head (the nose, or
    where the hips put it): missing face joints at the head, shoulders below
    it, hips below it (or, with one hip seen, as a waist tracker, the other at
    the same place), hands not seen hanging at the sides, missing elbows
    between shoulder and hand. Knees and ankles stay as they are: nothing
    says where the feet are.

    Parameters
    ----------
    xy : array_like, shape (T, 17, 2)
        COCO-17 positions, NaN where missing.
    scale : array_like, shape (T,)
        Body scale (torso length) in the units of ``xy``; NaN: unknown.
    noise : array_like, shape (n, 17, 2), optional
        Standard normal draws, one row per frame completed
        (``n = needs_completion(xy, scale).sum()``), for the added joints'
        jitter (:data:`JITTER` torso lengths); None adds none.
    todo : array_like, shape (T,), bool, optional
        :func:`needs_completion`'s answer, when the caller has it already.

    Returns
    -------
    xy : np.ndarray, shape (T, 17, 2)
        Completed positions; frames not completed are unchanged.
    added : np.ndarray, shape (T, 17), bool
        The joints filled in.

    Examples
    --------
    >>> xy = np.full((1, 17, 2), np.nan); xy[0, 0] = [0, 0]; xy[0, 9] = [1.0, 1.0]
    >>> out, added = complete_body(xy, np.array([0.5]))
    >>> out[0, 5].tolist(), out[0, 7].tolist(), out[0, 10].tolist()
    ([0.18, 0.25], [0.59, 0.725], [-0.225, 0.8])
    >>> np.flatnonzero(added[0]).tolist()
    [1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12]
    """
    xy = np.asarray(xy, dtype=np.float64)
    added = np.zeros(xy.shape[:2], dtype=bool)
    todo = needs_completion(xy, scale) if todo is None else np.asarray(todo, dtype=bool)
    if not todo.any():
        return xy, added
    out = xy.copy()
    part = out[todo]
    s = np.asarray(scale, dtype=np.float64)[todo][:, None, None]
    missing = ~np.isfinite(part).all(axis=-1)
    head = part[:, 0]
    if missing[:, 0].any():  # no head: it stands on the hips
        n = np.maximum((~missing[:, HIPS]).sum(axis=1), 1)[:, None]
        waist = np.where(missing[:, HIPS, None], 0.0, part[:, HIPS]).sum(axis=1) / n
        head = np.where(missing[:, :1], waist + s[:, 0] * _HEAD_FROM_HIPS, head)
    template = head[:, None, :] + s * _TEMPLATE
    # One hip seen (a waist tracker): the other at the same place.
    for j, other in zip(HIPS, HIPS[::-1]):
        alone = missing[:, j] & ~missing[:, other]
        template[alone, j] = part[alone, other]
    part = np.where(missing[..., None], template, part)
    mid = (part[:, SHOULDERS] + part[:, WRISTS]) / 2 + s * np.array([0.0, _ELBOW_DROP])
    part[:, ELBOWS] = np.where(missing[:, ELBOWS, None], mid, part[:, ELBOWS])
    filled = missing & np.isfinite(part).all(axis=-1)
    if noise is not None:
        jitter = np.asarray(noise, dtype=np.float64) * (JITTER * s)
        part = np.where(filled[..., None], part + jitter, part)
    out[todo] = part
    added[todo] = filled
    return out, added


def hide_switches(xy, added, previous=None) -> np.ndarray:
    """Joints that switch between seen and filled in are missing in the frame they switch.

    A filled-in joint sits where the proportions put it, not where the real one
    was: moving from one to the other would read as a jump of the body.

    Parameters
    ----------
    xy : array_like, shape (T, 17, 2)
        Completed positions.
    added : array_like, shape (T, 17), bool
        :func:`complete_body`'s mask.
    previous : array_like, shape (17,), bool, optional
        The mask of the frame before the first (a stream's last one); None:
        the stream starts here, with nothing filled in.

    Returns
    -------
    np.ndarray, shape (T, 17, 2)
    """
    added = np.asarray(added, dtype=bool)
    first = np.zeros(added.shape[1], dtype=bool) if previous is None else previous
    before = np.concatenate([[first], added[:-1]])
    switched = added != before
    if not switched.any():
        return xy
    return np.where(switched[..., None], np.nan, xy)


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
        if not np.isfinite(xy[SHOULDERS, 0]).any():  # the usual full body skips all this
            if np.isfinite(xy[0]).all():
                self._head, self._head_age = xy[0], 0
            else:
                self._head_age += 1
                if self._head_age <= HOLD_FRAMES:
                    body = xy.copy()
                    body[0] = self._head
            anchored = np.isfinite(body[0]).all() or np.isfinite(body[list(HIPS)]).all(axis=1).any()
            if anchored and np.isfinite(scale) and scale > 0:  # needs_completion, for one frame
                noise = self._rng.standard_normal((1,) + xy.shape)
                done, mask = complete_body(body[None], [scale], noise, todo=np.ones(1, dtype=bool))
                body, added = done[0], mask[0]
        else:
            self._head_age = HOLD_FRAMES + 1
        if added is not self._added:
            body = hide_switches(body[None], added[None], self._added)[0]
        self._added = added
        return body


def complete_clip(xy, scale, *, seed: int = 0) -> np.ndarray:
    """:class:`Completion` over a whole clip: ``(T, 17, 2)`` positions, ``(T,)`` scale."""
    stage = Completion(seed)
    xy = np.asarray(xy, dtype=np.float64)
    return np.stack([stage.process_frame(x, s) for x, s in zip(xy, scale)]) if len(xy) else xy
