"""Non-causal reference beat tracker at RhythmicNet's size (paper 4.4).

The paper compares the compact causal VisBeatNet (~30k parameters) with stage 1
of RhythmicNet's Video2Rhythm, a bidirectional transformer of about 800k
parameters that needs the future. :class:`ReferenceNet` stands in for it on the
same data:

* the log-compressed directogram of a 4 s window is embedded by a centred
  5-frame convolution, goes through a bidirectional transformer encoder, and
  two heads give the kinematic offset and the beat logit of every frame. A
  per-frame linear embedding, tried first, leaves the transformer to learn
  frame differences through attention: after 300 training steps it reached a
  validation F-measure of 0.24, against 0.33 with the convolution;
* it is trained like VisBeatNet: the same augmented windows of
  :func:`ibeat_train.visbeat.sample_batch` and the same loss, MSE on offsets
  plus weighted binary cross-entropy on beats;
* it is decoded offline like the paper's post-processing: overlapping windows,
  then the B-HMM Viterbi of :func:`ibeat_core.beat_hmm.viterbi`.

It is a development baseline, the non-causal side of the comparison, and is
never shipped in the package. Its checkpoint keeps the weights in float16
(about 1.6 MB) and the hyper-parameters needed to rebuild it.

Train and save it with ``ibeat train reference --data DATA_DIR --out DIR``.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from ibeat_core.beat_hmm import viterbi
from ibeat_core.directogram import N_BINS
from ibeat_core.keypoints import FPS
from ibeat_metrics.beats import evaluate

from .visbeat import (TrainConfig, beat_loss, beat_targets, make_optimizer, optimizer_step,
                      sample_batch)

__all__ = ["ReferenceNet", "ReferenceConfig", "train_reference", "reference_predict",
           "reference_beat_probs", "ReferenceBeats", "save_reference", "load_reference",
           "validation_scores"]

#: VisBeatNet's training defaults, so that both networks see the same augmentation.
_VISBEAT = TrainConfig()


class ReferenceNet(nn.Module):
    """Bidirectional transformer over a window of directogram frames.

    Parameters
    ----------
    n_bins : int
        Directogram bins.
    kernel_frames : int
        Width [frames] of the centred convolution that embeds the input, so
        that each token already sees its neighbours' motion (decelerations are
        frame differences); 1 gives a per-frame linear embedding.
    d_model, n_heads, n_layers, d_ff : int
        Transformer width, attention heads, encoder layers, feed-forward width.
    dropout : float
    window_frames : int
        Frames per window; also the length of the learned positional table, so
        longer inputs must be cut into windows (:func:`reference_predict`).

    Examples
    --------
    >>> net = ReferenceNet().eval()
    >>> off, logit = net(torch.zeros(2, 120, 18))
    >>> tuple(off.shape), tuple(logit.shape)
    ((2, 120), (2, 120))
    """

    def __init__(self, n_bins: int = N_BINS, kernel_frames: int = 5, d_model: int = 128,
                 n_heads: int = 4, n_layers: int = 4, d_ff: int = 512, dropout: float = 0.1,
                 window_frames: int = 120):
        super().__init__()
        if kernel_frames % 2 != 1:
            raise ValueError(f"kernel_frames must be odd to keep frames centred, "
                             f"got {kernel_frames}")
        self.hyper_parameters = {"n_bins": n_bins, "kernel_frames": kernel_frames,
                                 "d_model": d_model, "n_heads": n_heads, "n_layers": n_layers,
                                 "d_ff": d_ff, "dropout": dropout, "window_frames": window_frames}
        self.n_bins, self.window_frames = n_bins, window_frames
        self.input = nn.Conv1d(n_bins, d_model, kernel_frames, padding=kernel_frames // 2)
        self.position = nn.Parameter(0.02 * torch.randn(window_frames, d_model))
        # Pre-norm layers train stably at a high learning rate without warm-up
        # tricks, which matters for a run of a few minutes on a CPU.
        layer = nn.TransformerEncoderLayer(d_model, n_heads, d_ff, dropout, batch_first=True,
                                           norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, n_layers, norm=nn.LayerNorm(d_model),
                                             enable_nested_tensor=False)
        self.offset_head = nn.Linear(d_model, 1)
        self.beat_head = nn.Linear(d_model, 1)

    def forward(self, directogram):
        """Offsets and beat logits of every frame of a batch of windows.

        Parameters
        ----------
        directogram : Tensor, shape (B, T, n_bins), T <= window_frames
            Body lengths per second per direction (not log-compressed).

        Returns
        -------
        offsets : Tensor, shape (B, T), in [0, 1]
        beat_logits : Tensor, shape (B, T)
        """
        t = directogram.shape[1]
        if t > self.window_frames:
            raise ValueError(f"window of {t} frames exceeds the {self.window_frames} "
                             "the positional table covers")
        h = self.input(torch.log1p(directogram).transpose(1, 2)).transpose(1, 2)
        h = h + self.position[:t]
        h = self.encoder(h)
        return torch.sigmoid(self.offset_head(h)).squeeze(-1), self.beat_head(h).squeeze(-1)


@dataclass(frozen=True)
class ReferenceConfig:
    """Model and training hyper-parameters of the reference.

    The augmentation fields (``stretch``, ``gain``, ``source_weights``) and the
    loss weights default to VisBeatNet's :class:`~ibeat_train.visbeat.TrainConfig`,
    so the two networks are trained on the same data; :func:`sample_batch` reads
    them by name. ``window_s`` [s] is the window length of training and inference;
    ``val_stride`` keeps every n-th validation example for model selection.
    """

    seed: int = 0
    steps: int = 1000
    batch_size: int = 32
    window_s: float = 4.0
    lr: float = 1e-3
    weight_decay: float = 1e-2
    beat_weight: float = _VISBEAT.beat_weight
    pos_weight: float = _VISBEAT.pos_weight
    stretch: tuple = _VISBEAT.stretch
    gain: tuple = _VISBEAT.gain
    source_weights: tuple = _VISBEAT.source_weights
    kernel_frames: int = 5
    d_model: int = 128
    n_heads: int = 4
    n_layers: int = 4
    d_ff: int = 512
    dropout: float = 0.1
    eval_every: int = 200
    val_stride: int = 3

    @property
    def window_frames(self) -> int:
        return int(round(self.window_s * FPS))

    def build(self) -> ReferenceNet:
        """A freshly initialised :class:`ReferenceNet` of this configuration."""
        return ReferenceNet(kernel_frames=self.kernel_frames, d_model=self.d_model,
                            n_heads=self.n_heads, n_layers=self.n_layers, d_ff=self.d_ff,
                            dropout=self.dropout, window_frames=self.window_frames)


def _window_starts(n_frames: int, window: int, hop: int) -> np.ndarray:
    """First frame of every window; the last one ends on the last frame."""
    if n_frames <= window:
        return np.zeros(1, dtype=int)
    starts = np.arange(0, n_frames - window, hop)
    return np.append(starts, n_frames - window)


def reference_predict(net: ReferenceNet, directogram, *, hop_frames: int | None = None,
                      batch_size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Offsets and beat probabilities of a whole sequence by overlapping windows.

    Every window is a full ``net.window_frames`` long (a shorter sequence is
    zero-padded at the end, as training pads windows that run past a clip).
    Overlapping predictions are averaged with a triangular weight, so a frame
    counts most from the window where it has context on both sides. Non-causal:
    a frame's output depends on up to a window of future frames.

    Parameters
    ----------
    net : ReferenceNet
        In eval mode (as :func:`load_reference` returns it).
    directogram : array_like, shape (N, n_bins)
        Body lengths per second per direction, at 30 Hz.
    hop_frames : int, optional
        Window hop [frames]; half a window by default.
    batch_size : int
        Windows per forward pass.

    Returns
    -------
    offsets : np.ndarray, shape (N,), float32, in [0, 1]
    beat_probs : np.ndarray, shape (N,), float32, in [0, 1]
    """
    d = np.asarray(directogram, dtype=np.float32)
    if d.ndim != 2 or d.shape[1] != net.n_bins:
        raise ValueError(f"directogram must have shape (N, {net.n_bins}), got {d.shape}")
    n, w = len(d), net.window_frames
    hop = hop_frames or w // 2
    if n == 0:
        return np.zeros(0, np.float32), np.zeros(0, np.float32)
    padded = np.concatenate([d, np.zeros((max(0, w - n), d.shape[1]), np.float32)])
    starts = _window_starts(n, w, hop)
    windows = torch.from_numpy(np.stack([padded[s:s + w] for s in starts]))
    with torch.inference_mode():
        outs = [net(windows[i:i + batch_size]) for i in range(0, len(windows), batch_size)]
    offsets = torch.cat([o for o, _ in outs]).numpy()
    probs = torch.sigmoid(torch.cat([lg for _, lg in outs])).numpy()
    taper = np.minimum(np.arange(1, w + 1), np.arange(w, 0, -1)).astype(np.float32)
    acc = np.zeros((2, len(padded)), np.float32)
    weight = np.zeros(len(padded), np.float32)
    for s, o, p in zip(starts, offsets, probs):
        acc[0, s:s + w] += taper * o
        acc[1, s:s + w] += taper * p
        weight[s:s + w] += taper
    # The clip only absorbs float32 rounding: a weighted mean of sigmoids is in [0, 1].
    out = np.clip(acc[:, :n] / weight[:n], 0.0, 1.0)
    return out[0], out[1]


