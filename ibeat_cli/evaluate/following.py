"""``ibeat evaluate follow``: do the drums follow the body? (issue 12's measure)

Every clip is streamed frame by frame through the real-time engine
(:func:`~ibeat_core.session.run_session`, exactly what a live client gets), and
the beats it *scheduled* (the :class:`~ibeat_core.session.BeatCue` s, each with
its drums) are scored against ground truth with :mod:`ibeat_metrics.following`:

* **Dance-with-Melody** (3D mocap seen by virtual cameras with detector noise):
  the ChoreoNet musical beat grid, phase and tempo: F-measure, CMLt, AMLt beside
  their chance levels, coverage, tempo agreement, lock, first drums.
* **AIST++ 2D** (real camera views of break dance) and **AIST++ 3D** (all 10
  genres, seen by virtual cameras): only the music's tempo is known, not its
  phase, so a grid at that tempo from the clip's start stands for the beats:
  coverage, tempo agreement and first drums only.
* **Rhythmic exercise** (:func:`ibeat_io.exercise.exercise_suite`, generated):
  exact beats, pauses and tempo changes: every metric, plus beats into
  stillness and relock after restarts and tempo changes.

The motion starts at each clip's first frame (the datasets are trimmed to the
dance). Sequences the shipped beat network trained on are left out unless
``include_train``. Figures are means over views (lock and first drums: medians
over the clips that lock or sound, and the share that do).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ibeat_core.session import SessionConfig, run_session

__all__ = ["FollowCase", "follow_case", "build_follow_cases", "summarise", "format_follow_report",
           "run_follow_evaluation", "DATASET_NAMES"]

DATASET_NAMES = {"dwm": "Dance-with-Melody", "aistpp-2d": "AIST++ break, 2D camera views",
                 "aistpp-3d": "AIST++ 10 genres, 3D -> 2D views", "exercise": "Rhythmic exercise"}
#: Dance-with-Melody sequence letter -> dance (``DANCE_W_3`` is a waltz).
_DWM_DANCES = {"C": "cha-cha", "R": "rumba", "T": "tango", "W": "waltz"}
#: Metrics that need the beat phase; tempo-only datasets report the others.
_PHASE_METRICS = ("f_measure", "f_measure_chance", "cmlt", "cmlt_chance", "amlt", "amlt_chance")
_MEAN_METRICS = ("f_measure", "f_measure_chance", "cmlt", "cmlt_chance", "amlt", "amlt_chance",
                 "coverage", "tempo_agreement")


@dataclass(frozen=True)
class FollowCase:
    """One view of one clip to stream and score.

    Attributes
    ----------
    dataset : str
        A key of :data:`DATASET_NAMES`.
    name : str
        Sequence and view, e.g. ``"DANCE_W_3 view 2"``.
    group : str
        Genre or exercise, for per-group tables.
    timestamps_s : np.ndarray, shape (T,)
        Frame times [s].
    keypoints : np.ndarray, shape (T, 17, 3)
        COCO-17 ``[x, y, confidence]`` as a client would send them.
    reference_beats_s : np.ndarray, shape (n,)
        Ground-truth beats [s]; for a tempo-only dataset a grid at the tempo.
    phase_known : bool
        False: ``reference_beats_s`` is only a grid at the right tempo.
    tempo_bpm : float or None
        The true tempo, when one number holds for the clip.
    motion_start_s : float
    still_intervals : tuple of (start_s, end_s)
    relock_times_s : tuple of float
        Restarts and tempo changes.
    """

    dataset: str
    name: str
    group: str
    timestamps_s: np.ndarray
    keypoints: np.ndarray
    reference_beats_s: np.ndarray
    phase_known: bool
    tempo_bpm: float | None = None
    motion_start_s: float = 0.0
    still_intervals: tuple = field(default_factory=tuple)
    relock_times_s: tuple = field(default_factory=tuple)


def _tempo_grid(start_s: float, end_s: float, tempo_bpm: float) -> np.ndarray:
    """Beats at ``tempo_bpm`` from ``start_s`` to ``end_s`` [s]: the reference of a tempo-only clip."""
    return start_s + np.arange(0.0, end_s - start_s, 60.0 / tempo_bpm)


def follow_case(networks, case: FollowCase, *, config: SessionConfig = SessionConfig()) -> dict:
    """Stream one case through a fresh session and score its scheduled beats.

    Returns
    -------
    dict
        :func:`ibeat_metrics.following.evaluate_following`'s scores (the phase
        metrics None for a tempo-only case), plus ``scheduled_beats`` and ``hits``.
    """
    from ibeat_metrics.following import evaluate_following

    result = run_session(networks, case.timestamps_s, case.keypoints, config=config)
    beats = sorted(result.beats, key=lambda b: b.time_s)
    scheduled = np.array([b.time_s for b in beats], dtype=np.float64)
    tempi = np.array([b.tempo_bpm for b in beats], dtype=np.float64)
    hits = np.array([h.time_s for h in result.hits], dtype=np.float64)
    with warnings.catch_warnings():
        # A view with no scheduled beat scores 0 (and no lock) by design: no need to warn.
        warnings.simplefilter("ignore", UserWarning)
        scores = evaluate_following(case.reference_beats_s, scheduled, tempi,
                                    motion_start_s=case.motion_start_s,
                                    still_intervals=case.still_intervals,
                                    reference_tempo_bpm=case.tempo_bpm, hit_times_s=hits,
                                    relock_times_s=case.relock_times_s)
    if not case.phase_known:
        for key in (*_PHASE_METRICS, "cmlc", "amlc", "lock_beats"):
            scores[key] = None
        scores["relock_beats"] = ()
    scores.update(phase_known=case.phase_known, scheduled_beats=len(scheduled), hits=len(hits))
    return scores


def _beat_cases(data_dir, *, exclude, progress) -> list[FollowCase]:
    """AIST++ 2D and Dance-with-Melody views, as the beat evaluation builds them."""
    from ibeat_io.beat_data import build_beat_examples

    cases = []
    for e in build_beat_examples(data_dir, sources=("aistpp", "dwm"), exclude=exclude,
                                 progress=progress):
        t = e.timestamps_s
        name = f"{e.sequence} view {e.view}"
        if e.source == "dwm":
            cases.append(FollowCase("dwm", name, _DWM_DANCES.get(e.sequence.split("_")[1], "?"),
                                    t, e.keypoints,
                                    np.asarray(e.music_beats_s), True,
                                    motion_start_s=float(t[0])))
        else:
            cases.append(FollowCase("aistpp-2d", name, "break", t, e.keypoints,
                                    _tempo_grid(float(t[0]), float(t[-1]), e.tempo_bpm), False,
                                    tempo_bpm=e.tempo_bpm, motion_start_s=float(t[0])))
    return cases


def build_follow_cases(data_dir, *, include_train: bool = False, datasets=tuple(DATASET_NAMES),
                       views: int = 2, seed: int = 0, progress: bool = True) -> list[FollowCase]:
    """Every case the data folder holds, for the chosen datasets.

    Parameters
    ----------
    data_dir : path-like
        Laid out like ``shared/data``; missing datasets are skipped.
    include_train : bool
        Also the sequences the shipped beat network trained on.
    datasets : iterable of str
        Keys of :data:`DATASET_NAMES`.
    views : int
        Virtual cameras per AIST++ 3D clip (the exercise suite has one view per clip).
    seed : int
        Seeds virtual cameras and detector noise; 0 is also the exercise
        evaluation suite's seed.
    """
    from ibeat_models.runtime import load_model

    trained_on = () if include_train else load_model("visbeat").meta.get("data", {}).get(
        "train_sequences", ())
    cases = []
    if {"dwm", "aistpp-2d"} & set(datasets):
        cases += [c for c in _beat_cases(data_dir, exclude=trained_on, progress=progress)
                  if c.dataset in datasets]
    if "aistpp-3d" in datasets:
        cases += _aist3d_cases(data_dir, views=views, seed=seed)
    if "exercise" in datasets:
        cases += _exercise_cases(seed=seed, views=1)
    return cases


def _aist3d_cases(data_dir, *, views: int, seed: int) -> list[FollowCase]:
    """AIST++ 3D clips of all 10 genres, each through ``views`` seeded virtual cameras."""
    from ibeat_io.aistpp3d import AISTPP3D_DIR, list_aist3d_clips, load_aist3d_clip
    from ibeat_io.projection import to_2d_views

    root = Path(data_dir)
    if not (root / AISTPP3D_DIR).is_dir():
        return []
    cases = []
    for path in list_aist3d_clips(root):
        clip = load_aist3d_clip(path, root=root)
        mocap = clip.mocap
        rng = np.random.default_rng([seed, *mocap.name.encode()])
        t = np.arange(mocap.n_frames) / mocap.fps
        for view, (kp, _) in enumerate(to_2d_views(mocap, rng, n_views=views)):
            cases.append(FollowCase("aistpp-3d", f"{mocap.name} view {view}", mocap.dance, t, kp,
                                    _tempo_grid(0.0, float(t[-1]), clip.tempo_bpm), False,
                                    tempo_bpm=clip.tempo_bpm))
    return cases


def _exercise_cases(*, seed: int, views: int) -> list[FollowCase]:
    """The rhythmic-exercise suite (:func:`ibeat_io.exercise.exercise_suite`), each clip's own views.

    Motion starts where the first block of motion does; restarts after a pause
    and tempo changes are the relock times; the clip outside its motion is still.
    """
    from ibeat_io.exercise import exercise_suite

    cases = []
    for clip in exercise_suite(seed=seed):
        relock = tuple(sorted([*clip.moving[1:, 0].tolist(), *clip.tempo_changes_s.tolist()]))
        for view, (kp, _) in enumerate(clip.views(views)):
            cases.append(FollowCase("exercise", f"{clip.mocap.name} view {view}", clip.exercises[0],
                                    clip.timestamps_s, kp, clip.beat_times_s, True,
                                    motion_start_s=float(clip.moving[0, 0]),
                                    still_intervals=tuple(map(tuple, clip.still.tolist())),
                                    relock_times_s=relock))
    return cases


def summarise(cases: list[FollowCase], scores: list[dict]) -> dict:
    """Per dataset and per group: means of the shares, lock and first drums as medians and shares."""
    def block(rows):
        out = {"views": len(rows)}
        for key in _MEAN_METRICS:
            vals = [r[key] for r in rows if r[key] is not None]
            out[key] = round(float(np.mean(vals)), 4) if vals else None
        for key, scored in (("lock_beats", [r for r in rows if r["phase_known"]]),
                            ("first_drums_s", rows)):
            vals = [r[key] for r in scored if r[key] is not None]
            out[f"{key}_median"] = round(float(np.median(vals)), 3) if vals else None
            out[f"{key}_share"] = round(len(vals) / len(scored), 4) if scored else None
        relocks = [x for r in rows for x in r["relock_beats"]]
        done = [x for x in relocks if x is not None]
        out["relock_beats_median"] = float(np.median(done)) if done else None
        out["relock_beats_share"] = round(len(done) / len(relocks), 4) if relocks else None
        out["beats_into_stillness"] = int(sum(r["beats_into_stillness"] for r in rows))
        return out

    summary = {}
    for dataset in DATASET_NAMES:
        rows = [(c, s) for c, s in zip(cases, scores) if c.dataset == dataset]
        if not rows:
            continue
        summary[dataset] = block([s for _, s in rows])
        summary[dataset]["groups"] = {
            g: block([s for c, s in rows if c.group == g]) for g in sorted({c.group for c, _ in rows})}
    return summary


def _f(v, fmt="{:.2f}"):
    return "-" if v is None else fmt.format(v)


def format_follow_report(summary: dict) -> str:
    """Markdown: one table row per dataset, then per group."""
    head = ("| data | views | coverage | tempo agreement | F (chance) | CMLt (chance) | AMLt (chance) "
            "| lock [beats] median (share locked) | relock [beats] median (share) "
            "| first drums [s] median | beats into stillness |")
    lines = [head, "|---" * 11 + "|"]

    def row(label, s):
        return (f"| {label} | {s['views']} | {_f(s['coverage'])} | {_f(s['tempo_agreement'])} | "
                f"{_f(s['f_measure'])} ({_f(s['f_measure_chance'])}) | "
                f"{_f(s['cmlt'])} ({_f(s['cmlt_chance'])}) | {_f(s['amlt'])} ({_f(s['amlt_chance'])}) | "
                f"{_f(s['lock_beats_median'], '{:.0f}')} ({_f(s['lock_beats_share'])}) | "
                f"{_f(s['relock_beats_median'], '{:.0f}')} ({_f(s['relock_beats_share'])}) | "
                f"{_f(s['first_drums_s_median'])} | {s['beats_into_stillness']} |")

    for dataset, s in summary.items():
        lines.append(row(f"**{DATASET_NAMES[dataset]}**", s))
    for dataset, s in summary.items():
        if len(s["groups"]) > 1:
            lines += ["", f"{DATASET_NAMES[dataset]} by group:", "", head, lines[1]]
            lines += [row(g, gs) for g, gs in s["groups"].items()]
    return "\n".join(lines)


def run_follow_evaluation(data_dir, *, tracker: str | None = None, include_train: bool = False,
                          views: int = 2, seed: int = 0, progress: bool = True,
                          command: str = "ibeat evaluate follow"):
    """Everything ``ibeat evaluate follow`` prints: returns (markdown text, report dict)."""
    from ibeat_models import load_networks

    config = SessionConfig() if tracker is None else SessionConfig(tracker=tracker)
    cases = build_follow_cases(data_dir, include_train=include_train, views=views, seed=seed,
                               progress=progress)
    if not cases:
        raise FileNotFoundError(f"{data_dir} holds no clip to score (dance-with-melody/, "
                                "aistpp-keypoints2d-sample/, aistpp-keypoints3d/)")
    networks = load_networks()
    scores = [follow_case(networks, c, config=config)
              for c in tqdm(cases, desc="follow", disable=not progress)]
    summary = summarise(cases, scores)
    report = {"command": command, "tracker": config.tracker, "include_train": include_train, "views": views,
              "seed": seed, "summary": summary,
              "cases": [{"dataset": c.dataset, "name": c.name, "group": c.group,
                         **{k: v for k, v in s.items()}} for c, s in zip(cases, scores)]}
    text = "\n".join([
        f"`{command}`: beat tracker `{config.tracker}`, {len(cases)} views streamed through the "
        f"engine (scheduled beats scored; chance = a metronome at the true tempo, random phase; "
        f"lock, relock and first drums are medians over the views that lock or sound).", "",
        format_follow_report(summary)])
    return text, report
