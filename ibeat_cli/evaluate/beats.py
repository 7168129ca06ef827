"""Beat-stage evaluation (the paper's Table 2 protocol) on any data folder.

For every sequence the folder holds that the shipped model did not train on:

* ground truth 1, the paper's: offline visual beats (DP on zero-phase kinematic
  offsets) of the very keypoints the trackers see;
* ground truth 2, where it exists: the Dance-with-Melody musical beat grid;
* methods: ``rule-based`` (the 4.4 detector on causal offsets; its beats are
  only known half a window, 125 ms, after they happen), ``visbeat`` (VisBeatNet
  + online B-HMM, streamed frame by frame exactly like a live client) and any
  extra method passed in (e.g. the non-causal reference);
* online tempo on 6 s windows, next-beat forecast error, and per-frame compute.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
from tqdm import tqdm

from ibeat_core.beat_tracking import OnlineBeatTracker, track_clip
from ibeat_metrics.beats import evaluate as beat_metrics
from ibeat_metrics.beats import tempo_agrees
from ibeat_core.rhythm import RhythmConfig, motion_rhythm
from ibeat_core.visual_beats import pick_peaks

__all__ = ["Method", "evaluate_beats", "format_beats_report", "run_beats_evaluation",
           "TEMPO_WINDOW_S", "FORECAST_LEAD_S"]

#: Window [s] over which the online tempo is judged.
TEMPO_WINDOW_S = 6.0
#: Forecasts are scored when made at least this long [s] before the beat they forecast.
FORECAST_LEAD_S = 0.1

SOURCE_NAMES = {"aistpp": "AIST++", "dwm": "Dance-with-Melody", "salsa": "CMU salsa"}


@dataclass
class Method:
    """A beat tracker under evaluation.

    Attributes
    ----------
    name : str
    beats : callable
        ``beats(example) -> beat times [s]``.
    params : int or None
    ms_per_frame : float or None
        Measured compute per grid frame, one thread.
    causal : bool
    """

    name: str
    beats: Callable
    params: int | None = None
    ms_per_frame: float | None = None
    causal: bool = True


def rule_based_beats(example, config: RhythmConfig = RhythmConfig()) -> np.ndarray:
    """The paper's rule-based visual beats, on causal offsets."""
    rhythm = motion_rhythm(example.timestamps_s, example.keypoints, config=config, causal=True)
    return rhythm.times_s[pick_peaks(rhythm.offsets, config=config.beats.peaks)]


def _tempo_windows(online, truth_bpm):
    """Per 6 s window: did the median online tempo agree with the truth (or x1/2, x2)?"""
    t = online.times_s - online.times_s[0]
    out = []
    for start in np.arange(0.0, t[-1] - TEMPO_WINDOW_S + 1e-9, TEMPO_WINDOW_S):
        sel = (t >= start) & (t < start + TEMPO_WINDOW_S)
        out.append(tempo_agrees(float(np.median(online.tempo_bpm[sel])), truth_bpm))
    return out


def _forecast_errors(online, reference_beats_s):
    """|forecast - nearest true beat| [s] for forecasts made >= FORECAST_LEAD_S ahead."""
    if len(reference_beats_s) == 0:
        return []
    lead = online.next_beat_s - online.times_s
    ok = (lead >= FORECAST_LEAD_S) & (online.confidence >= 0.5)
    f = online.next_beat_s[ok]
    idx = np.clip(np.searchsorted(reference_beats_s, f), 1, len(reference_beats_s) - 1)
    near = np.minimum(np.abs(reference_beats_s[idx] - f), np.abs(reference_beats_s[idx - 1] - f))
    # Forecasts past the last true beat have nothing to be judged against.
    return list(near[f <= reference_beats_s[-1] + 0.5])


def time_online_frame(network, example) -> float:
    """Median compute [ms] per grid frame of the whole online beat stage, one thread."""
    return _ms_per_grid_frame(OnlineBeatTracker(network), example)


def _ms_per_grid_frame(tracker, example) -> float:
    """Median wall time [ms] of ``tracker.process_frame`` per grid frame it returns."""
    times = []
    for t, kp in zip(example.timestamps_s, example.keypoints):
        t0 = time.perf_counter()
        n = len(tracker.process_frame(t, kp))
        dt = time.perf_counter() - t0
        if n:
            times.append(dt / n)
    return 1e3 * float(np.median(times))