def reference_beat_probs(net: ReferenceNet, directogram, *,
                         hop_frames: int | None = None) -> np.ndarray:
    """Beat probability per frame, shape (N,), of :func:`reference_predict`."""
    return reference_predict(net, directogram, hop_frames=hop_frames)[1]


class ReferenceBeats:
    """Offline beat tracker: windowed :class:`ReferenceNet`, then B-HMM Viterbi.

    Calling it, or :meth:`beats`, on an example gives its beat times [s], so it
    plugs into :class:`ibeat_cli.evaluate.beats.Method` (``causal=False``).

    Parameters
    ----------
    net : ReferenceNet
        In eval mode.
    hop_frames : int, optional
        Window hop [frames]; half a window by default.
    """

    def __init__(self, net: ReferenceNet, *, hop_frames: int | None = None):
        self.net = net
        self.hop_frames = hop_frames or net.window_frames // 2

    @property
    def params(self) -> int:
        return sum(p.numel() for p in self.net.parameters())

    def beats(self, example) -> np.ndarray:
        """Beat times [s] of ``example``.

        ``example`` is anything with ``directogram`` (N, n_bins) and ``times_s``
        (N,) [s], e.g. a :class:`~ibeat_io.beat_data.BeatExample`.
        """
        probs = reference_beat_probs(self.net, example.directogram, hop_frames=self.hop_frames)
        return example.times_s[viterbi(probs).beat_frames]

    __call__ = beats

    def ms_per_frame(self, example, *, repeats: int = 20) -> float:
        """Network compute [ms] per grid frame on one thread.

        A live non-causal tracker runs one window forward every ``hop_frames``
        frames, so the cost per frame is the median time of a single-window
        forward pass (the example's first window) divided by the hop. The
        offline Viterbi is not included.
        """
        w = self.net.window_frames
        d = np.zeros((w, self.net.n_bins), np.float32)
        head = np.asarray(example.directogram[:w], dtype=np.float32)
        d[:len(head)] = head
        x = torch.from_numpy(d[None])
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            times = []
            with torch.inference_mode():
                self.net(x)  # warm-up: the first call allocates
                for _ in range(repeats):
                    t0 = time.perf_counter()
                    self.net(x)
                    times.append(time.perf_counter() - t0)
        finally:
            torch.set_num_threads(threads)
        return 1e3 * float(np.median(times)) / self.hop_frames


