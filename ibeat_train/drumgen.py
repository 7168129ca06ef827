"""DrumGenNet (paper 3.3, sizes 4.2): data from GMD, the network, training, evaluation, export.

* **Data.** Every Groove MIDI Dataset performance (4/4, beats and fills) is cut
  into windows of 4 consecutive beats: the first 3 are the context (drum style
  = :func:`~ibeat_core.drums.drum_style` of the real hits, and the binary hits),
  the 4th is the target (binary hits, 4 steps x 9 classes). The genre is GMD's
  primary style when it is one of :data:`~ibeat_core.drums.GENRES`, else "any".
* **Network.** A 2-layer transformer encoder-decoder, d_model 64, 1 attention
  head: the encoder reads the 12 context steps (style value and 9 hits through
  one linear layer, plus a learned position and the genre embedding), the
  decoder turns 4 learned queries (the next beat's 16ths, plus the genre) into
  9 hit logits each through cross-attention. The genre enters as a one-hot
  vector, so the ONNX graph takes floats only.
* **Loss.** Binary cross-entropy per step and class: the paper's cross-entropy,
  on a multi-label hit matrix where several drums can sound at once.
* **Corruption (training only).** Live, the hits context is DrumGenNet's own
  output and the style comes from body motion, not from those hits. On clean
  GMD windows the style is a function of the hits, so a network could ignore
  the style and copy the hits. Each training window therefore gets, at random:
  the whole hits context zeroed (``zero_context_prob``); or hits dropped at a
  rate drawn from [0, ``max_drop``] and spurious hits added at a rate from
  [0, ``max_insert``] (``corrupt_prob``); or the network's own hits, sampled
  by the network being trained over the 3 context beats from silence with the
  style of the beats before (``feedback_prob``, :func:`generated_context`:
  free-running is what it will do live); or nothing. The style is scaled by a
  per-window gain (the motion's loudness is arbitrary) and clipped to [0, 1],
  and the genre is replaced by "any" with ``any_genre_prob`` so "any" is a
  real unconditional feel.
* **Selection.** The mean of two validation losses: clean context, and style
  only (hits context zeroed, the start of a live stream).
"""

from __future__ import annotations

import json
import platform
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from ibeat_metrics.drums import hit_f1, hit_statistics
from ibeat_core.bar import BAR_FEATURES, BarPosition, bar_features
from ibeat_core.drumgen import CONTEXT_BEATS, CONTEXT_STEPS, DrumGenConfig, generate_pattern
from ibeat_core.drums import DRUM_CLASSES, GENRES, N_DRUM_CLASSES, STEPS_PER_BEAT, drum_style
from ibeat_io.groove import GROOVE_DIR_NAME, load_groove_file, load_info

from .export import export_onnx, load_checkpoint, save_checkpoint
from .visbeat import make_optimizer, optimizer_step

__all__ = ["Performance", "DrumGenWindows", "load_performances", "build_windows", "DrumGenNet",
           "DrumGenConfigTrain", "one_hot_genres", "corrupt_context", "generated_context",
           "train_drumgen", "predict_logits", "next_beat_f1", "genre_statistics", "TorchDrumGen",
           "velocity_levels", "window_bars",
           "export_drumgen", "load_drumgen_torch", "drumgen_parity", "train_command"]

N_GENRES = len(GENRES)


@dataclass(frozen=True)
class Performance:
    """One GMD performance on the 16th grid.

    Attributes
    ----------
    id : str
        GMD id, e.g. ``"drummer1/session1/1"``.
    genre : int
        Index into GENRES (0 = "any" for GMD styles outside GENRES).
    style : np.ndarray, shape (n_steps,), float32
        Drum style of the real hits, in [0, 1].
    hits : np.ndarray, shape (n_steps, 9), bool
        Where a drum sounds; ``n_steps`` is a multiple of 4.
    velocity : np.ndarray, shape (n_steps, 9), float32
        MIDI velocity / 127 of each hit, 0 where none.
    """

    id: str
    genre: int
    style: np.ndarray
    hits: np.ndarray
    velocity: np.ndarray


