"""ibeat's own drum kit: nine voices synthesised with numpy, no samples.

Every voice is built from oscillators, noise and filters, so the kit has no
foreign license and renders identically everywhere. Voices follow the nine
classes of :mod:`ibeat_core.drums`:

- kick: a sine swept down from ~150-200 Hz to 45 Hz, softly saturated, with a
  beater click;
- snare: a pitched membrane (two modes) plus high-passed noise (the wires);
- closed / open hi-hat: six square-wave 'metal' oscillators plus noise, high
  passed; short or long decay (an open hat is choked by the next hi-hat);
- low / mid / high tom: swept membranes at 82, 115 and 160 Hz;
- crash and ride: banks of inharmonic partials plus noise, long decays; the
  ride adds a pitched 'ping' and a stick tick.

Velocity (in [0, 1], as in ``DrumGrid.hits``) sets loudness, as
``velocity ** VELOCITY_EXPONENT``, and brightness, through a low-pass filter
whose cutoff rises with velocity; it also sets the pitch sweep of kick and
toms. Noise and partials come from ``numpy.random.default_rng((seed, class))``,
so a seed gives the same audio on every run.

Mixes get a small synthetic room (reverb) and pass a soft limiter, so
``|x| <= PEAK_CEILING`` (-1 dBFS) always. Audio is mono float32 at
``sample_rate`` Hz; times are float seconds.
"""

from __future__ import annotations

import functools
from typing import Callable, NamedTuple

import numpy as np
from scipy import signal

from ibeat_core.drums import DRUM_CLASSES, MAX_MIDI_VELOCITY, N_DRUM_CLASSES, DrumGrid
from ibeat_core.errors import ParameterError
from ibeat_core.validation import as_1d, valid_events

__all__ = [
    "SAMPLE_RATE",
    "VELOCITY_EXPONENT",
    "VOICE_LENGTHS_S",
    "synth_voice",
    "render_hits",
    "render_grid",
    "render_clicks",
    "soft_limit",
    "PEAK_CEILING",
    "MIX_GAIN",
    "ROOM_LEVEL",
]

SAMPLE_RATE = 44100
MIN_SAMPLE_RATE = 8000
MAX_SAMPLE_RATE = 192000
#: Loudness is ``velocity ** VELOCITY_EXPONENT``: -9 dB at 0.5, -21 dB at 0.2,
#: before the duller tone of soft hits.
VELOCITY_EXPONENT = 1.5
#: Gain on the sum of voices before the limiter: a groove played at median
#: velocity ~0.3-0.5 peaks around -2 dBFS; accents and sums of loud hits are
#: rounded off by the soft limiter. Fixed, so that velocity keeps its meaning
#: from one rendered beat to the next.
MIX_GAIN = 1.2
#: Default level of the small-room reverb on mixes (0 = dry); the room glues
#: the synthetic voices together as a real kit's room does.
ROOM_LEVEL = 0.2
_ROOM_LENGTH_S = 0.6
_ROOM_PREDELAY_S = 0.008
#: The soft limiter is linear up to this level and saturates towards
#: :data:`PEAK_CEILING` above.
LIMIT_THRESHOLD = 0.7
#: Highest sample level ibeat writes: -1 dBFS, the headroom a converter or a
#: lossy encoder needs to never clip (about 0.891).
PEAK_CEILING = 10 ** (-1 / 20)
#: How fast an open hi-hat dies when the next hi-hat closes it.
CHOKE_FADE_S = 0.02
_TAIL_FADE_S = 0.01
_CLOSED_HIHAT = DRUM_CLASSES.index("closed_hihat")
_OPEN_HIHAT = DRUM_CLASSES.index("open_hihat")
# Velocity is quantised to MIDI's 127 levels for the voice cache.
_VELOCITY_LEVELS = MAX_MIDI_VELOCITY


def _time(length_s: float, sample_rate: int) -> np.ndarray:
    return np.arange(int(round(length_s * sample_rate))) / sample_rate


def _sweep(freq_hz: np.ndarray, sample_rate: int) -> np.ndarray:
    """Sine of a time-varying frequency (phase = integral of frequency)."""
    return np.sin(2 * np.pi * np.cumsum(freq_hz) / sample_rate)


