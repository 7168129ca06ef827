"""Keypoint clips from files: AIST++ pickles and ibeat's own ``.npz``.

An ibeat ``.npz`` clip holds

* ``keypoints``: float32 ``(T, J, 2|3)`` or ``(V, T, J, 2|3)`` for V camera views;
* ``timestamps_s``: float64 ``(T,)`` capture times in seconds;
* ``layout`` (optional): ``"coco17"`` (default), ``"blazepose33"`` or ``"body25"``;
* ``tempo_bpm`` (optional): the known tempo, for evaluation.

Every clip comes back as COCO-17 ``(T, 17, 3)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
import pickle
import zipfile

import numpy as np

from ibeat_core.errors import ParameterError
from ibeat_core.skeleton import to_coco17

from .aistpp import load_aist_clip

__all__ = ["Clip", "load_clip", "save_clip", "bundled_clip_path", "BUNDLED_CLIP"]

#: File name of the clip that ships with the package (AIST++, CC BY 4.0).
BUNDLED_CLIP = "aistpp_gBR_sBM_d04_mBR0_ch01.npz"


@dataclass(frozen=True)
class Clip:
    """A keypoint sequence ready for the engine.

    Attributes
    ----------
    name : str
    view : int
    timestamps_s : np.ndarray, shape (T,)
    keypoints : np.ndarray, shape (T, 17, 3)
        COCO-17 ``[x, y, confidence]``; NaN where a detector failed.
    tempo_bpm : float or None
        Known music tempo, if any.
    """

    name: str
    view: int
    timestamps_s: np.ndarray
    keypoints: np.ndarray
    tempo_bpm: float | None = None


def bundled_clip_path() -> Path:
    """Path of the AIST++ clip bundled with ibeat (9 views, 12 s, 80 BPM music)."""
    return Path(str(resources.files("ibeat_io") / "data" / BUNDLED_CLIP))


def load_clip(path, *, view: int = 0) -> Clip:
    """Load one view of a keypoint clip (``.pkl`` AIST++ or ``.npz`` ibeat).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ParameterError
        For an unknown suffix, a bad view index or malformed contents.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such clip: {path}")
    suffix = path.suffix.lower()
    if suffix not in (".pkl", ".npz"):
        raise ParameterError(f"unsupported clip type {suffix!r} ({path}); expected .pkl or .npz")
    try:
        if suffix == ".pkl":
            c = load_aist_clip(path, view=view)
            return Clip(c.name, c.view, c.timestamps_s, c.keypoints, c.tempo_bpm)
        return _load_npz(path, view)
    except ParameterError:
        raise
    except (pickle.UnpicklingError, zipfile.BadZipFile, EOFError, ValueError, KeyError,
            TypeError, AttributeError, IndexError, OSError) as e:
        # Not a clip at all (a renamed file, a truncated download): one line, not a traceback.
        raise ParameterError(f"{path} is not a readable {suffix} keypoint clip "
                             f"({type(e).__name__}: {str(e)[:120]})") from None


def _load_npz(path: Path, view: int) -> Clip:
    with np.load(path, allow_pickle=False) as data:
        missing = {"keypoints", "timestamps_s"} - set(data.files)
        if missing:
            raise ParameterError(f"{path} lacks {sorted(missing)}; an ibeat clip needs "
                                 "'keypoints' and 'timestamps_s'")
        kp = np.asarray(data["keypoints"], dtype=np.float32)
        t = np.asarray(data["timestamps_s"], dtype=np.float64)
        layout = str(data["layout"]) if "layout" in data.files else "coco17"
        tempo = float(data["tempo_bpm"]) if "tempo_bpm" in data.files else None
    if kp.ndim == 3:
        kp = kp[None]
    if kp.ndim != 4:
        raise ParameterError(f"{path}: keypoints must be (T, J, C) or (V, T, J, C), got {kp.shape}")
    if not 0 <= view < kp.shape[0]:
        raise ParameterError(f"view must be in 0..{kp.shape[0] - 1}, got {view}")
    return Clip(path.stem, view, t, to_coco17(kp[view], layout=layout), tempo)


def save_clip(path, timestamps_s, keypoints, *, layout: str = "coco17",
              tempo_bpm: float | None = None) -> None:
    """Write an ibeat ``.npz`` clip (compressed)."""
    extra = {} if tempo_bpm is None else {"tempo_bpm": np.float64(tempo_bpm)}
    np.savez_compressed(path, keypoints=np.asarray(keypoints, dtype=np.float32),
                        timestamps_s=np.asarray(timestamps_s, dtype=np.float64),
                        layout=np.str_(layout), **extra)
