"""Audio files: WAV writing, and optional FluidSynth rendering of MIDI.

ibeat's own kit (:mod:`ibeat_io.drumkit`) needs nothing beyond numpy and
scipy. FluidSynth with a SoundFont (e.g. the shared TimGM6mb) is an optional
alternative; pyfluidsynth is imported only when it is asked for.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import soundfile

from ibeat_io.drumkit import SAMPLE_RATE
from ibeat_core.errors import ParameterError

__all__ = ["write_wav", "render_with_fluidsynth"]


def write_wav(path, audio, *, sample_rate: int) -> None:
    """Write audio as a 16-bit PCM WAV file.

    Parameters
    ----------
    path : str or os.PathLike
        Target ``.wav`` file; its folder must exist.
    audio : array_like of float, shape (n,) or (n, n_channels)
        Samples in [-1, 1]; anything beyond is clipped (16-bit PCM would
        wrap around instead).
    sample_rate : int
        Samples per second, > 0.

    Raises
    ------
    ParameterError
        If the audio is not floating point, 1-D or 2-D, or finite, or the
        sample rate is not a positive int.
    FileNotFoundError
        If the folder of ``path`` does not exist.
    """
    arr = np.asarray(audio)
    if not np.issubdtype(arr.dtype, np.floating):
        raise ParameterError(f"audio must be floating point in [-1, 1], got dtype {arr.dtype}")
    if arr.ndim not in (1, 2):
        raise ParameterError(f"audio must have shape (n,) or (n, n_channels), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ParameterError("audio must be finite (it has NaN or inf)")
    if (
        isinstance(sample_rate, (bool, np.bool_))
        or not isinstance(sample_rate, (int, np.integer))
        or sample_rate <= 0
    ):
        raise ParameterError(f"sample_rate must be a positive int, got {sample_rate!r}")
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"folder {path.parent} does not exist (writing {path})")
    soundfile.write(str(path), np.clip(arr, -1.0, 1.0), int(sample_rate), subtype="PCM_16")


def render_with_fluidsynth(pm, sf2_path, *, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Render a PrettyMIDI object with FluidSynth and a SoundFont.

    Parameters
    ----------
    pm : pretty_midi.PrettyMIDI
        E.g. from :func:`ibeat_io.midi.grid_to_pretty_midi`.
    sf2_path : str or os.PathLike
        A ``.sf2`` SoundFont with a GM drum kit.
    sample_rate : int
        Samples per second, > 0.

    Returns
    -------
    audio : np.ndarray, shape (n,), float32
        Mono, peak-normalised by pretty_midi.

    Raises
    ------
    ModuleNotFoundError
        If pyfluidsynth is not installed.
    FileNotFoundError
        If ``sf2_path`` does not exist.
    """
    if importlib.util.find_spec("fluidsynth") is None:
        raise ModuleNotFoundError(
            "render_with_fluidsynth needs pyfluidsynth: `pip install pyfluidsynth` plus the "
            "FluidSynth library (e.g. `apt-get install fluidsynth`); ibeat_io.drumkit "
            "renders without it"
        )
    sf2_path = Path(sf2_path)
    if not sf2_path.is_file():
        raise FileNotFoundError(f"no SoundFont at {sf2_path}")
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, int) or sample_rate <= 0:
        raise ParameterError(f"sample_rate must be a positive int, got {sample_rate!r}")
    return np.asarray(pm.fluidsynth(fs=sample_rate, sf2_path=str(sf2_path)), dtype=np.float32)