def _filter(x: np.ndarray, sample_rate: int, cutoff_hz, btype: str, order: int = 2) -> np.ndarray:
    # Keep cutoffs below Nyquist so every voice works at low sample rates.
    nyquist_safe = 0.45 * sample_rate
    cutoff = np.minimum(cutoff_hz, nyquist_safe)
    if btype == "low" and cutoff >= nyquist_safe:
        return x
    sos = signal.butter(order, cutoff, btype=btype, fs=sample_rate, output="sos")
    return signal.sosfilt(sos, x)


def _peak_normalise(x: np.ndarray) -> np.ndarray:
    peak = np.max(np.abs(x))
    return x / peak if peak > 0 else x


def _partials(
    rng: np.random.Generator,
    t: np.ndarray,
    *,
    n: int,
    lo_hz: float,
    hi_hz: float,
    decay_s: tuple[float, float],
) -> np.ndarray:
    """Inharmonic partials, log-uniform in frequency; higher ones die sooner."""
    freqs = np.exp(rng.uniform(np.log(lo_hz), np.log(hi_hz), n))
    amps = rng.uniform(0.4, 1.0, n)
    phases = rng.uniform(0, 2 * np.pi, n)
    decays = rng.uniform(*decay_s, n) * (freqs / lo_hz) ** -0.3
    out = np.zeros_like(t)
    for f, a, p, d in zip(freqs, amps, phases, decays):
        out += a * np.sin(2 * np.pi * f * t + p) * np.exp(-t / d)
    return out


def _kick(t, velocity, rng, sample_rate):
    freq = 45.0 + (95.0 + 60.0 * velocity) * np.exp(-t / 0.03)
    body = np.tanh(1.5 * _sweep(freq, sample_rate) * np.exp(-t / 0.13))
    click = _filter(rng.standard_normal(t.size), sample_rate, [1000.0, 6000.0], "bandpass")
    click = _peak_normalise(click) * np.exp(-t / 0.003)
    return body + 0.3 * click


def _snare(t, velocity, rng, sample_rate):
    freq = 185.0 * (1.0 + 0.25 * np.exp(-t / 0.015))
    tone = 0.7 * _sweep(freq, sample_rate) * np.exp(-t / 0.07)
    tone += 0.35 * _sweep(1.59 * freq, sample_rate) * np.exp(-t / 0.05)
    wires = _peak_normalise(_filter(rng.standard_normal(t.size), sample_rate, 900.0, "high"))
    wires *= 0.75 * np.exp(-t / 0.12) + 0.25 * np.exp(-t / 0.015)
    return 0.8 * tone + wires


def _metal(t, rng, sample_rate, *, highpass_hz):
    """Hi-hat source: six detuned square waves (TR-808 style) plus noise."""
    freqs = np.array([205.3, 304.4, 369.6, 522.7, 540.0, 800.0])
    phases = rng.uniform(0, 2 * np.pi, freqs.size)
    squares = np.sign(np.sin(2 * np.pi * freqs[:, None] * t + phases[:, None])).sum(axis=0)
    noise = rng.standard_normal(t.size)
    source = 0.7 * squares / freqs.size + 0.5 * noise
    return _peak_normalise(_filter(source, sample_rate, highpass_hz, "high", order=4))


def _closed_hihat(t, velocity, rng, sample_rate):
    return _metal(t, rng, sample_rate, highpass_hz=7000.0) * (
        np.exp(-t / 0.018) + 0.1 * np.exp(-t / 0.08)
    )


def _open_hihat(t, velocity, rng, sample_rate):
    return _metal(t, rng, sample_rate, highpass_hz=5500.0) * np.exp(-t / 0.32)


def _tom(freq_hz: float, decay_s: float):
    def voice(t, velocity, rng, sample_rate):
        freq = freq_hz * (1.0 + (0.15 + 0.3 * velocity) * np.exp(-t / 0.06))
        membrane = _sweep(freq, sample_rate) * np.exp(-t / decay_s)
        membrane += 0.3 * _sweep(1.5 * freq, sample_rate) * np.exp(-t / (0.5 * decay_s))
        stick = _filter(rng.standard_normal(t.size), sample_rate, [1500.0, 6000.0], "bandpass")
        stick = _peak_normalise(stick) * np.exp(-t / 0.008)
        return np.tanh(1.5 * membrane) + 0.4 * stick

    return voice


