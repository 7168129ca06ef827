"""DrumGenNet on onnxruntime: the :class:`~ibeat_core.drumgen.DrumGenNetwork` ibeat ships."""

from __future__ import annotations

import numpy as np

from ibeat_core.drumgen import BodyCalibration
from ibeat_core.drums import GENRES
from ibeat_core.errors import ParameterError

from .runtime import OnnxModel, load_model

__all__ = ["DrumGenRuntime"]


class DrumGenRuntime:
    """The shipped DrumGenNet (or an ONNX file of the same signature): one beat per call, or
    many streams' beats in one (:meth:`logits_batch`).

    Stateless: the generated hits context belongs to the caller
    (:class:`~ibeat_core.drumgen.DrumPatternGenerator`), so one model can serve many streams.
    """

    def __init__(self, model: OnnxModel | str = "drumgen"):
        self.model = model if isinstance(model, OnnxModel) else load_model(model)
        self._genres = np.eye(len(GENRES), dtype=np.float32)
        #: Whether it reads the next beat's place in the bar (the paper's DrumGenNet does not).
        self.bar_aware = "bar" in self.model.input_names
        # Graphs exported before the batch axis take one beat per call.
        self._any_batch = self.model.input_shapes["style"][0] != 1
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
        return self.logits_batch([(style_ctx, hits_ctx, genre, bar)])[0]

    def logits_batch(self, calls) -> list:
        """:meth:`logits` for many streams' beats in one onnxruntime call; each gets exactly
        what it gets alone (every row of the graph is computed alike whatever the batch).

        Parameters
        ----------
        calls : list of (style (12,), hits (12, 9), genre index[, bar (8,)])

        Returns
        -------
        list of np.ndarray, shape (4, 9), float32, in order
        """
        if not calls:  # onnxruntime aborts the process on an empty batch
            return []
        if len(calls) > 1 and not self._any_batch:
            return [self.logits_batch([c])[0] for c in calls]
        feed = {"style": np.array([c[0] for c in calls], np.float32),
                "hits": np.array([c[1] for c in calls], np.float32),
                "genre": self._genres[[c[2] for c in calls]]}
        if self.bar_aware:
            bars = [c[3] if len(c) > 3 else None for c in calls]
            if any(b is None for b in bars):
                raise ParameterError(f"{self.model.path.name} needs the bar features")
            feed["bar"] = np.array(bars, np.float32)
        (logits,) = self.model.run_float32(feed, ["logits"])
        return list(logits)
