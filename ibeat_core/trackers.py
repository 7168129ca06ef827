"""Beat trackers by name: how a session's beat stage is chosen from its config.

A beat tracker is whatever satisfies
:class:`~ibeat_core.beat_tracking.StreamingBeatTracker` (one keypoint frame in,
:class:`~ibeat_core.beat_tracking.BeatFrame` per grid frame out). Most are an
:class:`~ibeat_core.beat_tracking.OnlineBeatTracker`: the shared streaming front
end, a beat activation and a decoder. :data:`TRACKERS` maps a name to a factory
``(networks, rhythm, hmm) -> tracker``; ``SessionConfig.tracker`` names one, and
:func:`build_tracker` builds a fresh instance per stream.

Two ship: ``"groove"`` (the default: VisBeatNet, the B-HMM and a beat clock
that keeps playing while the body moves, :mod:`ibeat_core.groove`) and
``"visbeat"`` (the paper's VisBeatNet + B-HMM, acting on confident forecasts
only). A new tracker is one factory and one :func:`register_tracker` call;
nothing in the session changes.
"""

from __future__ import annotations

from typing import Callable

from .beat_hmm import BeatHMMConfig
from .beat_tracking import OnlineBeatTracker, StreamingBeatTracker
from .errors import ParameterError
from .groove import GrooveConfig, GrooveDecoder
from .rhythm import RhythmConfig

__all__ = ["DEFAULT_TRACKER", "TRACKERS", "TrackerFactory", "register_tracker", "build_tracker"]

#: ``(networks, rhythm, hmm) -> StreamingBeatTracker``; ``networks`` is an
#: :class:`ibeat_core.session.Networks`, ``hmm`` a :class:`BeatHMMConfig` or None.
TrackerFactory = Callable[..., StreamingBeatTracker]


def _visbeat_bhmm(networks, rhythm: RhythmConfig, hmm: BeatHMMConfig | None) -> OnlineBeatTracker:
    """The paper's beat stage (3.1.2): VisBeatNet's beat probability decoded by the online B-HMM."""
    return OnlineBeatTracker(networks.beat, rhythm=rhythm, hmm=hmm)


def _groove(networks, rhythm: RhythmConfig, hmm: BeatHMMConfig | None) -> OnlineBeatTracker:
    """VisBeatNet's beat probability, the B-HMM, and a beat clock that keeps the groove
    while the body moves (:mod:`ibeat_core.groove`)."""
    hmm = hmm if hmm is not None else BeatHMMConfig(fps=rhythm.fps)
    return OnlineBeatTracker(networks.beat, rhythm=rhythm,
                             decoder=GrooveDecoder(GrooveConfig(hmm=hmm)))


#: The beat stage a session runs unless its config names another.
DEFAULT_TRACKER = "groove"
#: Tracker name -> factory. Extend with :func:`register_tracker`.
TRACKERS: dict[str, TrackerFactory] = {"groove": _groove, "visbeat": _visbeat_bhmm}


def register_tracker(name: str, factory: TrackerFactory):
    """Make ``factory`` available as ``SessionConfig(tracker=name)``.

    Raises
    ------
    ParameterError
        If ``name`` is empty or already taken.
    """
    if not name or name in TRACKERS:
        raise ParameterError(f"tracker name {name!r} is empty or already registered")
    TRACKERS[name] = factory


def build_tracker(name: str, networks, *, rhythm: RhythmConfig = RhythmConfig(),
                  hmm: BeatHMMConfig | None = None) -> StreamingBeatTracker:
    """A fresh tracker ``name`` for one stream.

    Raises
    ------
    ParameterError
        For an unknown name, listing the known ones.
    """
    if name not in TRACKERS:
        raise ParameterError(f"unknown beat tracker {name!r}; known: {', '.join(sorted(TRACKERS))}")
    return TRACKERS[name](networks, rhythm, hmm)
