"""``ibeat train``: build the data, train, export, and write the model card."""

from __future__ import annotations

import importlib
import json
import platform
import shlex
import sys
from pathlib import Path

import torch

from ibeat_io.beat_data import PRODUCT_SOURCES, SOURCES, VALIDATION, build_beat_examples

__all__ = ["TRAINERS", "train"]


#: What ``ibeat train`` can train, and the module whose ``train_command`` does it;
#: "drumgen-calibration" refits only DrumGenNet's body calibration (``drumgen`` fits it too).
TRAINERS = {"visbeat": None, "reference": None, "mustyle": "mustyle", "drumgen": "drumgen",
            "drumgen-calibration": "body_calibration", "mono": "mono",
            "drumclassifier": "drum_classifier"}


def train(what: str, data_dir, out_dir, *, steps: int | None = None, seed: int = 0) -> Path:
    """Train one network on ``data_dir`` (laid out like shared/data); write everything to ``out_dir``."""
    if what not in TRAINERS:
        raise ValueError(f"unknown network {what!r}; choose one of {', '.join(TRAINERS)}")
    command = "ibeat " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[1:] else ""
    if TRAINERS[what]:
        module = importlib.import_module(f"ibeat_train.{TRAINERS[what]}")
        return module.train_command(data_dir, out_dir, steps=steps, seed=seed, command=command)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(min(2, torch.get_num_threads()))
    # VisBeatNet ships: it trains on product-licensed data only. The reference is a
    # research comparison that never ships, trained on every source.
    sources = PRODUCT_SOURCES if what == "visbeat" else SOURCES
    train_set = build_beat_examples(data_dir, split="train", seed=seed, sources=sources)
    validation = build_beat_examples(data_dir, split="validation", seed=seed, sources=sources)
    if not train_set or not validation:
        raise FileNotFoundError(f"{data_dir} has no beat training data (need AIST++, "
                                "dance-with-melody or cmu-salsa-bvh folders)")
    data = {
        "data_dir": str(data_dir),
        "sources": list(sources),
        "train_sequences": sorted({e.sequence for e in train_set}),
        "validation_sequences": sorted({e.sequence for e in validation}),
        "train_views": len(train_set),
        "validation_views": len(validation),
        "train_minutes": round(sum(len(e.offsets) for e in train_set) / 30.0 / 60.0, 1),
        "held_out": VALIDATION,
    }
    if what == "visbeat":
        return _train_visbeat(train_set, validation, out, data, steps, seed, command)
    return _train_reference(train_set, validation, out, data, steps, seed, command)


def _train_visbeat(train_set, validation, out, data, steps, seed, command):
    from .export import export_visbeat, visbeat_parity
    from .visbeat import TrainConfig, train_visbeat

    cfg = TrainConfig(seed=seed, **({"steps": steps} if steps else {}))
    net, history = train_visbeat(train_set, validation, cfg)
    meta = {"name": "visbeat", "architecture": "VisBeatNet: GRU(64) offsets + GRU(32) beats",
            "parameters": sum(p.numel() for p in net.parameters()), "seed": seed,
            "command": command, "torch": torch.__version__, "python": platform.python_version(),
            "fps": 30.0, "data": data, "training": history}
    path = export_visbeat(net, out, meta=meta)
    sample = validation[0].directogram[:600]
    parity = visbeat_parity(net, path, sample)
    meta["onnx_parity_max_abs_diff"] = float(parity)
    (out / "meta.json").write_text(json.dumps(meta, indent=1))
    print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB); torch/ONNX max |diff| {parity:.2e}")
    return path


def _train_reference(train_set, validation, out, data, steps, seed, command):
    from .reference import ReferenceConfig, save_reference, train_reference

    cfg = ReferenceConfig(seed=seed, **({"steps": steps} if steps else {}))
    net, history = train_reference(train_set, validation, cfg)
    history.update(data=data, command=command)
    path = out / "reference.pt"
    save_reference(net, path, history)
    print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB), "
          f"{sum(p.numel() for p in net.parameters())} parameters")
    return path


