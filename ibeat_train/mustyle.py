"""MuStyleNet (paper 3.2, sizes 4.2): kinematic offsets -> drum onset envelope, a conditional WGAN.

* Generator :class:`MuStyleNet`: a 2-layer unidirectional GRU of 64 units over
  the causal kinematic offset of each frame (what the live engine's
  :class:`~ibeat_core.kinematic.KinematicOffsetTracker` gives), a linear head and
  a sigmoid: the onset envelope of :func:`ibeat_core.style.onset_envelope`, in
  [0, 1], one value per frame at 30 Hz.
* Critic :class:`StyleCritic`: a 3-layer 1-D CNN over (offsets, envelope)
  windows (conditional), averaged over time into a Wasserstein score.
* Loss: reconstruction MSE + ``adversarial_weight`` x the Wasserstein generator
  loss; the critic is kept 1-Lipschitz by a gradient penalty (WGAN-GP, weight
  ``gradient_penalty``), not by weight clipping.

Training pairs (paper 4.1, pairing by dynamic time warping as in Davis and
Agrawala's visual rhythm), made by :func:`make_style_pairs`, seeded:

1. a ``window_s`` window of one real motion example (uniformly over all
   frames of :func:`ibeat_io.beat_data.build_beat_examples`); its input is
   the causal kinematic offsets, computed over the whole sequence so the
   filter and normaliser are warm as in a stream. Its beat period is the median
   interval of its offline visual beats (at least 3 in the window, 60-180 BPM);
2. a segment of one GMD performance (4/4, beats and fills) starting on a beat,
   time-stretched so its beat period equals the motion's (its grid re-timed to
   the motion tempo, micro-timing kept in fractions of a 16th) and shifted so a
   drum beat falls on the window's first visual beat; its onset envelope;
3. :func:`dtw_path` (band of ``band_beats`` of a beat either side of the
   diagonal, penalised tempo changes) aligns that envelope to the offsets, and
   :func:`warp_envelope` moves every onset, peak value kept, onto the motion's
   time axis: the target.

Train pairs use train motion and GMD's train split, validation pairs the held-out
motion (:data:`ibeat_io.beat_data.VALIDATION`) and GMD's validation split;
never mixed. The default makes 8000 train and 800 validation pairs of 6 s.
Selection keeps the weights of the lowest validation reconstruction MSE.
"""

from __future__ import annotations

import json
import math
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from ibeat_core.drums import STEPS_PER_BEAT, DrumGrid, drum_style
from ibeat_core.errors import ParameterError
from ibeat_core.keypoints import FPS
from ibeat_core.kinematic import kinematic_offsets
from ibeat_core.style import ENVELOPE_DECAY_S, beat_style, fit_style_calibration, onset_envelope
from ibeat_core.tempo import MAX_BPM, MIN_BPM
from ibeat_models.runtime import OnnxModel

from .export import export_onnx, load_checkpoint, save_checkpoint

__all__ = ["MuStyleNet", "MuStyleStep", "StyleCritic", "TrainConfig", "StylePairs",
           "dtw_path", "warp_envelope", "make_style_pairs", "train_mustyle", "baseline_mse",
           "export_mustyle",
           "load_mustyle_torch", "mustyle_parity", "train_command"]


class MuStyleNet(nn.Module):
    """Generator: causal kinematic offsets -> onset envelope.

    Parameters
    ----------
    hidden : int
        GRU units per layer (paper: 64).
    layers : int
        Stacked GRU layers (paper: 2).
    """

    def __init__(self, hidden: int = 64, layers: int = 2):
        super().__init__()
        self.hidden, self.layers = hidden, layers
        self.gru = nn.GRU(1, hidden, num_layers=layers, batch_first=True)
        self.head = nn.Linear(hidden, 1)

    def forward(self, offsets, h=None):
        """Run over sequences.

        Parameters
        ----------
        offsets : Tensor, shape (B, T)
            Causal kinematic offsets in [0, 1] at 30 Hz.
        h : Tensor, shape (layers, B, hidden), optional
            Initial state (zeros when None).

        Returns
        -------
        envelope : Tensor, shape (B, T), in [0, 1]
        h : Tensor, shape (layers, B, hidden), the final state
        """
        y, h = self.gru(offsets.unsqueeze(-1), h)
        return torch.sigmoid(self.head(y)).squeeze(-1), h