def _loss(net, x, off, beat, cfg):
    """VisBeatNet's loss: MSE on offsets plus weighted BCE on beats."""
    pred, logits = net(x)
    return beat_loss(pred, logits, off, beat, cfg)


def _validate(net, examples):
    """Windowed inference on whole sequences: offset MSE, beat BCE per frame and mean F-measure."""
    net.eval()
    mse, bce, n, fs = 0.0, 0.0, 0, []
    for e in examples:
        off, probs = reference_predict(net, e.directogram)
        y = beat_targets(e.beat_frames, len(e.offsets))
        p = np.clip(probs, 1e-7, 1 - 1e-7)
        mse += float(np.sum((off - e.offsets) ** 2))
        bce -= float(np.sum(y * np.log(p) + (1 - y) * np.log(1 - p)))
        n += len(e.offsets)
        fs.append(evaluate(e.beat_times_s, e.times_s[viterbi(probs).beat_frames])["f_measure"])
    net.train()
    return mse / n, bce / n, float(np.mean(fs))


def validation_scores(net: ReferenceNet, examples) -> dict:
    """Mean beat metrics per source of :class:`ReferenceBeats` against the visual beats.

    Returns
    -------
    dict
        ``source -> {"n_examples": int, "precision", "recall", "f_measure",
        "cemgil", "beat_alignment": float}``.
    """
    tracker = ReferenceBeats(net)
    rows = {}
    for e in examples:
        rows.setdefault(e.source, []).append(evaluate(e.beat_times_s, tracker.beats(e)))
    return {s: {"n_examples": len(r), **{k: float(np.mean([x[k] for x in r])) for k in r[0]}}
            for s, r in rows.items()}


