"""Drum classes, the 16th-note drum grid, and drum 'style' (paper sections 3.2-3.3).

ibeat reduces every drum note to one of nine canonical classes, in the order
of the Groove MIDI Dataset (GMD) and Magenta's GrooVAE:

====  ==============  ============================  ===========
idx   name            GMD (Roland TD-11) pitches    GM export
====  ==============  ============================  ===========
0     kick            36                            36
1     snare           38, 37, 40                    38
2     closed_hihat    42, 22, 44                    42
3     open_hihat      46, 26                        46
4     low_tom         43, 58                        43
5     mid_tom         47, 45                        47
6     high_tom        50, 48                        50
7     crash           49, 52, 55, 57                49
8     ride            51, 53, 59                    51
====  ==============  ============================  ===========

Pitches outside the Roland table fall back to Magenta note-seq's general
reduction (``NOTESEQ_PITCH_CLASSES``); any other pitch has no class (-1).

A :class:`DrumGrid` holds a drum track on a 16th-note grid
(``STEPS_PER_BEAT = 4`` steps per beat): per step and class a velocity in
[0, 1] (0 = no hit) and a micro-timing offset in fractions of a step.
:func:`drum_style` reduces the hits to the 1-D drum 'style' (strongest onset
per 16th), the space in which MuStyleNet's output and real drums meet.

Times are float seconds, tempi BPM, and MIDI velocities integers 1..127.
"""

from __future__ import annotations

import dataclasses
from types import MappingProxyType
from typing import Mapping

import numpy as np

from ibeat_core.errors import ParameterError
from ibeat_core.validation import as_1d, valid_events

__all__ = [
    "DRUM_CLASSES",
    "N_DRUM_CLASSES",
    "STEPS_PER_BEAT",
    "GM_EXPORT_PITCHES",
    "ROLAND_PITCH_CLASSES",
    "NOTESEQ_PITCH_CLASSES",
    "PITCH_TO_CLASS",
    "MAX_MIDI_VELOCITY",
    "GENRES",
    "GENRE_COUNTS",
    "genre_index",
    "DrumGrid",
    "pitch_to_class",
    "pitches_to_classes",
    "velocity_to_midi",
    "midi_velocity",
    "notes_to_grid",
    "grid_to_notes",
    "drum_style",
    "split_beats",
]

DRUM_CLASSES: tuple[str, ...] = (
    "kick",
    "snare",
    "closed_hihat",
    "open_hihat",
    "low_tom",
    "mid_tom",
    "high_tom",
    "crash",
    "ride",
)
N_DRUM_CLASSES = 9
#: Grid steps per beat: a 16th-note grid in 4/4, as in the paper's 'style'.
STEPS_PER_BEAT = 4
#: General MIDI pitch written for each class on export, indexed by class.
GM_EXPORT_PITCHES: tuple[int, ...] = (36, 38, 42, 46, 43, 47, 50, 49, 51)
MAX_MIDI_VELOCITY = 127
#: Feels a game can ask the drum generators for: "any" (no preference) and the
#: GMD genres with at least 35 training performances; rarer GMD genres train
#: the "any" feel only.
GENRES: tuple[str, ...] = ("any", "rock", "funk", "hiphop", "jazz", "latin", "afrocuban",
                           "punk", "neworleans", "soul")
#: How common each named feel (``GENRES[1:]``) is: GMD train performances in 4/4
#: per genre (info.csv). A session asked for "any" draws its feel from these.
GENRE_COUNTS: tuple[int, ...] = (269, 122, 80, 77, 71, 53, 45, 44, 36)

#: GMD's own layout (Roland TD-11, as in GrooVAE's ROLAND_DRUM_PITCH_CLASSES).
ROLAND_PITCH_CLASSES: tuple[tuple[int, ...], ...] = (
    (36,),
    (38, 37, 40),
    (42, 22, 44),
    (46, 26),
    (43, 58),
    (47, 45),
    (50, 48),
    (49, 52, 55, 57),
    (51, 53, 59),
)
#: Magenta note-seq's general reduction; used only for pitches Roland lacks.
NOTESEQ_PITCH_CLASSES: tuple[tuple[int, ...], ...] = (
    (36, 35),
    (38, 27, 28, 31, 32, 33, 34, 37, 39, 40, 56, 65, 66, 75, 85),
    (42, 44, 54, 68, 69, 70, 71, 73, 78, 80, 22),
    (46, 67, 72, 74, 79, 81, 26),
    (45, 29, 41, 43, 61, 64, 84),
    (48, 47, 60, 63, 77, 86, 87),
    (50, 30, 62, 76, 83),
    (49, 52, 55, 57, 58),
    (51, 53, 59, 82),
)


