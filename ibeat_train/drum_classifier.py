"""The drum-pattern classifier whose features FID is measured on (paper 4.5).

The paper computes FID on an InceptionV3 adapted to drum spectrograms and
trained to classify GMD genres. ibeat measures patterns on the beat grid
instead (see :mod:`ibeat_metrics.drums`): a small 1-D CNN reads a two-bar
hit matrix (32 sixteenths x 9 classes, velocities) and is trained on the GMD
train split to tell its nine genres (:data:`GENRE_CLASSES`) apart; FID uses its
64-dimensional penultimate layer. The features describe what is played where,
independent of tempo and of the drum kit's sound, which the synthesised kit
would otherwise dominate.

It ships as ONNX (``ibeat_models/drumclassifier``) so that ``ibeat evaluate
drums`` needs no torch.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from ibeat_metrics.drums import WINDOW_BEATS, pattern_windows
from ibeat_core.drums import GENRES, N_DRUM_CLASSES, STEPS_PER_BEAT
from ibeat_io.groove import load_groove_file, load_info

from .export import export_onnx

__all__ = ["GENRE_CLASSES", "FEATURES", "ClassifierConfig", "DrumClassifier", "genre_windows",
           "train_classifier", "export_classifier", "train_command"]

#: Genres the classifier tells apart: the named feels of DrumGenNet.
GENRE_CLASSES = GENRES[1:]
#: Size of the feature vector FID is computed on.
FEATURES = 64


@dataclass(frozen=True)
class ClassifierConfig:
    """Training settings; every number that shapes the shipped weights."""

    steps: int = 3000
    batch_size: int = 128
    learning_rate: float = 2e-3
    weight_decay: float = 1e-4
    train_hop_beats: int = 2
    seed: int = 0


class DrumClassifier(nn.Module):
    """Two-bar hit matrix ``(N, 32, 9)`` -> ``(features (N, 64), genre logits (N, 9))``."""

    def __init__(self, n_classes: int = len(GENRE_CLASSES), features: int = FEATURES):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv1d(N_DRUM_CLASSES, 48, 3, padding=1), nn.ReLU(),
            nn.Conv1d(48, 64, 3, padding=1, stride=2), nn.ReLU(),
            nn.Conv1d(64, 64, 3, padding=1, stride=2), nn.ReLU())
        self.features = nn.Sequential(nn.Linear(128, features), nn.ReLU())
        self.head = nn.Linear(features, n_classes)

    def forward(self, hits):
        h = self.conv(hits.transpose(1, 2))
        f = self.features(torch.cat([h.mean(dim=2), h.amax(dim=2)], dim=1))
        return f, self.head(f)


def genre_windows(groove_root, split: str, *, hop_beats: int = WINDOW_BEATS,
                  progress: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Two-bar windows of every GMD performance of a split whose genre is in GENRE_CLASSES.

    Returns
    -------
    windows : np.ndarray, shape (n, 32, 9), float32
    labels : np.ndarray, shape (n,), int64
        Index in :data:`GENRE_CLASSES`.
    """
    windows, labels = [], []
    entries = [e for e in load_info(groove_root, split=split) if e.style in GENRE_CLASSES]
    for entry in tqdm(entries, desc=f"GMD {split}", disable=not progress):
        w = pattern_windows(load_groove_file(groove_root, entry).hits, hop_beats=hop_beats)
        windows.append(w)
        labels.append(np.full(len(w), GENRE_CLASSES.index(entry.style)))
    if not windows:
        return (np.zeros((0, WINDOW_BEATS * STEPS_PER_BEAT, N_DRUM_CLASSES), np.float32),
                np.zeros(0, np.int64))
    return np.concatenate(windows), np.concatenate(labels).astype(np.int64)


def _accuracy(net, x, y) -> float:
    with torch.no_grad():
        _, logits = net(torch.from_numpy(x))
    return float((logits.argmax(dim=1).numpy() == y).mean())


