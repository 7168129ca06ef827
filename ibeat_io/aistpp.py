"""AIST++ ``keypoints2d`` files: COCO-17 keypoints of 9 camera views at 60 fps.

Each pickle holds ``keypoints2d`` (9, T, 17, 3) float32 ``[x_px, y_px, score]``
in the 1920x1080 source video, ``det_scores`` (9, T) and ``timestamps`` (T,)
int64 microseconds. Frames where detection failed are NaN; they are kept as
missing joints (never dropped or zero-filled), with their timestamps.
"""

from __future__ import annotations

import pickle
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ibeat_core.errors import ParameterError

__all__ = ["AISTPP_DIR", "MUSIC_TEMPO_BPM", "AistClip", "music_tempo", "load_aist_clip",
           "list_aist_files", "N_VIEWS"]

#: Folder of the AIST++ sample inside the data root.
AISTPP_DIR = "aistpp-keypoints2d-sample"
N_VIEWS = 9

# AIST music ids mXX0..mXX5 map to fixed tempi [BPM]; House (mHO) differs.
MUSIC_TEMPO_BPM = {"default": (80, 90, 100, 110, 120, 130), "HO": (110, 115, 120, 125, 130, 135)}

_NAME = re.compile(r"g(?P<genre>[A-Z]{2})_s(?P<situation>[A-Z]{2})_c(?P<camera>\w+?)_"
                   r"d(?P<dancer>\d+)_m(?P<mgenre>[A-Z]{2})(?P<mnum>\d)_ch(?P<choreo>\d+)")


@dataclass(frozen=True)
class AistClip:
    """One view of one AIST++ sequence.

    Attributes
    ----------
    name : str
        Sequence name, e.g. ``gBR_sBM_cAll_d04_mBR0_ch01``.
    view : int
        Camera view index 0..8 (0 = c01, frontal).
    timestamps_s : np.ndarray, shape (T,)
    keypoints : np.ndarray, shape (T, 17, 3)
        ``[x_px, y_px, score]``, NaN where detection failed.
    tempo_bpm : float or None
        The music's tempo from its id, None if the name carries none.
    """

    name: str
    view: int
    timestamps_s: np.ndarray
    keypoints: np.ndarray
    tempo_bpm: float | None


def music_tempo(name: str) -> float | None:
    """Tempo [BPM] of the AIST music in a sequence name, None if it has no music id.

    Examples
    --------
    >>> music_tempo("gBR_sBM_cAll_d04_mBR0_ch01"), music_tempo("gHO_sBM_c01_d19_mHO3_ch02")
    (80.0, 125.0)
    """
    m = _NAME.search(name)
    if m is None:
        return None
    table = MUSIC_TEMPO_BPM.get(m["mgenre"], MUSIC_TEMPO_BPM["default"])
    idx = int(m["mnum"])
    return float(table[idx]) if idx < len(table) else None


def list_aist_files(root) -> list[Path]:
    """The ``*.pkl`` files under ``root`` (a data root, the AIST++ folder or its ``keypoints2d``)."""
    root = Path(root)
    for candidate in (root / AISTPP_DIR / "keypoints2d", root / "keypoints2d", root):
        files = sorted(candidate.glob("*.pkl"))
        if files:
            return files
    return []


def load_aist_clip(path, *, view: int = 0) -> AistClip:
    """Load one view of an AIST++ keypoints2d pickle.

    Parameters
    ----------
    path : path-like
    view : int
        Camera view 0..8.

    Raises
    ------
    ParameterError
        If the view is out of range or the file is not an AIST++ keypoints2d dict.
    """
    path = Path(path)
    with open(path, "rb") as fh:
        data = pickle.load(fh)  # noqa: S301 - AIST++ ships pickles; load only files you trust
    if not isinstance(data, dict) or "keypoints2d" not in data or "timestamps" not in data:
        raise ParameterError(f"{path} is not an AIST++ keypoints2d pickle "
                             "(needs 'keypoints2d' and 'timestamps')")
    kp = np.asarray(data["keypoints2d"], dtype=np.float32)
    if kp.ndim == 3:
        kp = kp[None]
    if kp.ndim != 4 or kp.shape[2:] != (17, 3):
        raise ParameterError(f"{path}: keypoints2d has shape {kp.shape}, expected (views, T, 17, 3)")
    if not 0 <= view < kp.shape[0]:
        raise ParameterError(f"view must be in 0..{kp.shape[0] - 1}, got {view}")
    t = np.asarray(data["timestamps"], dtype=np.float64) / 1e6
    return AistClip(name=path.stem, view=view, timestamps_s=t, keypoints=kp[view],
                    tempo_bpm=music_tempo(path.stem))