class MuStyleStep(nn.Module):
    """One frame of MuStyleNet with its state as input and output (for ONNX).

    Inputs ``offset`` (B, 1) and ``h`` (layers, B, hidden); outputs
    ``envelope`` (B, 1) and ``h_out`` (layers, B, hidden); B streams side by side.
    """

    def __init__(self, net: MuStyleNet):
        super().__init__()
        self.net = net

    def forward(self, offset, h):
        return self.net(offset, h)


class StyleCritic(nn.Module):
    """Conditional Wasserstein critic: 3 strided 1-D convolutions over (offsets, envelope).

    Parameters
    ----------
    channels : int
        Channels of the first layer (the second has twice as many).
    kernel : int
        Kernel size [frames] of every layer.
    """

    def __init__(self, channels: int = 32, kernel: int = 5):
        super().__init__()
        pad = kernel // 2
        self.net = nn.Sequential(
            nn.Conv1d(2, channels, kernel, stride=2, padding=pad), nn.LeakyReLU(0.2),
            nn.Conv1d(channels, 2 * channels, kernel, stride=2, padding=pad), nn.LeakyReLU(0.2),
            nn.Conv1d(2 * channels, 1, kernel, padding=pad))

    def forward(self, offsets, envelope):
        """Scores, shape (B,), of windows ``offsets`` and ``envelope`` (B, T); higher = more real."""
        return self.net(torch.stack([offsets, envelope], dim=1)).mean(dim=(1, 2))


@dataclass(frozen=True)
class TrainConfig:
    """Every hyper-parameter of the pairs and the training (the model card quotes these)."""

    seed: int = 0
    steps: int = 2000
    batch_size: int = 32
    window_s: float = 6.0
    n_train_pairs: int = 8000
    n_validation_pairs: int = 800
    band_beats: float = 0.25
    slope_penalty: float = 0.02
    lr: float = 1e-3
    critic_lr: float = 1e-3
    critic_steps: int = 2
    adversarial_weight: float = 0.005
    gradient_penalty: float = 10.0
    eval_every: int = 200

    @property
    def window_frames(self) -> int:
        return int(round(self.window_s * FPS))


@dataclass(frozen=True)
class StylePairs:
    """Windows of motion paired with warped drum envelopes.

    Attributes
    ----------
    offsets : np.ndarray, shape (N, W), float32
        Causal kinematic offsets in [0, 1] (network input), 30 Hz.
    envelopes : np.ndarray, shape (N, W), float32
        DTW-warped GMD onset envelopes in [0, 1] (target).
    tempo_bpm : np.ndarray, shape (N,)
        Beat tempo of each motion window [BPM], which the drums were stretched to.
    motion : tuple of str
        ``sequence/view`` of each window's motion example.
    drums : tuple of str
        GMD id of each window's drum segment.
    """

    offsets: np.ndarray
    envelopes: np.ndarray
    tempo_bpm: np.ndarray
    motion: tuple
    drums: tuple

    def __len__(self) -> int:
        return len(self.offsets)


