"""VisBeatNet on onnxruntime: the :class:`~ibeat_core.beat_tracking.BeatNetwork` ibeat ships."""

from __future__ import annotations

import numpy as np

from ibeat_core.errors import ParameterError

from .runtime import OnnxModel, load_model

__all__ = ["VisBeatNetwork"]

_OUTPUTS = ["offset", "beat_prob", "h1_out", "h2_out"]


class VisBeatNetwork:
    """The shipped VisBeatNet (or an ONNX file of the same signature), one frame per stream.

    The model is shared and stateless; the state (RN1 and RN2 hidden vectors
    and the previous offset, fed back auto-regressively) belongs to the caller.
    :meth:`step_batch` runs many streams' frames in one onnxruntime call; each
    stream gets exactly what :meth:`step` would give it (the graph computes every
    row alike whatever the batch, and takes ``log1p`` of the directogram from
    here, where numpy rounds every row alike too).
    """

    def __init__(self, model: OnnxModel | str = "visbeat"):
        self.model = model if isinstance(model, OnnxModel) else load_model(model)
        shapes = self.model.input_shapes
        if "log_directogram" not in shapes:
            raise ParameterError(f"{self.model.path.name} takes {self.model.input_names}, not the "
                                 f"log_directogram of a VisBeatNet step: export it again "
                                 f"(python -m ibeat_train.export <folder>)")
        self._bins = int(shapes["log_directogram"][1])
        self._h1 = int(shapes["h1"][1])
        self._h2 = int(shapes["h2"][1])

    def initial_state(self):
        return (np.zeros((1, 1), np.float32), np.zeros((1, self._h1), np.float32),
                np.zeros((1, self._h2), np.float32))

    def step(self, directogram_row, flux, state):
        """One frame: ``(offset, beat probability, new state)``."""
        return self.step_batch([(directogram_row, flux, state)])[0]

    def step_batch(self, calls) -> list:
        """:meth:`step` for many streams at once.

        Parameters
        ----------
        calls : list of (directogram_row (n_bins,), flux float, state)

        Returns
        -------
        list of (offset float, beat probability float, new state), in order
        """
        n = len(calls)
        if n == 0:  # onnxruntime aborts the process on an empty batch
            return []
        rows = np.empty((n, self._bins), np.float32)
        flux = np.empty((n, 1), np.float32)
        prev = np.empty((n, 1), np.float32)
        h1 = np.empty((n, self._h1), np.float32)
        h2 = np.empty((n, self._h2), np.float32)
        for i, (row, f, (p, a, b)) in enumerate(calls):
            rows[i], flux[i, 0], prev[i], h1[i], h2[i] = row, f, p[0], a[0], b[0]
        offset, prob, h1, h2 = self.model.run_float32(
            {"log_directogram": np.log1p(rows, out=rows), "flux": flux, "prev_offset": prev,
             "h1": h1, "h2": h2}, _OUTPUTS)
        return [(float(offset[i, 0]), float(prob[i, 0]),
                 (offset[i:i + 1], h1[i:i + 1], h2[i:i + 1])) for i in range(n)]