@dataclass(frozen=True)
class DrumGenWindows:
    """All 4-beat windows of a set of performances.

    Attributes
    ----------
    style : np.ndarray, shape (N, 12), float32
    hits_ctx : np.ndarray, shape (N, 12, 9), float32, 0/1
    genre : np.ndarray, shape (N,), int64
    target : np.ndarray, shape (N, 4, 9), float32, 0/1
    lead_style : np.ndarray, shape (N, 12), float32
        Style of the 3 beats before the context (zeros before the start): what
        the network's own context is generated from in training.
    beat : np.ndarray, shape (N,), int64
        The target beat's index in its performance (GMD files start on a 4/4
        downbeat, so it gives the bar position, :func:`window_bars`).
    """

    style: np.ndarray
    hits_ctx: np.ndarray
    genre: np.ndarray
    target: np.ndarray
    lead_style: np.ndarray
    beat: np.ndarray

    def subset(self, idx) -> "DrumGenWindows":
        """The windows at ``idx``."""
        return DrumGenWindows(self.style[idx], self.hits_ctx[idx], self.genre[idx],
                              self.target[idx], self.lead_style[idx], self.beat[idx])

    def __len__(self):
        return len(self.genre)


def load_performances(gmd_root, *, split: str) -> list[Performance]:
    """Every 4/4 GMD performance of ``split`` (beats and fills), as binary hits and style."""
    out = []
    for entry in load_info(gmd_root, split=split):
        grid = load_groove_file(gmd_root, entry)
        n = grid.n_steps - grid.n_steps % STEPS_PER_BEAT
        hits = grid.hits[:n]
        genre = GENRES.index(entry.style) if entry.style in GENRES else 0
        out.append(Performance(entry.id, genre, drum_style(hits), hits > 0, hits))
    return out


def velocity_levels(performances: list[Performance]) -> dict:
    """A drummer's mean velocity per 16th position and drum class, per genre.

    Where a genre never plays a class at a position, that class's mean over the
    genre's other positions stands in, then the mean over every genre.

    Returns
    -------
    dict
        Genre name (every one of GENRES; "any" = all performances) -> (4, 9)
        list of velocities in (0, 1].
    """
    def table(perfs):
        total = np.zeros((STEPS_PER_BEAT, N_DRUM_CLASSES))
        count = np.zeros((STEPS_PER_BEAT, N_DRUM_CLASSES))
        for p in perfs:
            v = p.velocity.reshape(-1, STEPS_PER_BEAT, N_DRUM_CLASSES)
            total += v.sum(axis=0)
            count += (v > 0).sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return total / count, total.sum(axis=0) / count.sum(axis=0)

    every, every_class = table(performances)
    every = np.where(np.isfinite(every), every, every_class)
    out = {}
    for index, name in enumerate(GENRES):
        own = [p for p in performances if p.genre == index] if index else performances
        levels, per_class = table(own)
        per_class = np.where(np.isfinite(per_class), per_class, every_class)
        levels = np.where(np.isfinite(levels), levels, per_class)
        levels = np.where(np.isfinite(levels), levels, every)
        out[name] = np.round(np.clip(levels, 1 / 127, 1.0), 4).tolist()
    return out


