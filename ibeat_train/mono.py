"""The 'Mono' baseline (paper 4.5): a 1-layer GRU of 64 units over per-beat drum tokens.

Each GMD performance (4/4, beats and fills) becomes one token per beat
(:func:`ibeat_core.mono.beat_tokens`: the most salient hit on the beat, or
REST). The GRU reads the previous token (one-hot; zeros before the first beat)
and predicts the next with cross-entropy, teacher-forced on whole performances
from their first beat (as the generator starts a stream), cut at
``max_beats``. The validation cross-entropy selects the weights; the model card
reports next-token accuracy against always predicting the most frequent
training token.
"""

from __future__ import annotations

import json
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from ibeat_core.drums import DRUM_CLASSES
from ibeat_core.mono import MONO_TOKENS, REST, beat_tokens
from ibeat_io.groove import GROOVE_DIR_NAME, load_groove_file, load_info

from .export import export_onnx, load_checkpoint, save_checkpoint
from .visbeat import make_optimizer, optimizer_step

__all__ = ["TOKEN_NAMES", "load_token_sequences", "MonoGRU", "MonoStep", "MonoTrainConfig",
           "train_mono", "mono_accuracy", "export_mono", "load_mono_torch", "mono_parity",
           "train_command"]

#: Name of every token, indexed by token.
TOKEN_NAMES = (*DRUM_CLASSES, "rest")


def load_token_sequences(gmd_root, *, split: str) -> list[np.ndarray]:
    """One (n_beats,) int64 token sequence per 4/4 GMD performance of ``split``."""
    out = []
    for entry in load_info(gmd_root, split=split):
        hits = load_groove_file(gmd_root, entry).hits
        out.append(beat_tokens(hits[:len(hits) - len(hits) % 4]))
    return [s for s in out if len(s)]


class MonoGRU(nn.Module):
    """GRU over one-hot tokens with a linear head to the next token's logits."""

    def __init__(self, n_tokens: int = MONO_TOKENS, hidden: int = 64):
        super().__init__()
        self.n_tokens, self.hidden = n_tokens, hidden
        self.gru = nn.GRU(n_tokens, hidden, batch_first=True)
        self.head = nn.Linear(hidden, n_tokens)

    def forward(self, tokens, h=None):
        """tokens (B, T, n_tokens) one-hot previous tokens -> logits (B, T, n_tokens),
        h (1, B, hidden)."""
        y, h = self.gru(tokens, h)
        return self.head(y), h


class MonoStep(nn.Module):
    """One beat with the state as input and output (for ONNX): token (1, n), h (1, H) ->
    logits (1, n), h_out (1, H)."""

    def __init__(self, net: MonoGRU):
        super().__init__()
        self.net = net

    def forward(self, token, h):
        logits, h_out = self.net(token.unsqueeze(1), h.unsqueeze(0))
        return logits.squeeze(1), h_out.squeeze(0)


@dataclass(frozen=True)
class MonoTrainConfig:
    """Training hyper-parameters (every figure in the model card comes from these)."""

    seed: int = 0
    steps: int = 1500
    batch_size: int = 32
    max_beats: int = 128
    lr: float = 5e-3
    weight_decay: float = 1e-4
    eval_every: int = 250


def _batch(sequences: list[np.ndarray], max_beats: int):
    """Teacher-forcing tensors: inputs (B, T, n) one-hot previous tokens, targets (B, T),
    mask (B, T) of real beats."""
    t = min(max_beats, max(len(s) for s in sequences))
    eye = np.eye(MONO_TOKENS, dtype=np.float32)
    inputs = np.zeros((len(sequences), t, MONO_TOKENS), np.float32)
    targets = np.full((len(sequences), t), REST, np.int64)
    mask = np.zeros((len(sequences), t), bool)
    for i, s in enumerate(sequences):
        s = s[:t]
        inputs[i, 1:len(s)] = eye[s[:-1]]
        targets[i, :len(s)] = s
        mask[i, :len(s)] = True
    return torch.from_numpy(inputs), torch.from_numpy(targets), torch.from_numpy(mask)


def _masked_ce(logits, targets, mask):
    ce = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1),
                                     reduction="none")
    return (ce * mask.reshape(-1)).sum() / mask.sum()


@torch.no_grad()
def _evaluate(net: MonoGRU, sequences: list[np.ndarray]):
    """Teacher-forced (cross-entropy, accuracy) over whole sequences."""
    net.eval()
    inputs, targets, mask = _batch(sequences, max(len(s) for s in sequences))
    logits, _ = net(inputs)
    ce = _masked_ce(logits, targets, mask).item()
    acc = ((logits.argmax(-1) == targets) & mask).sum().item() / mask.sum().item()
    return ce, acc


