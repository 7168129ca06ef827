"""VisBeatNet: shapes, training smoke run, ONNX export parity, and the shipped model."""

import numpy as np
import pytest

from ibeat_core.beat_tracking import OnlineBeatTracker, track_clip
from ibeat_core.rhythm import motion_rhythm
from ibeat_models.runtime import load_model
from ibeat_models.visbeat import VisBeatNetwork


@pytest.fixture(scope="module")
def real_example(aist_clip):
    """A BeatExample-like object from the bundled real clip (one view, ground truth from the DP)."""
    from types import SimpleNamespace

    from ibeat_core.visual_beats import visual_beats
    r = motion_rhythm(aist_clip.timestamps_s, aist_clip.keypoints)
    return SimpleNamespace(source="aistpp", sequence="bundled", view=0, directogram=r.directogram.astype(np.float32),
                           offsets=r.offsets.astype(np.float32), beat_frames=visual_beats(r.offsets),
                           times_s=r.times_s)


def test_shipped_model_loads_and_runs_without_torch_or_data(aist_clip):
    model = load_model("visbeat")
    assert model.path.stat().st_size < 1_000_000
    assert model.meta["parameters"] < 40_000
    assert "train_sequences" in model.meta["data"]
    online = track_clip(VisBeatNetwork(model), aist_clip.timestamps_s, aist_clip.keypoints)
    assert online.beat_probs.min() >= 0 and online.beat_probs.max() <= 1
    assert len(online.beat_times_s) > 5


def test_shipped_model_is_deterministic_and_state_is_per_stream(aist_clip):
    net = VisBeatNetwork()
    t, kp = aist_clip.timestamps_s[:240], aist_clip.keypoints[:240]
    a = track_clip(net, t, kp)
    b = track_clip(net, t, kp)
    np.testing.assert_array_equal(a.beat_probs, b.beat_probs)
    tracker = OnlineBeatTracker(net)
    first = [f.beat_prob for x, k in zip(t, kp) for f in tracker.process_frame(x, k)]
    second = [f.beat_prob for x, k in zip(t, kp) for f in tracker.process_frame(x + 10.0, k)]
    assert first != second   # without reset the state carries over


def test_network_shapes_and_parameter_count():
    torch = pytest.importorskip("torch")
    from ibeat_train.visbeat import VisBeatNet
    net = VisBeatNet()
    n = sum(p.numel() for p in net.parameters())
    assert 20_000 < n < 40_000
    off, logits, h1, h2 = net(torch.zeros(2, 7, 18), torch.zeros(2, 7), torch.zeros(2, 7))
    assert off.shape == logits.shape == (2, 7) and h1.shape == (1, 2, 64) and h2.shape == (1, 2, 32)


@pytest.mark.usefixtures("onnx_export")
def test_training_smoke_run_and_onnx_parity(tmp_path, real_example):
    torch = pytest.importorskip("torch")
    from ibeat_train.export import export_visbeat, visbeat_parity
    from ibeat_train.visbeat import TrainConfig, train_visbeat
    cfg = TrainConfig(steps=6, batch_size=4, window_s=4.0, eval_every=3)
    net, history = train_visbeat([real_example], [real_example], cfg, progress=False)
    assert len(history["evals"]) == 2 and np.isfinite(history["best_val_score"])
    again, _ = train_visbeat([real_example], [real_example], cfg, progress=False)
    for a, b in zip(net.state_dict().values(), again.state_dict().values()):
        torch.testing.assert_close(a, b)   # fixed seed, same weights
    path = export_visbeat(net, tmp_path, meta={"parameters": 1, "data": {"train_sequences": []}})
    assert visbeat_parity(net, path, real_example.directogram) <= 1e-5


def test_shipped_onnx_matches_its_torch_weights(real_example):
    pytest.importorskip("torch")
    from ibeat_models.runtime import model_dir
    from ibeat_train.export import load_visbeat_torch, visbeat_parity
    folder = model_dir("visbeat")
    net = load_visbeat_torch(folder / "visbeat.pt")
    assert visbeat_parity(net, folder / "visbeat.onnx", real_example.directogram) <= 1e-5


def test_mirror_permutation_is_an_involution():
    pytest.importorskip("torch")
    from ibeat_train.visbeat import mirror_bins
    perm = mirror_bins(18)
    assert sorted(perm.tolist()) == list(range(18))
    np.testing.assert_array_equal(perm[perm], np.arange(18))
