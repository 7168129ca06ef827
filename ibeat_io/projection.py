"""Virtual pinhole cameras that turn 3D motion capture into 2D training views.

World frame: metres, right-handed, y up, floor at y = 0 (the convention of
:class:`Mocap3D`). Image frame: pixels, origin at the top-left corner, x to
the right, y down. A camera is upright (no roll) unless asked otherwise.

:func:`to_2d_views` is the one-call path from a :class:`Mocap3D` clip to
COCO-17 ``(T, 17, 3)`` keypoints as a pose detector would report them:
random camera (:func:`random_camera`), projection (:func:`project`), then
jitter, dropouts and confidences (:func:`add_detector_noise`). All randomness
comes from an explicit :class:`numpy.random.Generator`.
"""

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import uniform_filter1d

from ibeat_core.errors import ParameterError
from ibeat_core.keypoints import valid_keypoints
from ibeat_core.skeleton import N_JOINTS, TORSO

__all__ = [
    "DEFAULT_IMAGE_SIZE",
    "PERSON_HEIGHT_M",
    "Mocap3D",
    "PinholeCamera",
    "look_at_camera",
    "random_camera",
    "project",
    "add_detector_noise",
    "to_2d_views",
]

# (width, height) in pixels of the video the 2D views imitate: 1080p landscape.
DEFAULT_IMAGE_SIZE = (1920, 1080)
# Height of a typical standing adult, used to size the person in the image.
PERSON_HEIGHT_M = 1.7
# Points closer than this in front of the camera (or behind it) are dropped.
NEAR_PLANE_M = 0.05
# Person height in pixels at which ``jitter_px`` applies unscaled (half a 1080p frame).
REFERENCE_PERSON_PX = 540.0
# Window of the moving average a following camera tracks the pelvis with: long
# enough to keep beat-rate sway (>= 0.5 Hz) in the image, short enough to
# keep a travelling dancer in frame.
FOLLOW_WINDOW_S = 2.0

_UP = np.array([0.0, 1.0, 0.0])
_HIPS = TORSO[2:]  # left_hip, right_hip


@dataclass(frozen=True, eq=False)
class Mocap3D:
    """A motion-capture clip as 3D COCO-17 joints.

    Parameters
    ----------
    name : str
        Clip identifier, e.g. ``"DANCE_W_1"`` or ``"60_01"``.
    joints : np.ndarray, shape (T, 17, 3), float32
        Joint positions in metres, right-handed, y up, floor at y = 0.
        Stored as a read-only copy.
    fps : float
        Frame rate in Hz, > 0.
    dance : str, optional
        Dance style, e.g. ``"waltz"`` or ``"salsa"``.
    beat_times_s : np.ndarray, shape (N,), float64, optional
        Beat times in seconds from frame 0, non-decreasing; None when the
        clip has no beat annotation.

    Examples
    --------
    >>> import numpy as np
    >>> clip = Mocap3D(name="still", joints=np.zeros((50, 17, 3)), fps=25.0)
    >>> clip.n_frames, clip.duration_s
    (50, 2.0)
    """

    name: str
    joints: np.ndarray
    fps: float
    dance: str | None = None
    beat_times_s: np.ndarray | None = None

    def __post_init__(self):
        joints = np.array(self.joints, dtype=np.float32)
        if joints.ndim != 3 or joints.shape[1:] != (N_JOINTS, 3):
            raise ParameterError(
                f"joints must have shape (T, {N_JOINTS}, 3), got {joints.shape}"
            )
        if not self.fps > 0:
            raise ParameterError(f"fps must be > 0 Hz, got {self.fps!r}")
        joints.setflags(write=False)
        object.__setattr__(self, "joints", joints)
        if self.beat_times_s is not None:
            beats = np.array(self.beat_times_s, dtype=np.float64)
            if beats.ndim != 1 or np.any(np.diff(beats) < 0):
                raise ParameterError(
                    f"beat_times_s must be 1-D and non-decreasing, got shape {beats.shape}"
                )
            beats.setflags(write=False)
            object.__setattr__(self, "beat_times_s", beats)

    @property
    def n_frames(self):
        """Number of frames ``T``."""
        return self.joints.shape[0]

    @property
    def duration_s(self):
        """Clip length in seconds, ``T / fps``."""
        return self.n_frames / self.fps