def dtw_path(query, reference, *, band: int, slope_penalty: float = 0.0) -> np.ndarray:
    """Band-constrained dynamic time warping of ``reference`` onto ``query``'s time axis.

    The path advances one query frame per step and 0, 1 or 2 reference frames
    (local tempo between half and double, a change costing ``slope_penalty``),
    from (0, 0) to (T-1, T-1), never more than ``band`` frames off the diagonal.
    The local cost is the squared difference of the two signals.

    Parameters
    ----------
    query, reference : array_like, shape (T,)
        The signals to align, on one scale (here offsets and envelope in [0, 1]).
    band : int
        Largest ``|j - i|`` [frames], >= 0.
    slope_penalty : float
        Cost of a step that does not advance the reference by exactly one frame.

    Returns
    -------
    path : np.ndarray, shape (T,), int64
        Reference frame matched to each query frame, non-decreasing.

    Examples
    --------
    >>> q = np.zeros(12); q[[3, 8]] = 1.0
    >>> r = np.zeros(12); r[[2, 9]] = 1.0
    >>> path = dtw_path(q, r, band=2, slope_penalty=0.01)
    >>> path.tolist()
    [0, 1, 1, 2, 4, 6, 7, 8, 9, 10, 11, 11]
    >>> np.flatnonzero(warp_envelope(r, path, q)).tolist()   # the onsets moved onto the peaks
    [3, 8]
    """
    q = np.asarray(query, dtype=np.float64)
    r = np.asarray(reference, dtype=np.float64)
    if q.ndim != 1 or q.shape != r.shape or q.size == 0:
        raise ParameterError(f"query and reference must be 1-D of one non-zero length, "
                             f"got {q.shape} and {r.shape}")
    if isinstance(band, bool) or not isinstance(band, (int, np.integer)) or band < 0:
        raise ParameterError(f"band must be a non-negative int, got {band!r}")
    n = q.size
    cols = np.arange(n)
    cost = np.full(n, np.inf)
    cost[0] = (q[0] - r[0]) ** 2
    moves = np.zeros((n, n), dtype=np.int8)      # reference frames advanced into (i, j)
    for i in range(1, n):
        candidates = np.full((3, n), np.inf)
        candidates[0] = cost + slope_penalty
        candidates[1, 1:] = cost[:-1]
        candidates[2, 2:] = cost[:-2] + slope_penalty
        moves[i] = np.argmin(candidates, axis=0)
        cost = candidates[moves[i], cols] + (q[i] - r) ** 2
        cost[np.abs(cols - i) > band] = np.inf
    path = np.empty(n, dtype=np.int64)
    path[-1] = n - 1
    for i in range(n - 1, 0, -1):
        path[i - 1] = path[i] - moves[i, path[i]]
    return path


def warp_envelope(envelope, path, query) -> np.ndarray:
    """The envelope on the query's time axis along a :func:`dtw_path`.

    Every onset lands once, with its peak value: a query frame takes the
    largest envelope value among the reference frames the path passes on its
    way to ``path[i]`` (so a skipped frame still lands), and where the path
    holds one reference frame over several query frames, its value goes to
    the one where the query peaks and the others hold the lower of it and the
    next reference frame (a held peak would otherwise sound as a drum roll).

    Parameters
    ----------
    envelope : array_like, shape (T,)
    path : array_like of int, shape (T,)
        From :func:`dtw_path`.
    query : array_like, shape (T,)
        The signal the path aligns to (the kinematic offsets).

    Returns
    -------
    warped : np.ndarray, shape (T,), float32

    Examples
    --------
    >>> warp_envelope([0.0, 1.0, 0.2, 0.0], [0, 1, 1, 3], [0.0, 0.5, 1.0, 0.0]).tolist()
    [0.0, 0.20000000298023224, 1.0, 0.20000000298023224]
    """
    env = np.asarray(envelope, dtype=np.float32)
    path = np.asarray(path, dtype=np.int64)
    q = np.asarray(query, dtype=np.float64)
    warped = env[path].copy()
    skipped = np.flatnonzero(np.diff(path) == 2) + 1
    warped[skipped] = np.maximum(warped[skipped], env[path[skipped] - 1])
    held = np.minimum(env[path], env[np.minimum(path + 1, len(env) - 1)])
    starts = np.flatnonzero(np.r_[True, np.diff(path) != 0])
    ends = np.r_[starts[1:], len(path)]
    for start, end in zip(starts[ends - starts > 1], ends[ends - starts > 1]):
        value = warped[start]
        warped[start:end] = held[start:end]
        warped[start + int(np.argmax(q[start:end]))] = value
    return warped


def _motion_tracks(motion):
    """Causal offsets and visual beats per motion example (computed once per example)."""
    return [(kinematic_offsets(e.directogram, causal=True).astype(np.float32),
             np.asarray(e.beat_frames, dtype=np.int64), f"{e.sequence}/{getattr(e, 'view', 0)}")
            for e in motion]