def train_classifier(train, validation, config: ClassifierConfig = ClassifierConfig(), *,
                     progress: bool = True):
    """Train on ``(windows, labels)`` pairs; keep the weights with the best validation accuracy.

    Classes are sampled evenly (rock alone is a third of GMD), so the features
    separate the small genres too.

    Returns
    -------
    (DrumClassifier, dict history)
    """
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    x, y = train
    net = DrumClassifier()
    opt = torch.optim.AdamW(net.parameters(), lr=config.learning_rate,
                            weight_decay=config.weight_decay)
    by_class = [np.flatnonzero(y == c) for c in range(len(GENRE_CLASSES))]
    by_class = [idx for idx in by_class if len(idx)]
    best, best_state, history = -1.0, None, {"steps": [], "validation_accuracy": []}
    for step in tqdm(range(1, config.steps + 1), desc="drum classifier", disable=not progress):
        classes = rng.integers(len(by_class), size=config.batch_size)
        batch = np.array([rng.choice(by_class[c]) for c in classes])
        _, logits = net(torch.from_numpy(x[batch]))
        loss = nn.functional.cross_entropy(logits, torch.from_numpy(y[batch]))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 250 == 0 or step == config.steps:
            net.eval()
            acc = _accuracy(net, *validation)
            net.train()
            history["steps"].append(step)
            history["validation_accuracy"].append(acc)
            if acc > best:
                best = acc
                best_state = {k: v.clone() for k, v in net.state_dict().items()}
    net.load_state_dict(best_state)
    history["best_validation_accuracy"] = best
    return net.eval(), history


def export_classifier(net: DrumClassifier, out_dir, *, meta: dict) -> Path:
    """Write ``drumclassifier.onnx`` (batch axis free) and ``meta.json``; return the ONNX path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    example = torch.zeros(2, WINDOW_BEATS * STEPS_PER_BEAT, N_DRUM_CLASSES)
    path = export_onnx(net.eval(), (example,), out / "drumclassifier.onnx", input_names=["hits"],
                       output_names=["features", "logits"],
                       dynamic_axes={"hits": {0: "n"}, "features": {0: "n"}, "logits": {0: "n"}})
    (out / "meta.json").write_text(json.dumps(meta, indent=1))
    return path


def train_command(data_dir, out_dir, *, steps: int | None = None, seed: int = 0,
                  command: str = "") -> Path:
    """``ibeat train drumclassifier``: GMD train -> weights selected on GMD validation -> ONNX."""
    from ibeat_models.runtime import OnnxModel

    torch.set_num_threads(1)
    root = Path(data_dir) / "groove-midi"
    cfg = ClassifierConfig(seed=seed, **({"steps": steps} if steps else {}))
    train = genre_windows(root, "train", hop_beats=cfg.train_hop_beats)
    validation = genre_windows(root, "validation")
    if not len(train[0]) or not len(validation[0]):
        raise FileNotFoundError(f"{root} holds no GMD train/validation performances")
    net, history = train_classifier(train, validation, cfg)
    chance = float(np.bincount(validation[1]).max() / len(validation[1]))
    meta = {"name": "drumclassifier", "architecture": "1-D CNN 9-48-64-64, mean+max pool, "
            "64 features, 9 genres", "parameters": sum(p.numel() for p in net.parameters()),
            "genres": list(GENRE_CLASSES), "window_beats": WINDOW_BEATS, "seed": seed,
            "command": command, "torch": torch.__version__, "config": asdict(cfg),
            "data": {"train_windows": int(len(train[0])), "validation_windows": int(len(validation[0]))},
            "validation_accuracy": history["best_validation_accuracy"],
            "validation_majority_accuracy": chance, "training": history}
    path = export_classifier(net, out_dir, meta=meta)
    x = validation[0][:256]
    with torch.no_grad():
        f_torch = net(torch.from_numpy(x))[0].numpy()
    f_onnx = OnnxModel(path).run(hits=x)["features"]
    meta["onnx_parity_max_abs_diff"] = float(np.abs(f_torch - f_onnx).max())
    (Path(out_dir) / "meta.json").write_text(json.dumps(meta, indent=1))
    print(f"wrote {path}: validation accuracy {history['best_validation_accuracy']:.3f} "
          f"(majority {chance:.3f}); torch/ONNX max |diff| {meta['onnx_parity_max_abs_diff']:.1e}")
    return path
