"""Drum-stage evaluation (the paper's Table 4 protocol, and more) on any data folder.

``ibeat evaluate drums --data DIR`` scores, with the shipped networks on
onnxruntime (no torch):

* **Generated drums from held-out motion** (every sequence of ``DIR`` the
  shipped beat and style networks did not train on), streamed through
  :class:`~ibeat_core.session.Session` like a live client: *Rule-based-Mono*
  (the 4.4 rule-based visual beats, one Mono note on each), *Mono* (the
  engine's beats, one Mono note on each) and *Poly* (ours: MuStyleNet +
  DrumGenNet, the default session, feel "any"), plus Poly with DrumGenNet's
  unconditional logits only, to show what drawing a feel adds; three seeds
  per view, every view its own (a session draws its feel from its seed).
  Each becomes two-bar windows on the beat grid;
  FID on the drum classifier's features and NDB (k = 50) on the windows
  themselves, both against GMD train; GMD validation against GMD train is the
  floor.
* **DrumGenNet alone on GMD validation**: next-beat hit F1 per drum class
  given the real previous three beats, against repeating the last beat.
* **Genre conditioning**: per-genre hit statistics of Poly drums generated
  from held-out motion (the first view of each sequence, a seed each),
  against each genre's GMD statistics.
* **Per-beat compute**: MuStyleNet steps over one beat plus one DrumGenNet
  call, one thread.
"""

from __future__ import annotations

import time

import numpy as np
from tqdm import tqdm

from ibeat_metrics.drums import (WINDOW_BEATS, VoronoiBins, backbeat_interval, backbeat_share,
                                 class_share_l1, class_shares, frechet_distance, hit_f1,
                                 hit_statistics, pattern_windows)
from ibeat_core.bar import BarPosition, bar_features
from ibeat_core.drums import DRUM_CLASSES, GENRES, N_DRUM_CLASSES, STEPS_PER_BEAT, drum_style
from ibeat_core.mono import MonoNoteGenerator
from ibeat_core.rhythm import motion_rhythm
from ibeat_core.session import (MONO_MIN_VELOCITY, SessionConfig, hits_on_beat_grid,
                                run_session)
from ibeat_core.visual_beats import pick_peaks

from ibeat_io.groove import load_groove_file, load_info

__all__ = ["next_beat_f1", "evaluate_drums", "format_drums_report",
           "run_drums_evaluation", "METHODS"]

#: Generation methods compared, in table order.
METHODS = ("Rule-based-Mono", "Mono", "Poly (ours)", "Poly, unconditional feel",
           "Poly, the paper's DrumGenNet")
# Session settings of the engine's methods; genre strength 0 leaves only DrumGenNet's
# unconditional logits, whatever feel the session draws; "paper" is DrumGenNet without the
# bar and with the style's velocities (Table 4).
_SESSION_METHODS = {"Mono": {"mode": "mono"}, "Poly (ours)": {"mode": "poly"},
                    "Poly, unconditional feel": {"mode": "poly", "genre_strength": 0.0},
                    "Poly, the paper's DrumGenNet": {"mode": "poly", "drums": "paper"}}
#: Random equal-size subsets each method's FID and NDB are averaged over.
N_SUBSETS = 10


def _gmd(groove_root, split, progress):
    """``[(genre index, DrumGrid)]`` of a GMD split; genres outside GENRES count as "any"."""
    entries = load_info(groove_root, split=split)
    return [(GENRES.index(e.style) if e.style in GENRES else 0, load_groove_file(groove_root, e))
            for e in tqdm(entries, desc=f"GMD {split}", disable=not progress)]


