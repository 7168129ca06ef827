"""``ibeat evaluate follow``: do the drums follow the body? (issue 12's measure)

Every clip is streamed frame by frame through the real-time engine
(:func:`~ibeat_core.session.run_session`, exactly what a live client gets), and
the beats it *scheduled* (the :class:`~ibeat_core.session.BeatCue` s, each with
its drums) are scored against ground truth with :mod:`ibeat_metrics.following`:

* **Dance-with-Melody** (3D mocap seen by virtual cameras with detector noise):
  the ChoreoNet musical beat grid, phase and tempo: F-measure, CMLt, AMLt beside
  their chance levels, coverage, tempo agreement, lock, first drums.
* **AIST++ 2D** (real camera views of break dance) and **AIST++ 3D** (10
  genres, seen by virtual cameras): only the music's tempo is known, not its
  phase, so a grid at that tempo from the clip's start stands for the beats:
  coverage, tempo agreement and first drums only.
* **Rhythmic exercise** (:func:`ibeat_io.exercise.exercise_suite`, generated):
  exact beats, pauses and tempo changes: every metric, plus beats into
  stillness and relock after restarts and tempo changes.

Beside the engine, on the same cases and metrics, the anchors of issue 12
(:mod:`ibeat_cli.evaluate.anchors`): established beat trackers fed the
engine's own causal kinematic offsets, causal ones (the paper's rule-based
detector, madmom's DBN online) and offline upper references (madmom's DBN
Viterbi, librosa's ``beat_track`` and PLP). Their beats stand for the drums.

The motion starts at each clip's first frame (the datasets are trimmed to the
dance). Sequences the shipped beat network trained on are left out unless
``include_train``. Figures are means over views (lock and first drums: medians
over the clips that lock or sound, and the share that do).
"""

from __future__ import annotations

import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
from tqdm import tqdm

from ibeat_core.rhythm import motion_rhythm
from ibeat_core.session import SessionConfig, run_session

__all__ = ["FollowCase", "Method", "ENGINE", "follow_case", "exercise_case", "anchor_case",
           "case_chance", "anchor_methods", "build_follow_cases", "summarise", "format_follow_report", "run_follow_evaluation",
           "DATASET_NAMES"]

DATASET_NAMES = {"dwm": "Dance-with-Melody", "aistpp-2d": "AIST++ break, 2D camera views",
                 "aistpp-3d": "AIST++ 10 genres, 3D -> 2D views", "exercise": "Rhythmic exercise"}
#: Dance-with-Melody sequence letter -> dance (``DANCE_W_3`` is a waltz).
_DWM_DANCES = {"C": "cha-cha", "R": "rumba", "T": "tango", "W": "waltz"}
#: Stands in for the chance levels of a tempo-only case, which are not reported.
_NO_CHANCE = {"f_measure": None, "cmlt": None, "amlt": None}
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


@dataclass(frozen=True)
class Method:
    """A way of placing beats on a case, scored side by side with the others.

    Attributes
    ----------
    key : str
        Its key in the report, e.g. ``"madmom-online"``.
    label : str
        Its name in the markdown tables.
    causal : bool
        False: it sees the whole clip (an offline upper reference).
    beats : callable or None
        ``beats(times_s, offsets) -> (beat_times_s, tempi_bpm)`` on the case's
        causal kinematic offsets (the engine's 30 Hz grid), each beat with its
        tempo [BPM]; None for the engine itself (:func:`follow_case`).
    delay_s : float
        How long after a beat the method knows it [s]: no drum can sound
        before then, so first drums count from then.
    """

    key: str
    label: str
    causal: bool = True
    beats: Callable | None = None
    delay_s: float = 0.0


#: The engine: clips streamed through :func:`~ibeat_core.session.run_session`, scheduled beats scored.
ENGINE = Method("engine", "Engine, scheduled beats")


def anchor_methods() -> tuple[list[Method], list[str]]:
    """The anchors whose packages are installed, and a note for each one skipped.

    Returns
    -------
    methods : list of Method
        Rule-based always; madmom's DBN online and offline when madmom is
        installed; librosa's ``beat_track`` and PLP when librosa is.
    notes : list of str
        Why an anchor is missing (``pip install '.[eval]'`` adds them).
    """
    from . import anchors

    methods = [Method("rule-based", "Rule-based, paper 4.4", beats=anchors.rule_based_beats,
                      delay_s=anchors.RULE_BASED_DELAY_S)]
    notes = []
    if anchors.load_madmom() is None:
        notes.append("madmom is not installed: its DBN anchors are skipped "
                     "(pip install '.[eval]')")
    else:
        methods += [Method("madmom-online", "madmom DBN, online (forward)",
                           beats=anchors.madmom_online_beats),
                    Method("madmom-offline", "madmom DBN, offline (Viterbi)", causal=False,
                           beats=anchors.madmom_offline_beats)]
    if anchors.load_librosa() is None:
        notes.append("librosa is not installed: its anchors are skipped (pip install '.[eval]')")
    else:
        methods += [Method("librosa-beat-track", "librosa beat_track", causal=False,
                           beats=anchors.librosa_beat_track_beats),
                    Method("librosa-plp", "librosa PLP", causal=False,
                           beats=anchors.librosa_plp_beats)]
    return methods, notes


