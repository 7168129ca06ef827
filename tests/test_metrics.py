import warnings

import numpy as np
import pytest

from ibeat_core.errors import ParameterError
from ibeat_metrics import beats as metrics

ALL = [metrics.precision_recall_f, metrics.cemgil, metrics.beat_alignment_score, metrics.evaluate]


def test_perfect_and_known_values():
    ref = np.arange(1, 10, 0.75)
    scores = metrics.evaluate(ref, ref)
    assert scores == pytest.approx({"precision": 1, "recall": 1, "f_measure": 1, "cemgil": 1,
                                    "beat_alignment": 1})
    p, r, f = metrics.precision_recall_f(ref, ref + 0.08)   # outside +-70 ms
    assert (p, r, f) == (0.0, 0.0, 0.0)
    assert metrics.beat_alignment_score([1.0], [1.05]) == pytest.approx(np.exp(-0.5))


def test_half_the_beats():
    ref = np.arange(0, 10, 0.5)
    p, r, f = metrics.precision_recall_f(ref, ref[::2])
    assert p == 1.0 and r == 0.5 and f == pytest.approx(2 / 3)


@pytest.mark.parametrize("fn", ALL)
def test_empty_warns_and_scores_zero(fn):
    with pytest.warns(UserWarning, match="empty"):
        out = fn([], [1.0, 2.0])
    values = out.values() if isinstance(out, dict) else np.atleast_1d(out)
    assert all(v == 0.0 for v in values)


@pytest.mark.parametrize("fn", ALL)
@pytest.mark.parametrize("bad", [[[1.0, 2.0]], [2.0, 1.0], [1.0, np.nan], [1.0, 40000.0]])
def test_invalid_beats_raise(fn, bad):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ParameterError):
            fn(bad, [1.0])


def test_tempo_agrees():
    assert metrics.tempo_agrees(80.0 * 1.039, 80.0)
    assert not metrics.tempo_agrees(80.0 * 1.05, 80.0)
    assert metrics.tempo_agrees(41.0, 80.0) and metrics.tempo_agrees(157.0, 80.0)
    assert not metrics.tempo_agrees(120.0, 80.0)
    with pytest.raises(ParameterError):
        metrics.tempo_agrees(80.0, 0.0)