def _data_counts(examples) -> dict:
    counts = {}
    for e in examples:
        c = counts.setdefault(e.source, {"examples": 0, "sequences": set(), "frames": 0})
        c["examples"] += 1
        c["sequences"].add(e.sequence)
        c["frames"] += len(e.offsets)
    return {s: {**c, "sequences": len(c["sequences"])} for s, c in counts.items()}


def train_reference(train, validation, cfg: ReferenceConfig = ReferenceConfig(), *,
                    progress: bool = True) -> tuple[ReferenceNet, dict]:
    """Train the reference; keep the weights with the best validation F-measure.

    Parameters
    ----------
    train, validation : list of :class:`ibeat_io.beat_data.BeatExample`
    cfg : ReferenceConfig
    progress : bool
        Show a tqdm bar.

    Returns
    -------
    net : ReferenceNet
        Best by mean F-measure (windowed inference + Viterbi) on every
        ``cfg.val_stride``-th validation example, in eval mode.
    history : dict
        Config, parameter count, evaluations, train time [s], data counts and
        the per-source scores on the whole validation set
        (:func:`validation_scores`).
    """
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    net = cfg.build()
    opt, sched = make_optimizer(net, cfg)
    val_subset = validation[::cfg.val_stride]
    best, best_state = -np.inf, None
    history = {"config": asdict(cfg), "seed": cfg.seed,
               "params": sum(p.numel() for p in net.parameters()), "evals": []}
    t0 = time.time()
    bar = tqdm(range(1, cfg.steps + 1), desc="train reference", disable=not progress)
    for step in bar:
        # VisBeatNet's causal flux input is left out: the reference learns its
        # own (non-causal) features from the directogram.
        x, _flux, off, beat = sample_batch(train, rng, cfg, fps=FPS)
        loss, mse, bce = _loss(net, x, off, beat, cfg)
        optimizer_step(net, opt, sched, loss)
        bar.set_postfix(mse=f"{mse:.4f}", bce=f"{bce:.3f}")
        if step % cfg.eval_every == 0 or step == cfg.steps:
            vmse, vbce, vf = _validate(net, val_subset)
            history["evals"].append({"step": step, "val_mse": vmse, "val_bce": vbce, "val_f": vf,
                                     "elapsed_s": round(time.time() - t0, 1)})
            if vf > best:
                best, best_state = vf, {k: v.clone() for k, v in net.state_dict().items()}
                history["best_step"] = step
    net.load_state_dict(best_state)
    net.eval()
    history["best_val_f"] = best
    history["train_time_s"] = round(time.time() - t0, 1)
    history["torch_threads"] = torch.get_num_threads()
    history["data"] = {"train": _data_counts(train), "validation": _data_counts(validation)}
    history["validation"] = validation_scores(net, validation)
    return net, history


def save_reference(net: ReferenceNet, path, history: dict | None = None) -> Path:
    """Write the checkpoint (float16 weights, hyper-parameters) and its history.

    Parameters
    ----------
    net : ReferenceNet
    path : path-like
        The ``.pt`` file; its folder is created.
    history : dict, optional
        Written beside it as JSON (same name, ``.json``), e.g. the history of
        :func:`train_reference`.

    Returns
    -------
    Path of the checkpoint.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # float16 halves the file; the reference is evaluated, not fine-tuned, and
    # the rounding moves its beat probabilities by about 1e-3.
    state = {k: v.half() if v.is_floating_point() else v for k, v in net.state_dict().items()}
    torch.save({"state_dict": state, "hyper_parameters": dict(net.hyper_parameters),
                "preprocessing": {"fps": FPS, "input": "log1p(directogram)"}}, path)
    if history is not None:
        path.with_suffix(".json").write_text(json.dumps(history, indent=1))
    return path


def load_reference(path) -> ReferenceNet:
    """The :class:`ReferenceNet` of a :func:`save_reference` checkpoint, float32, eval mode."""
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    net = ReferenceNet(**ckpt["hyper_parameters"])
    net.load_state_dict({k: v.float() if v.is_floating_point() else v
                         for k, v in ckpt["state_dict"].items()})
    return net.eval()