def _tempo_grid(start_s: float, end_s: float, tempo_bpm: float) -> np.ndarray:
    """Beats at ``tempo_bpm`` from ``start_s`` to ``end_s`` [s]: the reference of a tempo-only clip."""
    return start_s + np.arange(0.0, end_s - start_s, 60.0 / tempo_bpm)


def follow_case(networks, case: FollowCase, *, config: SessionConfig = SessionConfig(),
                chance: dict | None = None) -> dict:
    """Stream one case through a fresh session and score its scheduled beats.

    Returns
    -------
    dict
        :func:`ibeat_metrics.following.evaluate_following`'s scores (the phase
        metrics None for a tempo-only case), plus ``scheduled_beats`` and ``hits``.
    """
    result = run_session(networks, case.timestamps_s, case.keypoints, config=config)
    beats = sorted(result.beats, key=lambda b: b.time_s)
    scheduled = np.array([b.time_s for b in beats], dtype=np.float64)
    tempi = np.array([b.tempo_bpm for b in beats], dtype=np.float64)
    hits = np.array([h.time_s for h in result.hits], dtype=np.float64)
    return _score(case, scheduled, tempi, hits, chance=chance)


def anchor_case(method: Method, case: FollowCase, *, rhythm=None,
                chance: dict | None = None) -> dict:
    """Score one anchor's beats on one case, every beat standing for a drum.

    Parameters
    ----------
    method : Method
        An anchor (``method.beats`` set).
    case : FollowCase
    rhythm : ibeat_core.rhythm.MotionRhythm, optional
        The case's causal :func:`~ibeat_core.rhythm.motion_rhythm`, when already
        computed (every anchor of a case shares it).

    Returns
    -------
    dict
        As :func:`follow_case`; the drums sound ``method.delay_s`` after the beats.
    """
    if rhythm is None:
        rhythm = motion_rhythm(case.timestamps_s, case.keypoints, causal=True)
    beats, tempi = method.beats(rhythm.times_s, rhythm.offsets)
    return _score(case, beats, tempi, beats + method.delay_s, chance=chance)


def case_chance(case: FollowCase) -> dict | None:
    """The case's chance levels (a metronome at its tempo, random phase), to share across
    methods; None for a tempo-only case, whose phase metrics are not reported."""
    from ibeat_metrics.following import chance_levels

    if not case.phase_known or len(case.reference_beats_s) < 2:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return chance_levels(case.reference_beats_s, tempo_bpm=case.tempo_bpm)


def _score(case: FollowCase, beats_s, tempi_bpm, hits_s, *, chance=None) -> dict:
    """:func:`~ibeat_metrics.following.evaluate_following` on one case's beats, tempi and hits [s, BPM, s]."""
    from ibeat_metrics.following import evaluate_following

    if chance is None and not case.phase_known:
        chance = _NO_CHANCE  # nothing to compare a tempo-only case's phase metrics with
    with warnings.catch_warnings():
        # A view with no scheduled beat scores 0 (and no lock) by design: no need to warn.
        warnings.simplefilter("ignore", UserWarning)
        scores = evaluate_following(case.reference_beats_s, beats_s, tempi_bpm,
                                    motion_start_s=case.motion_start_s,
                                    still_intervals=case.still_intervals,
                                    reference_tempo_bpm=case.tempo_bpm, hit_times_s=hits_s,
                                    relock_times_s=case.relock_times_s, chance=chance)
    if not case.phase_known:
        for key in (*_PHASE_METRICS, "cmlc", "amlc", "lock_beats"):
            scores[key] = None
        scores["relock_beats"] = ()
    scores.update(phase_known=case.phase_known, scheduled_beats=len(beats_s), hits=len(hits_s))
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
        cases += _aist3d_cases(data_dir, views=views, seed=seed, exclude=trained_on)
    if "exercise" in datasets:
        cases += _exercise_cases(seed=seed, views=1)
    return cases