def evaluate_beats(examples, network, *, extra_methods=(), progress: bool = True) -> dict:
    """Score every method on every example; aggregate per dataset.

    Parameters
    ----------
    examples : list of :class:`ibeat_io.beat_data.BeatExample`-like objects
    network : BeatNetwork
        The VisBeatNet runtime.
    extra_methods : iterable of Method

    Returns
    -------
    dict with ``rows`` (per example and method) and ``summary`` per dataset.
    """
    online_cache = {}

    def visbeat(e):
        online = track_clip(network, e.timestamps_s, e.keypoints)
        online_cache[id(e)] = online
        return online.beat_times_s

    methods = [Method("Rule-based", rule_based_beats, params=None),
               Method("VisBeatNet + B-HMM (online)", visbeat, params=None), *extra_methods]
    rows, tempo_hits, forecasts = [], {}, {}
    for e in tqdm(examples, desc="evaluate beats", disable=not progress):
        gt = e.beat_times_s
        for m in methods:
            est = np.asarray(m.beats(e), dtype=np.float64)
            row = {"source": e.source, "sequence": e.sequence, "view": e.view, "method": m.name,
                   "n_true": len(gt), "n_est": len(est), **beat_metrics(gt, est)}
            if e.music_beats_s is not None:
                music = beat_metrics(e.music_beats_s, est)
                row.update({f"music_{k}": v for k, v in music.items()})
            rows.append(row)
        online = online_cache.pop(id(e))
        if e.tempo_bpm:
            tempo_hits.setdefault(e.source, []).extend(_tempo_windows(online, e.tempo_bpm))
        forecasts.setdefault(e.source, []).extend(_forecast_errors(online, gt))

    summary = {}
    for source in dict.fromkeys(r["source"] for r in rows):
        per = {}
        for m in methods:
            mine = [r for r in rows if r["source"] == source and r["method"] == m.name]
            keys = [k for k in mine[0] if isinstance(mine[0][k], float)]
            per[m.name] = {k: float(np.mean([r[k] for r in mine])) for k in keys}
            per[m.name].update(params=m.params, ms_per_frame=m.ms_per_frame, causal=m.causal,
                               n_examples=len(mine))
        hits = tempo_hits.get(source, [])
        errs = forecasts.get(source, [])
        summary[source] = {
            "methods": per,
            "n_sequences": len({r["sequence"] for r in rows if r["source"] == source}),
            "tempo_windows": len(hits),
            "tempo_agreement": float(np.mean(hits)) if hits else None,
            "forecast_median_error_s": float(np.median(errs)) if errs else None,
            "forecasts": len(errs),
        }
    return {"rows": rows, "summary": summary}


