"""Evaluation runs over a data directory laid out like the project's ``shared/data``.

Each function reads whichever datasets the folder holds, so the same command
scores sequences it has never seen. Results are plain dicts (JSON-ready).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm import tqdm

from ibeat_metrics.beats import tempo_agrees
from ibeat_io.projection import to_2d_views
from ibeat_core.rhythm import RhythmConfig, analyze

from ibeat_io.aistpp import N_VIEWS, list_aist_files, load_aist_clip
from ibeat_io.mocap import list_dwm_sequences, load_dwm_sequence

__all__ = ["evaluate_tempo", "format_tempo_report", "DWM_DIR"]

DWM_DIR = "dance-with-melody"


def evaluate_tempo(data_dir, *, dwm_views: int = 3, seed: int = 0,
                   config: RhythmConfig = RhythmConfig(), progress: bool = True) -> dict:
    """Offline tempo of ``ibeat analyze`` against the known tempo of each clip.

    * AIST++: every (sequence, camera view) pair; truth = the music id's tempo.
    * Dance-with-Melody: each sequence projected through ``dwm_views`` random
      virtual cameras (seeded) with detector-like noise; truth = the ChoreoNet
      beat grid's tempo. A sequence agrees when most of its views do.

    An estimate agrees when it is within 4% of the truth or of its half/double.

    Returns
    -------
    dict
        ``{"aistpp": {...}, "dance_with_melody": {...}}``, each with the rows and
        the agreement rates; a dataset the folder lacks is left out.
    """
    root = Path(data_dir)
    report = {}
    files = list_aist_files(root)
    if files:
        rows = []
        for f in tqdm(files, desc="AIST++", disable=not progress):
            for view in range(N_VIEWS):
                clip = load_aist_clip(f, view=view)
                est = analyze(clip.timestamps_s, clip.keypoints, config=config).tempo_bpm
                rows.append({"sequence": clip.name, "view": view, "true_bpm": clip.tempo_bpm,
                             "estimated_bpm": est, "agrees": tempo_agrees(est, clip.tempo_bpm)})
        report["aistpp"] = {"pairs": rows, "agreement": _mean(r["agrees"] for r in rows)}
    dwm = root / DWM_DIR
    seqs = list_dwm_sequences(dwm) if dwm.is_dir() else []
    if seqs:
        rng = np.random.default_rng(seed)
        rows, per_seq = [], []
        for folder in tqdm(seqs, desc="Dance-with-Melody", disable=not progress):
            mocap = load_dwm_sequence(folder)
            truth = 60.0 / float(np.median(np.diff(mocap.beat_times_s)))
            t = np.arange(mocap.n_frames) / mocap.fps
            votes = []
            for view, (kp, _) in enumerate(to_2d_views(mocap, rng, n_views=dwm_views)):
                est = analyze(t, kp, config=config).tempo_bpm
                ok = tempo_agrees(est, truth)
                votes.append(ok)
                rows.append({"sequence": mocap.name, "dance": mocap.dance, "view": view,
                             "true_bpm": round(truth, 2), "estimated_bpm": est, "agrees": ok})
            per_seq.append(sum(votes) * 2 > len(votes))
        report["dance_with_melody"] = {
            "pairs": rows, "views_per_sequence": dwm_views, "seed": seed,
            "agreement": _mean(r["agrees"] for r in rows),
            "sequence_agreement": _mean(per_seq), "n_sequences": len(per_seq)}
    return report


def _mean(values) -> float:
    values = list(values)
    return float(np.mean(values)) if values else 0.0


def format_tempo_report(report: dict) -> str:
    """Markdown tables of :func:`evaluate_tempo`'s result."""
    lines = []
    if "aistpp" in report:
        rows = report["aistpp"]["pairs"]
        lines += ["### AIST++ (all views; truth: music id tempo)", "",
                  "| sequence | " + " | ".join(f"v{v}" for v in range(N_VIEWS)) + " | agree |",
                  "|---|" + "---|" * (N_VIEWS + 1)]
        for seq in sorted({r["sequence"] for r in rows}):
            mine = [r for r in rows if r["sequence"] == seq]
            cells = [f"{r['estimated_bpm']:.1f}{'' if r['agrees'] else ' x'}" for r in mine]
            lines.append(f"| {seq} | " + " | ".join(cells)
                         + f" | {sum(r['agrees'] for r in mine)}/{len(mine)} |")
        lines += ["", f"Agreement: **{report['aistpp']['agreement']:.1%}** of {len(rows)} "
                      "(sequence, view) pairs (x = disagrees).", ""]
    if "dance_with_melody" in report:
        d = report["dance_with_melody"]
        lines += [f"### Dance-with-Melody ({d['views_per_sequence']} random virtual cameras per "
                  f"sequence, seed {d['seed']}; truth: ChoreoNet beat grid)", "",
                  "| sequence | dance | grid BPM | estimates | agree |", "|---|---|---|---|---|"]
        for seq in dict.fromkeys(r["sequence"] for r in d["pairs"]):
            mine = [r for r in d["pairs"] if r["sequence"] == seq]
            est = ", ".join(f"{r['estimated_bpm']:.1f}{'' if r['agrees'] else ' x'}" for r in mine)
            lines.append(f"| {seq} | {mine[0]['dance']} | {mine[0]['true_bpm']:.1f} | {est} | "
                         f"{sum(r['agrees'] for r in mine)}/{len(mine)} |")
        lines += ["", f"Agreement: **{d['sequence_agreement']:.1%}** of {d['n_sequences']} sequences "
                      f"(majority of views), {d['agreement']:.1%} of {len(d['pairs'])} "
                      "(sequence, view) pairs.", ""]
    return "\n".join(lines)