@dataclass(frozen=True)
class PinholeCamera:
    """An ideal pinhole camera (square pixels, principal point at the centre).

    Parameters
    ----------
    position_m : tuple of 3 floats
        Camera centre in world metres.
    yaw_rad : float
        Heading about world +y; 0 looks along +z, pi/2 along +x.
    pitch_rad : float
        Elevation of the optical axis, positive looks up; |pitch| < pi/2.
    focal_px : float
        Focal length in pixels, > 0.
    width_px, height_px : int
        Image size in pixels.
    roll_rad : float
        Rotation about the optical axis (a tilted handheld camera).
    """

    position_m: tuple
    yaw_rad: float
    pitch_rad: float
    focal_px: float
    width_px: int = DEFAULT_IMAGE_SIZE[0]
    height_px: int = DEFAULT_IMAGE_SIZE[1]
    roll_rad: float = 0.0

    def __post_init__(self):
        pos = tuple(float(v) for v in np.ravel(self.position_m))
        if len(pos) != 3 or not np.all(np.isfinite(pos)):
            raise ParameterError(f"position_m must be 3 finite numbers, got {self.position_m!r}")
        object.__setattr__(self, "position_m", pos)
        if not abs(self.pitch_rad) < np.pi / 2:
            raise ParameterError(f"|pitch_rad| must be < pi/2, got {self.pitch_rad!r}")
        if not self.focal_px > 0:
            raise ParameterError(f"focal_px must be > 0, got {self.focal_px!r}")
        if not (self.width_px > 0 and self.height_px > 0):
            raise ParameterError(
                f"image size must be positive, got {self.width_px}x{self.height_px}"
            )

    def rotation(self):
        """World-to-camera rotation.

        Returns
        -------
        R : np.ndarray, shape (3, 3), float64
            Rows are the camera's right, down and forward axes in world
            coordinates, so ``R @ (p - position)`` is in camera coordinates.
        """
        cp = np.cos(self.pitch_rad)
        forward = np.array([cp * np.sin(self.yaw_rad), np.sin(self.pitch_rad),
                            cp * np.cos(self.yaw_rad)])
        right = np.cross(forward, _UP)
        right /= np.linalg.norm(right)
        down = np.cross(forward, right)
        c, s = np.cos(self.roll_rad), np.sin(self.roll_rad)
        return np.stack([c * right + s * down, -s * right + c * down, forward])


def look_at_camera(target, *, distance_m, height_m, azimuth_rad, focal_px,
                   image_size=DEFAULT_IMAGE_SIZE, roll_rad=0.0):
    """Place an upright camera around a target point, aimed at it.

    Parameters
    ----------
    target : array_like, shape (3,)
        World point in metres that lands on the image centre.
    distance_m : float
        Horizontal distance from the target, > 0.
    height_m : float
        Camera height: world y in metres (height above the floor).
    azimuth_rad : float
        Direction from the target to the camera about +y; 0 puts the
        camera on the target's +z side.
    focal_px : float
        Focal length in pixels.
    image_size : (int, int)
        ``(width, height)`` in pixels.
    roll_rad : float
        Rotation about the optical axis.

    Returns
    -------
    PinholeCamera

    Examples
    --------
    >>> cam = look_at_camera([0.0, 1.0, 0.0], distance_m=4.0, height_m=1.0,
    ...                      azimuth_rad=0.0, focal_px=1000.0)
    >>> project([[0.0, 1.0, 0.0]], cam)
    array([[960., 540.]], dtype=float32)
    """
    t = np.asarray(target, dtype=np.float64)
    if t.shape != (3,):
        raise ParameterError(f"target must have shape (3,), got {t.shape}")
    if not distance_m > 0:
        raise ParameterError(f"distance_m must be > 0, got {distance_m!r}")
    position = (t[0] + distance_m * np.sin(azimuth_rad), height_m,
                t[2] + distance_m * np.cos(azimuth_rad))
    return PinholeCamera(
        position_m=position,
        yaw_rad=float(azimuth_rad + np.pi),
        pitch_rad=float(np.arctan2(t[1] - height_m, distance_m)),
        focal_px=focal_px,
        width_px=image_size[0],
        height_px=image_size[1],
        roll_rad=roll_rad,
    )