def _build_pitch_map() -> dict[int, int]:
    mapping: dict[int, int] = {}
    # Roland goes last so that it wins where the two tables disagree (toms).
    for table in (NOTESEQ_PITCH_CLASSES, ROLAND_PITCH_CLASSES):
        for drum_class, pitches in enumerate(table):
            for pitch in pitches:
                mapping[pitch] = drum_class
    return dict(sorted(mapping.items()))


#: MIDI pitch -> drum class for every pitch that has one.
PITCH_TO_CLASS: Mapping[int, int] = MappingProxyType(_build_pitch_map())

_PITCH_LUT = np.full(128, -1, dtype=np.int64)
_PITCH_LUT[list(PITCH_TO_CLASS)] = list(PITCH_TO_CLASS.values())
_PITCH_LUT.setflags(write=False)

# Offsets live in [-0.5, 0.5). A note exactly half a step early must come back
# to the same step after a float64 time round trip, so the rounding boundary
# is nudged by far less than any float32 offset spacing (3e-8 near 0.5) but
# far more than float64 error on step positions up to ~1e6 steps.
_BOUNDARY_TOL_STEPS = 1e-9
_MAX_OFFSET = np.nextafter(np.float32(0.5), np.float32(0.0))


def pitch_to_class(pitch: int) -> int:
    """Drum class of one MIDI pitch.

    Parameters
    ----------
    pitch : int
        MIDI note number in [0, 127].

    Returns
    -------
    drum_class : int
        Index into :data:`DRUM_CLASSES`, or -1 when the pitch is no drum of
        either table (callers decide whether to drop or reject such notes).

    Raises
    ------
    ParameterError
        If ``pitch`` is not an integer in [0, 127].

    Examples
    --------
    >>> pitch_to_class(36), pitch_to_class(22), pitch_to_class(45)
    (0, 2, 5)
    >>> pitch_to_class(35)  # not Roland: note-seq fallback
    0
    >>> pitch_to_class(60 + 40)
    -1
    """
    if isinstance(pitch, (bool, np.bool_)) or not isinstance(pitch, (int, np.integer)):
        raise ParameterError(f"pitch must be an int, got {pitch!r}")
    if not 0 <= pitch <= 127:
        raise ParameterError(f"pitch must be in [0, 127], got {pitch}")
    return int(_PITCH_LUT[pitch])


def pitches_to_classes(pitches) -> np.ndarray:
    """Vectorised :func:`pitch_to_class`.

    Parameters
    ----------
    pitches : array_like of int, shape (n,)
        MIDI note numbers in [0, 127].

    Returns
    -------
    classes : np.ndarray, shape (n,), int64
        Drum class per pitch, -1 where the pitch has none.

    Raises
    ------
    ParameterError
        If a pitch is not an integer in [0, 127].

    Examples
    --------
    >>> pitches_to_classes([36, 26, 58, 59, 21]).tolist()
    [0, 3, 4, 8, -1]
    """
    arr = as_1d(pitches, "pitches")
    if arr.size and not np.all(np.mod(arr, 1) == 0):
        raise ParameterError(f"pitches must be integers, got {arr[np.mod(arr, 1) != 0][:5]}")
    bad = (arr < 0) | (arr > 127)
    if np.any(bad):
        raise ParameterError(f"pitches must be in [0, 127], got {arr[bad][:5]}")
    return _PITCH_LUT[arr.astype(np.int64)]


