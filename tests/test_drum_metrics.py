"""FID, NDB, pattern windows, the drum classifier and the evaluation helpers built on them."""

from pathlib import Path

import numpy as np
import pytest

from ibeat_metrics.drums import (backbeat_interval, backbeat_share, frechet_distance,
                                 number_of_different_bins, pattern_windows)
from ibeat_core.errors import ParameterError

GROOVE = Path(__file__).parent / "fixtures" / "groove"


def test_frechet_distance_is_a_distance_between_gaussians():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4000, 4))
    b = rng.normal(size=(4000, 4)) * 2.0                  # same mean, 4x the variance
    # Closed form for isotropic Gaussians: d * (s1 - s2)^2 with s the standard deviations.
    assert frechet_distance(a, b) == pytest.approx(4 * (2.0 - 1.0) ** 2, rel=0.1)
    assert frechet_distance(a, b) == pytest.approx(frechet_distance(b, a), rel=1e-6)
    assert frechet_distance(a[:, :1], a[:, :1] + 1.0) == pytest.approx(1.0, rel=1e-6)


def test_metrics_refuse_bad_input():
    with pytest.raises(ParameterError, match="feature sizes"):
        frechet_distance(np.zeros((5, 3)), np.zeros((5, 4)))
    with pytest.raises(ParameterError, match="at least 2"):
        frechet_distance(np.zeros((1, 3)), np.zeros((5, 3)))
    with pytest.raises(ParameterError, match="NaN"):
        frechet_distance(np.full((5, 3), np.nan), np.zeros((5, 3)))
    with pytest.raises(ParameterError, match="k must be"):
        number_of_different_bins(np.zeros((10, 2)), np.zeros((10, 2)), k=50)
    with pytest.raises(ParameterError, match="hits must have shape"):
        pattern_windows(np.zeros((32, 8)))


def test_ndb_counts_missing_and_overfull_modes():
    rng = np.random.default_rng(2)
    centres = rng.normal(scale=10.0, size=(20, 3))
    real = centres[rng.integers(20, size=6000)] + rng.normal(size=(6000, 3))
    same = centres[rng.integers(20, size=2000)] + rng.normal(size=(2000, 3))
    half = centres[rng.integers(10, size=2000)] + rng.normal(size=(2000, 3))  # half the modes
    r_same = number_of_different_bins(real, same, k=20, seed=1)
    r_half = number_of_different_bins(real, half, k=20, seed=1)
    assert r_same.ndb <= 3 < 15 <= r_half.ndb
    assert r_half.real_share.sum() == pytest.approx(1.0)
    assert r_half.generated_share.sum() == pytest.approx(1.0)
    # Seeded: the same call gives the same bins.
    assert number_of_different_bins(real, half, k=20, seed=1).ndb == r_half.ndb


def test_pattern_windows_cut_whole_bars():
    hits = np.arange(40 * 9, dtype=np.float32).reshape(40, 9) / 400
    w = pattern_windows(hits, n_beats=4, hop_beats=2)
    assert w.shape == (4, 16, 9)
    np.testing.assert_array_equal(w[1], hits[8:24])


def test_next_beat_f1_and_hit_statistics_on_real_drums():
    from ibeat_metrics.drums import hit_statistics
    from ibeat_cli.evaluate.drums import next_beat_f1
    from ibeat_io.groove import load_groove_file, load_info

    grids = [(0, load_groove_file(GROOVE, e)) for e in load_info(GROOVE)]

    class RepeatTwoBack:
        def logits(self, style_ctx, hits_ctx, genre):
            return np.where(hits_ctx[4:8] > 0, 5.0, -5.0).astype(np.float32)

    f1 = next_beat_f1(RepeatTwoBack(), grids)
    assert set(f1) == {"drumgen", "repeat_last_beat"}
    for m in f1.values():
        assert 0.0 <= m["micro_f1"] <= 1.0 and m["hits"] > 100
    # Real grooves repeat every two beats at least as well as every beat (snare on 2 and 4).
    assert f1["drumgen"]["micro_f1"] >= f1["repeat_last_beat"]["micro_f1"] - 0.05
    stats = hit_statistics(grids[-1][1].hits[: 4 * (grids[-1][1].n_steps // 4)])
    assert stats.shape == (36,) and stats.min() >= 0 and stats.max() <= 1
    assert stats.reshape(4, 9)[0, 0] > stats.reshape(4, 9)[1, 0]   # kicks fall on the beat


@pytest.mark.usefixtures("onnx_export")
def test_classifier_trains_and_exports_on_fixtures(tmp_path):
    torch = pytest.importorskip("torch")
    from ibeat_models.runtime import OnnxModel
    from ibeat_train.drum_classifier import (ClassifierConfig, DrumClassifier, export_classifier,
                                             genre_windows, train_classifier)

    torch.set_num_threads(1)
    x, y = genre_windows(GROOVE, "train", hop_beats=4, progress=False)
    assert x.shape[1:] == (32, 9) and len(x) == len(y) > 10     # rock (the pop file is not a feel)
    net, history = train_classifier((x, y), (x, y), ClassifierConfig(steps=20, batch_size=16),
                                    progress=False)
    assert isinstance(net, DrumClassifier) and history["steps"][-1] == 20
    path = export_classifier(net, tmp_path, meta={"name": "test"})
    with torch.no_grad():
        expected = net(torch.from_numpy(x[:5]))[0].numpy()
    np.testing.assert_allclose(OnnxModel(path).run(hits=x[:5])["features"], expected, atol=1e-5)


def test_shipped_classifier_loads_without_data():
    from ibeat_models.runtime import load_model

    model = load_model("drumclassifier")
    out = model.run(hits=np.zeros((3, 32, 9), np.float32))
    assert out["features"].shape == (3, 64) and out["logits"].shape == (3, 9)
    assert model.meta["validation_accuracy"] > model.meta["validation_majority_accuracy"]


def _groove(beats, snare_on):
    """A performance of ``beats`` beats with an on-beat snare on the bar beats in ``snare_on``."""
    hits = np.zeros((4 * beats, 9))
    bars = np.arange(beats) % 4
    hits[::4, 1] = np.isin(bars, snare_on)
    return hits, bars


def test_backbeat_interval_is_wide_when_one_performance_carries_the_snares():
    backbeat, straight = _groove(400, (1, 3)), _groove(8, (0, 1, 2, 3))   # 200 and 8 snares
    few = [backbeat] + [straight] * 9
    pooled = backbeat_share(np.concatenate([h for h, _ in few]),
                            np.concatenate([b for _, b in few]))
    low, high = backbeat_interval(few, seed=1)
    assert low <= pooled <= high and high - low > 0.3   # resampling the one big file decides it
    many = [_groove(40, (1, 3))] * 10 + [_groove(40, (0, 1, 2, 3))] * 10
    low2, high2 = backbeat_interval(many, seed=1)
    assert low2 <= 0.75 <= high2 and high2 - low2 < 0.2
    assert backbeat_interval(many, seed=1) == (low2, high2)             # seeded
    assert all(np.isnan(backbeat_interval([_groove(8, ())])))            # no snare, no interval
    with pytest.raises(ParameterError, match="bar positions"):
        backbeat_interval([(np.zeros((16, 9)), [0, 1])])
    with pytest.raises(ParameterError, match="level"):
        backbeat_interval(many, level=1.0)
