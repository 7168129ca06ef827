"""Drawing what the engine sees and plays onto video frames.

The picture of ``ibeat render clip.mp4`` and of the live preview: the dancer's
skeleton, a flash on every beat (a pulse at the frame's border and a ring at
the joint that drove the beat), sparks in the drum's colour at that joint on
every hit, a scrolling drum roll and a small HUD (tempo, confidence, feel,
tracking status).

Everything draws on BGR ``uint8`` frames with OpenCV, anti-aliased
(``cv2.LINE_AA``) at sub-pixel positions, and scales with the frame: sizes
are given at 640x360 and multiplied by :func:`frame_scale`, so the same
overlay reads at 512x288 and at 1920x1080. Text is TrueType (DejaVu Sans,
shipped with matplotlib) through Pillow, cached per string and size.

:class:`Overlay` holds the events the engine has emitted so far and draws
frame ``t``: the drum roll shows exactly what the engine knew at ``t`` (hits
are scheduled up to a beat ahead, so the next beat's hits appear right of the
playhead before they sound), so an offline render shows what a live viewer
would have seen. Drum classes have the colours and names of the figures of
:mod:`ibeat_io.plots`.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ibeat_core.drums import DRUM_CLASSES, N_DRUM_CLASSES
from ibeat_core.errors import ParameterError
from ibeat_core.session import BeatCue, DrumHit
from ibeat_core.skeleton import COCO17_BONES, N_JOINTS

__all__ = ["CLASS_COLORS_BGR", "CLASS_LABELS", "LAYOUTS", "OverlayConfig", "Overlay",
           "frame_scale", "draw_skeleton", "draw_beat_flash", "draw_joint_ring", "draw_spark",
           "draw_drum_roll", "draw_hud"]

# matplotlib's tab10: ibeat_io.plots._drum_roll colours class i with tab10[i],
# so a figure and a video of the same render agree.
_TAB10 = ("1f77b4", "ff7f0e", "2ca02c", "d62728", "9467bd", "8c564b", "e377c2", "7f7f7f", "bcbd22")
#: BGR colour of each drum class (index = class), as in the figures.
CLASS_COLORS_BGR: tuple[tuple[int, int, int], ...] = tuple(
    (int(h[4:6], 16), int(h[2:4], 16), int(h[0:2], 16)) for h in _TAB10)
#: Row label of each drum class, as in the figures.
CLASS_LABELS: tuple[str, ...] = tuple(c.replace("_", " ") for c in DRUM_CLASSES)
#: Where the drum roll goes: over the bottom of the frame, or in a panel added below it.
LAYOUTS = ("inside", "below")

# Sub-pixel drawing: OpenCV takes fixed-point coordinates with this many
# fractional bits, so slow motion and scrolling do not jump pixel by pixel.
_SHIFT = 4
_ONE = 1 << _SHIFT
# Sizes below are for a 640x360 frame, and for a dancer about this tall in it [px].
_REF_W, _REF_H = 640.0, 360.0
_BODY_REF_PX = 300.0

_WHITE = (255, 255, 255)
_PANEL = (26, 20, 18)          # near-black, slightly blue, behind the roll and HUD
_FLASH = (170, 225, 255)       # warm white of the beat flash
_ACCENT = (40, 185, 255)       # amber of the border pulse on each beat
_LEFT = (235, 200, 70)         # left limbs (BGR): sky blue
_RIGHT = (70, 160, 255)        # right limbs: orange
_CENTRE = (235, 235, 235)      # torso and face
_OK, _WARN, _BAD = (120, 220, 110), (60, 190, 255), (80, 80, 240)


@dataclass(frozen=True)
class OverlayConfig:
    """What the overlay draws and how.

    Attributes
    ----------
    layout : str
        ``"inside"``: the drum roll covers the bottom of the frame and
        :meth:`Overlay.draw` draws in place (live preview); ``"below"``: it
        goes in a panel added under the frame, which covers none of the
        dancer (rendered videos).
    roll_height : float
        Height of the drum roll as a fraction of the frame's height, in (0, 0.6].
    past_s : float
        Seconds of drum roll left of the playhead, > 0.
    playhead : float
        Where the playhead sits across the roll, in (0, 1); the rest, right
        of it, shows hits the engine has scheduled but not yet played.
    flash_s : float
        How long [s] the beat flash at the border takes to die away, > 0.
    ring_s : float
        How long [s] the ring at the driving joint expands, > 0.
    spark_s : float
        How long [s] a hit's spark lasts, > 0.
    min_confidence : float
        Joints below this pose confidence are drawn faded, in [0, 1].
    skeleton, roll, hud, effects : bool
        Which parts to draw (``effects``: flash, ring and sparks).
    """

    layout: str = "inside"
    roll_height: float = 0.28
    past_s: float = 2.5
    playhead: float = 0.72
    flash_s: float = 0.15
    ring_s: float = 0.35
    spark_s: float = 0.3
    min_confidence: float = 0.3
    skeleton: bool = True
    roll: bool = True
    hud: bool = True
    effects: bool = True

    def __post_init__(self):
        if self.layout not in LAYOUTS:
            raise ParameterError(f"layout must be one of {LAYOUTS}, got {self.layout!r}")
        if not 0 < self.roll_height <= 0.6:
            raise ParameterError(f"roll_height must be in (0, 0.6], got {self.roll_height!r}")
        if not 0 < self.playhead < 1:
            raise ParameterError(f"playhead must be in (0, 1), got {self.playhead!r}")
        for name in ("past_s", "flash_s", "ring_s", "spark_s"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value > 0):
                raise ParameterError(f"{name} must be > 0 seconds, got {value!r}")
        if not 0 <= self.min_confidence <= 1:
            raise ParameterError(f"min_confidence must be in [0, 1], got {self.min_confidence!r}")


def frame_scale(width: int, height: int) -> float:
    """Size multiplier of a ``width`` x ``height`` frame: 1 at 640x360, 3 at 1920x1080.

    >>> frame_scale(640, 360), frame_scale(1920, 1080), frame_scale(512, 288)
    (1.0, 3.0, 0.8)
    """
    return min(width / _REF_W, height / _REF_H)


def roll_panel_height(height: int, config: OverlayConfig = OverlayConfig()) -> int:
    """Pixel height of the drum roll for a frame ``height`` px high (even, for video encoders)."""
    return max(2, 2 * int(round(config.roll_height * height / 2)))


# --------------------------------------------------------------------------- primitives


def _fx(v: float) -> int:
    """A coordinate [px] in OpenCV's fixed point (see ``_SHIFT``)."""
    return int(round(v * _ONE))