@dataclasses.dataclass(frozen=True, eq=False)
class DrumGrid:
    """A drum track on a 16th-note grid at one tempo.

    The arrays are copied to float32 and made read-only on construction.

    Attributes
    ----------
    hits : np.ndarray, shape (n_steps, N_DRUM_CLASSES), float32
        Velocity of each class at each step in [0, 1]; 0 means no hit.
        MIDI velocity ``v`` is stored as ``v / 127``.
    offsets : np.ndarray, shape (n_steps, N_DRUM_CLASSES), float32
        Micro-timing in fractions of a step, in [-0.5, 0.5): a hit sounds at
        ``start_s + (step + offset) * step_s``. Ignored where ``hits == 0``.
    bpm : float
        Tempo in beats (quarter notes) per minute, > 0.
    start_s : float
        Time of step 0 in seconds.

    Examples
    --------
    >>> grid = DrumGrid.from_hits(np.eye(4, N_DRUM_CLASSES), bpm=120.0)
    >>> grid.n_steps, grid.step_s, grid.duration_s
    (4, 0.125, 0.5)
    """

    hits: np.ndarray
    offsets: np.ndarray
    bpm: float
    start_s: float = 0.0

    def __post_init__(self):
        hits = _frozen_f32(self.hits, "hits")
        offsets = _frozen_f32(self.offsets, "offsets")
        if hits.ndim != 2 or hits.shape[1] != N_DRUM_CLASSES:
            raise ParameterError(
                f"hits must have shape (n_steps, {N_DRUM_CLASSES}), got {hits.shape}"
            )
        if offsets.shape != hits.shape:
            raise ParameterError(
                f"offsets must have the shape of hits {hits.shape}, got {offsets.shape}"
            )
        if hits.size and (hits.min() < 0 or hits.max() > 1):
            raise ParameterError(
                f"hits must be velocities in [0, 1], got range [{hits.min()}, {hits.max()}]"
            )
        if offsets.size and (offsets.min() < -0.5 or offsets.max() >= 0.5):
            raise ParameterError(
                "offsets must be in [-0.5, 0.5) steps, got range "
                f"[{offsets.min()}, {offsets.max()}]"
            )
        object.__setattr__(self, "hits", hits)
        object.__setattr__(self, "offsets", offsets)
        object.__setattr__(self, "bpm", _valid_bpm(self.bpm))
        object.__setattr__(self, "start_s", _valid_finite(self.start_s, "start_s"))

    @classmethod
    def from_hits(cls, hits, *, bpm: float, start_s: float = 0.0) -> "DrumGrid":
        """Grid with the given hits exactly on the grid (all offsets 0).

        Parameters
        ----------
        hits : array_like, shape (n_steps, N_DRUM_CLASSES)
            Velocities in [0, 1], 0 = no hit (e.g. DrumGenNet's output).
        bpm : float
            Tempo in BPM, > 0.
        start_s : float
            Time of step 0 in seconds.
        """
        hits = np.asarray(hits, dtype=np.float32)
        return cls(hits, np.zeros_like(hits), bpm, start_s)

    @property
    def n_steps(self) -> int:
        """Number of 16th steps."""
        return int(self.hits.shape[0])

    @property
    def step_s(self) -> float:
        """Length of one step (a 16th note) in seconds."""
        return 60.0 / self.bpm / STEPS_PER_BEAT

    @property
    def duration_s(self) -> float:
        """Length of the grid in seconds (``n_steps * step_s``)."""
        return self.n_steps * self.step_s