def next_beat_f1(network, performances) -> dict:
    """Next-beat hit F1 of DrumGenNet given the real context, against repeating the last beat.

    Parameters
    ----------
    network : ibeat_core.drumgen.DrumGenNetwork
    performances : list of (genre index, DrumGrid)

    Returns
    -------
    dict
        ``{"drumgen": {...}, "repeat_last_beat": {...}}``, each with ``f1`` per drum
        class name and ``micro_f1``; predictions are hits with probability > 0.5.
    """
    preds = {"drumgen": [], "repeat_last_beat": []}
    truth = []
    for genre, grid in performances:
        hits = (grid.hits > 0).astype(np.float32)
        style = drum_style(grid.hits)
        for b in range(3, hits.shape[0] // STEPS_PER_BEAT):
            lo, hi = (b - 3) * STEPS_PER_BEAT, b * STEPS_PER_BEAT
            truth.append(hits[hi:hi + STEPS_PER_BEAT] > 0)
            extra = ({"bar": bar_features(BarPosition(b % 4, b // 4 % 4, 4))}
                     if getattr(network, "bar_aware", False) else {})
            preds["drumgen"].append(network.logits(style[lo:hi], hits[lo:hi], genre, **extra) > 0)
            preds["repeat_last_beat"].append(hits[hi - STEPS_PER_BEAT:hi] > 0)
    truth = np.array(truth)
    return {m: {"f1": {name: hit_f1(np.array(p)[..., c], truth[..., c])
                       for c, name in enumerate(DRUM_CLASSES)},
                "micro_f1": hit_f1(np.array(p), truth), "hits": int(truth.sum())}
            for m, p in preds.items()}


def _rule_based_mono(offsets, beat_frames, mono_network, seed):
    """One Mono note on each rule-based visual beat, on the beat grid.

    ``offsets`` (N,) are the causal kinematic offsets and ``beat_frames`` the
    rule-based beats picked from them; a note's velocity is the offset at its beat.
    """
    mono = MonoNoteGenerator(mono_network, seed=seed)
    grid = np.zeros((STEPS_PER_BEAT * len(beat_frames), N_DRUM_CLASSES), dtype=np.float32)
    for k, i in enumerate(beat_frames):
        drum = mono.next_note()
        if drum >= 0:
            grid[STEPS_PER_BEAT * k, drum] = max(offsets[i], MONO_MIN_VELOCITY)
    return grid


def _features(classifier, windows):
    return classifier.run(hits=windows)["features"] if len(windows) else np.zeros((0, 64))


def _score(windows, bins, train_features, classifier, *, n: int, seed: int) -> dict:
    """FID and NDB of ``n`` windows drawn from ``windows``, averaged over subsets.

    Both metrics depend on the sample size (NDB's tests gain power, FID's bias
    shrinks), so every method is scored on the same number of windows: the
    smallest set's, in :data:`N_SUBSETS` seeded random subsets. NDB is counted
    in two spaces (``bins``): the onset patterns (what is played where, the
    primary figure) and the velocity matrices.
    """
    if len(windows) < 2 or n < 2:
        return {"windows": int(len(windows)), "fid": None, "ndb": None, "ndb_velocity": None}
    rng = np.random.default_rng(seed)
    features = _features(classifier, windows)
    fid, ndb, ndb_velocity = [], [], []
    for _ in range(N_SUBSETS):
        idx = rng.choice(len(windows), size=n, replace=False)
        fid.append(frechet_distance(train_features, features[idx]))
        ndb.append(bins["onsets"].score(_onsets(windows[idx])).ndb)
        ndb_velocity.append(bins["velocity"].score(windows[idx].reshape(n, -1)).ndb)
    return {"windows": int(len(windows)), "scored": int(n),
            "fid": float(np.mean(fid)), "fid_std": float(np.std(fid)),
            "ndb": float(np.mean(ndb)), "ndb_std": float(np.std(ndb)),
            "ndb_velocity": float(np.mean(ndb_velocity)),
            "ndb_velocity_std": float(np.std(ndb_velocity)),
            "hits_per_beat": float((windows > 0).sum() / (len(windows) * WINDOW_BEATS))}


def _onsets(windows) -> np.ndarray:
    """Flattened 0/1 onset patterns ``(n, 288)`` of windows ``(n, 32, 9)``."""
    return (windows > 0).reshape(len(windows), -1).astype(np.float64)


def per_beat_ms(networks, *, bpm: float = 120.0, fps: float = 30.0, repeats: int = 200) -> dict:
    """Median compute [ms] per beat of MuStyleNet (its frames of one beat) and DrumGenNet."""
    frames = int(round(60.0 / bpm * fps))
    rng = np.random.default_rng(0)
    style_ms, gen_ms = [], []
    state = networks.style.initial_state()
    ctx = rng.random(12).astype(np.float32)
    hits = (rng.random((12, N_DRUM_CLASSES)) < 0.2).astype(np.float32)
    bar = bar_features(BarPosition(1, 0, 4))
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(frames):
            _, state = networks.style.step(float(rng.random()), state)
        t1 = time.perf_counter()
        networks.drumgen.logits(ctx, hits, 0, bar=bar)
        t2 = time.perf_counter()
        style_ms.append(t1 - t0)
        gen_ms.append(t2 - t1)
    return {"bpm": bpm, "frames_per_beat": frames, "mustyle_ms": 1e3 * float(np.median(style_ms)),
            "drumgen_ms": 1e3 * float(np.median(gen_ms))}


def evaluate_drums(examples, performances_train, performances_validation, networks, classifier, *,
                   seed: int = 0, n_seeds: int = 3, genre_views: int = 1,
                   progress: bool = True) -> dict:
    """Everything in the module docstring; returns a JSON-able report."""
    train_windows = np.concatenate([pattern_windows(g.hits) for _, g in performances_train])
    train_features = _features(classifier, train_windows)
    val_windows = np.concatenate([pattern_windows(g.hits) for _, g in performances_validation])

    generated = {m: [] for m in METHODS}
    for i, e in enumerate(tqdm(examples, desc="generate drums", disable=not progress)):
        rhythm = motion_rhythm(e.timestamps_s, e.keypoints, causal=True)
        rule_beats = pick_peaks(rhythm.offsets)
        # Several seeds per view: more samples of each generator for the set metrics. Each
        # view gets seeds of its own: a session draws its feel from its seed, and shared
        # seeds would play the same few feels on every view.
        for s in range(seed + n_seeds * i, seed + n_seeds * (i + 1)):
            generated["Rule-based-Mono"].append(
                _rule_based_mono(rhythm.offsets, rule_beats, networks.mono, s))
            for name, settings in _SESSION_METHODS.items():
                r = run_session(networks, e.timestamps_s, e.keypoints,
                                config=SessionConfig(seed=s, **settings))
                generated[name].append(hits_on_beat_grid(r.beats, r.hits))

    sets = {"GMD validation (real)": val_windows}
    for m in METHODS:
        sets[m] = np.concatenate([pattern_windows(g) for g in generated[m]])
    n = min(len(w) for w in sets.values())
    bins = {"onsets": VoronoiBins(_onsets(train_windows), k=50, seed=seed),
            "velocity": VoronoiBins(train_windows.reshape(len(train_windows), -1), k=50, seed=seed)}
    table = {name: _score(w, bins, train_features, classifier, n=n, seed=seed)
             for name, w in sets.items()}

    f1 = next_beat_f1(networks.drumgen, performances_validation)

    # Genre: the same held-out motion (the first views of each sequence), each feel in turn.
    genre_examples = [e for e in examples if e.view < genre_views]
    gmd_stats = {}
    for genre, grid in performances_train:
        gmd_stats.setdefault(genre, []).append(grid.hits)
    names = [g for g in GENRES[1:] if GENRES.index(g) in gmd_stats]
    reference = {g: hit_statistics(np.concatenate(gmd_stats[GENRES.index(g)])) for g in names}
    genre_rows = {}
    for g in tqdm(names, desc="genres", disable=not progress):
        grids, bar_beats = [], []
        # A seed per view, as for the set metrics: a phrase's hits share their random draws
        # (DrumGenConfig.hold_draws), so one seed for every view would measure one set of draws.
        for i, e in enumerate(genre_examples):
            r = run_session(networks, e.timestamps_s, e.keypoints,
                            config=SessionConfig(genre=g, seed=seed + i))
            grids.append(hits_on_beat_grid(r.beats, r.hits))
            bar_beats += [b.bar_beat if b.beats_per_bar == 4 else -1 for b in r.beats]
        hits = np.concatenate(grids)
        stats = hit_statistics(hits)
        dist = {h: float(np.linalg.norm(stats - reference[h])) for h in names}
        own = gmd_stats[GENRES.index(g)]
        own_bars = [np.arange(len(h) // STEPS_PER_BEAT) % 4 for h in own]
        genre_rows[g] = {
            "nearest": min(dist, key=dist.get), "distances": dist,
            "class_l1": class_share_l1(hits, np.concatenate(own)),
            "class_shares": class_shares(hits).round(4).tolist(),
            "gmd_class_shares": class_shares(np.concatenate(own)).round(4).tolist(),
            "hits_per_beat": float((hits > 0).sum() / max(len(hits) // STEPS_PER_BEAT, 1)),
            "gmd_hits_per_beat": float(sum((h > 0).sum() for h in own)
                                       / max(sum(len(h) for h in own) // STEPS_PER_BEAT, 1)),
            "backbeat": backbeat_share(hits, bar_beats),
            # GMD files start on a 4/4 downbeat (true of about 80 % of them).
            "gmd_backbeat": backbeat_share(np.concatenate(own), np.concatenate(own_bars)),
            # How well GMD pins it down: punk's snares come mostly from one performance.
            "gmd_backbeat_interval": backbeat_interval(list(zip(own, own_bars)), seed=seed)}
    correct = sum(row["nearest"] == g for g, row in genre_rows.items())

    return {"table": table, "next_beat_f1": f1, "per_beat": per_beat_ms(networks),
            "genre": {"rows": genre_rows, "correct": correct, "genres": len(names),
                      "views": len(genre_examples)},
            "n_examples": len(examples), "n_sequences": len({e.sequence for e in examples}),
            "seed": seed, "n_seeds": n_seeds}


def format_drums_report(report: dict) -> str:
    """Markdown tables of :func:`evaluate_drums`'s report."""
    scored = next(iter(report["table"].values())).get("scored", 0)
    lines = [f"Generated from {report['n_examples']} views of {report['n_sequences']} held-out "
             f"motion sequences with {report['n_seeds']} seeds each; compared with GMD train in two-bar windows on the beat grid. "
             f"Every set is scored on {scored} windows (mean +- sd over {N_SUBSETS} random "
             "subsets), since both metrics depend on the sample size.", "",
             "| method | windows | hits / beat | FID | NDB, onset patterns | NDB, velocities |",
             "|---|---|---|---|---|---|"]

    def cell(v, key):
        return f"{v[key]:.1f} +- {v[key + '_std']:.1f}" if v[key] is not None else "-"

    for m, v in report["table"].items():
        hpb = f"{v['hits_per_beat']:.2f}" if "hits_per_beat" in v else "-"
        lines.append(f"| {m} | {v['windows']} | {hpb} | {cell(v, 'fid')} | {cell(v, 'ndb')} | "
                     f"{cell(v, 'ndb_velocity')} |")
    lines += ["", "Lower is better everywhere. FID: on the drum classifier's 64 features. NDB: "
              "k = 50 k-means cells of GMD train, two-sided two-proportion tests at 5%; onset "
              "patterns are the 0/1 hit matrices, velocities the raw ones."]
    f1 = report["next_beat_f1"]
    lines += ["", "DrumGenNet alone on GMD validation, the real previous three beats as context: "
              "next-beat hit F1.", "",
              "| | " + " | ".join(DRUM_CLASSES) + " | micro |",
              "|---" * (len(DRUM_CLASSES) + 2) + "|"]
    for m, label in (("drumgen", "DrumGenNet"), ("repeat_last_beat", "repeat the last beat")):
        lines.append(f"| {label} | " + " | ".join(f"{f1[m]['f1'][c]:.3f}" for c in DRUM_CLASSES)
                     + f" | **{f1[m]['micro_f1']:.3f}** |")
    g = report["genre"]
    lines += ["", f"Genre conditioning: Poly drums generated from {g['views']} held-out views (a seed "
              f"each) with each feel; the feel's hit statistics (rate per class and 16th position) are "
              f"nearest to its own GMD genre for **{g['correct']} of {g['genres']}** genres.", "",
              "| asked for | nearest GMD genre | own genre's rank | distance to own | "
              "to nearest other | drum classes: L1 to GMD | hits / beat (GMD) | "
              "on-beat snares on 2 and 4 (GMD; its 95% interval) |",
              "|---|---|---|---|---|---|---|---|"]
    for name, row in g["rows"].items():
        dist = row["distances"]
        others = {k: v for k, v in dist.items() if k != name}
        other = min(others, key=others.get)
        rank = 1 + sum(v < dist[name] for v in others.values())
        low, high = row.get("gmd_backbeat_interval", (float("nan"),) * 2)
        lines.append(f"| {name} | {row['nearest']} | {rank} of {len(dist)} | {dist[name]:.3f} | "
                     f"{others[other]:.3f} ({other}) | {row['class_l1']:.2f} | "
                     f"{row['hits_per_beat']:.2f} ({row['gmd_hits_per_beat']:.2f}) | "
                     f"{row['backbeat']:.2f} ({row['gmd_backbeat']:.2f}; "
                     f"{low:.2f}-{high:.2f}) |")
    lines += ["", "Drum classes: L1 distance of the share of hits per drum class to the genre's in "
              "GMD train (0 = the same kit mix, 2 = disjoint). On-beat snares on 2 and 4: of the "
              "snares on a beat's first sixteenth, the share on beats 2 and 4 of a 4/4 bar (the "
              "session's bar count; GMD's from the file start); GMD's interval is a bootstrap over "
              "its performances (a genre whose snares come from a few performances is pinned "
              "down loosely)."]
    pb = report["per_beat"]
    lines += ["", f"Per-beat compute, one thread, at {pb['bpm']:.0f} BPM ({pb['frames_per_beat']} "
              f"frames): MuStyleNet {pb['mustyle_ms']:.3f} ms + DrumGenNet {pb['drumgen_ms']:.3f} ms "
              f"(paper: 6 + 22 ms).", ""]
    return "\n".join(lines)


def run_drums_evaluation(data_dir, *, seed: int = 0, include_train: bool = False,
                         progress: bool = True):
    """Everything ``ibeat evaluate drums`` prints: returns (markdown text, report dict)."""
    from pathlib import Path

    from ibeat_models import load_networks
    from ibeat_models.runtime import load_model
    from ibeat_io.beat_data import build_beat_examples

    networks = load_networks()
    trained_on = set()
    if not include_train:
        for net in (networks.beat, networks.style):
            trained_on |= set(net.model.meta.get("data", {}).get("train_sequences", ()))
    examples = build_beat_examples(data_dir, exclude=trained_on, progress=progress)
    groove = Path(data_dir) / "groove-midi"
    if not examples or not groove.is_dir():
        raise FileNotFoundError(f"{data_dir} needs held-out motion and groove-midi/ to score drums")
    splits = {split: _gmd(groove, split, progress) for split in ("train", "validation")}
    missing = [split for split, performances in splits.items() if not performances]
    if missing:
        raise FileNotFoundError(f"{groove} has no Groove MIDI {' or '.join(missing)} split "
                                "(rows of info.csv with that split and their MIDI files)")
    report = evaluate_drums(examples, splits["train"], splits["validation"], networks,
                            load_model("drumclassifier"), seed=seed, progress=progress)
    report["excluded_training_sequences"] = len(trained_on)
    return format_drums_report(report), report
