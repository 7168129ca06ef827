"""Drum hits to files: a General MIDI drum track and a WAV of the synthesised kit.

The one writer behind ``ibeat render`` (clips and videos), ``ibeat live``,
``ibeat-replay`` and ``ibeat-listen``. Hits are given as arrays, times in
seconds from the files' time 0; hits before time 0 are left out of both files.
The MIDI file uses :data:`~ibeat_core.drums.GM_EXPORT_PITCHES` and
:func:`~ibeat_core.drums.velocity_to_midi` (see
:func:`ibeat_io.midi.notes_to_pretty_midi`); the WAV is
:func:`ibeat_io.drumkit.render_hits` at :data:`ibeat_io.drumkit.SAMPLE_RATE`,
:data:`WAV_TAIL_S` longer than the span it covers so the last hits ring out.
"""

from __future__ import annotations

import numpy as np

from ibeat_core.drums import GM_EXPORT_PITCHES, N_DRUM_CLASSES, velocity_to_midi
from ibeat_core.errors import ParameterError

__all__ = ["WAV_TAIL_S", "FALLBACK_TEMPO_BPM", "drum_audio", "write_drums"]

#: Seconds of audio after the covered span, so the last hits ring out.
WAV_TAIL_S = 1.0
#: Tempo [BPM] written to a MIDI file when no tempo is known (no beat found).
FALLBACK_TEMPO_BPM = 120.0


def _hits(onsets_s, drum_classes, velocities, pitches=None):
    """The hits as arrays ``(onsets, classes, velocities, pitches)``, those before 0 s left out."""
    onsets = np.asarray(onsets_s, dtype=np.float64)
    classes = np.asarray(drum_classes, dtype=np.int64)
    vel = np.asarray(velocities, dtype=np.float64)
    if onsets.ndim != 1 or not onsets.shape == classes.shape == vel.shape:
        raise ParameterError("onsets_s, drum_classes and velocities must be 1-D of one length, "
                             f"got shapes {onsets.shape}, {classes.shape}, {vel.shape}")
    bad = (classes < 0) | (classes >= N_DRUM_CLASSES)
    if np.any(bad):
        raise ParameterError(f"drum_classes must be in [0, {N_DRUM_CLASSES - 1}], "
                             f"got {classes[bad][:5]}")
    if pitches is None:
        pitch = np.asarray(GM_EXPORT_PITCHES, dtype=np.int64)[classes]
    else:
        pitch = np.asarray(pitches, dtype=np.int64)
        if pitch.shape != onsets.shape:
            raise ParameterError(f"pitches must have the shape of onsets_s {onsets.shape}, "
                                 f"got {pitch.shape}")
    keep = onsets >= 0
    return onsets[keep], classes[keep], vel[keep], pitch[keep]


def drum_audio(onsets_s, drum_classes, velocities, *, duration_s: float, seed: int,
               extend_to_last_onset: bool = False) -> np.ndarray:
    """The hits played on the synthesised kit, as written to a WAV by :func:`write_drums`.

    Parameters
    ----------
    onsets_s : array_like of float, shape (n,)
        Hit times [s] from the audio's time 0 (sample 0); hits before 0 are left out.
    drum_classes : array_like of int, shape (n,)
        Drum class of each hit, in [0, 8] (:data:`ibeat_core.drums.DRUM_CLASSES`).
    velocities : array_like of float, shape (n,)
        Strength of each hit in [0, 1].
    duration_s : float
        Span [s] the audio covers, >= 0; the audio lasts ``duration_s +``
        :data:`WAV_TAIL_S`.
    seed : int
        Seed of the kit's voices and room, >= 0 (the session's seed).
    extend_to_last_onset : bool
        Cover at least up to the last hit, when it falls after ``duration_s``.

    Returns
    -------
    audio : np.ndarray, shape (round(length_s * SAMPLE_RATE),), float32
        Mono samples in [-1, 1] at :data:`ibeat_io.drumkit.SAMPLE_RATE`, where
        ``length_s = max(duration_s, last onset if extend_to_last_onset) + WAV_TAIL_S``.

    Raises
    ------
    ParameterError
        On mismatched lengths, an unknown class, a velocity outside [0, 1],
        a negative duration or seed.

    Examples
    --------
    >>> drum_audio([0.0, 0.5], [0, 1], [1.0, 0.5], duration_s=1.0, seed=0).shape  # 1 s + tail
    (88200,)
    """
    # drumkit pulls in scipy.signal, slow to import: only when audio is asked for.
    from .drumkit import SAMPLE_RATE, render_hits

    onsets, classes, vel, _ = _hits(onsets_s, drum_classes, velocities)
    span_s = duration_s
    if extend_to_last_onset and len(onsets):
        span_s = max(duration_s, float(onsets.max()))
    return render_hits(onsets, classes, vel, sample_rate=SAMPLE_RATE,
                       duration_s=span_s + WAV_TAIL_S, seed=seed)