def notes_to_grid(
    onsets_s,
    pitches,
    velocities,
    *,
    bpm: float,
    start_s: float = 0.0,
    n_steps: int | None = None,
) -> DrumGrid:
    """Quantise drum notes to the nearest 16th step, keeping micro-timing.

    Parameters
    ----------
    onsets_s : array_like of float, shape (n,)
        Note onset times in seconds (any order).
    pitches : array_like of int, shape (n,)
        MIDI pitches in [0, 127], mapped with :func:`pitch_to_class`. Notes
        whose pitch has no drum class are dropped.
    velocities : array_like of number, shape (n,)
        MIDI velocities in [0, 127]; stored as ``velocity / 127``. Notes of
        velocity 0 (MIDI's note-off) are dropped.
    bpm : float
        Tempo in BPM, > 0; one step lasts ``60 / bpm / 4`` seconds.
    start_s : float
        Time of step 0 in seconds.
    n_steps : int or None
        Grid length in steps. None: just long enough for the last note.
        Notes that fall before step 0 or at/after ``n_steps`` are dropped,
        so ``start_s`` and ``n_steps`` cut a window out of a longer track.

    Returns
    -------
    grid : DrumGrid
        When several notes of one class fall on one step, the loudest is
        kept (the earliest among equally loud ones), with its offset.

    Raises
    ------
    ParameterError
        On mismatched lengths, non-finite times, pitches or velocities out
        of range, a non-positive tempo or a negative ``n_steps``.

    Examples
    --------
    >>> grid = notes_to_grid([0.0, 0.26, 0.5], [36, 38, 22], [127, 64, 100], bpm=120.0)
    >>> grid.n_steps  # a step is 0.125 s; 0.5 s is step 4
    5
    >>> float(grid.hits[2, 1] * 127), round(float(grid.offsets[2, 1]), 2)
    (64.0, 0.08)
    """
    onsets, pitch_arr, vel = valid_events(onsets_s, pitches, velocities, values_name="pitches")
    bad_vel = ~((vel >= 0) & (vel <= MAX_MIDI_VELOCITY))  # NaN is bad too
    if np.any(bad_vel):
        raise ParameterError(
            f"velocities must be in [0, {MAX_MIDI_VELOCITY}], got {vel[bad_vel][:5]}"
        )
    bpm = _valid_bpm(bpm)
    start_s = _valid_finite(start_s, "start_s")
    if n_steps is not None and (not isinstance(n_steps, (int, np.integer)) or n_steps < 0):
        raise ParameterError(f"n_steps must be a non-negative int or None, got {n_steps!r}")
    classes = pitches_to_classes(pitch_arr)

    step_s = 60.0 / bpm / STEPS_PER_BEAT
    pos = (onsets - start_s) / step_s
    steps = np.floor(pos + 0.5 + _BOUNDARY_TOL_STEPS).astype(np.int64)
    offsets = np.clip(pos - steps, -0.5, None).astype(np.float32)
    offsets = np.minimum(offsets, _MAX_OFFSET)

    keep = (classes >= 0) & (vel > 0) & (steps >= 0)
    if n_steps is None:
        n_steps = int(steps[keep].max()) + 1 if np.any(keep) else 0
    keep &= steps < n_steps

    steps, classes, vel, offsets, onsets = (
        a[keep] for a in (steps, classes, vel, offsets, onsets)
    )
    # Sort so the note to keep comes first in each (step, class) cell:
    # loudest, then earliest.
    order = np.lexsort((onsets, -vel, classes, steps))
    cell = steps[order] * N_DRUM_CLASSES + classes[order]
    first = order[np.r_[True, cell[1:] != cell[:-1]]] if cell.size else order

    hits = np.zeros((n_steps, N_DRUM_CLASSES), dtype=np.float32)
    offs = np.zeros((n_steps, N_DRUM_CLASSES), dtype=np.float32)
    hits[steps[first], classes[first]] = vel[first] / MAX_MIDI_VELOCITY
    offs[steps[first], classes[first]] = offsets[first]
    return DrumGrid(hits, offs, bpm, start_s)