def _aist3d_cases(data_dir, *, views: int, seed: int, exclude=()) -> list[FollowCase]:
    """AIST++ 3D clips of all 10 genres but ``exclude``, each through ``views`` seeded
    virtual cameras."""
    from ibeat_io.aistpp3d import AISTPP3D_DIR, list_aist3d_clips, load_aist3d_clip
    from ibeat_io.projection import to_2d_views

    root = Path(data_dir)
    if not (root / AISTPP3D_DIR).is_dir():
        return []
    cases = []
    excluded = set(exclude)
    for path in list_aist3d_clips(root):
        if path.stem in excluded:
            continue
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
    """The rhythmic-exercise suite (:func:`ibeat_io.exercise.exercise_suite`), each clip's own views."""
    from ibeat_io.exercise import exercise_suite

    return [exercise_case(clip, kp, f"{clip.mocap.name} view {view}")
            for clip in exercise_suite(seed=seed)
            for view, (kp, _) in enumerate(clip.views(views))]


def exercise_case(clip, keypoints, name: str) -> FollowCase:
    """One view of a generated exercise clip (:class:`ibeat_io.exercise.ExerciseClip`) as a case.

    Motion starts where the first block of motion does; restarts after a pause
    and tempo changes are the relock times; the clip outside its motion is still.
    """
    relock = tuple(sorted([*clip.moving[1:, 0].tolist(), *clip.tempo_changes_s.tolist()]))
    return FollowCase("exercise", name, clip.exercises[0], clip.timestamps_s, keypoints,
                      clip.beat_times_s, True, motion_start_s=float(clip.moving[0, 0]),
                      still_intervals=tuple(map(tuple, clip.still.tolist())),
                      relock_times_s=relock)


def summarise(cases: list[FollowCase], scores: list[dict], *, anchors=(),
              engine: Method = ENGINE, datasets=DATASET_NAMES) -> dict:
    """Per dataset and per group: means of the shares, lock and first drums as medians and shares.

    Parameters
    ----------
    cases : list of FollowCase
    scores : list of dict
        The engine's scores (:func:`follow_case`), one per case.
    anchors : iterable of (Method, list of dict)
        Each anchor with its scores (:func:`anchor_case`), one per case.
    engine : Method
        Names the engine's row.
    datasets : iterable of str
        The dataset keys to summarise, in order.

    Returns
    -------
    dict
        Per dataset key: the engine's figures, ``groups`` (the engine's figures
        per genre or exercise) and ``methods`` (method key -> ``label``,
        ``causal``, ``delay_s`` and the same figures; the engine first).
    """
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
    for dataset in datasets:
        rows = [(c, s) for c, s in zip(cases, scores) if c.dataset == dataset]
        if not rows:
            continue
        summary[dataset] = block([s for _, s in rows])
        summary[dataset]["groups"] = {
            g: block([s for c, s in rows if c.group == g]) for g in sorted({c.group for c, _ in rows})}
        summary[dataset]["methods"] = {
            m.key: {"label": m.label, "causal": m.causal, "delay_s": m.delay_s,
                    **block([s for c, s in zip(cases, mine) if c.dataset == dataset])}
            for m, mine in [(engine, scores), *anchors]}
    return summary


def _f(v, fmt="{:.2f}"):
    return "-" if v is None else fmt.format(v)


_METRIC_HEAD = ("coverage | tempo agreement | F (chance) | CMLt (chance) | AMLt (chance) "
                "| lock [beats] median (share locked) | relock [beats] median (share) "
                "| first drums [s] median | beats into stillness |")


def _cells(s: dict) -> str:
    """The metric cells of one table row, as :data:`_METRIC_HEAD` names them."""
    return (f"{_f(s['coverage'])} | {_f(s['tempo_agreement'])} | "
            f"{_f(s['f_measure'])} ({_f(s['f_measure_chance'])}) | "
            f"{_f(s['cmlt'])} ({_f(s['cmlt_chance'])}) | {_f(s['amlt'])} ({_f(s['amlt_chance'])}) | "
            f"{_f(s['lock_beats_median'], '{:.0f}')} ({_f(s['lock_beats_share'])}) | "
            f"{_f(s['relock_beats_median'], '{:.0f}')} ({_f(s['relock_beats_share'])}) | "
            f"{_f(s['first_drums_s_median'])} | {s['beats_into_stillness']} |")


def _causal(m: dict) -> str:
    if not m["causal"]:
        return "no"
    return f"yes (+{1000 * m['delay_s']:.0f} ms)" if m["delay_s"] else "yes"


