"""MuStyleNet on onnxruntime: causal kinematic offsets in, drum onset envelope out, one frame per call."""

from __future__ import annotations

import numpy as np

from ibeat_core.style import StyleCalibration

from .runtime import OnnxModel, load_model

__all__ = ["StyleNetwork"]

_OUTPUTS = ["envelope", "h_out"]


class StyleNetwork:
    """The shipped MuStyleNet (or an ONNX file of the same signature), one frame per stream.

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
        return self.step_batch([(offset, state)])[0]

    def step_batch(self, calls) -> list:
        """:meth:`step` for many streams in one onnxruntime call; each stream gets exactly
        what :meth:`step` would give it (the graph computes every row alike whatever the batch).

        Parameters
        ----------
        calls : list of (offset float, state (layers, 1, hidden))

        Returns
        -------
        list of (envelope float, new state), in order
        """
        n = len(calls)
        if n == 0:  # onnxruntime aborts the process on an empty batch
            return []
        offsets = np.empty((n, 1), np.float32)
        h = np.empty((self._state_shape[0], n, self._state_shape[2]), np.float32)
        for i, (offset, state) in enumerate(calls):
            offsets[i, 0] = offset
            h[:, i] = state[:, 0]
        envelope, h = self.model.run_float32({"offset": offsets, "h": h}, _OUTPUTS)
        return [(float(envelope[i, 0]), h[:, i:i + 1]) for i in range(n)]
