"""DrumGenNet on onnxruntime: the :class:`~ibeat_core.drumgen.DrumGenNetwork` ibeat ships."""

from __future__ import annotations

import numpy as np

from ibeat_core.drums import GENRES

from .runtime import OnnxModel, load_model

__all__ = ["DrumGenRuntime"]


class DrumGenRuntime:
    """The shipped DrumGenNet (or an ONNX file of the same signature), one beat per call.

    Stateless: the generated hits context belongs to the caller
    (:class:`~ibeat_core.drumgen.DrumPatternGenerator`), so one model can serve many streams.
    """

    def __init__(self, model: OnnxModel | str = "drumgen"):
        self.model = model if isinstance(model, OnnxModel) else load_model(model)
        self._genres = np.eye(len(GENRES), dtype=np.float32)

    def logits(self, style_ctx, hits_ctx, genre: int) -> np.ndarray:
        """Hit logits (4, 9) of the next beat from style (12,), hits (12, 9) and a genre index."""
        out = self.model.run(style=np.asarray(style_ctx, np.float32)[None],
                             hits=np.asarray(hits_ctx, np.float32)[None],
                             genre=self._genres[genre][None])
        return out["logits"][0]