def make_style_pairs(motion, drums, *, n_pairs: int, cfg: TrainConfig = TrainConfig(),
                     seed: int = 0, fps: float = FPS, max_tries: int = 50) -> StylePairs:
    """Pair motion windows with DTW-warped drum envelopes (see the module notes).

    Parameters
    ----------
    motion : sequence of BeatExample-like
        Each with ``directogram`` (N, 18) at ``fps`` and ``beat_frames`` (offline
        visual beats); ``sequence`` and ``view`` name it.
    drums : sequence of (str, DrumGrid)
        GMD id and grid of each performance to draw segments from.
    n_pairs : int
    cfg : TrainConfig
        ``window_s``, ``band_beats`` and ``slope_penalty`` are used.
    seed : int
        Seeds every draw.
    fps : float
        Frame rate [Hz] of the motion and of the envelopes.
    max_tries : int
        Draws per pair before giving up (windows with too few beats or drum
        segments too short or silent are drawn again).

    Returns
    -------
    StylePairs

    Raises
    ------
    ParameterError
        When no usable window or segment turns up in ``max_tries`` draws.
    """
    rng = np.random.default_rng(seed)
    tracks = _motion_tracks(motion)
    lengths = np.array([len(off) for off, _, _ in tracks], dtype=float)
    width = int(round(cfg.window_s * fps))
    min_period, max_period = 60.0 * fps / MAX_BPM, 60.0 * fps / MIN_BPM
    offsets, envelopes, tempi, names, ids = [], [], [], [], []
    for _ in range(n_pairs):
        for _ in range(max_tries):
            off, beats, name = tracks[rng.choice(len(tracks), p=lengths / lengths.sum())]
            if len(off) < width:
                continue
            start = int(rng.integers(0, len(off) - width + 1))
            inside = beats[(beats >= start) & (beats < start + width)] - start
            if len(inside) < 3:
                continue
            period = float(np.median(np.diff(inside)))
            if not min_period <= period <= max_period:
                continue
            gmd_id, grid = drums[int(rng.integers(len(drums)))]
            envelope = _stretched_envelope(grid, rng, period=period, first_beat=int(inside[0]),
                                           width=width, fps=fps)
            if envelope is None:
                continue
            path = dtw_path(off[start:start + width], envelope,
                            band=int(round(cfg.band_beats * period)),
                            slope_penalty=cfg.slope_penalty)
            offsets.append(off[start:start + width])
            envelopes.append(warp_envelope(envelope, path, off[start:start + width]))
            tempi.append(60.0 * fps / period)
            names.append(name)
            ids.append(gmd_id)
            break
        else:
            raise ParameterError(f"no usable motion window and drum segment in {max_tries} draws "
                                 f"(windows of {cfg.window_s} s need 3 visual beats)")
    return StylePairs(np.stack(offsets).astype(np.float32), np.stack(envelopes).astype(np.float32),
                      np.array(tempi), tuple(names), tuple(ids))


def _stretched_envelope(grid: DrumGrid, rng, *, period: float, first_beat: int, width: int,
                        fps: float):
    """Envelope (width,) of a random beat-aligned segment of ``grid`` re-timed to ``period``
    frames per beat, with a drum beat on window frame ``first_beat``; None if too short or silent."""
    lead = math.ceil(first_beat / period) * period - first_beat   # frames before window frame 0
    n_beats = math.ceil((lead + width) / period) + 1
    grid_beats = grid.n_steps // STEPS_PER_BEAT
    if grid_beats < n_beats:
        return None
    first = int(rng.integers(0, grid_beats - n_beats + 1)) * STEPS_PER_BEAT
    steps = slice(first, first + n_beats * STEPS_PER_BEAT)
    segment = DrumGrid(grid.hits[steps], grid.offsets[steps], bpm=60.0 * fps / period)
    skip = int(round(lead))
    envelope = onset_envelope(segment, fps=fps, n_frames=skip + width)[skip:]
    return envelope if envelope.max() > 0 else None