def _crash(t, velocity, rng, sample_rate):
    shimmer = _peak_normalise(
        _partials(rng, t, n=80, lo_hz=300.0, hi_hz=12000.0, decay_s=(0.6, 1.4))
    )
    noise = _peak_normalise(_filter(rng.standard_normal(t.size), sample_rate, 2500.0, "high"))
    attack = np.minimum(t / 0.003, 1.0)
    wash = shimmer + 0.6 * noise * np.exp(-t / 0.6) + 0.5 * noise * np.exp(-t / 0.03)
    return wash * attack


def _ride(t, velocity, rng, sample_rate):
    ping = _partials(rng, t, n=12, lo_hz=2000.0, hi_hz=7000.0, decay_s=(0.6, 1.2))
    body = _partials(rng, t, n=6, lo_hz=350.0, hi_hz=1200.0, decay_s=(1.0, 1.5))
    wash = _partials(rng, t, n=60, lo_hz=4000.0, hi_hz=14000.0, decay_s=(0.8, 1.5))
    tick = _peak_normalise(_filter(rng.standard_normal(t.size), sample_rate, 3000.0, "high"))
    return (
        _peak_normalise(ping)
        + 0.25 * _peak_normalise(body)
        + 0.4 * _peak_normalise(wash)
        + 0.5 * tick * np.exp(-t / 0.006)
    )


class _Voice(NamedTuple):
    synth: Callable[[np.ndarray, float, np.random.Generator, int], np.ndarray]
    length_s: float
    # Peak at velocity 1 before the mix gain, set so that equal velocities
    # sound balanced (A-weighted energy of the first 200 ms).
    level: float
    dull_hz: float  # low-pass cutoff at velocity 0 ...
    bright_hz: float  # ... and at velocity 1
    # Whether ``synth`` itself uses the velocity (pitch sweeps); the others
    # synthesise once per class and only their filter and gain follow it.
    synth_uses_velocity: bool


_VOICES: tuple[_Voice, ...] = (
    _Voice(_kick, 0.55, 0.85, 800.0, 9000.0, True),
    _Voice(_snare, 0.5, 0.95, 2500.0, 15000.0, False),
    _Voice(_closed_hihat, 0.3, 0.5, 9000.0, 18000.0, False),
    _Voice(_open_hihat, 1.2, 0.3, 9000.0, 18000.0, False),
    _Voice(_tom(82.0, 0.25), 1.0, 0.8, 1200.0, 8000.0, True),
    _Voice(_tom(115.0, 0.2), 0.9, 0.6, 1200.0, 8000.0, True),
    _Voice(_tom(160.0, 0.16), 0.8, 0.4, 1200.0, 8000.0, True),
    _Voice(_crash, 2.8, 0.4, 5000.0, 18000.0, False),
    _Voice(_ride, 2.2, 0.15, 5000.0, 18000.0, False),
)
#: Length in seconds of each class's voice, indexed by drum class.
VOICE_LENGTHS_S: tuple[float, ...] = tuple(v.length_s for v in _VOICES)


def synth_voice(
    drum_class: int,
    velocity: float,
    *,
    sample_rate: int = SAMPLE_RATE,
    seed: int = 0,
) -> np.ndarray:
    """One drum hit.

    Parameters
    ----------
    drum_class : int
        Index into :data:`ibeat_core.drums.DRUM_CLASSES`, in [0, 8].
    velocity : float
        Strength in (0, 1]: louder and brighter as it grows.
    sample_rate : int
        Samples per second, in [8000, 192000].
    seed : int
        Non-negative seed of the voice's noise and partials.

    Returns
    -------
    audio : np.ndarray, shape (n,), float32
        ``n = round(VOICE_LENGTHS_S[drum_class] * sample_rate)``; peak at
        most about 0.95, fading to 0 at the end.

    Raises
    ------
    ParameterError
        On an unknown class, a velocity outside (0, 1], a bad sample rate
        or a negative seed.

    Examples
    --------
    >>> kick = synth_voice(0, 1.0)
    >>> kick.shape, kick.dtype
    ((24255,), dtype('float32'))
    >>> bool(np.abs(kick).max() <= 1.0)
    True
    """
    drum_class = _valid_class(drum_class)
    velocity = _valid_velocity(velocity)
    return _synth(drum_class, velocity, _valid_sample_rate(sample_rate), _valid_seed(seed))