def write_drums(onsets_s, drum_classes, velocities, *, tempo_bpm: float | None,
                duration_s: float, seed: int, midi=None, wav=None, pitches=None,
                extend_to_last_onset: bool = False) -> dict:
    """Write drum hits as a General MIDI drum track and/or a WAV of the synthesised kit.

    Parameters
    ----------
    onsets_s : array_like of float, shape (n,)
        Hit times [s] from the files' time 0; hits before 0 are left out of both files.
    drum_classes : array_like of int, shape (n,)
        Drum class of each hit, in [0, 8] (:data:`ibeat_core.drums.DRUM_CLASSES`).
    velocities : array_like of float, shape (n,)
        Strength of each hit in [0, 1]; the MIDI velocity is
        :func:`~ibeat_core.drums.velocity_to_midi` of it (``round(127 v)``, >= 1).
    tempo_bpm : float or None
        Tempo [BPM] written to the MIDI file (it places the file's beats and
        bars, not the notes); None or 0 (no beat found) writes
        :data:`FALLBACK_TEMPO_BPM`, 120 BPM.
    duration_s : float
        Span [s] the WAV covers, >= 0; it lasts ``duration_s +`` :data:`WAV_TAIL_S`.
    seed : int
        Seed of the kit's voices and room, >= 0 (the session's seed).
    midi, wav : path-like, optional
        Files to write (their folders must exist); neither: nothing is written.
    pitches : array_like of int, shape (n,), optional
        General MIDI pitch of each hit, in [0, 127] (e.g. the ``gm_pitch`` a
        server sent); default :data:`~ibeat_core.drums.GM_EXPORT_PITCHES` of its class.
    extend_to_last_onset : bool
        The WAV covers at least up to the last hit, when it falls after
        ``duration_s`` (``ibeat live``: hits are forecast past the last frame).

    Returns
    -------
    dict
        ``{"midi": str(midi), "wav": str(wav)}``, the files written (in that order).

    Raises
    ------
    ParameterError
        On mismatched lengths, an unknown class or pitch, a velocity outside
        [0, 1] (WAV), a bad tempo, duration or seed.
    FileNotFoundError
        A file's folder does not exist.
    """
    written = {}
    if midi:
        # pretty_midi is slow to import: only when a MIDI file is asked for.
        from .midi import notes_to_pretty_midi

        onsets, _, vel, pitch = _hits(onsets_s, drum_classes, velocities, pitches)
        pm = notes_to_pretty_midi(onsets, pitch, velocity_to_midi(vel),
                                  bpm=tempo_bpm or FALLBACK_TEMPO_BPM)
        pm.write(str(midi))
        written["midi"] = str(midi)
    if wav:
        from .audio import write_wav
        from .drumkit import SAMPLE_RATE

        audio = drum_audio(onsets_s, drum_classes, velocities, duration_s=duration_s, seed=seed,
                           extend_to_last_onset=extend_to_last_onset)
        write_wav(wav, audio, sample_rate=SAMPLE_RATE)
        written["wav"] = str(wav)
    return written