def _gradient_penalty(critic, offsets, real, fake):
    """WGAN-GP term: (|grad of the critic at points between real and fake| - 1)^2."""
    mix = torch.rand(len(real), 1)
    between = (mix * real + (1 - mix) * fake).requires_grad_(True)
    grad, = torch.autograd.grad(critic(offsets, between).sum(), between, create_graph=True)
    return ((grad.norm(dim=1) - 1.0) ** 2).mean()


def _validation_mse(net, pairs: StylePairs) -> float:
    with torch.no_grad():
        pred, _ = net(torch.from_numpy(pairs.offsets))
    return float(torch.mean((pred - torch.from_numpy(pairs.envelopes)) ** 2))


def train_mustyle(train: StylePairs, validation: StylePairs, cfg: TrainConfig = TrainConfig(), *,
                  progress: bool = True):
    """Train MuStyleNet against its critic.

    Returns
    -------
    net : MuStyleNet
        The weights of the lowest validation reconstruction MSE, in eval mode.
    history : dict
        ``config``, ``evals`` (step, train MSE, critic Wasserstein estimate,
        validation MSE, elapsed seconds), ``best_val_mse``, ``best_step``,
        ``train_time_s``.
    """
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    net, critic = MuStyleNet(), StyleCritic()
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=cfg.steps)
    # Adam with a low beta1, as usual for WGAN-GP critics.
    critic_opt = torch.optim.Adam(critic.parameters(), lr=cfg.critic_lr, betas=(0.5, 0.9))
    offsets_all = torch.from_numpy(train.offsets)
    envelopes_all = torch.from_numpy(train.envelopes)
    best, best_step, best_state = np.inf, 0, None
    history = {"config": asdict(cfg), "evals": []}
    mse_sum, wdist_sum, n_sum = 0.0, 0.0, 0
    t0 = time.time()
    bar = tqdm(range(1, cfg.steps + 1), desc="train mustyle", disable=not progress)
    for step in bar:
        idx = torch.from_numpy(rng.choice(len(train), size=cfg.batch_size))
        offsets, real = offsets_all[idx], envelopes_all[idx]
        fake, _ = net(offsets)
        for _ in range(cfg.critic_steps):
            wdist = critic(offsets, real).mean() - critic(offsets, fake.detach()).mean()
            critic_loss = -wdist + cfg.gradient_penalty * _gradient_penalty(
                critic, offsets, real, fake.detach())
            critic_opt.zero_grad()
            critic_loss.backward()
            critic_opt.step()
        mse = torch.mean((fake - real) ** 2)
        loss = mse - cfg.adversarial_weight * critic(offsets, fake).mean()
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        sched.step()
        mse_sum, wdist_sum, n_sum = mse_sum + mse.item(), wdist_sum + wdist.item(), n_sum + 1
        bar.set_postfix(mse=f"{mse.item():.4f}", w=f"{wdist.item():.3f}")
        if step % cfg.eval_every == 0 or step == cfg.steps:
            net.eval()
            val_mse = _validation_mse(net, validation)
            net.train()
            history["evals"].append({"step": step, "train_mse": mse_sum / n_sum,
                                     "wasserstein": wdist_sum / n_sum, "val_mse": val_mse,
                                     "elapsed_s": round(time.time() - t0, 1)})
            mse_sum, wdist_sum, n_sum = 0.0, 0.0, 0
            if val_mse < best:
                best, best_step = val_mse, step
                best_state = {k: v.clone() for k, v in net.state_dict().items()}
    net.load_state_dict(best_state)
    history.update(best_val_mse=best, best_step=best_step, train_time_s=round(time.time() - t0, 1))
    return net.eval(), history


def baseline_mse(train: StylePairs, validation: StylePairs) -> dict:
    """Validation MSE of trivial predictors: the train pairs' mean envelope, and the raw offsets."""
    mean = float(train.envelopes.mean())
    return {"mean_envelope": float(np.mean((validation.envelopes - mean) ** 2)),
            "raw_offsets": float(np.mean((validation.envelopes - validation.offsets) ** 2)),
            "mean_envelope_value": mean}


