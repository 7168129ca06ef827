"""The Mono baseline on onnxruntime: the :class:`~ibeat_core.mono.MonoNetwork` ibeat ships."""

from __future__ import annotations

import numpy as np

from .runtime import OnnxModel, load_model

__all__ = ["MonoRuntime"]


class MonoRuntime:
    """The shipped Mono GRU (or an ONNX file of the same signature), one beat per call.

    The model is shared and stateless; the GRU state belongs to the caller
    (:class:`~ibeat_core.mono.MonoNoteGenerator`).
    """

    def __init__(self, model: OnnxModel | str = "mono"):
        self.model = model if isinstance(model, OnnxModel) else load_model(model)
        self._hidden = int(self.model.input_shapes["h"][1])

    def initial_state(self) -> np.ndarray:
        return np.zeros((1, self._hidden), np.float32)

    def step(self, token, state):
        """One-hot previous token (n_tokens,) and state (1, H) -> logits (n_tokens,), new state."""
        out = self.model.run(token=np.asarray(token, np.float32)[None], h=state)
        return out["logits"][0], out["h_out"]
