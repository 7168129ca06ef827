"""MuStyleNet on onnxruntime: causal kinematic offsets in, drum onset envelope out, one frame per call."""

from __future__ import annotations

import numpy as np

from ibeat_core.style import StyleCalibration

from .runtime import OnnxModel, load_model

__all__ = ["StyleNetwork"]


class StyleNetwork:
    """The shipped MuStyleNet (or an ONNX file of the same signature), one frame per call.

    The model is shared and stateless; the GRU state belongs to the caller, so
    one instance serves any number of streams. Feed it the causal kinematic
    offsets of :class:`ibeat_core.kinematic.KinematicOffsetTracker` at 30 Hz
    and read the style of each beat from its envelope with
    :func:`ibeat_core.style.beat_style`, mapped by :attr:`calibration`.

    Parameters
    ----------
    model : OnnxModel or str
        A loaded model, a shipped model's name or a path to an ``.onnx`` file.
    """

    def __init__(self, model: OnnxModel | str = "mustyle"):
        self.model = model if isinstance(model, OnnxModel) else load_model(model)
        layers, _, hidden = self.model.input_shapes["h"]
        self._state_shape = (int(layers), 1, int(hidden))
        cal = self.model.meta.get("style_calibration")
        #: Maps the envelope's beat style onto the scale of real drums (None: identity).
        self.calibration = (StyleCalibration(np.array(cal["source"]), np.array(cal["target"]))
                            if cal else None)

    def initial_state(self) -> np.ndarray:
        """The state of a new stream: zeros, shape (layers, 1, hidden), float32."""
        return np.zeros(self._state_shape, np.float32)

    def step(self, offset: float, state: np.ndarray) -> tuple[float, np.ndarray]:
        """One frame: kinematic offset in [0, 1] -> (onset envelope in [0, 1], new state)."""
        out = dict(zip(self.model.output_names, self.model.run_float32(
            {"offset": np.full((1, 1), offset, np.float32), "h": state})))
        return float(out["envelope"][0, 0]), out["h_out"]