def _synth(drum_class: int, velocity: float, sample_rate: int, seed: int) -> np.ndarray:
    voice = _VOICES[drum_class]
    if voice.synth_uses_velocity:
        raw = _raw_voice(drum_class, velocity, sample_rate, seed)
    else:
        raw = _fixed_raw_voice(drum_class, sample_rate, seed)
    # Soft hits are duller, as on an acoustic kit.
    cutoff = voice.dull_hz * (voice.bright_hz / voice.dull_hz) ** velocity
    out = _filter(raw, sample_rate, cutoff, "low") * voice.level * velocity**VELOCITY_EXPONENT
    n_fade = min(out.size, int(_TAIL_FADE_S * sample_rate))
    out[out.size - n_fade :] *= np.linspace(1.0, 0.0, n_fade)
    return out.astype(np.float32)


def _raw_voice(drum_class: int, velocity: float, sample_rate: int, seed: int) -> np.ndarray:
    """Peak-normalised voice before the velocity filter and gain."""
    voice = _VOICES[drum_class]
    rng = np.random.default_rng((seed, drum_class))
    t = _time(voice.length_s, sample_rate)
    return _peak_normalise(voice.synth(t, velocity, rng, sample_rate))


@functools.lru_cache(maxsize=32)
def _fixed_raw_voice(drum_class: int, sample_rate: int, seed: int) -> np.ndarray:
    """:func:`_raw_voice` of a class whose synthesis ignores velocity; the
    cymbals' partial banks are the slowest part of the kit (read-only)."""
    raw = _raw_voice(drum_class, 1.0, sample_rate, seed)
    raw.setflags(write=False)
    return raw


@functools.lru_cache(maxsize=256)
def _cached_voice(drum_class: int, level: int, sample_rate: int, seed: int) -> np.ndarray:
    """:func:`_synth` at MIDI velocity ``level`` (read-only), for mixing."""
    out = _synth(drum_class, level / _VELOCITY_LEVELS, sample_rate, seed)
    out.setflags(write=False)
    return out