def grid_to_notes(grid: DrumGrid) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Notes of a grid; the inverse of :func:`notes_to_grid`.

    ``notes_to_grid(*grid_to_notes(g), bpm=g.bpm, start_s=g.start_s,
    n_steps=g.n_steps)`` gives back ``g`` (offsets within float32 rounding,
    hits exactly when they are multiples of 1/127).

    Parameters
    ----------
    grid : DrumGrid

    Returns
    -------
    onsets_s : np.ndarray, shape (n,), float64
        Onset times in seconds, sorted by step then class.
    pitches : np.ndarray, shape (n,), int64
        :data:`GM_EXPORT_PITCHES` of each note's class.
    velocities : np.ndarray, shape (n,), int64
        MIDI velocities in [1, 127], from :func:`velocity_to_midi`.

    Examples
    --------
    >>> grid = DrumGrid.from_hits(np.eye(2, N_DRUM_CLASSES), bpm=120.0)
    >>> onsets, pitches, velocities = grid_to_notes(grid)
    >>> onsets.tolist(), pitches.tolist(), velocities.tolist()
    ([0.0, 0.125], [36, 38], [127, 127])
    """
    if not isinstance(grid, DrumGrid):
        raise ParameterError(f"grid must be a DrumGrid, got {type(grid).__name__}")
    steps, classes = np.nonzero(grid.hits)
    offsets = grid.offsets[steps, classes].astype(np.float64)
    onsets = grid.start_s + (steps + offsets) * grid.step_s
    pitches = np.asarray(GM_EXPORT_PITCHES, dtype=np.int64)[classes]
    return onsets, pitches, velocity_to_midi(grid.hits[steps, classes])


def genre_index(genre: str) -> int:
    """Index of a feel in :data:`GENRES`; raises ParameterError on an unknown one.

    Examples
    --------
    >>> genre_index("any"), genre_index("jazz")
    (0, 4)
    """
    if genre not in GENRES:
        raise ParameterError(f"unknown genre {genre!r}; choose one of {', '.join(GENRES)}")
    return GENRES.index(genre)


def velocity_to_midi(velocity) -> np.ndarray:
    """MIDI velocity of grid hit strengths: ``round(velocity * 127)``, >= 1.

    Parameters
    ----------
    velocity : array_like of float, shape (n,)
        Hit strengths in (0, 1] (``DrumGrid.hits`` where non-zero).

    Returns
    -------
    midi_velocity : np.ndarray, shape (n,), int64
        In [1, 127]: a faint hit stays a hit.

    Examples
    --------
    >>> velocity_to_midi([1.0, 0.5, 0.001]).tolist()
    [127, 64, 1]
    """
    arr = np.asarray(velocity, dtype=np.float64)
    return np.clip(np.rint(arr * MAX_MIDI_VELOCITY), 1, MAX_MIDI_VELOCITY).astype(np.int64)


def midi_velocity(velocity: float) -> int:
    """:func:`velocity_to_midi` of one hit strength, in scalar arithmetic (every hit event
    carries one; Python's ``round`` rounds half to even, as ``np.rint``).

    Examples
    --------
    >>> midi_velocity(0.5), midi_velocity(0.001)
    (64, 1)
    """
    return min(max(int(round(velocity * MAX_MIDI_VELOCITY)), 1), MAX_MIDI_VELOCITY)


def drum_style(hits) -> np.ndarray:
    """Drum 'style': the strongest onset in each 16th step (paper 3.2).

    Real drums reduce to style this way, and MuStyleNet generates style in
    the same space, so both feed DrumGenNet alike.

    Parameters
    ----------
    hits : array_like, shape (n_steps, N_DRUM_CLASSES)
        Velocities in [0, 1] (e.g. ``DrumGrid.hits``).

    Returns
    -------
    style : np.ndarray, shape (n_steps,), float32
        Maximum velocity over the classes at each step, in [0, 1].

    Examples
    --------
    >>> hits = np.zeros((4, N_DRUM_CLASSES), dtype=np.float32)
    >>> hits[0, [0, 2]] = [1.0, 0.5]
    >>> hits[2, 1] = 0.75
    >>> drum_style(hits).tolist()
    [1.0, 0.0, 0.75, 0.0]
    """
    arr = np.asarray(hits, dtype=np.float32)
    if arr.ndim != 2 or arr.shape[1] != N_DRUM_CLASSES:
        raise ParameterError(
            f"hits must have shape (n_steps, {N_DRUM_CLASSES}), got {arr.shape}"
        )
    if arr.shape[0] == 0:
        return np.zeros(0, dtype=np.float32)
    return arr.max(axis=1)


def split_beats(steps, *, steps_per_beat: int = STEPS_PER_BEAT) -> np.ndarray:
    """Split the step axis into beats.

    Parameters
    ----------
    steps : array_like, shape (n_steps, ...)
        Per-step data, e.g. hits ``(n_steps, 9)`` or style ``(n_steps,)``.
    steps_per_beat : int
        Steps in one beat, > 0; ``n_steps`` must be a multiple of it.

    Returns
    -------
    beats : np.ndarray, shape (n_steps // steps_per_beat, steps_per_beat, ...)
        A view of ``steps`` when possible.

    Examples
    --------
    >>> split_beats(np.zeros((8, N_DRUM_CLASSES))).shape
    (2, 4, 9)
    >>> split_beats(np.arange(8)).tolist()
    [[0, 1, 2, 3], [4, 5, 6, 7]]
    """
    arr = np.asarray(steps)
    if (
        isinstance(steps_per_beat, bool)
        or not isinstance(steps_per_beat, (int, np.integer))
        or steps_per_beat <= 0
    ):
        raise ParameterError(f"steps_per_beat must be a positive int, got {steps_per_beat!r}")
    if arr.ndim == 0 or arr.shape[0] % steps_per_beat:
        raise ParameterError(
            f"need a step axis whose length is a multiple of {steps_per_beat}, "
            f"got shape {arr.shape}"
        )
    return arr.reshape(arr.shape[0] // steps_per_beat, steps_per_beat, *arr.shape[1:])


def _frozen_f32(values, name: str) -> np.ndarray:
    try:
        arr = np.array(values, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise ParameterError(
            f"{name} must be a numeric array, got {type(values).__name__}"
        ) from exc
    if not np.all(np.isfinite(arr)):
        raise ParameterError(f"{name} must be finite")
    arr.setflags(write=False)
    return arr


def _valid_bpm(bpm) -> float:
    bpm = _valid_finite(bpm, "bpm")
    if bpm <= 0:
        raise ParameterError(f"bpm must be > 0, got {bpm}")
    return bpm


def _valid_finite(value, name: str) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"{name} must be a number, got {value!r}") from exc
    if not np.isfinite(out):
        raise ParameterError(f"{name} must be finite, got {value!r}")
    return out