def _pt(x: float, y: float) -> tuple[int, int]:
    return _fx(x), _fx(y)


def _px(v: float) -> int:
    """A thickness or size [px]: at least 1."""
    return max(1, int(round(v)))


def _mix(a, b, k: float) -> tuple[int, int, int]:
    """Colour ``a`` moved a fraction ``k`` in [0, 1] towards ``b``."""
    k = min(max(k, 0.0), 1.0)
    return tuple(int(round(x + (y - x) * k)) for x, y in zip(a, b))


def _clip_box(img, x0, y0, x1, y1):
    h, w = img.shape[:2]
    x0, y0 = max(0, int(math.floor(x0))), max(0, int(math.floor(y0)))
    x1, y1 = min(w, int(math.ceil(x1))), min(h, int(math.ceil(y1)))
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None


def _translucent(img, box, alpha: float, draw) -> None:
    """Run ``draw(layer, ox, oy)`` on a copy of ``img``'s ``box`` and blend it back at ``alpha``.

    ``layer`` is the box's pixels; ``(ox, oy)`` is the box's top-left corner, to
    subtract from frame coordinates. Only the box is copied, so small effects
    stay cheap on large frames.
    """
    box = _clip_box(img, *box)
    if box is None or alpha <= 0:
        return
    x0, y0, x1, y1 = box
    roi = img[y0:y1, x0:x1]
    layer = roi.copy()
    draw(layer, x0, y0)
    cv2.addWeighted(layer, min(alpha, 1.0), roi, 1.0 - min(alpha, 1.0), 0.0, dst=roi)


def _shade(img, box, color, alpha: float) -> None:
    """Darken/tint a rectangle: ``img = (1 - alpha) img + alpha color``."""
    box = _clip_box(img, *box)
    if box is None:
        return
    x0, y0, x1, y1 = box
    roi = img[y0:y1, x0:x1]
    fill = np.empty_like(roi)
    fill[:] = color
    cv2.addWeighted(fill, alpha, roi, 1.0 - alpha, 0.0, dst=roi)


def _glow(img, center, radius: float, color, strength: float) -> None:
    """Add a soft light (a blurred disc) around ``center``; saturates, never darkens."""
    if strength <= 0 or radius <= 0:
        return
    cx, cy = center
    r = 2.5 * radius
    box = _clip_box(img, cx - r, cy - r, cx + r + 1, cy + r + 1)
    if box is None:
        return
    x0, y0, x1, y1 = box
    layer = np.zeros((y1 - y0, x1 - x0, 3), np.uint8)
    c = tuple(int(v * min(strength, 1.0)) for v in color)
    cv2.circle(layer, _pt(cx - x0, cy - y0), _fx(radius), c, -1, cv2.LINE_AA, _SHIFT)
    k = 2 * int(radius * 0.8) + 1
    layer = cv2.GaussianBlur(layer, (k, k), 0)
    roi = img[y0:y1, x0:x1]
    cv2.add(roi, layer, dst=roi)


