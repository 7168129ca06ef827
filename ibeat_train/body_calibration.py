"""DrumGenNet's body calibration: the ``body_calibration`` table of its ``meta.json``.

Live, DrumGenNet reads MuStyleNet's style of a body, not the drum style it trained on;
:class:`ibeat_core.drumgen.BodyCalibration` reads the one as the other per 16th position of
the beat, by quantiles, and adds a density bias. This module fits its table:

* ``source``: per 16th position, the quantiles of the style contexts DrumGenNet is given in
  sessions (:func:`~ibeat_core.session.run_session`, genre "rock", seed 0) of every view of the
  motion sequences VisBeatNet and MuStyleNet trained on (``data.train_sequences`` of their
  ``meta.json``; the others stay held out for ``ibeat evaluate drums``). A
  :class:`RecordingDrumGen` stands in for DrumGenNet and keeps what it is given.
* ``target``: the same quantiles of GMD train's drum style, per genre ("any": all of it).
* ``density``: given (:data:`DENSITY`), not fitted here.

The table depends on VisBeatNet, MuStyleNet and the data, not on DrumGenNet's weights: the
style a session computes never depends on the hits it plays.

``ibeat train drumgen`` writes the table after training; ``ibeat train drumgen-calibration``
(:func:`train_command`) refits it alone in a DrumGenNet folder's ``meta.json``.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ibeat_core.drumgen import CONTEXT_STEPS
from ibeat_core.drums import GENRES, STEPS_PER_BEAT
from ibeat_core.errors import ParameterError
from ibeat_core.session import Networks, SessionConfig, run_session
from ibeat_io.beat_data import PRODUCT_SOURCES, build_beat_examples
from ibeat_io.groove import GROOVE_DIR_NAME

from .drumgen import Performance, load_performances

__all__ = ["DENSITY", "SESSION", "RecordingDrumGen", "training_examples", "record_style_contexts",
           "position_quantiles", "calibration_table", "fit_body_calibration", "train_command"]

#: DrumGenNet's logit bias on body style: 0.197 rounded, the bias that gave the shipped
#: network's 9 feels GMD train's mean hits per beat on the training motion (measured once,
#: in development; a retrained network keeps it until it is measured again).
DENSITY = 0.2
_DENSITY_FITTED_ON = ("one logit offset for every feel: the mean hits per beat of the 9 feels "
                      "on the same training motion equal to GMD train's (0.197)")

#: The sessions the contexts come from. The feel and the seed change only the hits played,
#: never the style the network is given.
SESSION = SessionConfig(genre="rock", seed=0)


class RecordingDrumGen:
    """A DrumGenNet that keeps each style context it is given and forwards the call.

    It carries the wrapped network's ``bar_aware`` and ``velocity_levels`` but neither a
    ``body_calibration`` nor a ``model`` (whose meta may hold one), so a session gives it
    the body's style as MuStyleNet made it, before any
    :class:`~ibeat_core.drumgen.BodyCalibration` map.

    Attributes
    ----------
    contexts : list of np.ndarray, shape (12,), float32
        The style context of every call, in order (one per scheduled beat in a poly
        session with ``genre_strength`` 1).
    """

    def __init__(self, network):
        self.network = network
        self.bar_aware = getattr(network, "bar_aware", False)
        self.velocity_levels = getattr(network, "velocity_levels", None)
        self.contexts: list[np.ndarray] = []

    def logits(self, style_ctx, hits_ctx, genre, bar=None):
        """The wrapped network's logits (4, 9), unchanged."""
        self.contexts.append(np.array(style_ctx, dtype=np.float32))
        extra = {} if bar is None else {"bar": bar}
        return self.network.logits(style_ctx, hits_ctx, genre, **extra)


