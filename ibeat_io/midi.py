"""Drum MIDI files <-> :class:`~ibeat_core.drums.DrumGrid`.

Files are written with pretty_midi as one drum track (channel 10), one tempo
event, 480 ticks per beat (as in the Groove MIDI Dataset), General MIDI
pitches (:data:`~ibeat_core.drums.GM_EXPORT_PITCHES`) and notes one 32nd
long. Step 0 of a grid is file time 0; ``DrumGrid.start_s`` is not stored,
and grids read from a file start at 0 s.

A grid written and read back is equal on the grid: same hits, steps and
length, offsets rounded to the file's tick (1/120 of a step), the tempo to
MIDI's whole microseconds per beat (relative error < 1e-5). The grid's
length travels in a text event ``ibeat:end`` at its end.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pretty_midi

from ibeat_core.drums import (
    GM_EXPORT_PITCHES,
    MAX_MIDI_VELOCITY,
    STEPS_PER_BEAT,
    DrumGrid,
    notes_to_grid,
    pitches_to_classes,
    velocity_to_midi,
)
from ibeat_core.errors import ParameterError

__all__ = [
    "MIDI_RESOLUTION",
    "END_MARKER",
    "grid_to_pretty_midi",
    "pretty_midi_to_grid",
    "notes_to_pretty_midi",
    "write_midi",
    "read_midi",
]

#: Ticks per beat of written files, as in GMD.
MIDI_RESOLUTION = 480
TICKS_PER_STEP = MIDI_RESOLUTION // STEPS_PER_BEAT
NOTE_LENGTH_TICKS = TICKS_PER_STEP // 2  # a 32nd note
#: Text of the event that marks the end of a written grid.
END_MARKER = "ibeat:end"
_US_PER_MINUTE = 60e6


def _drum_midi(bpm: float) -> tuple[pretty_midi.PrettyMIDI, float]:
    """An empty PrettyMIDI whose written tempo is ``round(6e7 / bpm)`` us.

    Returns the object and its seconds per tick; note times must be whole
    ticks times that, so that writing puts them exactly on those ticks.
    """
    if not (np.isfinite(bpm) and bpm > 0):
        raise ParameterError(f"bpm must be finite and > 0, got {bpm!r}")
    tempo_us = max(1, int(round(_US_PER_MINUTE / bpm)))
    # pretty_midi writes int(6e7 / tempo), truncating: ask for a hair less
    # than tempo_us + 1 so the written value is tempo_us itself.
    tempo_bpm = _US_PER_MINUTE / (tempo_us + 0.25)
    pm = pretty_midi.PrettyMIDI(resolution=MIDI_RESOLUTION, initial_tempo=tempo_bpm)
    # Same expression as pretty_midi's tick scale, so time -> tick is exact.
    return pm, 60.0 / (tempo_bpm * MIDI_RESOLUTION)


def grid_to_pretty_midi(grid: DrumGrid) -> pretty_midi.PrettyMIDI:
    """A drum grid as a one-track General MIDI drum file.

    Parameters
    ----------
    grid : DrumGrid
        Hits become notes of :data:`~ibeat_core.drums.GM_EXPORT_PITCHES` at
        velocity ``round(hit * 127)`` (at least 1), at step + offset rounded
        to the tick. A hit earlier than file time 0 (step 0 with a negative
        offset) is written at time 0.

    Returns
    -------
    pm : pretty_midi.PrettyMIDI
        One drum instrument (channel 10, program 0), the grid's tempo, and
        the ``ibeat:end`` text event at ``grid.n_steps`` steps. Notes last a
        32nd, shorter where the same drum plays again sooner.
    """
    if not isinstance(grid, DrumGrid):
        raise ParameterError(f"grid must be a DrumGrid, got {type(grid).__name__}")
    pm, tick_s = _drum_midi(grid.bpm)
    steps, classes = np.nonzero(grid.hits)
    # Keep each offset inside its step's tick range [-60, 59] so reading
    # quantises the note back to the same step.
    offset_ticks = np.clip(
        np.rint(grid.offsets[steps, classes] * TICKS_PER_STEP),
        -TICKS_PER_STEP // 2,
        TICKS_PER_STEP // 2 - 1,
    ).astype(np.int64)
    ticks = np.maximum(steps * TICKS_PER_STEP + offset_ticks, 0)
    ends = ticks + NOTE_LENGTH_TICKS
    # End each note before the next note of its drum starts: overlapping
    # notes of one pitch are ambiguous in MIDI.
    order = np.lexsort((ticks, classes))
    same = classes[order][1:] == classes[order][:-1]
    nxt = ticks[order][1:]
    ends[order[:-1][same]] = np.minimum(ends[order[:-1][same]], nxt[same])

    drums = pretty_midi.Instrument(program=0, is_drum=True, name="ibeat drums")
    pitches = np.asarray(GM_EXPORT_PITCHES)[classes]
    for tick, end, pitch, velocity in zip(
        ticks, ends, pitches, velocity_to_midi(grid.hits[steps, classes])
    ):
        drums.notes.append(
            pretty_midi.Note(
                velocity=int(velocity),
                pitch=int(pitch),
                start=int(tick) * tick_s,
                end=int(end) * tick_s,
            )
        )
    pm.instruments.append(drums)
    pm.text_events.append(pretty_midi.Text(END_MARKER, grid.n_steps * TICKS_PER_STEP * tick_s))
    return pm


def pretty_midi_to_grid(
    pm: pretty_midi.PrettyMIDI,
    *,
    bpm: float | None = None,
    n_steps: int | None = None,
) -> DrumGrid:
    """The drum notes of a MIDI object on a 16th-note grid.

    Parameters
    ----------
    pm : pretty_midi.PrettyMIDI
        Only drum instruments (channel 10) are read. Pitches map with
        :func:`~ibeat_core.drums.pitch_to_class`; notes of unmapped pitches
        are dropped with a warning.
    bpm : float or None
        Tempo of the grid in BPM. None: the file's tempo; a file with
        several different tempi then raises, since a grid has one tempo.
    n_steps : int or None
        Grid length in steps. None: from the ``ibeat:end`` event if the file
        has one, else whole beats up to the last note.

    Returns
    -------
    grid : DrumGrid
        Step 0 at file time 0 (``start_s = 0``).

    Raises
    ------
    ParameterError
        If ``pm`` is not a PrettyMIDI, or on several tempi with ``bpm=None``.
    """
    if not isinstance(pm, pretty_midi.PrettyMIDI):
        raise ParameterError(f"pm must be a pretty_midi.PrettyMIDI, got {type(pm).__name__}")
    if bpm is None:
        # Rounded so that repeated events of one tempo count once.
        tempi = np.unique(np.round(pm.get_tempo_changes()[1], 6))
        if tempi.size != 1:
            raise ParameterError(
                f"the file has several tempi {tempi.tolist()} BPM; pass bpm= to choose one"
            )
        bpm = float(pm.get_tempo_changes()[1][0])
    notes = [n for inst in pm.instruments if inst.is_drum for n in inst.notes]
    onsets = np.array([n.start for n in notes], dtype=np.float64)
    pitches = np.array([n.pitch for n in notes], dtype=np.int64)
    velocities = np.array([n.velocity for n in notes], dtype=np.int64)
    unmapped = np.unique(pitches[pitches_to_classes(pitches) < 0])
    if unmapped.size:
        warnings.warn(
            f"dropped drum notes of pitches {unmapped.tolist()}, which have no drum class",
            stacklevel=2,
        )

    step_s = 60.0 / bpm / STEPS_PER_BEAT
    if n_steps is None:
        ends = [e.time for e in pm.text_events if e.text == END_MARKER]
        if ends:
            n_steps = int(round(ends[-1] / step_s))
    grid = notes_to_grid(onsets, pitches, velocities, bpm=bpm, n_steps=n_steps)
    if n_steps is None and grid.n_steps % STEPS_PER_BEAT:
        whole_beats = -(-grid.n_steps // STEPS_PER_BEAT) * STEPS_PER_BEAT
        pad = ((0, whole_beats - grid.n_steps), (0, 0))
        grid = DrumGrid(np.pad(grid.hits, pad), np.pad(grid.offsets, pad), grid.bpm)
    return grid


def notes_to_pretty_midi(
    onsets_s,
    pitches,
    velocities,
    *,
    bpm: float,
) -> pretty_midi.PrettyMIDI:
    """Arbitrary drum notes (e.g. a click track on detected beats) as MIDI.

    Parameters
    ----------
    onsets_s : array_like of float, shape (n,)
        Note times in seconds from file time 0, >= 0.
    pitches : array_like of int, shape (n,)
        General MIDI drum pitches in [0, 127] (e.g. 37 side stick, 76 wood
        block for clicks).
    velocities : array_like of int, shape (n,)
        MIDI velocities in [1, 127].
    bpm : float
        Tempo written to the file, > 0; it sets where the file's beats and
        bars fall, not the note times. Notes last a 32nd at this tempo.

    Returns
    -------
    pm : pretty_midi.PrettyMIDI
        One drum instrument; note times rounded to the tick.

    Raises
    ------
    ParameterError
        On mismatched lengths, negative or non-finite times, or pitches or
        velocities out of range.
    """
    onsets = np.asarray(onsets_s, dtype=np.float64)
    pitch_arr = np.asarray(pitches)
    vel = np.asarray(velocities)
    if onsets.ndim != 1 or pitch_arr.shape != onsets.shape or vel.shape != onsets.shape:
        raise ParameterError(
            "onsets_s, pitches and velocities must be 1-D of one length, got shapes "
            f"{onsets.shape}, {pitch_arr.shape}, {vel.shape}"
        )
    if not np.all(np.isfinite(onsets) & (onsets >= 0)):
        raise ParameterError(f"onsets_s must be finite and >= 0, got {onsets[~(onsets >= 0)][:5]}")
    pitches_to_classes(pitch_arr)  # validates the pitch range
    if vel.size and not np.all((vel >= 1) & (vel <= MAX_MIDI_VELOCITY) & (vel % 1 == 0)):
        raise ParameterError(f"velocities must be ints in [1, 127], got {vel[:5]}")
    pm, tick_s = _drum_midi(float(bpm))
    ticks = np.rint(onsets / tick_s).astype(np.int64)
    drums = pretty_midi.Instrument(program=0, is_drum=True, name="ibeat")
    for tick, pitch, velocity in zip(ticks, pitch_arr, vel):
        drums.notes.append(
            pretty_midi.Note(
                velocity=int(velocity),
                pitch=int(pitch),
                start=int(tick) * tick_s,
                end=int(tick + NOTE_LENGTH_TICKS) * tick_s,
            )
        )
    pm.instruments.append(drums)
    return pm


def write_midi(path, grid: DrumGrid) -> None:
    """Write a grid as a Standard MIDI File (see :func:`grid_to_pretty_midi`).

    Parameters
    ----------
    path : str or os.PathLike
        Target ``.mid`` file; its folder must exist.
    grid : DrumGrid
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"folder {path.parent} does not exist (writing {path})")
    grid_to_pretty_midi(grid).write(str(path))


def read_midi(path, *, bpm: float | None = None, n_steps: int | None = None) -> DrumGrid:
    """Read a drum MIDI file onto the grid (see :func:`pretty_midi_to_grid`).

    Parameters
    ----------
    path : str or os.PathLike
        A Standard MIDI File.
    bpm, n_steps
        As in :func:`pretty_midi_to_grid`.

    Returns
    -------
    grid : DrumGrid

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ParameterError
        If the file is no valid MIDI, or as :func:`pretty_midi_to_grid`.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no MIDI file at {path}")
    try:
        pm = pretty_midi.PrettyMIDI(str(path))
    except (OSError, EOFError, ValueError, KeyError, IndexError) as exc:
        raise ParameterError(f"{path} is not a readable MIDI file: {exc}") from exc
    return pretty_midi_to_grid(pm, bpm=bpm, n_steps=n_steps)