class _Text:
    """Anti-aliased text as cached alpha masks: DejaVu Sans via Pillow, Hershey as a fallback."""

    _MAX_CACHE = 1024

    def __init__(self):
        self._fonts = {}
        self._cache = {}
        try:
            import matplotlib
            from PIL import ImageFont  # noqa: F401  (Pillow comes with matplotlib)
            root = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
            self._paths = {False: root / "DejaVuSans.ttf", True: root / "DejaVuSans-Bold.ttf"}
            if not all(p.is_file() for p in self._paths.values()):
                self._paths = None
        except ImportError:
            self._paths = None

    def _font(self, px: int, bold: bool):
        key = (px, bold)
        if key not in self._fonts:
            from PIL import ImageFont
            self._fonts[key] = ImageFont.truetype(str(self._paths[bold]), px)
        return self._fonts[key]

    def mask(self, text: str, px: int, bold: bool = False) -> np.ndarray:
        """``(h, w)`` uint8 coverage of ``text`` at ``px`` pixels (``h``: the line height)."""
        key = (text, px, bold)
        m = self._cache.get(key)
        if m is not None:
            return m
        if len(self._cache) >= self._MAX_CACHE:
            self._cache.clear()
        if self._paths is not None:
            from PIL import Image, ImageDraw
            font = self._font(px, bold)
            ascent, descent = font.getmetrics()
            left, _, right, _ = font.getbbox(text)
            im = Image.new("L", (max(1, right - min(left, 0)), ascent + descent), 0)
            ImageDraw.Draw(im).text((-min(left, 0), 0), text, font=font, fill=255)
            m = np.asarray(im, dtype=np.uint8)
        else:
            face = cv2.FONT_HERSHEY_DUPLEX if bold else cv2.FONT_HERSHEY_SIMPLEX
            fs = px / 30.0
            (w, h), base = cv2.getTextSize(text, face, fs, 1)
            m = np.zeros((h + base + 2, w + 2), np.uint8)
            cv2.putText(m, text, (1, h + 1), face, fs, 255, 1, cv2.LINE_AA)
        self._cache[key] = m
        return m

    def size(self, text: str, px: int, bold: bool = False) -> tuple[int, int]:
        """``(width, height)`` [px] of ``text``."""
        m = self.mask(text, px, bold)
        return m.shape[1], m.shape[0]

    def put(self, img, text: str, x: float, y: float, px: float, color, *, bold: bool = False,
            alpha: float = 1.0, anchor: str = "lt") -> tuple[int, int]:
        """Draw ``text`` with its ``anchor`` (``l``/``c``/``r``, ``t``/``m``/``b``) at ``(x, y)``.

        Returns its ``(width, height)``; text under 5 px is not drawn (unreadable).
        """
        px = int(round(px))
        if px < 5 or not text:
            return 0, 0
        m = self.mask(text, px, bold)
        h, w = m.shape
        x -= {"l": 0, "c": w / 2, "r": w}[anchor[0]]
        y -= {"t": 0, "m": h / 2, "b": h}[anchor[1]]
        x0, y0 = int(round(x)), int(round(y))
        box = _clip_box(img, x0, y0, x0 + w, y0 + h)
        if box is None:
            return w, h
        bx0, by0, bx1, by1 = box
        a = m[by0 - y0:by1 - y0, bx0 - x0:bx1 - x0, None].astype(np.float32) * (alpha / 255.0)
        roi = img[by0:by1, bx0:bx1]
        roi[:] = (roi * (1.0 - a) + np.asarray(color, np.float32) * a + 0.5).astype(np.uint8)
        return w, h


_TEXT = _Text()


# --------------------------------------------------------------------------- drawing functions


def _side(j: int) -> int:
    """-1 left, +1 right, 0 centre (the nose) of a COCO-17 joint: odd indices are left."""
    return 0 if j == 0 else (-1 if j % 2 else 1)


def _bone_color(a: int, b: int):
    sa, sb = _side(a), _side(b)
    if sa == sb == -1:
        return _LEFT
    if sa == sb == 1:
        return _RIGHT
    return _CENTRE


def draw_skeleton(img: np.ndarray, keypoints, *, scale: float, min_confidence: float = 0.3,
                  pulse: float = 0.0, highlight: int | None = None) -> None:
    """The COCO-17 skeleton: bones with a dark outline, joints sized by confidence.

    Parameters
    ----------
    img : np.ndarray, shape (H, W, 3), uint8
        BGR frame, drawn in place.
    keypoints : array_like, shape (17, 2|3)
        ``[x, y(, confidence)]`` in the frame's pixels; NaN for a missing joint.
    scale : float
        :func:`frame_scale` of the frame.
    min_confidence : float
        Joints below it, and their bones, are drawn faded.
    pulse : float
        Beat emphasis in [0, 1]: thicker, brighter bones right after a beat.
    highlight : int, optional
        A joint to draw in the flash colour (the one driving the beat).
    """
    kp = np.asarray(keypoints, dtype=np.float64)
    if kp.shape[0] != N_JOINTS or kp.ndim != 2 or kp.shape[1] not in (2, 3):
        raise ParameterError(f"keypoints must have shape (17, 2|3), got {kp.shape}")
    xy = kp[:, :2]
    conf = kp[:, 2] if kp.shape[1] == 3 else np.ones(N_JOINTS)
    conf = np.where(np.isfinite(conf), np.clip(conf, 0.0, 1.0), 0.0)
    seen = np.all(np.isfinite(xy), axis=1)
    if not seen.any():
        return
    strong = seen & (conf >= min_confidence)
    bone_w = 2.6 * scale * (1.0 + 0.6 * pulse)
    edge = max(1.0, 1.0 * scale)
    bones = [(a, b) for a, b in COCO17_BONES if seen[a] and seen[b]]
    weak_bones = [(a, b) for a, b in bones if not (strong[a] and strong[b])]
    strong_bones = [(a, b) for a, b in bones if strong[a] and strong[b]]

    def bones_at(layer, ox, oy, pairs):
        for a, b in pairs:  # outlines first, so a bone's outline never covers another bone
            cv2.line(layer, _pt(xy[a, 0] - ox, xy[a, 1] - oy), _pt(xy[b, 0] - ox, xy[b, 1] - oy),
                     (15, 15, 15), _px(bone_w + 2 * edge), cv2.LINE_AA, _SHIFT)
        for a, b in pairs:
            color = _mix(_bone_color(a, b), _WHITE, 0.5 * pulse)
            cv2.line(layer, _pt(xy[a, 0] - ox, xy[a, 1] - oy), _pt(xy[b, 0] - ox, xy[b, 1] - oy),
                     color, _px(bone_w), cv2.LINE_AA, _SHIFT)

    def joints_at(layer, ox, oy, idx):
        for j in idx:
            r = scale * (1.0 + 2.0 * conf[j]) * (1.0 + 0.3 * pulse)
            color = _FLASH if j == highlight else _mix(_bone_color(j, j), _WHITE, 0.55)
            c = _pt(xy[j, 0] - ox, xy[j, 1] - oy)
            cv2.circle(layer, c, _fx(r + edge), (15, 15, 15), -1, cv2.LINE_AA, _SHIFT)
            cv2.circle(layer, c, _fx(r), color, -1, cv2.LINE_AA, _SHIFT)

    weak_joints = np.flatnonzero(seen & ~strong)
    if len(weak_bones) or len(weak_joints):
        pts = xy[seen]
        m = 6 * scale + 4
        box = (pts[:, 0].min() - m, pts[:, 1].min() - m, pts[:, 0].max() + m, pts[:, 1].max() + m)
        _translucent(img, box, 0.35, lambda layer, ox, oy: (bones_at(layer, ox, oy, weak_bones),
                                                            joints_at(layer, ox, oy, weak_joints)))
    bones_at(img, 0, 0, strong_bones)
    joints_at(img, 0, 0, np.flatnonzero(strong))