def build_windows(performances: list[Performance]) -> DrumGenWindows:
    """Windows of 3 context beats + 1 target beat, every beat offset of every performance."""
    styles, ctxs, genres, targets, leads, beats = [], [], [], [], [], []
    for p in performances:
        n_beats = len(p.style) // STEPS_PER_BEAT
        padded = np.concatenate([np.zeros(CONTEXT_STEPS, np.float32), p.style])
        for b in range(CONTEXT_BEATS, n_beats):
            lo, hi = (b - CONTEXT_BEATS) * STEPS_PER_BEAT, b * STEPS_PER_BEAT
            styles.append(p.style[lo:hi])
            leads.append(padded[lo:hi])
            ctxs.append(p.hits[lo:hi])
            targets.append(p.hits[hi:hi + STEPS_PER_BEAT])
            genres.append(p.genre)
            beats.append(b)
    if not styles:
        return DrumGenWindows(np.zeros((0, CONTEXT_STEPS), np.float32),
                              np.zeros((0, CONTEXT_STEPS, N_DRUM_CLASSES), np.float32),
                              np.zeros(0, np.int64),
                              np.zeros((0, STEPS_PER_BEAT, N_DRUM_CLASSES), np.float32),
                              np.zeros((0, CONTEXT_STEPS), np.float32), np.zeros(0, np.int64))
    return DrumGenWindows(np.stack(styles).astype(np.float32),
                          np.stack(ctxs).astype(np.float32),
                          np.asarray(genres, dtype=np.int64),
                          np.stack(targets).astype(np.float32),
                          np.stack(leads).astype(np.float32), np.asarray(beats, dtype=np.int64))


class DrumGenNet(nn.Module):
    """Transformer encoder-decoder over 3 context beats, 4 queries for the next beat.

    Parameters
    ----------
    d_model, n_heads, n_layers, dim_feedforward, dropout :
        Transformer sizes (paper: 64, 1, 2 encoder + 2 decoder layers).
    bar_aware : bool
        Also read the next beat's place in the bar and phrase
        (:func:`ibeat_core.bar.bar_features`), added like the genre; False is the
        paper's DrumGenNet.
    """

    def __init__(self, d_model: int = 64, n_heads: int = 1, n_layers: int = 2,
                 dim_feedforward: int = 64, dropout: float = 0.1, bar_aware: bool = False):
        super().__init__()
        self.d_model, self.n_heads, self.n_layers = d_model, n_heads, n_layers
        self.dim_feedforward, self.dropout, self.bar_aware = dim_feedforward, dropout, bar_aware
        self.step_in = nn.Linear(1 + N_DRUM_CLASSES, d_model)
        self.genre_in = nn.Linear(N_GENRES, d_model, bias=False)
        self.bar_in = nn.Linear(BAR_FEATURES, d_model, bias=False) if bar_aware else None
        self.positions = nn.Parameter(0.1 * torch.randn(CONTEXT_STEPS, d_model))
        self.queries = nn.Parameter(0.1 * torch.randn(STEPS_PER_BEAT, d_model))
        with warnings.catch_warnings():
            # Nested tensors only speed up padded batches; every window here has 12 steps.
            warnings.filterwarnings("ignore", message="enable_nested_tensor")
            self.transformer = nn.Transformer(d_model, n_heads, n_layers, n_layers,
                                              dim_feedforward, dropout, batch_first=True)
        self.head = nn.Linear(d_model, N_DRUM_CLASSES)

    def forward(self, style, hits, genre, bar=None):
        """Hit logits of the next beat.

        Parameters
        ----------
        style : Tensor, shape (B, 12)
        hits : Tensor, shape (B, 12, 9), 0/1
        genre : Tensor, shape (B, len(GENRES)), one-hot
        bar : Tensor, shape (B, BAR_FEATURES), optional
            The next beat's bar features (a bar-aware network only).

        Returns
        -------
        logits : Tensor, shape (B, 4, 9)
        """
        g = self.genre_in(genre).unsqueeze(1)
        if self.bar_in is not None:
            g = g + self.bar_in(bar).unsqueeze(1)
        src = self.step_in(torch.cat([style.unsqueeze(-1), hits], dim=-1)) + self.positions + g
        tgt = self.queries.unsqueeze(0).expand(style.shape[0], -1, -1) + g
        return self.head(self.transformer(src, tgt))


