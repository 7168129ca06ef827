"""Export trained networks to one-step ONNX graphs and check them against torch."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import torch

from ibeat_core.kinematic import deceleration_flux
from ibeat_models.runtime import OnnxModel

from .visbeat import VisBeatNet, VisBeatStep

__all__ = ["export_onnx", "save_checkpoint", "load_checkpoint", "export_visbeat",
           "load_visbeat_torch", "visbeat_parity", "reexport"]


def export_onnx(module, args, path, *, input_names, output_names, dynamic_axes=None) -> Path:
    """Trace ``module`` at ``args`` into an ONNX graph at ``path`` (opset 17)."""
    # The TorchScript exporter (dynamo=False) needs no onnxscript, and each network's parity
    # function checks the graph against torch; its deprecation and tracer notes are noise here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, args, str(path), dynamo=False, opset_version=17,
                          input_names=input_names, output_names=output_names,
                          dynamic_axes=dynamic_axes)
    return Path(path)


def save_checkpoint(net, path, hyper_parameters: dict, **extra) -> None:
    """Weights plus the constructor arguments that rebuild the network (and any extras)."""
    torch.save({"state_dict": net.state_dict(), "hyper_parameters": hyper_parameters, **extra},
               path)


def load_checkpoint(cls, path):
    """``cls(**hyper_parameters)`` with the weights of a :func:`save_checkpoint` file, in eval mode."""
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    net = cls(**ckpt["hyper_parameters"])
    net.load_state_dict(ckpt["state_dict"])
    return net.eval()


def export_visbeat(net: VisBeatNet, out_dir, *, meta: dict) -> Path:
    """Write ``visbeat.onnx`` (one step, state in and out), ``visbeat.pt`` and ``meta.json``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    step = VisBeatStep(net.eval())
    args = (torch.zeros(1, net.n_bins), torch.zeros(1, 1), torch.zeros(1, 1),
            torch.zeros(1, net.hidden1), torch.zeros(1, net.hidden2))
    names = ["log_directogram", "flux", "prev_offset", "h1", "h2"], ["offset", "beat_prob",
                                                                      "h1_out", "h2_out"]
    path = export_onnx(step, args, out / "visbeat.onnx", input_names=names[0],
                       output_names=names[1],
                       dynamic_axes={name: {0: "batch"} for name in names[0] + names[1]})
    save_checkpoint(net, out / "visbeat.pt",
                    {"n_bins": net.n_bins, "hidden1": net.hidden1, "hidden2": net.hidden2})
    (out / "meta.json").write_text(json.dumps(meta, indent=1))
    return path


def load_visbeat_torch(path) -> VisBeatNet:
    """The torch network from a ``visbeat.pt`` checkpoint (hyper-parameters inside)."""
    return load_checkpoint(VisBeatNet, path)


def visbeat_parity(net: VisBeatNet, onnx_path, directogram: np.ndarray) -> float:
    """Max |torch - onnxruntime| over offsets and beat probabilities, free-running a sequence."""
    model = OnnxModel(Path(onnx_path))
    flux = deceleration_flux(directogram)
    with torch.no_grad():
        off_t, logit_t = net.run_free(torch.tensor(directogram[None], dtype=torch.float32),
                                      torch.tensor(flux[None], dtype=torch.float32))
    prob_t = torch.sigmoid(logit_t)[0].numpy()
    off_t = off_t[0].numpy()
    h1 = np.zeros((1, net.hidden1), np.float32)
    h2 = np.zeros((1, net.hidden2), np.float32)
    prev = np.zeros((1, 1), np.float32)
    worst = 0.0
    for i, row in enumerate(directogram):
        out = model.run(log_directogram=np.log1p(row[None].astype(np.float32)), flux=[[flux[i]]],
                        prev_offset=prev, h1=h1, h2=h2)
        prev, h1, h2 = out["offset"], out["h1_out"], out["h2_out"]
        worst = max(worst, abs(float(out["offset"][0, 0]) - off_t[i]),
                    abs(float(out["beat_prob"][0, 0]) - prob_t[i]))
    return float(worst)


def reexport(folder) -> Path:
    """Write a shipped network's ONNX graph again from the checkpoint beside it (same weights;
    ``meta.json`` and the checkpoint are left as they are), after the export changed.

    ``folder`` holds ``visbeat.pt``, ``mustyle.pt``, ``drumgen.pt`` or ``drumgen_paper.pt``;
    returns the graph's path.
    """
    import tempfile

    from .drumgen import export_drumgen, load_drumgen_torch
    from .mustyle import export_mustyle, load_mustyle_torch

    folder = Path(folder)
    exporters = {"visbeat": (load_visbeat_torch, export_visbeat),
                 "mustyle": (load_mustyle_torch, export_mustyle),
                 "drumgen": (load_drumgen_torch, export_drumgen),
                 "drumgen_paper": (load_drumgen_torch, export_drumgen)}
    if folder.name not in exporters:
        raise ValueError(f"re-exports {', '.join(exporters)}, not {folder.name!r}")
    load, export = exporters[folder.name]
    net = load(folder / f"{folder.name}.pt")
    with tempfile.TemporaryDirectory() as tmp:
        graph = export(net, tmp, meta={"name": folder.name})
        target = folder / graph.name
        target.write_bytes(graph.read_bytes())
    return target


if __name__ == "__main__":
    import sys

    for name in sys.argv[1:]:
        print(f"wrote {reexport(name)}")