def format_follow_report(summary: dict) -> str:
    """Markdown: the engine, one table row per dataset, then per group; then, when
    anchors were scored, one table per dataset with a row per method (the engine first)."""
    head = "| data | views | " + _METRIC_HEAD
    lines = [head, "|---" * 11 + "|"]
    for dataset, s in summary.items():
        lines.append(f"| **{DATASET_NAMES[dataset]}** | {s['views']} | {_cells(s)}")
    for dataset, s in summary.items():
        if len(s["groups"]) > 1:
            lines += ["", f"{DATASET_NAMES[dataset]} by group:", "", head, lines[1]]
            lines += [f"| {g} | {gs['views']} | {_cells(gs)}" for g, gs in s["groups"].items()]
    for dataset, s in summary.items():
        if len(s.get("methods", {})) > 1:
            lines += ["", f"{DATASET_NAMES[dataset]}, {s['views']} views, side by side:", "",
                      "| method | causal | " + _METRIC_HEAD, lines[1]]
            lines += [f"| {m['label']} | {_causal(m)} | {_cells(m)}" for m in s["methods"].values()]
    return "\n".join(lines)


def run_follow_evaluation(data_dir, *, tracker: str | None = None, compare_trackers=None,
                          include_train: bool = False, views: int = 2, seed: int = 0,
                          anchors: bool = True, progress: bool = True,
                          command: str = "ibeat evaluate follow"):
    """Everything ``ibeat evaluate follow`` prints: returns (markdown text, report dict).

    ``compare_trackers`` (default: the paper's ``visbeat`` unless it is the
    engine's) are streamed through the engine too and shown side by side with
    it; ``anchors`` also scores :func:`anchor_methods` on the same cases; an
    anchor whose package is missing is skipped with a note on stderr and in the text.
    """
    from ibeat_models import load_networks

    from .anchors import ACTIVATION_FLOOR, MADMOM_FPS

    config = SessionConfig() if tracker is None else SessionConfig(tracker=tracker)
    engine = Method(ENGINE.key, f"Engine (`{config.tracker}`), scheduled beats")
    if compare_trackers is None:
        compare_trackers = ["visbeat"]
    others = [SessionConfig(tracker=name) for name in dict.fromkeys(compare_trackers)
              if name != config.tracker]
    compared = [Method(f"engine-{c.tracker}", f"Engine (`{c.tracker}`), scheduled beats")
                for c in others]
    methods, notes = anchor_methods() if anchors else ([], [])
    for note in notes:
        print(f"ibeat evaluate follow: {note}", file=sys.stderr)
    cases = build_follow_cases(data_dir, include_train=include_train, views=views, seed=seed,
                               progress=progress)
    if not cases:
        raise FileNotFoundError(f"{data_dir} holds no clip to score (dance-with-melody/, "
                                "aistpp-keypoints2d-sample/, aistpp-keypoints3d/)")
    networks = load_networks()
    scores, anchor_scores = [], {m.key: [] for m in compared + methods}
    for case in tqdm(cases, desc="follow", disable=not progress):
        chance = case_chance(case)
        scores.append(follow_case(networks, case, config=config, chance=chance))
        for m, other in zip(compared, others):
            anchor_scores[m.key].append(follow_case(networks, case, config=other, chance=chance))
        if methods:
            rhythm = motion_rhythm(case.timestamps_s, case.keypoints, causal=True)
            for m in methods:
                anchor_scores[m.key].append(anchor_case(m, case, rhythm=rhythm, chance=chance))
    side = compared + methods
    summary = summarise(cases, scores, anchors=[(m, anchor_scores[m.key]) for m in side],
                        engine=engine)
    report = {"command": command, "tracker": config.tracker,
              "compared_trackers": [c.tracker for c in others], "include_train": include_train,
              "views": views, "seed": seed, "anchors": [m.key for m in methods],
              "anchors_skipped": notes, "summary": summary,
              "cases": [{"dataset": c.dataset, "name": c.name, "group": c.group, **s,
                         "anchors": {m.key: anchor_scores[m.key][i] for m in side}}
                        for i, (c, s) in enumerate(zip(cases, scores))]}
    beside = "".join(f", beside `{c.tracker}`" for c in others)
    paragraphs = [
        f"`{command}`: beat tracker `{config.tracker}`{beside}, {len(cases)} views streamed "
        f"through the engine (scheduled beats scored; chance = a metronome at the true tempo, "
        f"random phase; lock, relock and first drums are medians over the views that lock or "
        f"sound)."]
    if methods:
        paragraphs.append(
            f"Anchors on the same views, fed the engine's causal kinematic offsets (30 Hz), every "
            f"beat a drum, the tempo of a beat its interval to the one before: rule-based beats are "
            f"scored at their peak but known half a window later (first drums count from then); "
            f"madmom gets the offsets upsampled linearly to its {MADMOM_FPS} fps (a frame between "
            f"two 30 Hz frames sees the later one, at most 33 ms early) and kept within "
            f"[{ACTIVATION_FLOOR}, {1 - ACTIVATION_FLOOR}]; the non-causal ones see the whole clip.")
    paragraphs += [f"Skipped: {note}." for note in notes]
    paragraphs.append(format_follow_report(summary))
    return "\n\n".join(paragraphs), report