class DrumGenStep(nn.Module):
    """:class:`DrumGenNet`'s forward in eval mode, written out for export: the same weights
    and maths (post-norm layers, ReLU, no masks), each op batch-agnostic (attention heads
    split by weight slices, the queries broadcast), so the graph runs any batch without the
    shape arithmetic that tracing ``nn.Transformer`` with a batch axis leaves in it (four
    times the nodes, and a single beat 2x slower)."""

    def __init__(self, net: DrumGenNet):
        super().__init__()
        self.net = net.eval()

    @staticmethod
    def _attention(mha: nn.MultiheadAttention, x, memory):
        d, n_heads = mha.embed_dim, mha.num_heads
        w, b = mha.in_proj_weight, mha.in_proj_bias
        q = x @ w[:d].T + b[:d]
        k = memory @ w[d:2 * d].T + b[d:2 * d]
        v = memory @ w[2 * d:].T + b[2 * d:]
        size = d // n_heads
        heads = []
        for h in range(n_heads):
            part = slice(h * size, (h + 1) * size)
            weights = torch.softmax(q[..., part] @ k[..., part].transpose(-1, -2) / size ** 0.5,
                                    dim=-1)
            heads.append(weights @ v[..., part])
        return mha.out_proj(heads[0] if n_heads == 1 else torch.cat(heads, dim=-1))

    @staticmethod
    def _feed_forward(layer, x):
        return layer.linear2(torch.relu(layer.linear1(x)))

    def forward(self, style, hits, genre, bar=None):
        net = self.net
        g = net.genre_in(genre).unsqueeze(1)
        if net.bar_in is not None:
            g = g + net.bar_in(bar).unsqueeze(1)
        x = net.step_in(torch.cat([style.unsqueeze(-1), hits], dim=-1)) + net.positions + g
        for layer in net.transformer.encoder.layers:
            x = layer.norm1(x + self._attention(layer.self_attn, x, x))
            x = layer.norm2(x + self._feed_forward(layer, x))
        memory = net.transformer.encoder.norm(x)
        y = net.queries + g
        for layer in net.transformer.decoder.layers:
            y = layer.norm1(y + self._attention(layer.self_attn, y, y))
            y = layer.norm2(y + self._attention(layer.multihead_attn, y, memory))
            y = layer.norm3(y + self._feed_forward(layer, y))
        return net.head(net.transformer.decoder.norm(y))


@dataclass(frozen=True)
class DrumGenConfigTrain:
    """Training hyper-parameters (every figure in the model card comes from these)."""

    seed: int = 0
    steps: int = 3000
    batch_size: int = 256
    lr: float = 2e-3
    weight_decay: float = 1e-4
    any_genre_prob: float = 0.15
    zero_context_prob: float = 0.25
    corrupt_prob: float = 0.3
    feedback_prob: float = 0.25
    max_drop: float = 0.6
    max_insert: float = 0.05
    style_gain: tuple = (0.7, 1.3)
    eval_every: int = 250
    bar_aware: bool = True


def one_hot_genres(genre) -> np.ndarray:
    """(N,) genre indices -> (N, len(GENRES)) float32 one-hot."""
    return np.eye(N_GENRES, dtype=np.float32)[np.asarray(genre, dtype=np.int64)]


