"""AIST++ 3D keypoints (``aistpp-keypoints3d/``) as :class:`~ibeat_io.projection.Mocap3D` clips.

The dataset folder holds ``keypoints3d/<AIST name>.npy`` arrays, float32
``(T, 17, 3)`` COCO-17 joints in centimetres in the AIST++ world frame (y up,
right-handed: the dancer's left cross up points forward), 60 fps; ``index.csv``
lists the clips with their genre, dancer and music id, and
``aist_music_bpm.json`` maps a music id to its tempo in BPM. See the folder's
``SOURCE.md``.

The loader follows :mod:`ibeat_io.mocap`: centimetres to metres, no axis
flipped (the frame is already right-handed and y up), then y shifted so that
the floor (1st percentile of the lowest ankle, minus 8 cm, as for the CMU BVH
files) is at 0; the AIST++ floor sits about 0.7 m below the world origin.
All 17 COCO joints are captured, so none is synthesised.

Only the tempo of the music is known, not the beat phase, so the clips carry
``tempo_bpm`` and ``Mocap3D.beat_times_s`` is None.

>>> AIST_GENRES["BR"], AIST3D_FPS
('break', 60.0)
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ibeat_core.errors import ParameterError
from ibeat_core.skeleton import N_JOINTS
from ibeat_io.datasets import default_data_dir
from ibeat_io.mocap import floor_at_ankles
from ibeat_io.projection import Mocap3D

__all__ = [
    "AISTPP3D_DIR",
    "AIST3D_FPS",
    "AIST_GENRES",
    "Aist3DClip",
    "list_aist3d_clips",
    "load_aist3d_clip",
    "aist_music_tempi",
]

#: Folder of the AIST++ 3D keypoints inside the data root.
AISTPP3D_DIR = "aistpp-keypoints3d"
#: Frame rate of the AIST++ keypoints in Hz.
AIST3D_FPS = 60.0
#: Genre code (the ``g..`` of an AIST name) -> dance style, used as ``Mocap3D.dance``.
AIST_GENRES = {
    "BR": "break", "PO": "pop", "LO": "lock", "MH": "middle hip-hop", "LH": "LA hip-hop",
    "HO": "house", "WA": "waack", "KR": "krump", "JS": "street jazz", "JB": "ballet jazz",
}

_CM_TO_M = 0.01
_KEYPOINTS = "keypoints3d"
_INDEX = "index.csv"
_TEMPI = "aist_music_bpm.json"


@dataclass(frozen=True, eq=False)
class Aist3DClip:
    """One AIST++ 3D clip with its metadata.

    Attributes
    ----------
    mocap : Mocap3D
        ``joints`` (T, 17, 3) float32 in metres, right-handed, y up, floor
        at y = 0; ``fps`` = 60.0; ``dance`` the genre's name (e.g.
        ``"break"``); ``beat_times_s`` None (the beat phase is not known).
    genre : str
        Genre code, e.g. ``"BR"``.
    dancer : str
        Dancer id, e.g. ``"d04"``.
    music_id : str
        AIST music id, e.g. ``"mBR0"``.
    tempo_bpm : float
        Tempo of that music in beats per minute (``aist_music_bpm.json``).
    """

    mocap: Mocap3D
    genre: str
    dancer: str
    music_id: str
    tempo_bpm: float

    @property
    def name(self):
        """The AIST name, e.g. ``"gBR_sBM_cAll_d04_mBR0_ch04"``."""
        return self.mocap.name


def list_aist3d_clips(root=None):
    """List the AIST++ 3D clips of the index whose file is present.

    Parameters
    ----------
    root : str or Path, optional
        The data root (holding ``aistpp-keypoints3d/``) or that folder
        itself; None reads ``$IBEAT_DATA``.

    Returns
    -------
    paths : list of Path
        ``<folder>/keypoints3d/<AIST name>.npy`` for every row of
        ``index.csv`` whose file exists, sorted by name (55 in the shared
        copy; files of held-back dancers are simply absent).

    Raises
    ------
    FileNotFoundError
        If the folder or its ``index.csv`` is missing.
    """
    folder = _dataset_folder(root)
    rows = _read_index(folder)
    paths = [folder / _KEYPOINTS / f"{name}.npy" for name in sorted(rows)]
    return [p for p in paths if p.is_file()]


def load_aist3d_clip(clip, root=None):
    """Load one AIST++ 3D clip as metres, y up, floor at 0, with its tempo.

    Parameters
    ----------
    clip : str or Path
        An AIST name (``"gBR_sBM_cAll_d04_mBR0_ch04"``, with or without
        ``.npy``) or the path of its ``.npy`` file.
    root : str or Path, optional
        The data root or the ``aistpp-keypoints3d`` folder. Needed for a bare
        name (None reads ``$IBEAT_DATA``); for a path it defaults to the
        folder above ``keypoints3d/``.

    Returns
    -------
    Aist3DClip
        ``mocap.joints`` (T, 17, 3) float32 metres at 60 fps, plus genre,
        dancer, music id and ``tempo_bpm``.

    Raises
    ------
    FileNotFoundError
        If the folder, its index or tempo table, or the clip's file is missing.
    ParameterError
        If the clip is not listed in ``index.csv``, its music id has no
        tempo, or the array is not a finite ``(T, 17, 3)`` array.

    Examples
    --------
    >>> clip = load_aist3d_clip("gBR_sBM_cAll_d04_mBR0_ch04")  # doctest: +SKIP
    >>> clip.tempo_bpm, clip.mocap.fps, clip.mocap.joints.shape  # doctest: +SKIP
    (80.0, 60.0, (720, 17, 3))
    """
    path = Path(clip)
    name = path.name.removesuffix(".npy")
    if root is None and path.suffix == ".npy" and path.parent.name == _KEYPOINTS:
        root = path.parent.parent
    folder = _dataset_folder(root)
    rows = _read_index(folder)
    if name not in rows:
        raise ParameterError(f"unknown AIST++ 3D clip {name!r}: not listed in {folder / _INDEX}")
    row = rows[name]
    file = path if path.suffix == ".npy" and path.is_file() else folder / _KEYPOINTS / f"{name}.npy"
    if not file.is_file():
        raise FileNotFoundError(f"{file} does not exist (clip {name} is listed but absent)")
    tempi = aist_music_tempi(folder)
    music_id = row["music_id"]
    if music_id not in tempi:
        raise ParameterError(f"{name}: music id {music_id!r} is not in {folder / _TEMPI}")

    points = np.load(file, allow_pickle=False)
    if points.ndim != 3 or points.shape[1:] != (N_JOINTS, 3) or len(points) == 0:
        raise ParameterError(f"{file.name}: expected keypoints (T, {N_JOINTS}, 3), "
                             f"got {points.shape}")
    if not np.isfinite(points).all():
        raise ParameterError(f"{file.name}: keypoints hold NaN or infinite values")
    joints = points.astype(np.float64) * _CM_TO_M
    floor_at_ankles(joints)

    genre = row["genre"]
    mocap = Mocap3D(name=name, joints=joints, fps=AIST3D_FPS, dance=AIST_GENRES.get(genre, genre))
    return Aist3DClip(mocap=mocap, genre=genre, dancer=row["dancer"], music_id=music_id,
                      tempo_bpm=float(tempi[music_id]))


def aist_music_tempi(root=None):
    """The AIST music id -> tempo table of the dataset.

    Parameters
    ----------
    root : str or Path, optional
        The data root or the ``aistpp-keypoints3d`` folder; None reads
        ``$IBEAT_DATA``.

    Returns
    -------
    tempi : dict
        Music id (``"mBR0"``) -> tempo in BPM (float).

    Raises
    ------
    FileNotFoundError
        If the folder or ``aist_music_bpm.json`` is missing.
    """
    path = _dataset_folder(root) / _TEMPI
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist (the music tempo table)")
    return {key: float(value) for key, value in json.loads(path.read_text()).items()}


def _dataset_folder(root):
    """The ``aistpp-keypoints3d`` folder from a data root or the folder itself."""
    base = Path(root) if root is not None else default_data_dir()
    if base is None:
        raise FileNotFoundError("no data directory given: pass root or set $IBEAT_DATA")
    for candidate in (base / AISTPP3D_DIR, base):
        if (candidate / _INDEX).is_file() and (candidate / _KEYPOINTS).is_dir():
            return candidate
    raise FileNotFoundError(f"{base} holds no {AISTPP3D_DIR}/ folder with {_INDEX} "
                            f"and {_KEYPOINTS}/")


def _read_index(folder):
    """Rows of ``index.csv`` keyed by AIST name."""
    with open(folder / _INDEX, newline="") as f:
        rows = list(csv.DictReader(f))
    missing = {"file", "genre", "dancer", "music_id"} - set(rows[0] if rows else {})
    if missing:
        raise ParameterError(f"{folder / _INDEX} lacks columns {sorted(missing)}")
    return {Path(row["file"]).name.removesuffix(".npy"): row for row in rows}