def record_style_contexts(networks: Networks, examples, *, progress: bool = True) -> list:
    """The style context DrumGenNet is given at every scheduled beat of each example's session.

    Parameters
    ----------
    networks : Networks
        ``drumgen`` is wrapped in a :class:`RecordingDrumGen`.
    examples : list of ibeat_io.beat_data.BeatExample
        Each streamed through a fresh :data:`SESSION` at its own timestamps.

    Returns
    -------
    list of np.ndarray, shape (n_beats, 12), float32
        One per example; style in [0, 1], oldest sixteenth first.
    """
    out = []
    for example in tqdm(examples, desc="body calibration sessions", disable=not progress):
        recorder = RecordingDrumGen(networks.drumgen)
        run_session(replace(networks, drumgen=recorder), example.timestamps_s,
                    example.keypoints, config=SESSION)
        out.append(np.array(recorder.contexts, dtype=np.float32).reshape(-1, CONTEXT_STEPS))
    return out


def position_quantiles(style, quantiles: int) -> list:
    """Quantiles of a style at each 16th position of the beat.

    Parameters
    ----------
    style : array_like, shape (..., 4 * k)
        Whole beats, sixteenths in order (e.g. contexts (n, 12) or one performance (n_steps,)).
    quantiles : int
        How many, evenly spaced from 0 to 1 (101: every percent).

    Returns
    -------
    list, shape (4, quantiles)
        Rounded to 4 decimals; row ``p`` is position ``p`` (0 = on the beat, 1 = "e", ...).

    Examples
    --------
    >>> position_quantiles([0.0, 0.1, 0.2, 0.3, 1.0, 0.1, 0.4, 0.3], 3)
    [[0.0, 0.5, 1.0], [0.1, 0.1, 0.1], [0.2, 0.3, 0.4], [0.3, 0.3, 0.3]]
    """
    beats = np.asarray(style).reshape(-1, STEPS_PER_BEAT)
    q = np.linspace(0.0, 1.0, quantiles)
    return [np.quantile(beats[:, p], q).round(4).tolist() for p in range(STEPS_PER_BEAT)]


def calibration_table(contexts, performances: list[Performance], *, quantiles: int = 101,
                      density: float = DENSITY) -> dict:
    """The table :class:`~ibeat_core.drumgen.BodyCalibration` reads, from its data.

    Parameters
    ----------
    contexts : array_like, shape (n, 12)
        Body style contexts (:func:`record_style_contexts`, concatenated).
    performances : list of Performance
        GMD train (:func:`~ibeat_train.drumgen.load_performances`); their ``style``.
    quantiles : int
    density : float
        Logit bias, stored as it is.

    Returns
    -------
    dict
        ``density``; ``source`` (4, quantiles); ``target``: genre -> (4, quantiles), "any"
        from every performance, a genre GMD does not play left out (it falls back on "any").
    """
    target = {"any": position_quantiles(np.concatenate([p.style for p in performances]),
                                        quantiles)}
    for index, genre in enumerate(GENRES[1:], start=1):
        own = [p.style for p in performances if p.genre == index]
        if own:
            target[genre] = position_quantiles(np.concatenate(own), quantiles)
    return {"density": density, "source": position_quantiles(contexts, quantiles),
            "target": target}


def _meta(network) -> dict:
    """A shipped network's ``meta.json`` ({} for one without)."""
    return getattr(getattr(network, "model", None), "meta", None) or {}


def training_examples(data_dir, networks: Networks, *, progress: bool = True) -> list:
    """Every view of the motion sequences VisBeatNet and MuStyleNet trained on
    (``data.train_sequences`` of their meta) from a source a product may train on
    (:data:`~ibeat_io.beat_data.PRODUCT_SOURCES`), made as VisBeatNet's were (its ``seed``)."""
    trained_on = set()
    for net in (networks.beat, networks.style):
        trained_on |= set(_meta(net).get("data", {}).get("train_sequences", ()))
    examples = build_beat_examples(data_dir, seed=_meta(networks.beat).get("seed", 0),
                                   progress=progress)
    # Only data whose licence allows shipped weights (never Dance-with-Melody).
    return [e for e in examples if e.sequence in trained_on and e.source in PRODUCT_SOURCES]