def render_hits(
    onsets_s,
    classes,
    velocities,
    *,
    sample_rate: int = SAMPLE_RATE,
    duration_s: float | None = None,
    seed: int = 0,
    room: float = ROOM_LEVEL,
) -> np.ndarray:
    """Mix drum hits into one mono track.

    Parameters
    ----------
    onsets_s : array_like of float, shape (n,)
        Hit times in seconds; sample 0 is time 0. The part of a hit before
        time 0 or after ``duration_s`` is cut.
    classes : array_like of int, shape (n,)
        Drum class of each hit, in [0, 8].
    velocities : array_like of float, shape (n,)
        Strength of each hit in [0, 1], quantised to 1/127 steps (MIDI's
        resolution); hits of velocity 0 are silent.
    sample_rate : int
        Samples per second, in [8000, 192000].
    duration_s : float or None
        Length of the output in seconds, >= 0. None: until the last hit has
        rung out.
    seed : int
        Non-negative seed of the voices' noise and partials and the room.
    room : float
        Level in [0, 1] of a small-room reverb (a 0.6 s synthetic impulse
        response of unit energy) added to the dry mix; 0 renders dry.

    Returns
    -------
    audio : np.ndarray, shape (n_samples,), float32
        ``n_samples = round(duration_s * sample_rate)``; the mix (plus
        room) times :data:`MIX_GAIN` through :func:`soft_limit`, so
        ``|audio| <= 1``. An open hi-hat stops (with a short fade) at the
        next hi-hat hit.

    Raises
    ------
    ParameterError
        On mismatched lengths, non-finite onsets, an unknown class, a
        velocity outside [0, 1], or a bad rate, duration, seed or room.

    Examples
    --------
    >>> audio = render_hits([0.0, 0.25], [0, 1], [1.0, 0.8], duration_s=1.0)
    >>> audio.shape, bool(np.abs(audio).max() <= 1.0)
    ((44100,), True)
    """
    onsets, cls, vel = valid_events(onsets_s, classes, velocities, values_name="classes")
    bad_cls = ~np.isin(cls, np.arange(N_DRUM_CLASSES))
    if np.any(bad_cls):
        raise ParameterError(f"classes must be ints in [0, 8], got {cls[bad_cls][:5]}")
    bad_vel = ~((vel >= 0) & (vel <= 1))
    if np.any(bad_vel):
        raise ParameterError(f"velocities must be in [0, 1], got {vel[bad_vel][:5]}")
    sample_rate = _valid_sample_rate(sample_rate)
    seed = _valid_seed(seed)
    room = _valid_room(room)

    cls = cls.astype(np.int64)
    levels = np.rint(vel * _VELOCITY_LEVELS).astype(np.int64)
    starts = np.rint(onsets * sample_rate).astype(np.int64)
    voice_lens = np.rint(np.asarray(VOICE_LENGTHS_S)[cls] * sample_rate).astype(np.int64)
    if duration_s is None:
        n_samples = int(max(0, np.max(starts + voice_lens, initial=0)))
    else:
        n_samples = int(round(_valid_duration(duration_s) * sample_rate))
    ends = np.minimum(starts + voice_lens, _choke_points(starts, cls, sample_rate))

    mix = np.zeros(n_samples, dtype=np.float64)
    for start, end, drum_class, level in zip(starts, ends, cls, levels):
        if level == 0 or start >= n_samples or end <= 0:
            continue
        full = _cached_voice(int(drum_class), int(level), sample_rate, seed)
        voice = full[: end - start]
        if voice.size < full.size:
            voice = voice * _fade_out(voice.size, sample_rate)
        lo, hi = max(start, 0), min(end, n_samples)
        mix[lo:hi] += voice[lo - start : hi - start]
    if room > 0 and n_samples:
        mix += room * signal.oaconvolve(mix, _room_response(sample_rate, seed))[:n_samples]
    return soft_limit(MIX_GAIN * mix)


@functools.lru_cache(maxsize=8)
def _room_response(sample_rate: int, seed: int) -> np.ndarray:
    """Impulse response of a small, fairly dead room (unit energy, read-only).

    Decaying noise after a short pre-delay; its highs die sooner than its
    lows, as in a real room.
    """
    t = _time(_ROOM_LENGTH_S, sample_rate)
    # Class index N_DRUM_CLASSES: a noise stream apart from every voice's.
    rng = np.random.default_rng((seed, N_DRUM_CLASSES))
    lows = _filter(rng.standard_normal(t.size), sample_rate, 3000.0, "low") * np.exp(-t / 0.1)
    highs = rng.standard_normal(t.size) * np.exp(-t / 0.03)
    response = lows + 0.3 * highs
    response[: int(_ROOM_PREDELAY_S * sample_rate)] = 0.0
    response /= np.sqrt(np.sum(response**2))
    response.setflags(write=False)
    return response


