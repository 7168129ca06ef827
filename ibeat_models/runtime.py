"""A small, shared ONNX runtime for ibeat's networks (no torch when serving).

:class:`OnnxModel` wraps one onnxruntime session: named float32 inputs in,
named outputs out. Sessions run on one intra-op thread: these networks are tiny
and a second thread costs more in synchronisation than it saves, and a server
runs many sessions side by side.

:func:`load_model` finds a shipped model by name (``"visbeat"``) in this
package's data, or takes a path to a ``.onnx`` file, and returns it with its
model card metadata.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from ibeat_core.errors import ParameterError

__all__ = ["OnnxModel", "load_model", "model_dir", "SHIPPED_MODELS"]

#: Models that ship with the package, by name.
SHIPPED_MODELS = ("visbeat", "mustyle", "drumgen", "drumgen_paper", "mono", "drumclassifier")


@dataclass
class OnnxModel:
    """One ONNX graph ready to run.

    Attributes
    ----------
    path : Path
    meta : dict
        The model card's machine-readable part (``meta.json`` beside the file).
    """

    path: Path
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        import onnxruntime as ort  # imported here so importing ibeat_models stays cheap

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        self._session = ort.InferenceSession(str(self.path), sess_options=opts,
                                             providers=["CPUExecutionProvider"])
        self.input_names = [i.name for i in self._session.get_inputs()]
        self.output_names = [o.name for o in self._session.get_outputs()]
        self.input_shapes = {i.name: i.shape for i in self._session.get_inputs()}

    def run(self, **inputs) -> dict[str, np.ndarray]:
        """Run the graph once; inputs by name (cast to float32), outputs by name."""
        missing = set(self.input_names) - set(inputs)
        if missing:
            raise ParameterError(f"{self.path.name} needs inputs {sorted(missing)}")
        feed = {k: np.asarray(inputs[k], dtype=np.float32) for k in self.input_names}
        return dict(zip(self.output_names, self._session.run(None, feed)))

    def run_float32(self, feed: dict, outputs: list[str] | None = None) -> list[np.ndarray]:
        """:meth:`run` for a per-frame hot path: ``feed`` holds every input as a float32
        array already (unchecked); the outputs come back in the order of ``outputs``
        (default :attr:`output_names`)."""
        return self._session.run(outputs or self.output_names, feed)


def model_dir(name: str) -> Path:
    """Folder of a shipped model inside the installed package."""
    if name not in SHIPPED_MODELS:
        raise ParameterError(f"unknown model {name!r}; shipped: {', '.join(SHIPPED_MODELS)}")
    return Path(str(resources.files("ibeat_models") / name))


def load_model(name_or_path) -> OnnxModel:
    """A shipped model by name, or an ``.onnx`` file (with an optional ``meta.json`` beside it)."""
    path = Path(name_or_path)
    if path.suffix != ".onnx":
        path = model_dir(str(name_or_path)) / f"{name_or_path}.onnx"
    if not path.is_file():
        raise FileNotFoundError(f"model file {path} not found")
    meta_path = path.with_name("meta.json")
    meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
    return OnnxModel(path, meta)
