"""``ibeat evaluate input``: does a partial or 3D body drive the beat as well as a camera view?

Every 3D clip is streamed through the real-time engine several ways, as the
clients that would send it (the follow evaluation's metrics and ground truth,
:mod:`ibeat_cli.evaluate.following`):

* ``2d-camera``: COCO-17 2D keypoints of a seeded virtual camera with detector
  noise (what a webcam and a pose detector give; the follow evaluation's view);
* ``2d-head-wrists``: the same view with only the nose and wrists confident;
* ``3d-full``: the clip's 3D COCO-17 joints [m] at a headset's 90 Hz;
* ``3d-head-hands``: the head and hands only (a headset and two controllers);

and each 3D input through every requested view of the body
(:data:`ibeat_core.body3d.PROJECTIONS`), to choose the default by measurement.

Data (held-out sequences only, as the follow evaluation): AIST++ 3D (10
genres, the music's tempo: coverage and tempo agreement), Dance-with-Melody
(musical beats), the rhythmic-exercise suite (exact beats) and the CMU
exercise routines (no music: the reference is the offline visual beats of the
clip's noise-free full body in the default view, paper 3.1.1, so it favours the
full body).
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ibeat_core.body3d import PROJECTIONS, Body3DConfig, LAYOUTS_3D, project_body
from ibeat_core.session import SessionConfig

from .following import (DATASET_NAMES, FollowCase, _tempo_grid, case_chance, exercise_case,
                        follow_case, summarise)

__all__ = ["INPUTS", "HEADSET_HZ", "INPUT_DATASETS", "input_cases", "run_input_evaluation",
           "format_input_report"]

#: Input kinds, in report order.
INPUTS = ("2d-camera", "2d-head-wrists", "3d-full", "3d-head-hands")
#: Rate [Hz] the 3D inputs are streamed at (a headset's).
HEADSET_HZ = 90.0
#: Dataset key -> name; the follow evaluation's plus the CMU routines.
INPUT_DATASETS = {"aistpp-3d": DATASET_NAMES["aistpp-3d"].replace(", 3D -> 2D views", ""),
                  "dwm": DATASET_NAMES["dwm"], "exercise": DATASET_NAMES["exercise"],
                  "cmu-exercise": "CMU exercise routines (reference: full-body visual beats)"}
_HEAD_WRISTS = (0, 9, 10)  # COCO-17 nose and wrists


def _partial_2d(keypoints: np.ndarray, keep) -> np.ndarray:
    """COCO-17 2D keypoints with every joint but ``keep`` at confidence 0."""
    out = keypoints.copy()
    drop = np.setdiff1d(np.arange(out.shape[1]), keep)
    out[:, drop, 2] = 0.0
    return out


def input_cases(base: FollowCase, joints: np.ndarray, camera_kp: np.ndarray) -> dict:
    """The input kinds of one clip: kind -> (FollowCase, 3D layout or None).

    Parameters
    ----------
    base : FollowCase
        The clip's reference, timing and metadata (its keypoints are replaced).
    joints : np.ndarray, shape (T, 17, 3)
        The clip's 3D joints [m, right-handed, y up] at ``base.timestamps_s``.
    camera_kp : np.ndarray, shape (T, 17, 3)
        A virtual camera's noisy 2D view of it.
    """
    from ibeat_io.clips3d import client_frames
    from ibeat_io.projection import Mocap3D

    mocap = Mocap3D(name=base.name, joints=joints, fps=1.0 / np.median(np.diff(base.timestamps_s)))
    cases = {"2d-camera": (base, None),
             "2d-head-wrists": (replace(base, keypoints=_partial_2d(camera_kp, _HEAD_WRISTS)),
                                None)}
    for kind, body in (("3d-full", "full"), ("3d-head-hands", "head-hands")):
        t, points, layout = client_frames(mocap, body=body, rate_hz=HEADSET_HZ)
        cases[kind] = (replace(base, timestamps_s=base.timestamps_s[0] + t, keypoints=points),
                       layout)
    return cases


def _clips(data_dir, datasets, *, seed: int, progress: bool):
    """(FollowCase with a camera view, 3D joints at its timestamps) per held-out clip."""
    from ibeat_io.projection import to_2d_views
    from ibeat_models.runtime import load_model

    trained_on = set(load_model("visbeat").meta.get("data", {}).get("train_sequences", ()))
    root = Path(data_dir)
    out = []

    def camera(mocap):
        rng = np.random.default_rng([seed, *mocap.name.encode()])
        return to_2d_views(mocap, rng, n_views=1)[0][0]

    if "aistpp-3d" in datasets:
        from ibeat_io.aistpp3d import AISTPP3D_DIR, list_aist3d_clips, load_aist3d_clip
        if (root / AISTPP3D_DIR).is_dir():
            for path in list_aist3d_clips(root):
                # Trained on by the shipped VisBeatNet (ch04's 3D take among them).
                if path.stem in trained_on:
                    continue
                clip = load_aist3d_clip(path, root=root)
                m = clip.mocap
                t = np.arange(m.n_frames) / m.fps
                out.append((FollowCase("aistpp-3d", m.name, m.dance, t, camera(m),
                                       _tempo_grid(0.0, float(t[-1]), clip.tempo_bpm), False,
                                       tempo_bpm=clip.tempo_bpm), m.joints))
    if "dwm" in datasets:
        from ibeat_io.mocap import list_dwm_sequences, load_dwm_sequence
        folder = root / "dance-with-melody"
        if folder.is_dir():
            from .following import _DWM_DANCES
            for path in list_dwm_sequences(folder):
                if path.name in trained_on:
                    continue
                m = load_dwm_sequence(path)
                t = np.arange(m.n_frames) / m.fps
                out.append((FollowCase("dwm", m.name, _DWM_DANCES.get(m.name.split("_")[1], "?"),
                                       t, camera(m), np.asarray(m.beat_times_s), True,
                                       motion_start_s=0.0), m.joints))
    if "exercise" in datasets:
        from ibeat_io.exercise import exercise_suite
        for clip in exercise_suite(seed=seed):
            out.append((exercise_case(clip, clip.views(1)[0][0], clip.mocap.name),
                        clip.mocap.joints))
    if "cmu-exercise" in datasets:
        from ibeat_io.asfamc import CMU_EXERCISE_DIR, list_cmu_exercise, load_cmu_exercise
        if (root / CMU_EXERCISE_DIR).is_dir():
            for path in list_cmu_exercise(root):
                take = load_cmu_exercise(path)
                if take.subject != "13":  # 93's frame rate is uncertain (see load_cmu_exercise)
                    continue
                m = take.mocap
                t = np.arange(m.n_frames) / m.fps
                out.append((FollowCase("cmu-exercise", m.name, take.activity, t, camera(m),
                                       _front_visual_beats(t, m.joints), True), m.joints))
    if progress:
        print(f"ibeat evaluate input: {len(out)} held-out clips", file=sys.stderr, flush=True)
    return out


def _front_visual_beats(times_s, joints) -> np.ndarray:
    """Offline visual beats (paper 3.1.1) of the full body in the default view, noise-free."""
    from ibeat_core.rhythm import RhythmConfig, analyze

    config = Body3DConfig(jitter_m=0.0)
    rhythm = RhythmConfig()
    grid, kp, _ = project_body(times_s, joints, config, rhythm.keypoints)
    rhythm = replace(rhythm, keypoints=config.keypoint_config(rhythm.keypoints))
    return analyze(grid, kp, config=rhythm).beat_times_s


def run_input_evaluation(data_dir, *, datasets=tuple(INPUT_DATASETS), projections=PROJECTIONS,
                         seed: int = 0, progress: bool = True,
                         command: str = "ibeat evaluate input"):
    """Every input kind of every held-out clip through the engine: (markdown, report dict)."""
    from ibeat_models import load_networks

    unknown = set(projections) - set(PROJECTIONS)
    if unknown:
        raise ValueError(f"unknown projections {sorted(unknown)}; known: {PROJECTIONS}")
    clips = _clips(data_dir, datasets, seed=seed, progress=progress)
    if not clips:
        raise FileNotFoundError(f"{data_dir} holds no 3D clip to score (aistpp-keypoints3d/, "
                                "dance-with-melody/, cmu-exercise-asfamc/) and no dataset "
                                "was asked for that needs none (exercise)")
    networks = load_networks()
    variants = []  # (key, input kind, layout, projection)
    for kind in INPUTS:
        if kind.startswith("3d"):
            variants += [(f"{kind} {p}", kind, p) for p in projections]
        else:
            variants.append((kind, kind, None))
    rows = {key: ([], []) for key, _, _ in variants}
    for base, joints in tqdm(clips, desc="input", disable=not progress):
        cases = input_cases(base, joints, base.keypoints)
        chance = case_chance(base)
        for key, kind, projection in variants:
            case, layout = cases[kind]
            config = SessionConfig() if layout is None else SessionConfig(
                body3d=Body3DConfig(layout=layout, projection=projection))
            rows[key][0].append(case)
            rows[key][1].append(follow_case(networks, case, config=config, chance=chance))
    summary = {}
    for key, (cases, scores) in rows.items():
        summary[key] = {d: {k: v for k, v in s.items() if k != "methods"}
                        for d, s in summarise(cases, scores, datasets=INPUT_DATASETS).items()}
    report = {"command": command, "seed": seed, "headset_hz": HEADSET_HZ,
              "projections": list(projections), "clips": len(clips),
              "layouts": {k: list(v.joints) for k, v in LAYOUTS_3D.items()}, "summary": summary}
    text = (f"`{command}`: {len(clips)} held-out clips, each streamed through the engine as "
            f"every input kind (3D at {HEADSET_HZ:.0f} Hz; 2D views from one seeded virtual "
            f"camera with detector noise). Share of the full body: the figure over the same "
            f"dataset's `2d-camera` for 2D inputs, over `3d-full` seen the same way for 3D "
            f"ones.\n\n" + format_input_report(summary))
    return text, report


def _f(v, fmt="{:.2f}"):
    return "-" if v is None else fmt.format(v)


def _reference_key(key: str) -> str:
    """The full-body row a row is a share of: the camera view for 2D inputs, the full 3D body
    seen the same way for 3D ones."""
    if key.startswith("2d"):
        return "2d-camera"
    return "3d-full" + key[key.index(" "):] if " " in key else "3d-full"


def format_input_report(summary: dict) -> str:
    """Markdown: one table per dataset, a row per input kind (and view of a 3D body)."""
    lines = []
    datasets = [d for d in INPUT_DATASETS if any(d in s for s in summary.values())]
    for d in datasets:
        lines += [f"**{INPUT_DATASETS[d]}**", "",
                  "| input | views | coverage | tempo agreement | F | AMLt | lock [beats] median "
                  "(share) | first drums [s] | beats into stillness | share of the full body: "
                  "cov / tempo / AMLt |",
                  "|---" * 10 + "|"]
        for key, per in summary.items():
            s = per.get(d)
            if s is None:
                continue
            ref = summary.get(_reference_key(key), {}).get(d)
            ratio = " / ".join(
                _f(s[k] / ref[k]) if ref and s[k] is not None and ref[k] else "-"
                for k in ("coverage", "tempo_agreement", "amlt"))
            lines.append(
                f"| {key} | {s['views']} | {_f(s['coverage'])} | {_f(s['tempo_agreement'])} | "
                f"{_f(s['f_measure'])} | {_f(s['amlt'])} | "
                f"{_f(s['lock_beats_median'], '{:.0f}')} ({_f(s['lock_beats_share'])}) | "
                f"{_f(s['first_drums_s_median'])} | {s['beats_into_stillness']} | {ratio} |")
        lines.append("")
    return "\n".join(lines).rstrip()