def fit_body_calibration(data_dir, networks: Networks, *, quantiles: int = 101,
                         density: float = DENSITY, performances: list[Performance] | None = None,
                         progress: bool = True) -> dict:
    """Fit DrumGenNet's ``body_calibration`` on ``data_dir`` (laid out like shared/data).

    Parameters
    ----------
    data_dir : path-like
        Its motion (:func:`training_examples`) and ``groove-midi/``.
    networks : Networks
        The shipped VisBeatNet and MuStyleNet (their meta names the trained-on sequences)
        and a DrumGenNet to play the sessions with.
    quantiles, density : see :func:`calibration_table`
    performances : list of Performance, optional
        GMD train, when already loaded.

    Returns
    -------
    dict
        :func:`calibration_table` and ``fitted_on``: what ``source``, ``target`` and
        ``density`` were made from, in words.

    Raises
    ------
    FileNotFoundError
        When ``data_dir`` holds none of the trained-on motion or no GMD train split.
    """
    examples = training_examples(data_dir, networks, progress=progress)
    if not examples:
        raise FileNotFoundError(f"{data_dir} holds none of the motion sequences VisBeatNet "
                                "and MuStyleNet trained on")
    if performances is None:
        performances = load_performances(Path(data_dir) / GROOVE_DIR_NAME, split="train")
    if not performances:
        raise FileNotFoundError(f"{Path(data_dir) / GROOVE_DIR_NAME} has no GMD train split")
    contexts = np.concatenate(record_style_contexts(networks, examples, progress=progress))
    table = calibration_table(contexts, performances, quantiles=quantiles, density=density)
    sequences = len({e.sequence for e in examples})
    table["fitted_on"] = {
        "source": f"MuStyleNet's calibrated style in the sessions of the {len(examples)} views "
                  f"of the {sequences} motion sequences VisBeatNet trained on ({len(contexts)} "
                  "scheduled beats, every step of each beat's 3-beat context)",
        "target": "drum style (ibeat_core.drums.drum_style) of GMD train, per genre; "
                  f"'any': all {len(performances)}",
        "density": (_DENSITY_FITTED_ON if density == DENSITY
                    else f"one logit offset for every feel, {density:g}, as given")}
    return table


def train_command(data_dir, out_dir, *, steps: int | None = None, seed: int = 0,
                  command: str = "") -> Path:
    """``ibeat train drumgen-calibration``: refit only ``body_calibration`` in
    ``out_dir/meta.json``, with the shipped VisBeatNet and MuStyleNet and ``out_dir``'s
    DrumGenNet; nothing is trained (``steps`` and ``seed``, which every trainer takes, must
    stay unset; ``command`` is not recorded). Returns the path of ``meta.json``."""
    from ibeat_models import load_networks
    from ibeat_models.drumgen import DrumGenRuntime

    if steps is not None or seed != 0:
        raise ParameterError("drumgen-calibration trains nothing and draws nothing: "
                             "--steps and --seed do not apply")
    path = Path(out_dir) / "meta.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: --out must be a DrumGenNet folder "
                                "(e.g. ibeat_models/drumgen)")
    meta = json.loads(path.read_text())
    onnx = path.with_name(f"{meta.get('name', 'drumgen')}.onnx")
    if not onnx.is_file():
        raise FileNotFoundError(f"{onnx} does not exist: --out must be a DrumGenNet folder")
    networks = replace(load_networks(), drumgen=DrumGenRuntime(str(onnx)))
    meta["body_calibration"] = table = fit_body_calibration(data_dir, networks)
    path.write_text(json.dumps(meta, indent=1))
    medians = [f"{row[len(row) // 2]:.2f}" for row in table["source"]]
    drums = [f"{row[len(row) // 2]:.2f}" for row in table["target"]["any"]]
    print(f"wrote body_calibration to {path}: {table['fitted_on']['source']}; median style "
          f"per 16th {'/'.join(medians)} (GMD train {'/'.join(drums)})")
    return path