def random_camera(rng, target, *, distance_range=(3.0, 6.0), height_range=(1.0, 2.0),
                  azimuth_range=(-np.pi, np.pi), person_frac_range=(0.4, 0.6),
                  roll_std_rad=0.03, image_size=DEFAULT_IMAGE_SIZE):
    """Draw a camera like a person filming a dancer, aimed at ``target``.

    The focal length is chosen so that a standing person of
    ``PERSON_HEIGHT_M`` at the target spans a fraction of the image height
    drawn from ``person_frac_range``, as in a typical 1080p dance video.

    Parameters
    ----------
    rng : np.random.Generator
        Source of randomness.
    target : array_like, shape (3,)
        World point in metres to aim at (typically the mean pelvis).
    distance_range : (float, float)
        Horizontal camera-to-target distance range in metres.
    height_range : (float, float)
        Camera height range above the floor in metres.
    azimuth_range : (float, float)
        Azimuth range in radians (see :func:`look_at_camera`); the default
        is the full circle.
    person_frac_range : (float, float)
        Range of person height as a fraction of image height.
    roll_std_rad : float
        Standard deviation of the camera roll in radians.
    image_size : (int, int)
        ``(width, height)`` in pixels.

    Returns
    -------
    PinholeCamera

    Examples
    --------
    >>> import numpy as np
    >>> cam = random_camera(np.random.default_rng(0), [0.0, 0.9, 0.0])
    >>> bool(3.0 <= np.hypot(cam.position_m[0], cam.position_m[2]) <= 6.0)
    True
    """
    t = np.asarray(target, dtype=np.float64)
    if t.shape != (3,):
        raise ParameterError(f"target must have shape (3,), got {t.shape}")
    distance = rng.uniform(*distance_range)
    height = rng.uniform(*height_range)
    azimuth = rng.uniform(*azimuth_range)
    frac = rng.uniform(*person_frac_range)
    roll = rng.normal(0.0, roll_std_rad)
    depth = np.hypot(distance, height - t[1])
    return look_at_camera(
        t,
        distance_m=distance,
        height_m=height,
        azimuth_rad=azimuth,
        focal_px=frac * image_size[1] * depth / PERSON_HEIGHT_M,
        image_size=image_size,
        roll_rad=roll,
    )


def project(points3d, camera):
    """Project world points into a camera's image.

    Parameters
    ----------
    points3d : array_like, shape (..., 3)
        World points in metres, e.g. joints ``(T, J, 3)``.
    camera : PinholeCamera

    Returns
    -------
    pixels : np.ndarray, shape (..., 2), float32
        Image coordinates ``(x, y)`` in pixels, y down. Points behind the
        camera (or within ``NEAR_PLANE_M`` of it) and NaN inputs give NaN.
        Points outside the image are kept.

    Examples
    --------
    >>> cam = PinholeCamera(position_m=(0.0, 1.0, -5.0), yaw_rad=0.0, pitch_rad=0.0,
    ...                     focal_px=1000.0)
    >>> project([[0.0, 2.0, 0.0], [0.0, 1.0, -6.0]], cam)
    array([[960., 340.],
           [ nan,  nan]], dtype=float32)
    """
    pts = np.asarray(points3d, dtype=np.float64)
    if pts.ndim < 1 or pts.shape[-1] != 3:
        raise ParameterError(f"points3d must have shape (..., 3), got {pts.shape}")
    cam = (pts - np.asarray(camera.position_m)) @ camera.rotation().T
    depth = cam[..., 2]
    with np.errstate(invalid="ignore", divide="ignore"):
        uv = camera.focal_px * cam[..., :2] / depth[..., None]
    uv += np.array([camera.width_px / 2.0, camera.height_px / 2.0])
    uv[~(depth > NEAR_PLANE_M)] = np.nan
    return uv.astype(np.float32)