def render_grid(
    grid: DrumGrid,
    *,
    sample_rate: int = SAMPLE_RATE,
    duration_s: float | None = None,
    seed: int = 0,
    room: float = ROOM_LEVEL,
) -> np.ndarray:
    """Render a :class:`~ibeat_core.drums.DrumGrid` with its micro-timing.

    Parameters
    ----------
    grid : DrumGrid
        Hits sound at ``start_s + (step + offset) * step_s`` seconds.
    sample_rate : int
        Samples per second, in [8000, 192000].
    duration_s : float or None
        Output length in seconds. None: at least to the grid's end
        (``start_s + grid.duration_s``) and until the last hit rang out.
    seed : int
        Non-negative seed of the voices' noise and partials and the room.
    room : float
        Level of the room reverb in [0, 1], as in :func:`render_hits`.

    Returns
    -------
    audio : np.ndarray, shape (n_samples,), float32
        As :func:`render_hits`; sample 0 is time 0, not ``start_s``.

    Examples
    --------
    >>> from ibeat_core.drums import DrumGrid
    >>> hits = np.zeros((16, 9), dtype=np.float32)
    >>> hits[::4, 0] = 1.0   # four on the floor
    >>> hits[4::8, 1] = 0.9  # backbeat
    >>> hits[::2, 2] = 0.6   # eighth-note hats
    >>> audio = render_grid(DrumGrid.from_hits(hits, bpm=120.0), duration_s=2.0)
    >>> audio.shape
    (88200,)
    """
    if not isinstance(grid, DrumGrid):
        raise ParameterError(f"grid must be a DrumGrid, got {type(grid).__name__}")
    steps, cls = np.nonzero(grid.hits)
    onsets = grid.start_s + (steps + grid.offsets[steps, cls].astype(np.float64)) * grid.step_s
    if duration_s is None:
        grid_end_s = grid.start_s + grid.duration_s
        tails_end_s = np.max(onsets + np.asarray(VOICE_LENGTHS_S)[cls], initial=0.0)
        duration_s = max(grid_end_s, tails_end_s, 0.0)
    return render_hits(
        onsets,
        cls,
        grid.hits[steps, cls],
        sample_rate=sample_rate,
        duration_s=duration_s,
        seed=seed,
        room=room,
    )


_CLICK_LENGTH_S = 0.05
_CLICK_HZ = 1000.0
_ACCENT_HZ = 1500.0
_CLICK_LEVEL = 0.5
_ACCENT_LEVEL = 0.8


def render_clicks(
    times_s,
    *,
    accents=None,
    sample_rate: int = SAMPLE_RATE,
    duration_s: float | None = None,
) -> np.ndarray:
    """A metronome click at each time, e.g. to hear detected beats.

    Parameters
    ----------
    times_s : array_like of float, shape (n,)
        Click times in seconds; sample 0 is time 0.
    accents : array_like of bool, shape (n,), or None
        True where a click is accented (higher and louder, e.g. downbeats).
        None: no accents.
    sample_rate : int
        Samples per second, in [8000, 192000].
    duration_s : float or None
        Output length in seconds, >= 0. None: until the last click ends.

    Returns
    -------
    audio : np.ndarray, shape (n_samples,), float32
        Soft-limited, so ``|audio| <= 1``.

    Raises
    ------
    ParameterError
        On non-finite times, accents of another length, or a bad rate or
        duration.

    Examples
    --------
    >>> audio = render_clicks([0.0, 0.5, 1.0], accents=[True, False, False])
    >>> audio.shape
    (46305,)
    """
    times = as_1d(times_s, "times_s")
    if not np.all(np.isfinite(times)):
        raise ParameterError("times_s must be finite")
    if accents is None:
        accent = np.zeros(times.shape, dtype=bool)
    else:
        accent = np.asarray(accents, dtype=bool)
        if accent.shape != times.shape:
            raise ParameterError(
                f"accents must have the shape of times_s {times.shape}, got {accent.shape}"
            )
    sample_rate = _valid_sample_rate(sample_rate)
    t = _time(_CLICK_LENGTH_S, sample_rate)
    envelope = np.minimum(t / 0.001, 1.0) * np.exp(-t / 0.012)
    click = _CLICK_LEVEL * np.sin(2 * np.pi * _CLICK_HZ * t) * envelope
    accented = _ACCENT_LEVEL * np.sin(2 * np.pi * _ACCENT_HZ * t) * envelope

    starts = np.rint(times * sample_rate).astype(np.int64)
    if duration_s is None:
        n_samples = int(max(0, np.max(starts + t.size, initial=0)))
    else:
        n_samples = int(round(_valid_duration(duration_s) * sample_rate))
    out = np.zeros(n_samples, dtype=np.float64)
    for start, is_accent in zip(starts, accent):
        sound = accented if is_accent else click
        lo, hi = max(start, 0), min(start + sound.size, n_samples)
        if lo < hi:
            out[lo:hi] += sound[lo - start : hi - start]
    return soft_limit(out)


