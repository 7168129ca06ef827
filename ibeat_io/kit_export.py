"""ibeat's drum kit as sample files, for engines that play hits themselves.

Game-engine clients (the Unity package, the Godot add-on) schedule each
``DrumHit`` on their own audio clock and need one sample per drum class. These
are the voices :mod:`ibeat_io.drumkit` synthesises (no foreign licence), at
full velocity, the loudest at -1 dBFS: an engine scales the gain by ``velocity / 127`` (the synthesised
kit also darkens soft hits; a single sample per class does not).

``ibeat kit --out DIR`` writes ``<class>.wav`` per drum class (16-bit PCM, mono)
and ``kit.json``: per class its index (``DrumHit.drum_class``), name
(``DrumHit.drum``), General MIDI pitch, file and length.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ibeat_core.drums import DRUM_CLASSES, GM_EXPORT_PITCHES

from .audio import write_wav
from .drumkit import PEAK_CEILING, SAMPLE_RATE, synth_voice

__all__ = ["KIT_MANIFEST", "export_kit"]

#: The manifest written beside the samples.
KIT_MANIFEST = "kit.json"


def export_kit(out_dir, *, sample_rate: int = SAMPLE_RATE, seed: int = 0) -> list[Path]:
    """Write one WAV per drum class and :data:`KIT_MANIFEST` into ``out_dir`` (created).

    Parameters
    ----------
    out_dir : path-like
    sample_rate : int
        Samples per second, in [8000, 192000].
    seed : int
        Seed of the voices' noise and partials (:func:`ibeat_io.drumkit.synth_voice`).

    Returns
    -------
    list of Path
        The files written, samples in drum-class order, then the manifest.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    samples = [synth_voice(index, 1.0, sample_rate=sample_rate, seed=seed)
               for index in range(len(DRUM_CLASSES))]
    # One gain for the whole kit (the voices keep their balance), peaks at -1 dBFS at most.
    gain = min(1.0, PEAK_CEILING / max(float(np.abs(a).max()) for a in samples))
    written, voices = [], []
    for index, (name, audio) in enumerate(zip(DRUM_CLASSES, samples)):
        audio = (audio * gain).astype(np.float32)
        path = out / f"{name}.wav"
        write_wav(path, audio, sample_rate=sample_rate)
        written.append(path)
        voices.append({"drum_class": index, "drum": name, "gm_pitch": int(GM_EXPORT_PITCHES[index]),
                       "file": path.name, "length_s": round(len(audio) / sample_rate, 4)})
    manifest = out / KIT_MANIFEST
    manifest.write_text(json.dumps({"sample_rate": sample_rate, "seed": seed,
                                    "velocity": "full; scale the gain by velocity / 127",
                                    "voices": voices}, indent=2) + "\n")
    return written + [manifest]