def add_detector_noise(keypoints, rng, *, jitter_px=0.75, dropout_prob=0.01,
                       burst_mean_frames=2.5, conf_range=(0.3, 1.0)):
    """Make clean 2D keypoints look like a pose detector's output.

    Three effects, drawn independently per frame and joint:

    - confidence, uniform in ``conf_range``;
    - Gaussian jitter, proportional to the person's height in the frame, the
      same for every joint, and up to twice as large for joints at the low end
      of ``conf_range`` (so confidence carries information, as with real
      detectors). The default matches the frame-to-frame jitter of the real
      AIST++ 2D keypoints (about 1% of the torso length per frame, alike for
      face and body joints);
    - dropouts: a burst starts with probability ``dropout_prob`` and lasts a
      geometric number of frames with mean ``burst_mean_frames``.

    Parameters
    ----------
    keypoints : array_like, shape (T, 17, 2) or (T, 17, 3)
        Clean COCO-17 keypoints in pixels; a third column is a confidence
        whose only use is to mark missing joints (0, NaN, or a non-finite
        x or y).
    rng : np.random.Generator
        Source of randomness; the same seed gives the same output.
    jitter_px : float
        Jitter standard deviation in pixels for an average joint of a person
        ``REFERENCE_PERSON_PX`` tall; >= 0.
    dropout_prob : float
        Probability per frame and joint that a dropout burst starts, in [0, 1].
    burst_mean_frames : float
        Mean dropout length in frames, >= 1 (1 gives single-frame dropouts).
    conf_range : (float, float)
        ``(low, high)`` confidence range, ``0 <= low <= high <= 1``.

    Returns
    -------
    noisy : np.ndarray, shape (T, 17, 3), float32
        ``[x, y, confidence]``; input-missing and dropped joints have NaN
        x, y and confidence 0.

    Examples
    --------
    >>> import numpy as np
    >>> clean = np.tile(np.linspace(100.0, 600.0, 17)[:, None], (10, 1, 2))
    >>> noisy = add_detector_noise(clean, np.random.default_rng(0), dropout_prob=0.0)
    >>> noisy.shape, bool(np.all(noisy[..., 2] >= 0.3))
    ((10, 17, 3), True)
    """
    kp = valid_keypoints(keypoints)
    lo, hi = conf_range
    if not 0.0 <= lo <= hi <= 1.0:
        raise ParameterError(f"conf_range must satisfy 0 <= low <= high <= 1, got {conf_range!r}")
    if not jitter_px >= 0:
        raise ParameterError(f"jitter_px must be >= 0, got {jitter_px!r}")
    if not 0.0 <= dropout_prob <= 1.0:
        raise ParameterError(f"dropout_prob must be in [0, 1], got {dropout_prob!r}")
    if not burst_mean_frames >= 1:
        raise ParameterError(f"burst_mean_frames must be >= 1, got {burst_mean_frames!r}")

    n_frames = kp.shape[0]
    xy = kp[..., :2]
    missing = ~np.isfinite(xy).all(axis=-1) | ~(kp[..., 2] > 0)

    size_px = _person_height_px(xy[..., 1], missing)
    conf = rng.uniform(lo, hi, size=(n_frames, N_JOINTS))
    spread = 1.0 + (hi - conf) / (hi - lo) if hi > lo else np.ones_like(conf)
    sigma = jitter_px * (size_px / REFERENCE_PERSON_PX)[:, None] * spread
    noisy_xy = xy + rng.standard_normal(xy.shape) * sigma[..., None]

    # Each frame is dropped if some burst that started at or before it still
    # runs: a running maximum of burst end frames over time.
    frame = np.arange(n_frames)[:, None]
    starts = rng.random((n_frames, N_JOINTS)) < dropout_prob
    lengths = rng.geometric(1.0 / burst_mean_frames, size=(n_frames, N_JOINTS))
    last = np.maximum.accumulate(np.where(starts, frame + lengths - 1, -1), axis=0)
    missing |= last >= frame

    out = np.empty((n_frames, N_JOINTS, 3), dtype=np.float32)
    out[..., :2] = np.where(missing[..., None], np.nan, noisy_xy)
    out[..., 2] = np.where(missing, 0.0, conf)
    return out