def soft_limit(audio, *, threshold: float = LIMIT_THRESHOLD,
               ceiling: float = PEAK_CEILING) -> np.ndarray:
    """Linear below ``threshold``, smoothly saturating towards ``ceiling`` above.

    Parameters
    ----------
    audio : array_like of float, shape (n,)
        Samples, any level.
    threshold : float
        Level in (0, ceiling) up to which samples pass unchanged.
    ceiling : float
        Level in (0, 1] the output never exceeds (default -1 dBFS).

    Returns
    -------
    limited : np.ndarray, shape (n,), float32
        ``|limited| <= ceiling``; the curve is continuous with slope 1 at the
        threshold, so there is no hard clipping.

    Examples
    --------
    >>> [round(float(v), 3) for v in soft_limit([0.5, 0.8, -4.0])]
    [0.5, 0.792, -0.891]
    """
    x = np.asarray(audio, dtype=np.float64)
    if not 0 < ceiling <= 1:
        raise ParameterError(f"ceiling must be in (0, 1], got {ceiling}")
    if not 0 < threshold < ceiling:
        raise ParameterError(f"threshold must be in (0, {ceiling:g}), got {threshold}")
    if not np.all(np.isfinite(x)):
        raise ParameterError("audio must be finite")
    mag = np.abs(x)
    over = mag > threshold
    headroom = ceiling - threshold
    mag[over] = threshold + headroom * np.tanh((mag[over] - threshold) / headroom)
    return np.clip(np.sign(x) * mag, -ceiling, ceiling).astype(np.float32)


def _choke_points(starts: np.ndarray, cls: np.ndarray, sample_rate: int) -> np.ndarray:
    """Sample where each hit must stop: an open hat at the next hi-hat hit."""
    ends = np.full(starts.shape, np.iinfo(np.int64).max, dtype=np.int64)
    hat = np.flatnonzero((cls == _CLOSED_HIHAT) | (cls == _OPEN_HIHAT))
    hat = hat[np.argsort(starts[hat], kind="stable")]
    for this, following in zip(hat[:-1], hat[1:]):
        if cls[this] == _OPEN_HIHAT and starts[following] > starts[this]:
            ends[this] = starts[following] + int(CHOKE_FADE_S * sample_rate)
    return ends


def _fade_out(n: int, sample_rate: int) -> np.ndarray:
    n_fade = min(n, int(CHOKE_FADE_S * sample_rate))
    ramp = np.ones(n)
    ramp[n - n_fade :] = np.linspace(1.0, 0.0, n_fade)
    return ramp


def _valid_class(drum_class) -> int:
    if (
        isinstance(drum_class, (bool, np.bool_))
        or not isinstance(drum_class, (int, np.integer))
        or not 0 <= drum_class < N_DRUM_CLASSES
    ):
        raise ParameterError(f"drum_class must be an int in [0, 8], got {drum_class!r}")
    return int(drum_class)


def _valid_velocity(velocity) -> float:
    try:
        v = float(velocity)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"velocity must be a number, got {velocity!r}") from exc
    if not 0 < v <= 1:
        raise ParameterError(f"velocity must be in (0, 1], got {velocity!r}")
    return v


def _valid_sample_rate(sample_rate) -> int:
    if (
        isinstance(sample_rate, (bool, np.bool_))
        or not isinstance(sample_rate, (int, np.integer))
        or not MIN_SAMPLE_RATE <= sample_rate <= MAX_SAMPLE_RATE
    ):
        raise ParameterError(
            f"sample_rate must be an int in [{MIN_SAMPLE_RATE}, {MAX_SAMPLE_RATE}] Hz, "
            f"got {sample_rate!r}"
        )
    return int(sample_rate)


def _valid_seed(seed) -> int:
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ParameterError(f"seed must be a non-negative int, got {seed!r}")
    return int(seed)


def _valid_room(room) -> float:
    try:
        level = float(room)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"room must be a number, got {room!r}") from exc
    if not 0 <= level <= 1:
        raise ParameterError(f"room must be in [0, 1], got {room!r}")
    return level


def _valid_duration(duration_s) -> float:
    try:
        d = float(duration_s)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"duration_s must be a number, got {duration_s!r}") from exc
    if not (np.isfinite(d) and d >= 0):
        raise ParameterError(f"duration_s must be finite and >= 0, got {duration_s!r}")
    return d
