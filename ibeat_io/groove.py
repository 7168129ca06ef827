"""Groove MIDI Dataset (GMD) loader: info.csv rows and 16th-note drum grids.

GMD (Gillick et al., ICML 2019; Magenta; CC BY 4.0) holds expressive
performances on a Roland TD-11 kit, one MIDI file per row of ``info.csv``.
The data root is the folder holding ``info.csv`` and the ``drummerN``
folders: ``dataset_dir(data_root, GROOVE_DIR_NAME)`` of
:mod:`ibeat_io.datasets`, i.e. ``$IBEAT_DATA/groove-midi``.

Only 4/4 files are kept by default (1138 of 1150): ibeat's grid counts four
16th steps per beat and DrumGenNet's context is whole beats, so 3/4, 6/8,
5/4 and 5/8 grooves would not line up with the bars of the rest.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from ibeat_core.drums import DrumGrid
from ibeat_core.errors import ParameterError
from ibeat_io.midi import read_midi

__all__ = [
    "GROOVE_DIR_NAME",
    "SPLITS",
    "GrooveEntry",
    "load_info",
    "load_groove_file",
]

#: Folder of GMD inside the shared data folder.
GROOVE_DIR_NAME = "groove-midi"
SPLITS = ("train", "validation", "test")
_FOUR_FOUR = "4-4"
_COLUMNS = (
    "drummer",
    "session",
    "id",
    "style",
    "bpm",
    "beat_type",
    "time_signature",
    "midi_filename",
    "duration",
    "split",
)


@dataclass(frozen=True)
class GrooveEntry:
    """One row of GMD's ``info.csv``.

    Attributes
    ----------
    drummer : str
        E.g. ``"drummer1"``.
    session : str
        E.g. ``"drummer1/session1"``.
    id : str
        E.g. ``"drummer1/session1/1"``; unique per file.
    style : str
        Primary genre, the part of GMD's style before ``/`` (``"jazz"`` for
        ``"jazz/funk"``).
    full_style : str
        GMD's style as written, e.g. ``"jazz/funk"``.
    bpm : float
        Session tempo in BPM (the file's tempo event agrees).
    beat_type : str
        ``"beat"`` or ``"fill"``.
    time_signature : str
        E.g. ``"4-4"``.
    midi_filename : str
        Path of the MIDI file relative to the data root.
    duration_s : float
        Length of the performance in seconds.
    split : str
        ``"train"``, ``"validation"`` or ``"test"``.
    """

    drummer: str
    session: str
    id: str
    style: str
    full_style: str
    bpm: float
    beat_type: str
    time_signature: str
    midi_filename: str
    duration_s: float
    split: str


def load_info(root, *, split: str | None = None, four_four_only: bool = True) -> list[GrooveEntry]:
    """Read ``info.csv`` of a GMD copy.

    Parameters
    ----------
    root : str or os.PathLike
        GMD folder holding ``info.csv``.
    split : str or None
        Keep only this split (``"train"``, ``"validation"``, ``"test"``);
        None keeps all. The shared copy holds no test rows (held back for
        evaluation), so ``"test"`` gives an empty list there.
    four_four_only : bool
        Skip rows whose time signature is not 4/4 (see the module notes).

    Returns
    -------
    entries : list of GrooveEntry
        In the file's order.

    Raises
    ------
    FileNotFoundError
        If ``root`` or its ``info.csv`` does not exist.
    ParameterError
        On an unknown split, or an ``info.csv`` without GMD's columns.
    """
    if split is not None and split not in SPLITS:
        raise ParameterError(f"split must be one of {SPLITS} or None, got {split!r}")
    info = _info_path(root)
    with info.open(newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in _COLUMNS if c not in (reader.fieldnames or ())]
        if missing:
            raise ParameterError(f"{info} lacks GMD columns {missing}")
        rows = list(reader)
    entries = []
    for row in rows:
        if split is not None and row["split"] != split:
            continue
        if four_four_only and row["time_signature"] != _FOUR_FOUR:
            continue
        try:
            bpm, duration_s = float(row["bpm"]), float(row["duration"])
        except ValueError as exc:
            raise ParameterError(f"{info}: bad number in row {row['id']!r}: {exc}") from exc
        entries.append(
            GrooveEntry(
                drummer=row["drummer"],
                session=row["session"],
                id=row["id"],
                style=row["style"].split("/")[0],
                full_style=row["style"],
                bpm=bpm,
                beat_type=row["beat_type"],
                time_signature=row["time_signature"],
                midi_filename=row["midi_filename"],
                duration_s=duration_s,
                split=row["split"],
            )
        )
    return entries


def load_groove_file(root, entry: GrooveEntry) -> DrumGrid:
    """The drum grid of one GMD performance, at the file's own tempo.

    Parameters
    ----------
    root : str or os.PathLike
        GMD folder holding ``info.csv``.
    entry : GrooveEntry
        A row from :func:`load_info`.

    Returns
    -------
    grid : DrumGrid
        16th steps (four per beat) from file time 0, in whole beats up to
        the last note, with velocities and micro-timing of the performance.

    Raises
    ------
    FileNotFoundError
        If the root or the entry's MIDI file does not exist.
    """
    if not isinstance(entry, GrooveEntry):
        raise ParameterError(f"entry must be a GrooveEntry, got {type(entry).__name__}")
    path = _info_path(root).parent / entry.midi_filename
    if not path.is_file():
        raise FileNotFoundError(f"GMD file {entry.midi_filename!r} is missing under {path.parent}")
    return read_midi(path)


def _info_path(root) -> Path:
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(
            f"GMD root {root} is not a folder; pass the groove-midi folder "
            f"(e.g. $IBEAT_DATA/{GROOVE_DIR_NAME})"
        )
    info = root / "info.csv"
    if not info.is_file():
        raise FileNotFoundError(f"{root} has no info.csv; is it the {GROOVE_DIR_NAME} folder?")
    return info