def train_mono(train: list[np.ndarray], validation: list[np.ndarray],
               cfg: MonoTrainConfig = MonoTrainConfig(), *, progress: bool = True):
    """Train the Mono GRU; returns (best net by validation cross-entropy, history dict)."""
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    net = MonoGRU()
    opt, sched = make_optimizer(net, cfg)
    best, best_state, history = np.inf, None, {"config": asdict(cfg), "evals": []}
    t0 = time.time()
    bar = tqdm(range(1, cfg.steps + 1), desc="train mono", disable=not progress)
    for step in bar:
        picked = [train[i] for i in rng.integers(0, len(train), cfg.batch_size)]
        inputs, targets, mask = _batch(picked, cfg.max_beats)
        net.train()
        logits, _ = net(inputs)
        loss = _masked_ce(logits, targets, mask)
        optimizer_step(net, opt, sched, loss)
        bar.set_postfix(ce=f"{loss.item():.3f}")
        if step % cfg.eval_every == 0 or step == cfg.steps:
            ce, acc = _evaluate(net, validation)
            history["evals"].append({"step": step, "val_ce": ce, "val_accuracy": acc,
                                     "elapsed_s": round(time.time() - t0, 1)})
            if ce < best:
                best, best_state = ce, {k: v.clone() for k, v in net.state_dict().items()}
    net.load_state_dict(best_state)
    history["best_val_ce"] = best
    history["train_time_s"] = round(time.time() - t0, 1)
    return net.eval(), history


def mono_accuracy(net: MonoGRU, train: list[np.ndarray], validation: list[np.ndarray]) -> dict:
    """Validation next-token accuracy (teacher-forced, argmax) vs the most frequent train token."""
    counts = np.bincount(np.concatenate(train), minlength=MONO_TOKENS)
    majority = int(np.argmax(counts))
    every = np.concatenate(validation)
    ce, acc = _evaluate(net, validation)
    return {"validation_beats": int(len(every)), "accuracy": acc, "cross_entropy": ce,
            "majority_token": TOKEN_NAMES[majority],
            "majority_accuracy": float(np.mean(every == majority)),
            "train_token_frequencies": {TOKEN_NAMES[i]: round(float(c / counts.sum()), 4)
                                        for i, c in enumerate(counts)}}


def export_mono(net: MonoGRU, out_dir, *, meta: dict) -> Path:
    """Write ``mono.onnx`` (one beat, state in and out), ``mono.pt`` and ``meta.json``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    args = (torch.zeros(1, net.n_tokens), torch.zeros(1, net.hidden))
    path = export_onnx(MonoStep(net.eval()), args, out / "mono.onnx",
                       input_names=["token", "h"], output_names=["logits", "h_out"])
    save_checkpoint(net, out / "mono.pt", {"n_tokens": net.n_tokens, "hidden": net.hidden},
                    tokens=list(TOKEN_NAMES))
    (out / "meta.json").write_text(json.dumps(meta, indent=1))
    return path


def load_mono_torch(path) -> MonoGRU:
    """The torch network from a ``mono.pt`` checkpoint (hyper-parameters inside)."""
    return load_checkpoint(MonoGRU, path)


def mono_parity(net: MonoGRU, onnx_path, tokens: np.ndarray) -> float:
    """Max |torch - onnxruntime| of the logits, feeding one token sequence (n,) a beat at a time."""
    from ibeat_models.runtime import OnnxModel

    model = OnnxModel(Path(onnx_path))
    inputs, _, _ = _batch([np.asarray(tokens, np.int64)], len(tokens))
    with torch.no_grad():
        expected, _ = net.eval()(inputs)
    h = np.zeros((1, net.hidden), np.float32)
    worst = 0.0
    for i in range(len(tokens)):
        out = model.run(token=inputs[0, i:i + 1].numpy(), h=h)
        h = out["h_out"]
        worst = max(worst, float(np.max(np.abs(out["logits"][0] - expected[0, i].numpy()))))
    return worst


def train_command(data_dir, out_dir, *, steps: int | None = None, seed: int = 0,
                  command: str = "") -> Path:
    """``ibeat train mono``: GMD from ``data_dir/groove-midi``; everything to ``out_dir``."""
    torch.set_num_threads(1)
    gmd = Path(data_dir) / GROOVE_DIR_NAME
    train = load_token_sequences(gmd, split="train")
    validation = load_token_sequences(gmd, split="validation")
    if not train or not validation:
        raise FileNotFoundError(f"{gmd} has no GMD train and validation performances")
    cfg = MonoTrainConfig(seed=seed, **({"steps": steps} if steps else {}))
    net, history = train_mono(train, validation, cfg)
    data = {"data_dir": str(data_dir), "train_performances": len(train),
            "validation_performances": len(validation),
            "train_beats": int(sum(len(s) for s in train)),
            "validation_beats": int(sum(len(s) for s in validation))}
    meta = {"name": "mono", "architecture": "Mono: GRU(64) over one-hot per-beat drum tokens",
            "parameters": sum(p.numel() for p in net.parameters()), "seed": seed,
            "command": command, "torch": torch.__version__, "python": platform.python_version(),
            "tokens": list(TOKEN_NAMES), "data": data, "training": history}
    path = export_mono(net, out_dir, meta=meta)
    longest = max(validation, key=len)
    meta["onnx_parity_max_abs_diff"] = mono_parity(net, path, longest)
    meta["next_token"] = mono_accuracy(net, train, validation)
    Path(out_dir, "meta.json").write_text(json.dumps(meta, indent=1))
    acc = meta["next_token"]
    print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB), {meta['parameters']} parameters; "
          f"validation accuracy {acc['accuracy']:.3f} vs majority ({acc['majority_token']}) "
          f"{acc['majority_accuracy']:.3f}; torch/ONNX max |diff| "
          f"{meta['onnx_parity_max_abs_diff']:.2e}")
    return path