def export_mustyle(net: MuStyleNet, out_dir, *, meta: dict) -> Path:
    """Write ``mustyle.onnx`` (one step, state in and out), ``mustyle.pt`` and ``meta.json``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    args = (torch.zeros(1, 1), torch.zeros(net.layers, 1, net.hidden))
    path = export_onnx(MuStyleStep(net.eval()), args, out / "mustyle.onnx",
                       input_names=["offset", "h"], output_names=["envelope", "h_out"],
                       dynamic_axes={"offset": {0: "batch"}, "envelope": {0: "batch"},
                                     "h": {1: "batch"}, "h_out": {1: "batch"}})
    save_checkpoint(net, out / "mustyle.pt", {"hidden": net.hidden, "layers": net.layers})
    (out / "meta.json").write_text(json.dumps(meta, indent=1))
    return path


def load_mustyle_torch(path) -> MuStyleNet:
    """The torch generator from a ``mustyle.pt`` checkpoint (hyper-parameters inside)."""
    return load_checkpoint(MuStyleNet, path)


def mustyle_parity(net: MuStyleNet, onnx_path, offsets) -> float:
    """Max |torch - onnxruntime| of the envelope, running ``offsets`` (T,) one frame at a time."""
    model = OnnxModel(Path(onnx_path))
    offsets = np.asarray(offsets, dtype=np.float32)
    with torch.no_grad():
        expected, _ = net(torch.from_numpy(offsets[None]))
    expected = expected[0].numpy()
    h = np.zeros((net.layers, 1, net.hidden), np.float32)
    worst = 0.0
    for i, value in enumerate(offsets):
        out = model.run(offset=[[value]], h=h)
        h = out["h_out"]
        worst = max(worst, abs(float(out["envelope"][0, 0]) - float(expected[i])))
    return worst


def body_style_values(net: MuStyleNet, motion) -> np.ndarray:
    """Style values (one per 16th) of MuStyleNet's envelope over the visual beats of real motion.

    Each beat interval between consecutive offline visual beats of 60-180 BPM
    is read as the live engine reads it (windows centred on the 16ths); these
    are the values :func:`ibeat_core.style.fit_style_calibration` maps onto the
    drum scale.
    """
    values = []
    for example in motion:
        offsets = kinematic_offsets(example.directogram, causal=True).astype(np.float32)
        with torch.no_grad():
            env = net(torch.from_numpy(offsets[None]))[0][0].numpy()
        beats = np.asarray(example.beat_frames, dtype=np.float64)
        for b0, b1 in zip(beats[:-1], beats[1:]):
            length = b1 - b0
            if not 60.0 * FPS / MAX_BPM <= length <= 60.0 * FPS / MIN_BPM or b0 < length / 8:
                continue
            shift = length / (2 * STEPS_PER_BEAT)
            values.append(beat_style(env, start_frame=b0 - shift, end_frame=b1 - shift))
    return np.concatenate(values) if values else np.zeros(0, np.float32)


def _load_drums(groove_root, split):
    from ibeat_io.groove import load_groove_file, load_info

    return [(entry.id, load_groove_file(groove_root, entry))
            for entry in load_info(groove_root, split=split)]


def train_command(data_dir, out_dir, *, steps: int | None = None, seed: int = 0,
                  command: str = "") -> Path:
    """``ibeat train mustyle``: build the pairs, train, export, write ``meta.json``.

    Parameters
    ----------
    data_dir : path-like
        Laid out like ``shared/data``: ``groove-midi`` plus the motion datasets
        of :func:`ibeat_io.beat_data.build_beat_examples`.
    out_dir : path-like
        Receives ``mustyle.onnx``, ``mustyle.pt`` and ``meta.json``.
    steps : int or None
        Training steps (None: :class:`TrainConfig`'s default).
    seed : int
        Seeds the motion views, the pairs and the training.
    command : str
        The command line, recorded in ``meta.json``.

    Returns
    -------
    Path of ``mustyle.onnx``.
    """
    from ibeat_io.groove import GROOVE_DIR_NAME

    from ibeat_io.beat_data import PRODUCT_SOURCES, VALIDATION, build_beat_examples

    t0 = time.time()
    cfg = TrainConfig(seed=seed, **({"steps": steps} if steps else {}))
    groove_root = Path(data_dir) / GROOVE_DIR_NAME
    drums = {split: _load_drums(groove_root, split) for split in ("train", "validation")}
    # The weights ship: motion only from data licensed for use in a product.
    motion = {split: build_beat_examples(data_dir, split=split, seed=seed,
                                         sources=PRODUCT_SOURCES)
              for split in ("train", "validation")}
    if not all(motion.values()) or not all(drums.values()):
        raise FileNotFoundError(f"{data_dir} lacks motion or GMD data for both splits")
    # Distinct seeds for the two sides, so validation pairs never echo train draws.
    pairs = {"train": make_style_pairs(motion["train"], drums["train"], n_pairs=cfg.n_train_pairs,
                                       cfg=cfg, seed=seed),
             "validation": make_style_pairs(motion["validation"], drums["validation"],
                                            n_pairs=cfg.n_validation_pairs, cfg=cfg,
                                            seed=seed + 1)}
    net, history = train_mustyle(pairs["train"], pairs["validation"], cfg)
    data = {
        "data_dir": str(data_dir),
        "motion_sources": list(PRODUCT_SOURCES),
        "pairing": "causal kinematic offsets of a motion window + GMD segment time-stretched "
                   "to the window's visual-beat period, onset envelope DTW-warped "
                   f"(band {cfg.band_beats} beat) onto the offsets",
        "window_s": cfg.window_s,
        "n_train_pairs": len(pairs["train"]),
        "n_validation_pairs": len(pairs["validation"]),
        "train_motion_views": len(motion["train"]),
        "validation_motion_views": len(motion["validation"]),
        "validation_sequences": sorted({e.sequence for e in motion["validation"]}),
        "held_out": VALIDATION,
        "gmd_train_files": len(drums["train"]),
        "gmd_validation_files": len(drums["validation"]),
        "train_pair_tempo_bpm": _quartiles(pairs["train"].tempo_bpm),
    }
    validation = {"mse": history["best_val_mse"],
                  "baselines": baseline_mse(pairs["train"], pairs["validation"])}
    meta = {"name": "mustyle",
            "architecture": "MuStyleNet: GRU(64) x 2 over causal kinematic offsets, linear + "
                            "sigmoid -> onset envelope; WGAN-GP critic: 3-layer 1-D CNN",
            "parameters": sum(p.numel() for p in net.parameters()), "seed": seed,
            "command": command, "torch": torch.__version__, "python": platform.python_version(),
            "fps": FPS, "envelope_decay_s": ENVELOPE_DECAY_S, "data": data,
            "validation": validation, "training": history}
    calibration = fit_style_calibration(
        body_style_values(net, motion["train"]),
        np.concatenate([drum_style(grid.hits) for _, grid in drums["train"]]))
    meta["style_calibration"] = calibration.to_dict()
    path = export_mustyle(net, out_dir, meta=meta)
    sequence = motion["validation"][0]
    meta["onnx_parity_max_abs_diff"] = mustyle_parity(
        net, path, kinematic_offsets(sequence.directogram, causal=True))
    meta["onnx_parity_sequence"] = f"{sequence.sequence}/{sequence.view}"
    meta["wall_time_s"] = round(time.time() - t0, 1)
    (Path(out_dir) / "meta.json").write_text(json.dumps(meta, indent=1))
    print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB); validation MSE "
          f"{validation['mse']:.4f} (mean-envelope baseline "
          f"{validation['baselines']['mean_envelope']:.4f}); torch/ONNX max |diff| "
          f"{meta['onnx_parity_max_abs_diff']:.2e}")
    return path


def _quartiles(values) -> list:
    return [round(float(v), 1) for v in np.percentile(values, [0, 25, 50, 75, 100])]
