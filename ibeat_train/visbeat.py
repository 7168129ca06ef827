"""VisBeatNet (paper 3.1.2, sizes 4.2): two GRUs, kinematic offsets and beat probability.

* RN1, a GRU of 64 units, reads the directogram (log-compressed), the causal
  deceleration flux of the directogram (the raw material of the offsets, which a
  64-unit GRU otherwise has to learn to difference) and its own previous
  kinematic offset, and predicts this frame's offset (auto-regressive;
  teacher-forced in training).
* RN2, a GRU of 32 units, reads the predicted offset and RN1's hidden state (the
  residual connection of Fig. 3) and a linear head gives the beat probability.

About 26k parameters. The loss is MSE on the offsets plus a weighted binary
cross-entropy on the beats. Training samples 10 s windows of the examples of
:mod:`ibeat_io.beat_data` with label-preserving augmentation: mirroring (a
permutation of the direction bins), gain (body-scale error), time stretch (beats
moved accordingly), and a second pass that feeds the network its own offsets so
that free-running inference is what it was trained for.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from ibeat_core.directogram import N_BINS
from ibeat_core.kinematic import KinematicConfig, deceleration_flux

__all__ = ["VisBeatNet", "TrainConfig", "train_visbeat", "mirror_bins", "sample_batch",
           "beat_targets", "beat_loss", "make_optimizer", "optimizer_step"]


class VisBeatNet(nn.Module):
    """RN1 (offsets) and RN2 (beats) of VisBeatNet.

    Parameters
    ----------
    n_bins : int
        Directogram bins.
    hidden1, hidden2 : int
        GRU sizes of RN1 and RN2 (paper: 64 and 32).
    """

    def __init__(self, n_bins: int = N_BINS, hidden1: int = 64, hidden2: int = 32):
        super().__init__()
        self.n_bins, self.hidden1, self.hidden2 = n_bins, hidden1, hidden2
        self.rn1 = nn.GRU(n_bins + 2, hidden1, batch_first=True)
        self.offset_head = nn.Linear(hidden1, 1)
        self.rn2 = nn.GRU(hidden1 + 1, hidden2, batch_first=True)
        self.beat_head = nn.Linear(hidden2, 1)

    def forward(self, directogram, flux, prev_offsets, h1=None, h2=None):
        """Run over sequences.

        Parameters
        ----------
        directogram : Tensor, shape (B, T, n_bins)
            Body lengths per second per direction.
        flux : Tensor, shape (B, T)
            Causal deceleration flux of the directogram
            (:func:`ibeat_core.kinematic.deceleration_flux`).
        prev_offsets : Tensor, shape (B, T)
            Offset of the previous frame fed to RN1 (ground truth when teacher
            forcing, the network's own output when free-running).
        h1, h2 : Tensor, shape (1, B, hidden), optional
            Initial states (zeros when None).

        Returns
        -------
        offsets : Tensor (B, T) in [0, 1]
        beat_logits : Tensor (B, T)
        h1, h2 : final states
        """
        return self.forward_log(torch.log1p(directogram), flux, prev_offsets, h1, h2)

    def forward_log(self, log_directogram, flux, prev_offsets, h1=None, h2=None):
        """:meth:`forward` on ``log1p(directogram)``: the exported step takes the logarithm
        from its caller, because onnxruntime's Log rounds a row differently by where it falls
        in a batch, and a server batches the streams' steps."""
        x = torch.cat([log_directogram, flux.unsqueeze(-1), prev_offsets.unsqueeze(-1)], dim=-1)
        y1, h1 = self.rn1(x, h1)
        offsets = torch.sigmoid(self.offset_head(y1))
        y2, h2 = self.rn2(torch.cat([y1, offsets], dim=-1), h2)
        return offsets.squeeze(-1), self.beat_head(y2).squeeze(-1), h1, h2

    @torch.no_grad()
    def run_free(self, directogram, flux):
        """Free-running inference over sequences (B, T, n_bins), (B, T), feeding back its offsets."""
        b, t, _ = directogram.shape
        prev = torch.zeros(b, 1)
        h1 = h2 = None
        offs, logits = [], []
        for i in range(t):
            o, lg, h1, h2 = self(directogram[:, i:i + 1], flux[:, i:i + 1], prev, h1, h2)
            offs.append(o)
            logits.append(lg)
            prev = o
        return torch.cat(offs, 1), torch.cat(logits, 1)


class VisBeatStep(nn.Module):
    """One frame of VisBeatNet with the recurrent state as input and output (for ONNX).

    Inputs: ``log_directogram`` (B, n_bins) (``log1p`` of the directogram row),
    ``flux`` (B, 1), ``prev_offset`` (B, 1), ``h1`` (B, hidden1), ``h2`` (B, hidden2).
    Outputs: ``offset`` (B, 1), ``beat_prob`` (B, 1), ``h1_out``, ``h2_out``; B streams
    side by side. The caller feeds the offset back.
    """

    def __init__(self, net: VisBeatNet):
        super().__init__()
        self.net = net

    def forward(self, log_directogram, flux, prev_offset, h1, h2):
        o, logit, h1n, h2n = self.net.forward_log(log_directogram.unsqueeze(1), flux, prev_offset,
                                                  h1.unsqueeze(0), h2.unsqueeze(0))
        return o, torch.sigmoid(logit), h1n.squeeze(0), h2n.squeeze(0)


#: Direction-bin permutation of a left/right mirror: angle a -> pi - a.
def mirror_bins(n_bins: int = N_BINS) -> np.ndarray:
    """Index map ``new[k] = old[perm[k]]`` for a horizontally mirrored directogram.

    Examples
    --------
    >>> mirror_bins(18)[:4].tolist()
    [8, 7, 6, 5]
    """
    return (n_bins // 2 - 1 - np.arange(n_bins)) % n_bins


@dataclass(frozen=True)
class TrainConfig:
    """Training hyper-parameters (every figure in the model card comes from these)."""

    seed: int = 0
    steps: int = 2500
    batch_size: int = 48
    window_s: float = 10.0
    lr: float = 3e-3
    weight_decay: float = 1e-5
    beat_weight: float = 1.0
    pos_weight: float = 4.0
    stretch: tuple = (0.85, 1.18)
    gain: tuple = (0.8, 1.25)
    feedback_prob: float = 0.5
    source_weights: tuple = (("aistpp", 0.25), ("aistpp3d", 0.25), ("dwm", 0.3), ("salsa", 0.2))
    eval_every: int = 250


# Lead-in [s] that warms the flux filter up before a training window.
_FLUX_LEAD_S = 1.0


def beat_targets(beat_frames, n):
    """Beat target per frame: 1 on a beat, 0.5 one frame either side (labels of +-33 ms)."""
    y = np.zeros(n, dtype=np.float32)
    for b in beat_frames:
        for d, v in ((-1, 0.5), (1, 0.5), (0, 1.0)):
            if 0 <= b + d < n:
                y[b + d] = max(y[b + d], v)
    return y


def sample_batch(examples, rng, cfg: TrainConfig, *, fps: float = 30.0):
    """A batch of augmented windows.

    Returns
    -------
    directogram (B, W, bins), flux (B, W), offsets (B, W), beat targets (B, W) tensors.
    """
    by_source = {}
    for e in examples:
        by_source.setdefault(e.source, []).append(e)
    names = [s for s, _ in cfg.source_weights if s in by_source]
    probs = np.array([w for s, w in cfg.source_weights if s in by_source])
    probs /= probs.sum()
    w = int(round(cfg.window_s * fps))
    lead = int(round(_FLUX_LEAD_S * fps))
    perm = mirror_bins(examples[0].directogram.shape[1])
    xs, fluxes, offs, beats = [], [], [], []
    for _ in range(cfg.batch_size):
        pool = by_source[names[rng.choice(len(names), p=probs)]]
        lengths = np.array([len(e.offsets) for e in pool], dtype=float)
        e = pool[rng.choice(len(pool), p=lengths / lengths.sum())]
        s = rng.uniform(*cfg.stretch)                # > 1: the dance played slower
        n = len(e.offsets)
        span = min(n - 1, (w - 1) / s)
        start = rng.uniform(0, max(0.0, n - 1 - span))
        # The flux filter runs over a lead-in before the window, as it would in a stream.
        src = start + np.arange(-lead, w) / s
        valid = (src >= 0) & (src <= n - 1)
        src = np.clip(src, 0, n - 1)
        lo = np.floor(src).astype(int)
        hi = np.minimum(lo + 1, n - 1)
        frac = (src - lo)[:, None]
        d = (e.directogram[lo] * (1 - frac) + e.directogram[hi] * frac) / s
        o = e.offsets[lo] * (1 - frac[:, 0]) + e.offsets[hi] * frac[:, 0]
        d[~valid] = 0.0
        o[~valid] = 0.0
        if rng.random() < 0.5:
            d = d[:, perm]
        d *= rng.uniform(*cfg.gain)
        flux = deceleration_flux(d, config=KinematicConfig(fps=fps))
        moved = np.round((e.beat_frames - start) * s).astype(int)
        moved = moved[(moved >= 0) & (moved < w)]
        moved = moved[valid[lead + moved]]
        xs.append(d[lead:])
        fluxes.append(flux[lead:])
        offs.append(o[lead:])
        beats.append(beat_targets(moved, w))
    return (torch.tensor(np.stack(xs), dtype=torch.float32),
            torch.tensor(np.stack(fluxes), dtype=torch.float32),
            torch.tensor(np.stack(offs), dtype=torch.float32),
            torch.tensor(np.stack(beats), dtype=torch.float32))


def _loss(net, x, flux, off, beat, cfg, rng):
    prev = torch.cat([torch.zeros_like(off[:, :1]), off[:, :-1]], dim=1)
    if cfg.feedback_prob > 0:
        # Scheduled sampling in parallel: a first teacher-forced pass gives the
        # network's own offsets, which replace the true ones on some windows.
        with torch.no_grad():
            own, _, _, _ = net(x, flux, prev)
        own_prev = torch.cat([torch.zeros_like(own[:, :1]), own[:, :-1]], dim=1)
        use = torch.from_numpy(rng.random(len(x)) < cfg.feedback_prob).unsqueeze(1)
        prev = torch.where(use, own_prev, prev)
    pred, logits, _, _ = net(x, flux, prev)
    return beat_loss(pred, logits, off, beat, cfg)


def beat_loss(pred, logits, off, beat, cfg: TrainConfig):
    """MSE on the offsets plus positive-weighted BCE on the beats: (total, mse, bce)."""
    mse = torch.mean((pred - off) ** 2)
    weight = 1.0 + (cfg.pos_weight - 1.0) * beat
    bce = nn.functional.binary_cross_entropy_with_logits(logits, beat, weight=weight)
    return mse + cfg.beat_weight * bce, mse.item(), bce.item()


def _validate(net, examples):
    """Free-running validation: offset MSE and beat BCE on whole sequences."""
    net.eval()
    mse, bce, n = 0.0, 0.0, 0
    with torch.no_grad():
        for e in examples:
            x = torch.tensor(e.directogram[None])
            flux = torch.tensor(deceleration_flux(e.directogram)[None], dtype=torch.float32)
            off, logits = net.run_free(x, flux)
            y = torch.tensor(beat_targets(e.beat_frames, len(e.offsets))[None])
            mse += torch.sum((off[0] - torch.tensor(e.offsets)) ** 2).item()
            bce += nn.functional.binary_cross_entropy_with_logits(logits, y, reduction="sum").item()
            n += len(e.offsets)
    net.train()
    return mse / n, bce / n


def make_optimizer(net, cfg):
    """AdamW with a one-cycle schedule over ``cfg.steps`` (``cfg`` has lr, weight_decay, steps)."""
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    return opt, torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=cfg.steps)


def optimizer_step(net, opt, sched, loss):
    """One update: backward, gradient norm clipped to 1, optimiser and schedule step."""
    opt.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(net.parameters(), 1.0)
    opt.step()
    sched.step()


def train_visbeat(train, validation, cfg: TrainConfig = TrainConfig(), *, progress: bool = True):
    """Train VisBeatNet; returns (best net by free-running validation loss, history dict)."""
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    net = VisBeatNet()
    opt, sched = make_optimizer(net, cfg)
    val_subset = validation[:: max(1, len(validation) // 24)]
    best, best_state, history = np.inf, None, {"config": asdict(cfg), "evals": []}
    t0 = time.time()
    bar = tqdm(range(1, cfg.steps + 1), desc="train visbeat", disable=not progress)
    for step in bar:
        x, flux, off, beat = sample_batch(train, rng, cfg)
        loss, mse, bce = _loss(net, x, flux, off, beat, cfg, rng)
        optimizer_step(net, opt, sched, loss)
        bar.set_postfix(mse=f"{mse:.4f}", bce=f"{bce:.3f}")
        if step % cfg.eval_every == 0 or step == cfg.steps:
            vmse, vbce = _validate(net, val_subset)
            score = vmse + cfg.beat_weight * vbce
            history["evals"].append({"step": step, "val_mse": vmse, "val_bce": vbce,
                                     "elapsed_s": round(time.time() - t0, 1)})
            if score < best:
                best, best_state = score, {k: v.clone() for k, v in net.state_dict().items()}
    net.load_state_dict(best_state)
    history["best_val_score"] = best
    history["train_time_s"] = round(time.time() - t0, 1)
    return net.eval(), history