def to_2d_views(mocap, rng, *, n_views, noise=True, follow=True,
                image_size=DEFAULT_IMAGE_SIZE):
    """Render a 3D clip as 2D keypoints seen by random virtual cameras.

    Parameters
    ----------
    mocap : Mocap3D
        The clip; its joints are in metres, y up, floor at y = 0.
    rng : np.random.Generator
        Source of randomness for cameras and noise.
    n_views : int
        Number of cameras, >= 1.
    noise : bool
        Add detector jitter, dropouts and confidences
        (:func:`add_detector_noise` defaults); otherwise confidence is 1.
    follow : bool
        Imitate a camera operator who follows the dancer: the pelvis path,
        smoothed over ``FOLLOW_WINDOW_S``, is removed horizontally before
        projection, so travelling dancers stay in frame while beat-rate sway
        remains. Without it the cameras are static and aimed at the mean
        pelvis; a dancer may leave the image or pass behind the camera.
    image_size : (int, int)
        ``(width, height)`` in pixels.

    Returns
    -------
    views : list of (np.ndarray, PinholeCamera)
        ``n_views`` pairs of COCO-17 keypoints ``(T, 17, 3)`` float32
        (pixels, y down, confidence) and the camera used.

    Examples
    --------
    >>> import numpy as np
    >>> clip = Mocap3D(name="still", joints=np.full((30, 17, 3), 1.0), fps=30.0)
    >>> views = to_2d_views(clip, np.random.default_rng(0), n_views=2, noise=False)
    >>> [kp.shape for kp, _ in views]
    [(30, 17, 3), (30, 17, 3)]
    """
    if not isinstance(mocap, Mocap3D):
        raise ParameterError(f"mocap must be a Mocap3D, got {type(mocap).__name__}")
    if not (isinstance(n_views, (int, np.integer)) and n_views >= 1):
        raise ParameterError(f"n_views must be an integer >= 1, got {n_views!r}")
    joints = mocap.joints.astype(np.float64)
    pelvis = np.nanmean(joints[:, _HIPS, :], axis=1)
    if follow:
        window = max(1, int(round(FOLLOW_WINDOW_S * mocap.fps)))
        path = uniform_filter1d(pelvis[:, [0, 2]], size=window, axis=0, mode="nearest")
        joints[..., [0, 2]] -= path[:, None, :]
        pelvis[:, [0, 2]] -= path
    target = np.nanmean(pelvis, axis=0)

    views = []
    for _ in range(n_views):
        camera = random_camera(rng, target, image_size=image_size)
        xy = project(joints, camera)
        if noise:
            keypoints = add_detector_noise(xy, rng)
        else:
            missing = np.isnan(xy).any(axis=-1)
            keypoints = np.concatenate([xy, (~missing)[..., None]], axis=-1).astype(np.float32)
        views.append((keypoints, camera))
    return views


def _person_height_px(y, missing):
    """Vertical extent in pixels of the visible joints per frame, shape (T,).

    Frames with fewer than two visible joints take the median of the others
    (``REFERENCE_PERSON_PX`` if no frame has two).
    """
    top = np.min(np.where(missing, np.inf, y), axis=1)
    bottom = np.max(np.where(missing, -np.inf, y), axis=1)
    valid = (~missing).sum(axis=1) >= 2
    height = np.where(valid, bottom - top, np.nan)
    fill = np.median(height[valid]) if valid.any() else REFERENCE_PERSON_PX
    return np.where(valid, height, fill)
