"""VisBeatNet on onnxruntime: the :class:`~ibeat_core.beat_tracking.BeatNetwork` ibeat ships."""

from __future__ import annotations

import numpy as np

from .runtime import OnnxModel, load_model

__all__ = ["VisBeatNetwork"]


class VisBeatNetwork:
    """The shipped VisBeatNet (or an ONNX file of the same signature), one frame per call.

    The model is shared and stateless; the state (RN1 and RN2 hidden vectors
    and the previous offset, fed back auto-regressively) belongs to the caller.
    """

    def __init__(self, model: OnnxModel | str = "visbeat"):
        self.model = model if isinstance(model, OnnxModel) else load_model(model)
        shapes = self.model.input_shapes
        self._h1 = int(shapes["h1"][1])
        self._h2 = int(shapes["h2"][1])

    def initial_state(self):
        return (np.zeros((1, 1), np.float32), np.zeros((1, self._h1), np.float32),
                np.zeros((1, self._h2), np.float32))

    def step(self, directogram_row, flux, state):
        prev, h1, h2 = state
        out = dict(zip(self.model.output_names, self.model.run_float32(
            {"directogram": np.asarray(directogram_row, np.float32)[None],
             "flux": np.full((1, 1), flux, np.float32), "prev_offset": prev, "h1": h1, "h2": h2})))
        offset = out["offset"]
        return (float(offset[0, 0]), float(out["beat_prob"][0, 0]),
                (offset, out["h1_out"], out["h2_out"]))