def window_bars(beat) -> np.ndarray:
    """(N,) beat indices of GMD performances -> (N, BAR_FEATURES) float32: 4/4 bars from the
    file's start, 4-bar phrases."""
    beat = np.asarray(beat, dtype=np.int64)
    return np.stack([bar_features(BarPosition(int(b % 4), int(b // 4 % 4), 4)) for b in beat]
                    ) if len(beat) else np.zeros((0, BAR_FEATURES), np.float32)


def corrupt_context(style, hits_ctx, genre, rng: np.random.Generator, cfg: DrumGenConfigTrain):
    """The training corruption of the module notes, on copies of a batch.

    Parameters
    ----------
    style : np.ndarray (B, n_steps), any number of steps, all scaled by one gain per row
    hits_ctx : np.ndarray (B, 12, 9) 0/1
    genre : np.ndarray (B,)

    Returns
    -------
    (style, hits_ctx, genre, feedback): corrupted copies, and the (B,) bool mask
    of the windows whose hits context the caller replaces by the network's own
    (:func:`generated_context`).
    """
    b = len(genre)
    u = rng.random(b)
    zero = u < cfg.zero_context_prob
    noisy = (u >= cfg.zero_context_prob) & (u < cfg.zero_context_prob + cfg.corrupt_prob)
    feedback = ((u >= cfg.zero_context_prob + cfg.corrupt_prob)
                & (u < cfg.zero_context_prob + cfg.corrupt_prob + cfg.feedback_prob))
    drop = rng.uniform(0, cfg.max_drop, (b, 1, 1)) * noisy[:, None, None]
    insert = rng.uniform(0, cfg.max_insert, (b, 1, 1)) * noisy[:, None, None]
    r = rng.random(hits_ctx.shape)
    hits = np.where(hits_ctx > 0, r >= drop, r < insert).astype(np.float32)
    hits[zero] = 0.0
    style = np.clip(style * rng.uniform(*cfg.style_gain, (b, 1)), 0.0, 1.0).astype(np.float32)
    genre = np.where(rng.random(b) < cfg.any_genre_prob, 0, genre)
    return style, hits, genre, feedback


@torch.no_grad()
def generated_context(net: DrumGenNet, style_seq, genre, rng: np.random.Generator,
                      beat=None) -> np.ndarray:
    """The hits the network itself would have played over 3 context beats.

    Starting from silence, it samples (temperature 1) beat ``b-3`` from the
    style of beats ``b-6 .. b-4``, then ``b-2`` and ``b-1`` with its own hits
    fed back, as the live generator does.

    Parameters
    ----------
    style_seq : np.ndarray, shape (B, 24)
        Style of beats ``b-6 .. b-1``.
    genre : np.ndarray, shape (B,)
    beat : np.ndarray, shape (B,), optional
        ``b`` (a bar-aware network reads the bar position of each beat it plays).

    Returns
    -------
    hits_ctx : np.ndarray, shape (B, 12, 9), float32, 0/1
    """
    was_training = net.training
    net.eval()
    ctx = np.zeros((len(genre), CONTEXT_STEPS, N_DRUM_CLASSES), np.float32)
    for k in range(CONTEXT_BEATS):
        window = style_seq[:, k * STEPS_PER_BEAT:k * STEPS_PER_BEAT + CONTEXT_STEPS]
        bars = None if beat is None else window_bars(np.maximum(beat - CONTEXT_BEATS + k, 0))
        p = torch.sigmoid(net(*_tensors(window, ctx, genre, bars))).numpy()
        ctx = np.concatenate([ctx[:, STEPS_PER_BEAT:], (rng.random(p.shape) < p)], axis=1,
                             dtype=np.float32)
    net.train(was_training)
    return ctx


def _tensors(style, hits, genre, bars=None):
    out = (torch.from_numpy(np.ascontiguousarray(style, dtype=np.float32)),
           torch.from_numpy(np.ascontiguousarray(hits, dtype=np.float32)),
           torch.from_numpy(one_hot_genres(genre)))
    return out if bars is None else out + (torch.from_numpy(np.asarray(bars, np.float32)),)


@torch.no_grad()
def predict_logits(net: DrumGenNet, windows: DrumGenWindows, *, zero_context: bool = False,
                   batch_size: int = 2048) -> np.ndarray:
    """Logits (N, 4, 9) of every window (eval mode; hits context zeroed if ``zero_context``)."""
    net.eval()
    out = []
    for i in range(0, len(windows), batch_size):
        sl = slice(i, i + batch_size)
        hits = windows.hits_ctx[sl] * (0.0 if zero_context else 1.0)
        bars = window_bars(windows.beat[sl]) if net.bar_aware else None
        out.append(net(*_tensors(windows.style[sl], hits, windows.genre[sl], bars)).numpy())
    return np.concatenate(out) if out else np.zeros((0, STEPS_PER_BEAT, N_DRUM_CLASSES))


def _bce(logits: np.ndarray, target: np.ndarray) -> float:
    return float(nn.functional.binary_cross_entropy_with_logits(
        torch.from_numpy(logits), torch.from_numpy(target)).item())


def train_drumgen(train: DrumGenWindows, validation: DrumGenWindows,
                  cfg: DrumGenConfigTrain = DrumGenConfigTrain(), *, progress: bool = True):
    """Train DrumGenNet; returns (best net by validation score, history dict)."""
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    net = DrumGenNet(bar_aware=cfg.bar_aware)
    opt, sched = make_optimizer(net, cfg)
    best, best_state, history = np.inf, None, {"config": asdict(cfg), "evals": []}
    t0 = time.time()
    bar = tqdm(range(1, cfg.steps + 1), desc="train drumgen", disable=not progress)
    for step in bar:
        idx = rng.integers(0, len(train), cfg.batch_size)
        style_seq, hits, genre, feedback = corrupt_context(
            np.concatenate([train.lead_style[idx], train.style[idx]], axis=1),
            train.hits_ctx[idx], train.genre[idx], rng, cfg)
        beat = train.beat[idx] if cfg.bar_aware else None
        if feedback.any():
            hits[feedback] = generated_context(net, style_seq[feedback], genre[feedback], rng,
                                               None if beat is None else beat[feedback])
        style = style_seq[:, CONTEXT_STEPS:]
        net.train()
        logits = net(*_tensors(style, hits, genre, None if beat is None else window_bars(beat)))
        loss = nn.functional.binary_cross_entropy_with_logits(
            logits, torch.from_numpy(train.target[idx]))
        optimizer_step(net, opt, sched, loss)
        bar.set_postfix(bce=f"{loss.item():.4f}")
        if step % cfg.eval_every == 0 or step == cfg.steps:
            clean = _bce(predict_logits(net, validation), validation.target)
            style_only = _bce(predict_logits(net, validation, zero_context=True),
                              validation.target)
            history["evals"].append({"step": step, "val_bce_clean": clean,
                                     "val_bce_style_only": style_only,
                                     "elapsed_s": round(time.time() - t0, 1)})
            if (clean + style_only) / 2 < best:
                best = (clean + style_only) / 2
                best_state = {k: v.clone() for k, v in net.state_dict().items()}
    net.load_state_dict(best_state)
    history["best_val_score"] = best
    history["train_time_s"] = round(time.time() - t0, 1)
    return net.eval(), history


def next_beat_f1(net: DrumGenNet, validation: DrumGenWindows) -> dict:
    """Hit F1 of the next beat with the real (clean) context, threshold 0.5 (temperature 0).

    Against the "repeat the last beat" baseline: the 4th beat predicted as the
    3rd beat's hits. Per drum class and micro-averaged over classes and steps.

    Returns
    -------
    dict: ``{"windows": N, "per_class": {name: {"drumgen": f1, "repeat_last_beat": f1}},
    "micro": {"drumgen": f1, "repeat_last_beat": f1}}``
    """
    true = validation.target > 0
    pred = predict_logits(net, validation) > 0
    repeat = validation.hits_ctx[:, -STEPS_PER_BEAT:] > 0
    table = {"windows": len(validation), "per_class": {}}
    for c, name in enumerate(DRUM_CLASSES):
        table["per_class"][name] = {"drumgen": hit_f1(pred[..., c], true[..., c]),
                                    "repeat_last_beat": hit_f1(repeat[..., c], true[..., c])}
    table["micro"] = {"drumgen": hit_f1(pred, true), "repeat_last_beat": hit_f1(repeat, true)}
    return table


def genre_statistics(network, train: list[Performance], validation: list[Performance], *,
                     seed: int = 0, max_beats: int = 64) -> dict:
    """Does each genre's free-running output sound like that genre in GMD?

    Statistics of a set of hits: the hit rate of each class at each 16th
    position of the beat (4 x 9 = 36 numbers). For each genre but "any", the
    GMD train statistics, and those of ``network`` free-running
    (:func:`~ibeat_core.drumgen.generate_pattern`: its own hits fed back,
    temperature 1, ``seed``) on the style of the first ``max_beats`` beats of
    every validation performance, the same styles for every genre. Each
    generated vector is matched to the nearest GMD genre vector by Euclidean
    distance (the primary figure; cosine similarity, which ignores overall
    density, is reported beside it).

    Returns
    -------
    dict with ``"gmd"`` and ``"generated"`` ({genre: 36 rates}), ``"nearest"``
    ({genre: nearest GMD genre}), ``"distances"`` ({generated: {gmd: distance}}),
    ``"matched"`` (how many are their own genre), the same by cosine
    (``"nearest_cosine"``, ``"matched_cosine"``), ``"genres"`` and ``"distance"``
    ("euclidean").
    """
    genres = [g for g in GENRES if g != "any"]
    gmd, generated, nearest = {}, {}, {}
    for g in genres:
        own = [p.hits for p in train if GENRES[p.genre] == g]
        gmd[g] = hit_statistics(np.concatenate(own)) if own else np.zeros(36)
    styles = [p.style[:max_beats * STEPS_PER_BEAT] for p in validation]
    for g in genres:
        cfg = DrumGenConfig(genre=g, temperature=1.0, seed=seed)
        generated[g] = hit_statistics(np.concatenate(
            [generate_pattern(network, s, config=cfg) for s in styles]))
    distances, nearest_cosine = {}, {}
    for g in genres:
        distances[g] = {h: round(float(np.linalg.norm(generated[g] - gmd[h])), 4) for h in genres}
        nearest[g] = min(distances[g], key=distances[g].get)
        cosine = {h: float(generated[g] @ gmd[h]
                           / max(np.linalg.norm(generated[g]) * np.linalg.norm(gmd[h]), 1e-12))
                  for h in genres}
        nearest_cosine[g] = max(cosine, key=cosine.get)
    return {"distance": "euclidean", "genres": genres,
            "matched": sum(nearest[g] == g for g in genres), "nearest": nearest,
            "distances": distances,
            "matched_cosine": sum(nearest_cosine[g] == g for g in genres),
            "nearest_cosine": nearest_cosine,
            "gmd": {g: np.round(v, 4).tolist() for g, v in gmd.items()},
            "generated": {g: np.round(v, 4).tolist() for g, v in generated.items()}}


class TorchDrumGen:
    """A torch DrumGenNet behind the :class:`~ibeat_core.drumgen.DrumGenNetwork` protocol."""

    def __init__(self, net: DrumGenNet):
        self.net = net.eval()
        self.bar_aware = net.bar_aware

    @torch.no_grad()
    def logits(self, style_ctx, hits_ctx, genre, bar=None):
        out = self.net(*_tensors(np.asarray(style_ctx)[None], np.asarray(hits_ctx)[None],
                                 [genre], None if bar is None else np.asarray(bar)[None]))
        return out[0].numpy()


def export_drumgen(net: DrumGenNet, out_dir, *, meta: dict) -> Path:
    """Write ``<name>.onnx`` (style (B,12), hits (B,12,9), genre one-hot (B,G)[, bar (B,8)]
    -> logits (B,4,9), any batch size B), ``<name>.pt`` and ``meta.json``; ``name`` is the
    folder's."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    name = meta.get("name", "drumgen")
    net = net.eval()
    args = (torch.zeros(1, CONTEXT_STEPS), torch.zeros(1, CONTEXT_STEPS, N_DRUM_CLASSES),
            torch.from_numpy(one_hot_genres([0])))
    inputs = ["style", "hits", "genre"]
    if net.bar_aware:
        args, inputs = args + (torch.zeros(1, BAR_FEATURES),), inputs + ["bar"]
    path = export_onnx(DrumGenStep(net), args, out / f"{name}.onnx", input_names=inputs,
                       output_names=["logits"],
                       dynamic_axes={k: {0: "batch"} for k in inputs + ["logits"]})
    save_checkpoint(net, out / f"{name}.pt",
                    {"d_model": net.d_model, "n_heads": net.n_heads, "n_layers": net.n_layers,
                     "dim_feedforward": net.dim_feedforward, "dropout": net.dropout,
                     "bar_aware": net.bar_aware},
                    genres=list(GENRES))
    (out / "meta.json").write_text(json.dumps(meta, indent=1))
    return path


def load_drumgen_torch(path) -> DrumGenNet:
    """The torch network from a ``drumgen.pt`` checkpoint (hyper-parameters inside)."""
    return load_checkpoint(DrumGenNet, path)


def drumgen_parity(net: DrumGenNet, onnx_path, windows: DrumGenWindows, *,
                   n: int = 200) -> float:
    """Max |torch - onnxruntime| of the logits over ``n`` windows spread over ``windows``."""
    from ibeat_models.runtime import OnnxModel

    model = OnnxModel(Path(onnx_path))
    idx = np.linspace(0, len(windows) - 1, min(n, len(windows))).astype(int)
    sub = windows.subset(idx)
    expected = predict_logits(net, sub)
    worst = 0.0
    for i in range(len(sub)):
        extra = {"bar": window_bars(sub.beat[i:i + 1])} if net.bar_aware else {}
        got = model.run(style=sub.style[i:i + 1], hits=sub.hits_ctx[i:i + 1],
                        genre=one_hot_genres(sub.genre[i:i + 1]), **extra)["logits"]
        worst = max(worst, float(np.max(np.abs(got - expected[i:i + 1]))))
    return worst


def train_command(data_dir, out_dir, *, steps: int | None = None, seed: int = 0,
                  command: str = "") -> Path:
    """``ibeat train drumgen``: GMD from ``data_dir/groove-midi``; everything to ``out_dir``,
    with the body calibration fitted on ``data_dir``'s training motion."""
    from ibeat_models import load_networks
    from ibeat_models.drumgen import DrumGenRuntime

    from .body_calibration import fit_body_calibration

    torch.set_num_threads(1)
    out = Path(out_dir)
    gmd = Path(data_dir) / GROOVE_DIR_NAME
    train_perf = load_performances(gmd, split="train")
    val_perf = load_performances(gmd, split="validation")
    train, validation = build_windows(train_perf), build_windows(val_perf)
    if not len(train) or not len(validation):
        raise FileNotFoundError(f"{gmd} has no GMD train and validation windows")
    # It depends on VisBeatNet, MuStyleNet and the data, not on the weights trained here:
    # fitted first, so a folder without the training motion fails before training.
    body_calibration = fit_body_calibration(data_dir, load_networks(), performances=train_perf)
    cfg = DrumGenConfigTrain(seed=seed, **({"steps": steps} if steps else {}))
    net, history = train_drumgen(train, validation, cfg)
    data = {"data_dir": str(data_dir), "train_performances": len(train_perf),
            "validation_performances": len(val_perf), "train_windows": len(train),
            "validation_windows": len(validation),
            "train_beats": sum(len(p.style) for p in train_perf) // STEPS_PER_BEAT}
    meta = {"name": "drumgen",
            "architecture": "DrumGenNet: transformer encoder-decoder, 2+2 layers, d_model 64, "
                            "1 head, feed-forward 64; 12 context steps -> 4 x 9 hit logits",
            "parameters": sum(p.numel() for p in net.parameters()), "seed": seed,
            "command": command, "torch": torch.__version__, "python": platform.python_version(),
            "genres": list(GENRES), "data": data, "training": history,
            # GMD train's mean velocity per 16th position and class, per genre (hit_velocities).
            "velocity_levels": velocity_levels(train_perf)}
    path = export_drumgen(net, out, meta=meta)
    meta["onnx_parity_max_abs_diff"] = drumgen_parity(net, path, validation)
    meta["next_beat_f1"] = next_beat_f1(net, validation)
    meta["genre_statistics"] = genre_statistics(DrumGenRuntime(path), train_perf, val_perf,
                                                seed=seed)
    meta["body_calibration"] = body_calibration
    (out / "meta.json").write_text(json.dumps(meta, indent=1))
    f1 = meta["next_beat_f1"]["micro"]
    print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB), {meta['parameters']} parameters; "
          f"micro F1 {f1['drumgen']:.3f} vs repeat-last-beat {f1['repeat_last_beat']:.3f}; "
          f"genres matched {meta['genre_statistics']['matched']}/9 (Euclidean); "
          f"torch/ONNX max |diff| {meta['onnx_parity_max_abs_diff']:.2e}")
    return path