_border_cache: dict = {}


def _border_bands(width: int, height: int, reach: float):
    """Per edge band: ``(slices, weight (h, w, 1) float32)``: 1 at the border, fading inwards."""
    key = (width, height, round(reach, 2))
    bands = _border_cache.get(key)
    if bands is None:
        if len(_border_cache) > 8:
            _border_cache.clear()
        band = max(1, min(int(math.ceil(3 * reach)), height // 2, width // 2))
        ys, xs = np.arange(height, dtype=np.float32), np.arange(width, dtype=np.float32)

        def weight(y, x):
            d = np.minimum(np.minimum(y[:, None], height - 1 - y[:, None]),
                           np.minimum(x[None, :], width - 1 - x[None, :]))
            return np.exp(-d / reach)[:, :, None].astype(np.float32)

        bands = []
        for sl in ((slice(0, band), slice(0, width)),
                   (slice(height - band, height), slice(0, width)),
                   (slice(band, height - band), slice(0, band)),
                   (slice(band, height - band), slice(width - band, width))):
            bands.append((sl, weight(ys[sl[0]], xs[sl[1]])))
        _border_cache[key] = bands
    return bands


def draw_beat_flash(img: np.ndarray, intensity: float, *, scale: float, color=_ACCENT) -> None:
    """A band of colour along the frame's border, ``intensity`` in [0, 1] (1 on the beat).

    Blended, not added, so it shows on a white studio wall as on a dark room.
    """
    if intensity <= 0:
        return
    h, w = img.shape[:2]
    reach = max(1.5, 7.0 * scale)
    k = min(intensity, 1.0)
    c = np.asarray(color, np.float32)
    for sl, weight in _border_bands(w, h, reach):
        roi = img[sl]
        a = weight * k
        roi[:] = (roi * (1.0 - a) + c * a + 0.5).astype(np.uint8)


def draw_joint_ring(img: np.ndarray, center, progress: float, *, scale: float,
                    color=_ACCENT) -> None:
    """An expanding, fading ring and a burst of light at the joint that drove a beat.

    ``progress`` in [0, 1) is the time since the beat over the ring's duration.
    The ring is blended in a saturated colour with a dark rim, so it shows on
    a white wall as on a dark room.
    """
    if not (0 <= progress < 1) or not np.all(np.isfinite(center)):
        return
    cx, cy = float(center[0]), float(center[1])
    fade = (1.0 - progress) ** 1.5
    ease = 1.0 - (1.0 - progress) ** 3
    radius = scale * (5.0 + 30.0 * ease)
    width = max(1.0, 3.0 * scale * (1.0 - 0.7 * progress))
    core = scale * 7.0 * (1.0 - progress)

    def ring(layer, ox, oy):
        c = _pt(cx - ox, cy - oy)
        cv2.circle(layer, c, _fx(radius), (20, 20, 20), _px(width + 2 * max(1.0, 0.8 * scale)),
                   cv2.LINE_AA, _SHIFT)
        cv2.circle(layer, c, _fx(radius), color, _px(width), cv2.LINE_AA, _SHIFT)
        if core >= 1:
            cv2.circle(layer, c, _fx(core), _mix(color, _WHITE, 0.6), -1, cv2.LINE_AA, _SHIFT)

    m = radius + width + 2 * scale + 2
    _translucent(img, (cx - m, cy - m, cx + m + 1, cy + m + 1), 0.9 * fade, ring)
    _glow(img, (cx, cy), 8.0 * scale, _FLASH, 0.7 * fade)


def draw_spark(img: np.ndarray, center, progress: float, *, drum_class: int, velocity: float,
               scale: float) -> None:
    """A hit's spark: rays in the drum's colour bursting from ``center``; ``progress`` in [0, 1).

    Louder hits burst further. Each class has its own ray angles, so
    simultaneous hits (kick and hi-hat on the beat) interleave instead of
    covering each other; rays have a dark rim so they show on any background.
    """
    if not (0 <= progress < 1) or not np.all(np.isfinite(center)):
        return
    cx, cy = float(center[0]), float(center[1])
    color = _mix(CLASS_COLORS_BGR[drum_class], _WHITE, 0.3 * (1.0 - progress))
    v = 0.4 + 0.6 * float(np.clip(velocity, 0.0, 1.0))
    ease = 1.0 - (1.0 - progress) ** 2
    n = 6
    r0 = scale * (6.0 + 28.0 * v * ease)
    r1 = r0 + scale * (6.0 + 14.0 * v) * (1.0 - progress) + scale
    width = max(1.0, 3.0 * scale * v * (1.0 - 0.5 * progress))
    rim = max(1.0, 0.8 * scale)
    base = drum_class * (2 * math.pi / n) / N_DRUM_CLASSES + 0.3

    def rays(layer, ox, oy):
        ends = []
        for k in range(n):
            a = base + k * 2 * math.pi / n
            ca, sa = math.cos(a), math.sin(a)
            ends.append((_pt(cx + r0 * ca - ox, cy + r0 * sa - oy),
                         _pt(cx + r1 * ca - ox, cy + r1 * sa - oy)))
        for p, q in ends:
            cv2.line(layer, p, q, (20, 20, 20), _px(width + 2 * rim), cv2.LINE_AA, _SHIFT)
        for p, q in ends:
            cv2.line(layer, p, q, color, _px(width), cv2.LINE_AA, _SHIFT)

    m = r1 + width + 2 * rim + 2
    _translucent(img, (cx - m, cy - m, cx + m + 1, cy + m + 1), (1.0 - progress) ** 1.2, rays)


def draw_drum_roll(img: np.ndarray, t_s: float, hits, beats_s=(), *, box=None,
                   past_s: float = 2.5, playhead: float = 0.72, step_s: float = 0.125,
                   scale: float | None = None, alpha: float = 0.72) -> None:
    """A scrolling drum roll: one row per drum class, time running right to left.

    Parameters
    ----------
    img : np.ndarray, shape (H, W, 3), uint8
        BGR frame, drawn in place.
    t_s : float
        Now [s], at the playhead.
    hits : iterable of (time_s, drum_class, velocity)
        Hits to show, in the same clock; those right of the playhead are
        scheduled but not played yet (drawn hollow), velocity in [0, 1] sets
        a played hit's brightness.
    beats_s : iterable of float
        Beat times [s], drawn as faint vertical lines.
    box : (x0, y0, x1, y1), optional
        Where to draw; default the bottom 28% of the frame.
    past_s : float
        Seconds shown left of the playhead.
    playhead : float
        Position of the playhead across the grid, in (0, 1).
    step_s : float
        One sixteenth [s] at the current tempo: a hit's block is 60% of it wide.
    scale : float, optional
        :func:`frame_scale`; default from the frame's size.
    alpha : float
        Opacity of the roll's background.
    """
    h, w = img.shape[:2]
    if box is None:
        box = (0, h - roll_panel_height(h), w, h)
    x0, y0, x1, y1 = (int(v) for v in box)
    if x1 - x0 < 4 or y1 - y0 < N_DRUM_CLASSES:
        return
    s = frame_scale(w, h) if scale is None else scale
    _shade(img, (x0, y0, x1, y1), _PANEL, alpha)
    pad = max(1.0, 4.0 * s)
    row_h = (y1 - y0 - 2 * pad) / N_DRUM_CLASSES
    label_px = min(row_h * 0.95, 11.0 * s)
    label_w = max(_TEXT.size(label, int(round(label_px)))[0] for label in CLASS_LABELS)
    gx0 = x0 + (label_w + 2 * pad if label_px >= 5 else pad)
    gx1 = x1 - pad
    xp = gx0 + playhead * (gx1 - gx0)
    pps = (xp - gx0) / past_s
    ahead_s = (gx1 - xp) / pps
    hits = [(float(t), int(c), float(v)) for t, c, v in hits
            if t_s - past_s - 0.1 <= t <= t_s + ahead_s + 0.1]

    def row_y(c):
        """Centre of drum class ``c``'s row: kick at the bottom, as in the figures."""
        return y1 - pad - (c + 0.5) * row_h

    # Row stripes make a hit's row easy to follow across the roll.
    for c in range(0, N_DRUM_CLASSES, 2):
        _shade(img, (gx0, row_y(c) - row_h / 2, gx1, row_y(c) + row_h / 2), (60, 52, 48), 0.35)
    for b in beats_s:
        x = xp + (b - t_s) * pps
        if gx0 <= x <= gx1:
            cv2.line(img, _pt(x, y0 + pad), _pt(x, y1 - pad), (95, 90, 88) if b <= t_s
                     else (75, 72, 70), _px(s), cv2.LINE_AA, _SHIFT)
    fade_box = _clip_box(img, gx0, y0, gx0 + 0.15 * (gx1 - gx0), y1)
    before = None if fade_box is None else \
        img[fade_box[1]:fade_box[3], fade_box[0]:fade_box[2]].copy()
    sounding = np.zeros(N_DRUM_CLASSES)
    block_w = max(2.0, 0.6 * min(max(step_s, 0.04), 0.25) * pps)
    for t, c, v in hits:
        x = xp + (t - t_s) * pps
        if x + block_w < gx0 or x - block_w > gx1:
            continue
        base = CLASS_COLORS_BGR[c]
        half_h = 0.36 * row_h
        age = t_s - t
        if age < 0:  # scheduled, not yet played: hollow
            fill = _mix(_PANEL, base, 0.3)
            edge = _mix(_PANEL, base, 0.9)
        else:
            lit = max(0.0, 1.0 - age / 0.15)
            sounding[c] = max(sounding[c], lit)
            half_h *= 1.0 + 0.35 * lit
            fill = _mix(_mix(_PANEL, base, 0.5 + 0.5 * v), _WHITE, 0.55 * lit)
            edge = fill
        xa, xb = max(x - block_w / 2, gx0), min(x + block_w / 2, gx1)
        ya, yb = row_y(c) - half_h, row_y(c) + half_h
        cv2.rectangle(img, _pt(xa, ya), _pt(xb, yb), fill, -1, cv2.LINE_AA, _SHIFT)
        if age < 0:
            cv2.rectangle(img, _pt(xa, ya), _pt(xb, yb), edge, _px(0.9 * s), cv2.LINE_AA, _SHIFT)
    # The oldest hits fade out at the left edge of the grid.
    _fade_in(img, before, fade_box)
    if label_px >= 5:
        for c, label in enumerate(CLASS_LABELS):
            color = _mix(_mix(CLASS_COLORS_BGR[c], _WHITE, 0.25), _WHITE, sounding[c])
            _TEXT.put(img, label, gx0 - pad, row_y(c), label_px, color, anchor="rm",
                      bold=sounding[c] > 0.3, alpha=0.75 + 0.25 * sounding[c])
    # The playhead: everything left of it has sounded.
    cv2.line(img, _pt(xp, y0 + pad * 0.5), _pt(xp, y1 - pad * 0.5), _WHITE, _px(1.6 * s),
             cv2.LINE_AA, _SHIFT)
    tri = max(2.0, 4.0 * s)
    pts = np.array([_pt(xp - tri, y0), _pt(xp + tri, y0), _pt(xp, y0 + 1.3 * tri)], np.int32)
    cv2.fillConvexPoly(img, pts, _WHITE, cv2.LINE_AA, _SHIFT)
    cv2.line(img, (x0, y0), (x1 - 1, y0), (90, 80, 75), 1, cv2.LINE_AA)


def _fade_in(img, before, box) -> None:
    """Blend ``img``'s ``box`` back to ``before``: fully at its left side, not at its right."""
    if box is None:
        return
    x0, y0, x1, y1 = box
    a = np.linspace(1.0, 0.0, x1 - x0, dtype=np.float32)[None, :, None] ** 1.5
    roi = img[y0:y1, x0:x1]
    roi[:] = (before * a + roi * (1.0 - a) + 0.5).astype(np.uint8)


def draw_hud(img: np.ndarray, *, scale: float, tempo_bpm: float | None, confidence: float,
             feel: str, mode: str, status: str, pulse: float = 0.0) -> None:
    """A small panel at the top left: tempo, beat confidence, feel and mode, tracking status.

    Parameters
    ----------
    img : np.ndarray, shape (H, W, 3), uint8
        BGR frame, drawn in place.
    scale : float
        :func:`frame_scale` of the frame.
    tempo_bpm : float or None
        Tempo of the current beats [BPM]; None while there is no beat.
    confidence : float
        Beat tracker confidence in [0, 1].
    feel, mode : str
        The feel being played (e.g. "funk") and "poly" or "mono".
    status : str
        Tracking status ("tracking", "no person in frame", ...).
    pulse : float
        Beat emphasis in [0, 1]: the beat light flashes with it.
    """
    s = scale
    m = 8.0 * s
    big, small = 20.0 * s, 10.5 * s
    if small < 5:
        # Too small for text: only the beat light.
        _glow(img, (3 + 2 * s, 3 + 2 * s), max(1.0, 2 * s), _FLASH, pulse)
        return
    tempo = f"{tempo_bpm:.0f}" if tempo_bpm else "--"
    tw, th = _TEXT.size(tempo, int(round(big)), True)
    uw, _ = _TEXT.size("BPM", int(round(small)), True)
    line2 = f"{feel}  \u00b7  {mode}"
    status_color = _OK if status == "tracking" else (_BAD if "no person" in status else _WARN)
    l2w, l2h = _TEXT.size(line2, int(round(small)))
    stw, sth = _TEXT.size(status, int(round(small)))
    dot = 4.0 * s
    width = max(tw + uw + 4 * dot + 3 * s, l2w, stw + 3 * dot) + 2 * m
    height = th + l2h + sth + 6.0 * s + 2 * m
    x0, y0 = m, m
    _translucent(img, (x0, y0, x0 + width, y0 + height), 0.72, lambda layer, ox, oy: _rounded(
        layer, x0 - ox, y0 - oy, x0 + width - ox, y0 + height - oy, 6 * s, _PANEL))
    x, y = x0 + m, y0 + m * 0.7
    # Beat light, then the tempo.
    cy = y + th * 0.55
    cv2.circle(img, _pt(x + dot, cy), _fx(dot), _mix((70, 60, 55), _FLASH, pulse), -1,
               cv2.LINE_AA, _SHIFT)
    _glow(img, (x + dot, cy), dot * 1.4, _FLASH, 0.8 * pulse)
    x += 3 * dot
    _TEXT.put(img, tempo, x, y, big, _WHITE, bold=True)
    _TEXT.put(img, "BPM", x + tw + 3 * s, y + th * 0.78, small, (200, 200, 200), bold=True,
              anchor="lb")
    # Confidence bar under the tempo.
    y += th + 1.5 * s
    bar_w, bar_h = width - 2 * m, max(1.0, 2.5 * s)
    cv2.rectangle(img, _pt(x0 + m, y), _pt(x0 + m + bar_w, y + bar_h), (70, 62, 58), -1,
                  cv2.LINE_AA, _SHIFT)
    c = float(np.clip(confidence, 0.0, 1.0))
    if c > 0:
        cv2.rectangle(img, _pt(x0 + m, y), _pt(x0 + m + c * bar_w, y + bar_h),
                      _mix(_WARN, _OK, (c - 0.4) / 0.5), -1, cv2.LINE_AA, _SHIFT)
    y += bar_h + 2.5 * s
    _TEXT.put(img, line2, x0 + m, y, small, (225, 225, 225))
    y += l2h + 1.0 * s
    cv2.circle(img, _pt(x0 + m + dot * 0.7, y + sth * 0.55), _fx(dot * 0.7), status_color, -1,
               cv2.LINE_AA, _SHIFT)
    _TEXT.put(img, status, x0 + m + 2.2 * dot, y, small, status_color)


def _rounded(img, x0, y0, x1, y1, r, color) -> None:
    """A filled rectangle with rounded corners of radius ``r``."""
    r = max(0.0, min(r, (x1 - x0) / 2, (y1 - y0) / 2))
    cv2.rectangle(img, _pt(x0 + r, y0), _pt(x1 - r, y1), color, -1, cv2.LINE_AA, _SHIFT)
    cv2.rectangle(img, _pt(x0, y0 + r), _pt(x1, y1 - r), color, -1, cv2.LINE_AA, _SHIFT)
    if r >= 1:
        for cx, cy in ((x0 + r, y0 + r), (x1 - r, y0 + r), (x0 + r, y1 - r), (x1 - r, y1 - r)):
            cv2.circle(img, _pt(cx, cy), _fx(r), color, -1, cv2.LINE_AA, _SHIFT)


# --------------------------------------------------------------------------- the overlay


class Overlay:
    """The engine's events so far, drawn onto frames; one instance per stream.

    Feed it every event the engine emits (:meth:`add_events`) and draw each
    frame with its capture time (:meth:`draw`); both in the same clock (the
    capture clock of :mod:`ibeat_video.capture`). Events older than the drum
    roll's window are forgotten, so a long live session stays small.

    Parameters
    ----------
    config : OverlayConfig
    mode : str
        The session's mode ("poly" or "mono"), for the HUD.
    feel : str
        The feel asked for; the HUD shows each beat's own feel once beats come.
    """

    def __init__(self, config: OverlayConfig = OverlayConfig(), *, mode: str = "poly",
                 feel: str = "any"):
        self.config = config
        self.mode = mode
        self.requested_feel = feel
        self.reset()

    def reset(self):
        """Forget every event; the next frame starts a new stream."""
        self._beats: list[BeatCue] = []       # sorted by time_s
        self._hits: list[DrumHit] = []        # sorted by time_s
        self._hit_times: list[float] = []
        self._drivers: dict[int, tuple[int, float, float]] = {}  # beat index -> joint, x, y
        self._last_cue: BeatCue | None = None
        self._body_px: float | None = None
        self.feel = self.requested_feel

    def output_size(self, width: int, height: int) -> tuple[int, int]:
        """``(width, height)`` [px] of what :meth:`draw` returns for a frame of that size."""
        if self.config.layout == "below":
            return width, height + roll_panel_height(height, self.config)
        return width, height

    def add_events(self, events) -> None:
        """Take events the engine emitted (:class:`BeatCue`, :class:`DrumHit`; others ignored)."""
        for e in events:
            if isinstance(e, DrumHit):
                i = bisect.bisect_right(self._hit_times, e.time_s)
                self._hit_times.insert(i, e.time_s)
                self._hits.insert(i, e)
                self._drivers.setdefault(e.beat_index, (e.joint, e.joint_x, e.joint_y))
            elif isinstance(e, BeatCue):
                i = bisect.bisect_right([b.time_s for b in self._beats], e.time_s)
                self._beats.insert(i, e)
                self._last_cue = e
                self.feel = e.feel

    def _forget(self, t_s: float) -> None:
        horizon = t_s - self.config.past_s - max(self.config.spark_s, self.config.ring_s) - 1.0
        i = bisect.bisect_left(self._hit_times, horizon)
        if i:
            del self._hits[:i], self._hit_times[:i]
        keep = [b for b in self._beats if b.time_s >= horizon]
        if len(keep) != len(self._beats):
            self._beats = keep
            live = {b.index for b in keep} | {h.beat_index for h in self._hits}
            self._drivers = {k: v for k, v in self._drivers.items() if k in live}

    def _body_scale(self, keypoints, frame_s: float) -> float:
        """Size multiplier of the skeleton and effects: the frame's, smaller for a distant dancer.

        From the person's size (the larger side of the box around the
        confident joints), smoothed over frames so sizes do not flicker; a
        person filling the frame height at 640x360 is 1.
        """
        if keypoints is not None:
            kp = keypoints
            ok = np.all(np.isfinite(kp[:, :2]), axis=1)
            if kp.shape[1] > 2:
                ok &= np.nan_to_num(kp[:, 2]) >= self.config.min_confidence
            if ok.sum() >= 4:
                size = float(np.max(kp[ok, :2].max(axis=0) - kp[ok, :2].min(axis=0)))
                self._body_px = size if self._body_px is None else \
                    0.85 * self._body_px + 0.15 * size
        if self._body_px is None:
            return frame_s
        return float(np.clip(self._body_px / _BODY_REF_PX, 0.45 * frame_s, frame_s))

    def _joint_xy(self, beat_index: int, keypoints) -> tuple[float, float] | None:
        """Where the joint driving a beat is now (its last known place if it is lost)."""
        driver = self._drivers.get(beat_index)
        if driver is None:
            return None
        j, x, y = driver
        if keypoints is not None:
            kp = np.asarray(keypoints, dtype=np.float64)
            if np.all(np.isfinite(kp[j, :2])):
                return float(kp[j, 0]), float(kp[j, 1])
        return (x, y) if np.isfinite(x) and np.isfinite(y) else None

    def draw(self, bgr: np.ndarray, t_s: float, keypoints, status: str = "tracking") -> np.ndarray:
        """Draw frame ``t_s``.

        Parameters
        ----------
        bgr : np.ndarray, shape (H, W, 3), uint8
            The camera or video frame.
        t_s : float
            Its capture time [s], the clock of the events.
        keypoints : array_like, shape (17, 2|3), or None
            The pose in this frame, in its pixels (None: no person).
        status : str
            Tracking status to show ("tracking", "no person in frame", ...).

        Returns
        -------
        np.ndarray, uint8
            The annotated frame: ``bgr`` itself, drawn in place, for layout
            "inside"; a new frame with the drum roll panel under the picture,
            ``(H + roll_panel_height(H), W, 3)``, for layout "below".
        """
        if not (isinstance(bgr, np.ndarray) and bgr.dtype == np.uint8 and bgr.ndim == 3
                and bgr.shape[2] == 3):
            what = f"{getattr(bgr, 'shape', None)} {getattr(bgr, 'dtype', type(bgr))}"
            raise ParameterError(f"bgr must be an (H, W, 3) uint8 image, got {what}")
        cfg = self.config
        t_s = float(t_s)
        self._forget(t_s)
        h, w = bgr.shape[:2]
        s = frame_scale(w, h)
        if cfg.layout == "below":
            panel = roll_panel_height(h, cfg)
            out = np.empty((h + panel, w, 3), np.uint8)
            out[:h] = bgr
            out[h:] = _PANEL
            roll_box, roll_alpha = (0, h, w, h + panel), 1.0
        else:
            out = bgr
            roll_box, roll_alpha = (0, h - roll_panel_height(h, cfg), w, h), 0.72
        picture = out[:h]
        if keypoints is not None:
            keypoints = np.asarray(keypoints, dtype=np.float64)
        bs = self._body_scale(keypoints, s)

        # The latest beat that has sounded, and how long ago.
        played = [b for b in self._beats if b.time_s <= t_s]
        beat = played[-1] if played else None
        age = t_s - beat.time_s if beat is not None else np.inf
        pulse = max(0.0, 1.0 - age / cfg.flash_s) ** 2 if cfg.effects else 0.0

        if cfg.effects and beat is not None and age < cfg.ring_s:
            draw_beat_flash(picture, 0.8 * pulse, scale=s)
        driver = self._drivers.get(beat.index) if beat is not None else None
        if cfg.skeleton and keypoints is not None:
            draw_skeleton(picture, keypoints, scale=bs, min_confidence=cfg.min_confidence,
                          pulse=pulse, highlight=driver[0] if driver and pulse > 0 else None)
        if cfg.effects:
            if beat is not None and age < cfg.ring_s:
                xy = self._joint_xy(beat.index, keypoints)
                if xy is not None:
                    draw_joint_ring(picture, xy, age / cfg.ring_s, scale=max(bs, 0.7 * s))
            lo = bisect.bisect_left(self._hit_times, t_s - cfg.spark_s)
            hi = bisect.bisect_right(self._hit_times, t_s)
            for hit in self._hits[lo:hi]:
                xy = self._joint_xy(hit.beat_index, keypoints)
                if xy is not None:
                    draw_spark(picture, xy, (t_s - hit.time_s) / cfg.spark_s,
                               drum_class=hit.drum_class, velocity=hit.velocity,
                               scale=max(bs, 0.7 * s))
        if cfg.roll:
            draw_drum_roll(out, t_s, ((h_.time_s, h_.drum_class, h_.velocity) for h_ in self._hits),
                           [b.time_s for b in self._beats], box=roll_box, past_s=cfg.past_s,
                           playhead=cfg.playhead, scale=s, alpha=roll_alpha,
                           step_s=15.0 / self._last_cue.tempo_bpm if self._last_cue else 0.125)
        if cfg.hud:
            cue = self._last_cue
            # A tempo is shown while beats keep coming; after a few silent beats it is stale.
            fresh = cue is not None and t_s - cue.time_s < 4 * 60.0 / cue.tempo_bpm
            draw_hud(picture, scale=s, tempo_bpm=cue.tempo_bpm if fresh else None,
                     confidence=cue.confidence if fresh else 0.0, feel=self.feel, mode=self.mode,
                     status=status, pulse=pulse)
        return out
