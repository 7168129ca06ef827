"""'Mono': one drum note per beat, generated auto-regressively (the baseline of paper 4.5).

The paper's monophonic baseline adds a single drum note on each visual beat,
drawn from a 1-layer GRU trained on the Groove MIDI Dataset. Its vocabulary
here has ``MONO_TOKENS = 10`` tokens: the 9 drum classes of
:data:`ibeat_core.drums.DRUM_CLASSES` and ``REST`` (no note on this beat),
because many GMD beats start with silence (fills, pauses) and a note on every
beat would misrepresent them.

:func:`beat_tokens` reduces real drums to those tokens. The note of a beat is
the most salient hit on its first 16th step: kick and snare come first (the
louder of the two, kick on a tie) because they carry the beat; otherwise the
loudest other class (the lower class index on a tie); ``REST`` when the step
has no hit.

:class:`MonoNoteGenerator` samples one token per beat from a
:class:`MonoNetwork` (``ibeat_models.mono.MonoRuntime`` runs the shipped GRU on
onnxruntime), feeding each token back as the next input.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from .drums import N_DRUM_CLASSES, split_beats
from .errors import ParameterError

__all__ = ["MONO_TOKENS", "REST", "NO_NOTE", "MonoNetwork", "beat_tokens", "MonoNoteGenerator"]

#: Size of the vocabulary: 9 drum classes and REST.
MONO_TOKENS = N_DRUM_CLASSES + 1
#: Token of a beat without a note.
REST = N_DRUM_CLASSES
#: What :meth:`MonoNoteGenerator.next_note` returns for REST.
NO_NOTE = -1

_KICK, _SNARE = 0, 1


class MonoNetwork(Protocol):
    """One beat of the auto-regressive model: previous token in, next token's logits out."""

    def initial_state(self) -> Any:
        """The recurrent state of a new stream."""

    def step(self, token: np.ndarray, state: Any) -> tuple[np.ndarray, Any]:
        """Logits of the next token and the new state.

        Parameters
        ----------
        token : np.ndarray, shape (MONO_TOKENS,), float32
            One-hot previous token; all zeros before the first beat.
        state : the previous state

        Returns
        -------
        logits : np.ndarray, shape (MONO_TOKENS,), float32
        state : the new state
        """


def beat_tokens(hits) -> np.ndarray:
    """The Mono token of every beat of a drum track (the salience rule of the module notes).

    Parameters
    ----------
    hits : array_like, shape (n_steps, N_DRUM_CLASSES)
        Velocities in [0, 1] (0 = no hit) on the 16th grid; ``n_steps`` a
        multiple of 4.

    Returns
    -------
    tokens : np.ndarray, shape (n_steps // 4,), int64
        Drum class 0..8 or :data:`REST` (9).

    Examples
    --------
    >>> hits = np.zeros((12, 9), dtype=np.float32)
    >>> hits[0, [0, 2]] = [0.4, 0.9]     # kick beats a louder hi-hat
    >>> hits[4, 8] = 0.7                 # only a ride
    >>> hits[9, 1] = 1.0                 # snare off the beat: rest
    >>> beat_tokens(hits).tolist()
    [0, 8, 9]
    """
    arr = np.asarray(hits, dtype=np.float32)
    if arr.ndim != 2 or arr.shape[1] != N_DRUM_CLASSES:
        raise ParameterError(f"hits must have shape (n_steps, {N_DRUM_CLASSES}), got {arr.shape}")
    first = split_beats(arr)[:, 0]                                   # (n_beats, 9)
    kick_snare = first[:, [_KICK, _SNARE]]
    tokens = np.where(kick_snare.max(axis=1) > 0, np.argmax(kick_snare, axis=1),
                      np.argmax(first, axis=1))
    return np.where(first.max(axis=1) > 0, tokens, REST).astype(np.int64)


class MonoNoteGenerator:
    """Streaming Mono: one drum note per call (one per beat), sampled auto-regressively.

    Parameters
    ----------
    network : MonoNetwork
    temperature : float
        >= 0; logits are divided by it before sampling. 0 takes the most
        likely token.
    seed : int
        Seed of the sampling generator; :meth:`reset` restarts it.

    Examples
    --------
    >>> class KickSnare:  # alternates kick and snare
    ...     def initial_state(self):
    ...         return None
    ...     def step(self, token, state):
    ...         logits = np.full(MONO_TOKENS, -9.0, dtype=np.float32)
    ...         logits[1 if token[0] else 0] = 9.0
    ...         return logits, state
    >>> gen = MonoNoteGenerator(KickSnare(), temperature=0)
    >>> [gen.next_note() for _ in range(4)]
    [0, 1, 0, 1]
    """

    def __init__(self, network: MonoNetwork, *, temperature: float = 1.0, seed: int = 0):
        if not (isinstance(temperature, (int, float, np.integer, np.floating))
                and np.isfinite(temperature) and temperature >= 0):
            raise ParameterError(f"temperature must be a finite number >= 0, got {temperature!r}")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise ParameterError(f"seed must be an int, got {seed!r}")
        self.network = network
        self.temperature = float(temperature)
        self.seed = int(seed)
        self.reset()

    def reset(self):
        """Start a new stream: fresh network state, no previous token, draws from the seed."""
        self._rng = np.random.default_rng(self.seed)
        self._state = self.network.initial_state()
        self._token = np.zeros(MONO_TOKENS, dtype=np.float32)

    def next_note(self) -> int:
        """The drum class (0..8) of the next beat's note, or :data:`NO_NOTE` (-1) for a rest."""
        logits, self._state = self.network.step(self._token.copy(), self._state)
        logits = np.asarray(logits, dtype=np.float64)
        if logits.shape != (MONO_TOKENS,) or not np.all(np.isfinite(logits)):
            raise ParameterError(f"network logits must be finite with shape ({MONO_TOKENS},), "
                                 f"got {logits.shape}")
        if self.temperature == 0:
            token = int(np.argmax(logits))
        else:
            z = logits / self.temperature
            p = np.exp(z - z.max())
            token = int(self._rng.choice(MONO_TOKENS, p=p / p.sum()))
        self._token = np.eye(MONO_TOKENS, dtype=np.float32)[token]
        return NO_NOTE if token == REST else token

