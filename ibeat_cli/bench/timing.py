"""The timing section: generated on-beat hits against the offline visual beats."""

from __future__ import annotations

import numpy as np

from .common import _log

__all__ = ["bench_timing", "nearest_distances"]


def nearest_distances(times_s, reference_s) -> np.ndarray:
    """|t - nearest reference time| for each t (seconds); empty without references.

    Examples
    --------
    >>> nearest_distances([0.9, 2.2], [1.0, 2.0]).round(3).tolist()
    [0.1, 0.2]
    """
    t = np.asarray(times_s, dtype=np.float64)
    ref = np.sort(np.asarray(reference_s, dtype=np.float64))
    if not ref.size or not t.size:
        return np.zeros(0)
    idx = np.clip(np.searchsorted(ref, t), 1, max(len(ref) - 1, 1))
    lo = ref[np.clip(idx - 1, 0, len(ref) - 1)]
    hi = ref[np.clip(idx, 0, len(ref) - 1)]
    return np.minimum(np.abs(t - lo), np.abs(t - hi))


def bench_timing(data_dir, *, networks=None, seed: int = 0, progress: bool = True) -> dict:
    """On-beat hits (step 0) vs the offline visual beats, Poly and Mono, held-out clips (view 0)."""
    from ibeat_core.session import SessionConfig, run_session
    from ibeat_models import load_networks
    from ibeat_io.beat_data import build_beat_examples

    networks = networks if networks is not None else load_networks()
    examples = [e for e in build_beat_examples(data_dir, split="validation", mocap_views=1,
                                               progress=progress) if e.view == 0]
    if not examples:
        raise FileNotFoundError(f"{data_dir} holds no held-out sequence")
    rng = np.random.default_rng(seed)
    modes = {}
    for mode in ("poly", "mono"):
        config = SessionConfig(mode=mode, seed=seed)
        dist, chance, per_source, n_seq = [], [], {}, 0
        for e in examples:
            gt = e.beat_times_s
            if len(gt) < 2:
                continue
            n_seq += 1
            r = run_session(networks, e.timestamps_s, e.keypoints, config=config)
            on_beat = np.array([h.time_s for h in r.hits if h.step == 0])
            # Only hits inside the span the ground truth covers (plus half a beat) are judged.
            half = 0.5 * float(np.median(np.diff(gt)))
            on_beat = on_beat[(on_beat >= gt[0] - half) & (on_beat <= gt[-1] + half)]
            d = 1e3 * nearest_distances(on_beat, gt)
            dist += d.tolist()
            per_source.setdefault(e.source, []).extend(d.tolist())
            chance += (1e3 * nearest_distances(rng.uniform(gt[0], gt[-1], max(len(on_beat), 1)),
                                               gt)).tolist()
        d = np.asarray(dist)
        modes[mode] = {
            "hits": int(d.size), "sequences": n_seq,
            "median_ms": round(float(np.median(d)), 1) if d.size else None,
            "p90_ms": round(float(np.percentile(d, 90)), 1) if d.size else None,
            "within_70ms_share": round(float(np.mean(d <= 70)), 3) if d.size else None,
            "chance_median_ms": round(float(np.median(chance)), 1) if chance else None,
            "per_source": {s: {"hits": len(v), "median_ms": round(float(np.median(v)), 1)}
                           for s, v in per_source.items() if v},
        }
        if progress:
            _log(f"timing: {mode}: {d.size} on-beat hits, median {modes[mode]['median_ms']} ms")
    return {"data": str(data_dir), "sequences": sorted({f"{e.source}:{e.sequence}" for e in examples}),
            "modes": modes}
