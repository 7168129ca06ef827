"""The command-line options of a session (:class:`ibeat_core.session.SessionConfig`), in one place.

``ibeat render``, ``ibeat live``, ``ibeat-server`` (its own source, flags
prefixed ``source-``) and ``ibeat-replay`` add the options they take with
:func:`add_session_options` and build the session back with
:func:`session_config_from_args`. Defaults are ``SessionConfig``'s own field
defaults, choices :data:`ibeat_core.session.MODES`,
:data:`ibeat_core.drums.GENRES` and :data:`ibeat_core.trackers.TRACKERS`, so a
new default reaches every command.

Each option is named after its ``SessionConfig`` field, except the lead time,
given in milliseconds: ``lead_ms`` (flag ``--lead-ms``) is ``lead_s * 1000``.

Examples
--------
>>> import argparse
>>> parser = argparse.ArgumentParser()
>>> add_session_options(parser, ("mode", "seed", "lead_ms"), prefix="source-")
>>> args = parser.parse_args(["--source-mode", "mono", "--source-lead-ms", "150"])
>>> config = session_config_from_args(args, prefix="source-")
>>> config.mode, config.seed, config.lead_s
('mono', 0, 0.15)
"""

from __future__ import annotations

from ibeat_core.drums import GENRES
from ibeat_core.errors import ParameterError
from ibeat_core.bar import METERS
from ibeat_core.session import DRUM_MODELS, MODES, SessionConfig
from ibeat_core.trackers import TRACKERS

__all__ = ["SESSION_OPTIONS", "add_session_options", "session_config_from_args"]

_DEFAULTS = SessionConfig()
_MIN_LEAD_MS = 1e3 * _DEFAULTS.min_lead_s
_LEAD_HELP = f"how long before its play time a beat's hits are sent [ms], > {_MIN_LEAD_MS:g}"

#: ``add_argument`` keywords of each option (its flag aside).
_ARGUMENTS = {
    "mode": dict(choices=MODES, default=_DEFAULTS.mode,
                 help="poly: DrumGenNet patterns; mono: one note per beat (the paper's baseline)"),
    "genre": dict(choices=GENRES, default=_DEFAULTS.genre, help="feel asked of DrumGenNet"),
    "genre_strength": dict(type=float, default=_DEFAULTS.genre_strength,
                           help="how strongly the genre is asked for (1 = plain conditional "
                                "model)"),
    "seed": dict(type=int, default=_DEFAULTS.seed, help="seed of the drum sampling"),
    "density": dict(type=float, default=_DEFAULTS.density,
                    help="hit density bias (logits): > 0 more hits, < 0 fewer"),
    "temperature": dict(type=float, default=_DEFAULTS.temperature,
                        help="sampling temperature, 0 = no randomness"),
    "drums": dict(choices=DRUM_MODELS, default=_DEFAULTS.drums,
                  help="bar: DrumGenNet that knows the bar (backbeat, fills at phrase ends) with "
                       "a drummer's velocities; paper: the paper's DrumGenNet (no bar, velocity "
                       "from the body's style)"),
    "meter": dict(choices=("auto", *METERS), default=_DEFAULTS.meter,
                  help="bar of --drums bar: auto = 4/4 unless the motion says 3/4"),
    "lead_ms": dict(type=float, default=1e3 * _DEFAULTS.lead_s, help=_LEAD_HELP),
    "tracker": dict(choices=sorted(TRACKERS), default=_DEFAULTS.tracker,
                    help="beat tracker (groove: VisBeatNet, the B-HMM and a beat clock that keeps "
                         "playing while the body moves; visbeat: the paper's VisBeatNet + B-HMM, "
                         "confident forecasts only)"),
}
#: Every session option, in the order the commands list them.
SESSION_OPTIONS = tuple(_ARGUMENTS)


def add_session_options(parser, names=SESSION_OPTIONS, *, prefix: str = "",
                        server_lead_default: bool = False) -> None:
    """Add the session options ``names`` to ``parser``, as ``--{prefix}{name}`` flags.

    Parameters
    ----------
    parser : argparse.ArgumentParser or argument group
    names : sequence of str
        Options to add, in this order; any of :data:`SESSION_OPTIONS`
        (``genre_strength`` becomes ``--genre-strength``).
    prefix : str
        Prepended to each flag name, e.g. ``"source-"`` for ``--source-mode``;
        the parsed values are found under ``args.source_mode`` etc.
    server_lead_default : bool
        ``--lead-ms`` defaults to None: a client leaves the lead to the
        server, whose default is ``SessionConfig``'s.

    Raises
    ------
    ParameterError
        An unknown option name.
    """
    unknown = [name for name in names if name not in _ARGUMENTS]
    if unknown:
        raise ParameterError(f"unknown session options {unknown}; choose from "
                             f"{', '.join(SESSION_OPTIONS)}")
    for name in names:
        kwargs = dict(_ARGUMENTS[name])
        if name == "lead_ms" and server_lead_default:
            kwargs.update(default=None, help=f"{_LEAD_HELP} (default: the server's, "
                                             f"{kwargs['default']:g})")
        parser.add_argument(f"--{prefix}{name.replace('_', '-')}", **kwargs)


def session_config_from_args(args, *, prefix: str = "") -> SessionConfig:
    """The ``SessionConfig`` of the session options parsed into ``args``.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed by a parser that :func:`add_session_options` added options to
        with the same ``prefix``; options ``args`` lacks (or a ``lead_ms`` of
        None) keep ``SessionConfig``'s defaults.
    prefix : str

    Returns
    -------
    SessionConfig

    Raises
    ------
    ParameterError
        A lead time not above ``SessionConfig.min_lead_s`` (20 ms), or any
        value ``SessionConfig`` refuses (an unknown mode or genre, a negative
        temperature or genre strength, ...).
    """
    dest = prefix.replace("-", "_")
    values = {name: getattr(args, dest + name) for name in SESSION_OPTIONS
              if hasattr(args, dest + name)}
    lead_ms = values.pop("lead_ms", None)
    if lead_ms is not None:
        # Checked here, in the flag's unit: SessionConfig would blame min_lead_s instead.
        if not lead_ms > _MIN_LEAD_MS:
            raise ParameterError(f"--{prefix}lead-ms must be > {_MIN_LEAD_MS:g} ms, "
                                 f"got {lead_ms:g}")
        values["lead_s"] = lead_ms / 1e3
    return SessionConfig(**values)
