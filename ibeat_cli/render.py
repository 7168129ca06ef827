"""``ibeat render``: a keypoint clip through the real-time engine, to MIDI, WAV and a figure.

The clip is streamed frame by frame through :class:`ibeat_core.session.Session`
(:func:`~ibeat_core.session.run_session`), exactly as a live client's frames
would be, so a file gives the same drums as a stream. File times start at the
clip's first frame.
"""

from __future__ import annotations

import numpy as np

from ibeat_core.keypoints import KeypointConfig, mask_missing
from ibeat_core.session import SessionConfig, SessionResult, run_session

from ibeat_io.clips import load_clip
from ibeat_io.drum_files import write_drums

__all__ = ["render_clip", "hit_arrays"]


def hit_arrays(result: SessionResult, *, start_s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The session's hits as ``(onsets [s] from start_s, drum classes, velocities in [0, 1])``.

    Hits before ``start_s`` (none in practice: every hit is forecast after a
    frame) are dropped.
    """
    hits = [h for h in result.hits if h.time_s >= start_s]
    return (np.array([h.time_s - start_s for h in hits], dtype=np.float64),
            np.array([h.drum_class for h in hits], dtype=np.int64),
            np.array([h.velocity for h in hits], dtype=np.float64))


def render_clip(path, *, view: int = 0, config: SessionConfig = SessionConfig(), midi=None,
                wav=None, plot=None, networks=None) -> dict:
    """Render one clip's drums; write whichever of ``midi``, ``wav`` and ``plot`` are given.

    Parameters
    ----------
    path : path-like
        Keypoint clip (AIST++ ``.pkl`` or ibeat ``.npz``).
    view : int
        Camera view of a multi-view clip.
    config : SessionConfig
    midi, wav, plot : path-like, optional
        Outputs: a General MIDI drum track, a WAV of the synthesised kit (the
        clip's length plus 1 s of tail), a PNG/PDF/SVG
        (:func:`ibeat_io.drum_files.write_drums`).
    networks : ibeat_core.session.Networks, optional
        Defaults to the shipped networks.

    Returns
    -------
    dict
        A summary: clip, duration, tempo, counts of beats and hits, outputs written.
    """
    if networks is None:
        from ibeat_models import load_networks
        networks = load_networks()
    clip = load_clip(path, view=view)
    if len(clip.timestamps_s) < 2:
        raise ValueError(f"{path}: a clip needs at least 2 frames, got {len(clip.timestamps_s)}")
    result = run_session(networks, clip.timestamps_s, clip.keypoints, config=config)
    start_s = float(clip.timestamps_s[0])
    duration_s = float(clip.timestamps_s[-1] - start_s)
    onsets, classes, velocities = hit_arrays(result, start_s=start_s)
    tempi = [b.tempo_bpm for b in result.beats]
    tempo = float(np.median(tempi)) if tempi else 0.0
    summary = {"clip": str(path), "view": clip.view, "duration_s": round(duration_s, 3),
               "mode": config.mode, "genre": config.genre, "seed": config.seed,
               "feels": sorted({b.feel for b in result.beats}),
               "tempo_bpm": round(tempo, 2), "beats": len(result.beats), "hits": len(onsets)}
    if not result.beats:
        summary["no_drums"] = no_drums_reason(clip, result)
    summary.update(write_drums(onsets, classes, velocities, tempo_bpm=tempo,
                               duration_s=duration_s, seed=config.seed, midi=midi, wav=wav))
    if plot:
        from ibeat_io.plots import plot_session
        plot_session(result, plot, title=f"{clip.name} (view {clip.view}): {config.mode}, "
                                         f"genre {config.genre}, seed {config.seed}")
        summary["plot"] = str(plot)
    return summary


#: Shortest clip [s] the beat stage can be expected to lock onto (two or three beats).
MIN_CLIP_S = 3.0
#: Below this highest kinematic offset the body did not stop from any motion worth a beat.
STILL_OFFSET = 0.1


def no_drums_reason(clip, result) -> str:
    """Why a clip got no drums, in one line a user can act on."""
    duration_s = float(clip.timestamps_s[-1] - clip.timestamps_s[0])
    kp = np.asarray(clip.keypoints, dtype=np.float64)
    _, seen = mask_missing(kp, min_confidence=KeypointConfig.min_confidence)
    if not seen.any():
        return (f"no joint was seen in any frame (every confidence below "
                f"{KeypointConfig.min_confidence:g})")
    if duration_s < MIN_CLIP_S:
        return (f"the clip is {duration_s:.1f} s long; the beat stage needs about "
                f"{MIN_CLIP_S:g} s of rhythmic motion before the first drums")
    stops = float(np.max(result.kinematic_offsets)) if len(result.kinematic_offsets) else 0.0
    if stops < STILL_OFFSET:
        return f"the body barely moves (strongest stop of a motion {stops:.2f} of 1)"
    loudest = float(np.max(result.beat_probs)) if len(result.beat_probs) else 0.0
    return ("the motion has no steady beat the tracker could follow "
            f"(highest beat probability {loudest:.2f})")
