"""Where the real data lives: ``--data`` on the command line, else ``$IBEAT_DATA``.

Training and evaluation never look for data anywhere else, and nothing is
downloaded: the folder has the layout of the project's ``shared/data``
(``groove-midi/``, ``aistpp-keypoints2d-sample/``, ``dance-with-melody/``,
``cmu-salsa-bvh/``, ...), any subset of it.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["DATA_ENV", "default_data_dir", "dataset_dir"]

#: Environment variable naming the data root.
DATA_ENV = "IBEAT_DATA"


def default_data_dir() -> Path | None:
    """The data root from ``$IBEAT_DATA``, or None when it is unset."""
    value = os.environ.get(DATA_ENV)
    return Path(value) if value else None


def dataset_dir(root, name: str) -> Path:
    """``root / name``, or a clear FileNotFoundError naming what is missing.

    Parameters
    ----------
    root : path-like or None
        Data root; None falls back to ``$IBEAT_DATA``.
    name : str
        Sub-folder, e.g. ``"groove-midi"``.
    """
    base = Path(root) if root is not None else default_data_dir()
    if base is None:
        raise FileNotFoundError(
            f"no data directory given: pass --data DIR or set ${DATA_ENV}")
    path = base / name
    if not path.is_dir():
        raise FileNotFoundError(f"{path} is not a directory (expected the {name!r} dataset there)")
    return path
