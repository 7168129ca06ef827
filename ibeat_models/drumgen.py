"""DrumGenNet on onnxruntime: the :class:`~ibeat_core.drumgen.DrumGenNetwork` ibeat ships."""

from __future__ import annotations

import numpy as np

from ibeat_core.drumgen import BodyCalibration
from ibeat_core.drums import GENRES
from ibeat_core.errors import ParameterError

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
        #: Whether it reads the next beat's place in the bar (the paper's DrumGenNet does not).
        self.bar_aware = "bar" in self.model.input_names
        levels = self.model.meta.get("velocity_levels")
        #: Genre -> a drummer's velocity (4, 9) per 16th position and class (None: the
        #: paper's velocity rule, from the body's style alone).
        self.velocity_levels = ({g: np.asarray(v, np.float32) for g, v in levels.items()}
                                if levels else None)
        #: How a body's style is read as each feel's drum style (None: the paper's DrumGenNet);
        #: parsed once here, not by every session that starts.
        table = self.model.meta.get("body_calibration")
        self.body_calibration = (None if table is None else BodyCalibration(
            table["source"], table["target"], table.get("density", 0.0)))

    def logits(self, style_ctx, hits_ctx, genre: int, bar=None) -> np.ndarray:
        """Hit logits (4, 9) of the next beat from style (12,), hits (12, 9), a genre index and,
        for a bar-aware model, the bar features (8,)."""
        feed = {"style": np.asarray(style_ctx, np.float32)[None],
                "hits": np.asarray(hits_ctx, np.float32)[None],
                "genre": self._genres[genre][None]}
        if self.bar_aware:
            if bar is None:
                raise ParameterError(f"{self.model.path.name} needs the bar features")
            feed["bar"] = np.asarray(bar, np.float32)[None]
        return dict(zip(self.model.output_names, self.model.run_float32(feed)))["logits"][0]