def format_beats_report(report: dict) -> str:
    """Markdown tables of :func:`evaluate_beats`'s result (Table 2 layout)."""
    lines = []
    for source, s in report["summary"].items():
        name = SOURCE_NAMES.get(source, source)
        lines += [f"### {name} ({s['n_sequences']} held-out sequences, "
                  f"{next(iter(s['methods'].values()))['n_examples']} views)", "",
                  "Ground truth: offline visual beats.", "",
                  "| method | params | ms / frame | causal | P | R | F | Cemgil | BAS |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for m, v in s["methods"].items():
            params = f"{v['params'] / 1000:.0f}k" if v["params"] else "-"
            ms = f"{v['ms_per_frame']:.3f}" if v["ms_per_frame"] else "-"
            lines.append(f"| {m} | {params} | {ms} | {'yes' if v['causal'] else 'no'} | "
                         f"{v['precision']:.3f} | {v['recall']:.3f} | {v['f_measure']:.3f} | "
                         f"{v['cemgil']:.3f} | {v['beat_alignment']:.3f} |")
        if any("music_f_measure" in v for v in s["methods"].values()):
            lines += ["", "Ground truth: musical beat grid (ChoreoNet).", "",
                      "| method | P | R | F | Cemgil | BAS |", "|---|---|---|---|---|---|"]
            for m, v in s["methods"].items():
                lines.append(f"| {m} | {v['music_precision']:.3f} | {v['music_recall']:.3f} | "
                             f"{v['music_f_measure']:.3f} | {v['music_cemgil']:.3f} | "
                             f"{v['music_beat_alignment']:.3f} |")
        lines.append("")
        if s["tempo_agreement"] is not None:
            lines.append(f"Online tempo (B-HMM) within 4% of the true tempo or x1/2, x2: "
                         f"**{s['tempo_agreement']:.1%}** of {s['tempo_windows']} "
                         f"{TEMPO_WINDOW_S:.0f} s windows.")
        if s["forecast_median_error_s"] is not None:
            lines.append(f"Next-beat forecast, made >= {1000 * FORECAST_LEAD_S:.0f} ms ahead: "
                         f"median error **{1000 * s['forecast_median_error_s']:.0f} ms** "
                         f"({s['forecasts']} forecasts, against the visual beats).")
        lines.append("")
    return "\n".join(lines)


def time_rule_based_frame(example, config: RhythmConfig = RhythmConfig()) -> float:
    """Median compute [ms] per grid frame of the streaming chain behind the rule-based beats."""
    from ibeat_core.rhythm import MotionRhythmTracker

    return _ms_per_grid_frame(MotionRhythmTracker(config), example)


def _reference_method(checkpoint, example):
    """The non-causal reference as a Method, or None when torch or the checkpoint is missing."""
    try:
        from ibeat_train.reference import ReferenceBeats, load_reference
    except ModuleNotFoundError:
        return None
    from pathlib import Path

    # The checkpoint lives in the repository, not in the installed package: look
    # beside the sources (editable install) and in the working directory.
    rel = Path("ibeat_train") / "checkpoints" / "reference.pt"
    candidates = [Path(checkpoint)] if checkpoint else [Path(__file__).resolve().parents[1] / rel, rel]
    path = next((c for c in candidates if c.is_file()), None)
    if path is None:
        if checkpoint:
            raise FileNotFoundError(f"reference checkpoint {checkpoint} not found")
        return None
    ref = ReferenceBeats(load_reference(path))
    return Method("Reference: bidirectional transformer (non-causal)", ref.beats,
                  params=ref.params, ms_per_frame=ref.ms_per_frame(example), causal=False)


def run_beats_evaluation(data_dir, *, include_train: bool = False, reference=None,
                         progress: bool = True):
    """Everything ``ibeat evaluate beats`` prints: returns (markdown text, report dict)."""
    from ibeat_models.visbeat import VisBeatNetwork
    from ibeat_io.beat_data import build_beat_examples

    network = VisBeatNetwork()
    meta = network.model.meta
    trained_on = () if include_train else meta.get("data", {}).get("train_sequences", ())
    examples = build_beat_examples(data_dir, exclude=trained_on, progress=progress)
    if not examples:
        raise FileNotFoundError(f"{data_dir} holds no sequence to score "
                                f"({len(trained_on)} training sequences excluded)")
    ref = _reference_method(reference, examples[0])
    report = evaluate_beats(examples, network, extra_methods=[ref] if ref else [],
                            progress=progress)
    vb_ms = time_online_frame(network, examples[0])
    rule_ms = time_rule_based_frame(examples[0])
    for s in report["summary"].values():
        s["methods"]["VisBeatNet + B-HMM (online)"].update(params=meta.get("parameters"),
                                                             ms_per_frame=vb_ms)
        s["methods"]["Rule-based"]["ms_per_frame"] = rule_ms
    report["excluded_training_sequences"] = len(trained_on)
    text = "\n".join([
        f"Scored {len(examples)} views of {len({e.sequence for e in examples})} sequences "
        f"in `{data_dir}`" + (f", leaving out the {len(trained_on)} sequences the shipped "
                              "model trained on." if trained_on else "."),
        "ms / frame: one CPU thread, per 30 Hz grid frame: for VisBeatNet the whole online "
        "stage (resampling, directogram, flux, network step on onnxruntime, B-HMM step); for "
        "the rule-based detector the streaming offsets chain; for the reference one window "
        "forward divided by its hop (Viterbi not included). The rule-based beats are known "
        "only 125 ms (half its window) after they happen.", "",
        format_beats_report(report)])
    return text, report
