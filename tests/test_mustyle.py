"""MuStyleNet: shapes, DTW pairing, training smoke run, ONNX parity, and the shipped model."""

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from ibeat_core.kinematic import kinematic_offsets
from ibeat_core.rhythm import motion_rhythm
from ibeat_core.visual_beats import visual_beats
from ibeat_io.groove import load_groove_file, load_info
from ibeat_models.mustyle import StyleNetwork
from ibeat_models.runtime import load_model, model_dir

GROOVE_FIXTURES = Path(__file__).parent / "fixtures" / "groove"


@pytest.fixture(scope="module")
def motion_example(aist_clip):
    """A BeatExample-like view of the bundled real clip (directogram and offline visual beats)."""
    rhythm = motion_rhythm(aist_clip.timestamps_s, aist_clip.keypoints)
    return SimpleNamespace(sequence="bundled", view=0,
                           directogram=rhythm.directogram.astype(np.float32),
                           beat_frames=visual_beats(rhythm.offsets, rhythm.motion_energy))


@pytest.fixture(scope="module")
def causal_offsets(motion_example):
    return kinematic_offsets(motion_example.directogram, causal=True).astype(np.float32)


@pytest.fixture(scope="module")
def fixture_drums():
    return [(e.id, load_groove_file(GROOVE_FIXTURES, e)) for e in load_info(GROOVE_FIXTURES)]


def test_shipped_model_loads_and_runs_without_torch_or_data(causal_offsets):
    model = load_model("mustyle")
    for name in ("mustyle.onnx", "mustyle.pt", "meta.json"):
        assert (model_dir("mustyle") / name).stat().st_size < 1_000_000
    assert model.meta["parameters"] < 50_000
    assert model.meta["data"]["n_train_pairs"] > 0
    net = StyleNetwork()
    state = net.initial_state()
    envelope = []
    for offset in causal_offsets:
        value, state = net.step(float(offset), state)
        envelope.append(value)
    assert min(envelope) >= 0 and max(envelope) <= 1
    again, state2 = [], net.initial_state()
    for offset in causal_offsets[:50]:
        value, state2 = net.step(float(offset), state2)
        again.append(value)
    assert again == envelope[:50]                          # deterministic, state per stream
    carried, _ = net.step(float(causal_offsets[0]), state)
    assert carried != envelope[0]                          # the state is real


def test_network_shapes_and_parameter_count():
    torch = pytest.importorskip("torch")
    from ibeat_train.mustyle import MuStyleNet, StyleCritic
    net = MuStyleNet()
    # GRU(1 -> 64) + GRU(64 -> 64) + Linear(64 -> 1)
    assert sum(p.numel() for p in net.parameters()) == 3 * (64 + 64 * 64 + 128) + 3 * (
        2 * 64 * 64 + 128) + 65
    envelope, h = net(torch.rand(2, 7))
    assert envelope.shape == (2, 7) and h.shape == (2, 2, 64)
    assert float(envelope.detach().min()) >= 0 and float(envelope.detach().max()) <= 1
    assert StyleCritic()(torch.rand(3, 120), torch.rand(3, 120)).shape == (3,)


def test_dtw_moves_onsets_onto_offset_peaks_within_the_band():
    pytest.importorskip("torch")
    from ibeat_train.mustyle import dtw_path, warp_envelope
    n, band = 120, 5
    offsets = np.zeros(n)
    envelope = np.zeros(n)
    peaks = np.array([10, 31, 50, 72, 90, 111])
    shifts = np.array([3, -4, 2, -5, 4, -3])              # all within the band
    for p, s, v in zip(peaks, shifts, (0.9, 0.5, 0.7, 1.0, 0.6, 0.8)):
        offsets[p - 2:p + 3] = [0.3, 0.7, 1.0, 0.7, 0.3]   # a broad stop in the motion
        envelope[p + s] = v                                 # a sharp drum onset near it
    path = dtw_path(offsets, envelope, band=band, slope_penalty=0.01)
    assert path[0] == 0 and path[-1] == n - 1
    assert set(np.diff(path).tolist()) <= {0, 1, 2}
    assert np.abs(path - np.arange(n)).max() <= band
    warped = warp_envelope(envelope, path, offsets)
    np.testing.assert_array_equal(np.flatnonzero(warped), peaks)
    np.testing.assert_allclose(warped[peaks], envelope[peaks + shifts])


def test_dtw_rejects_bad_input():
    pytest.importorskip("torch")
    from ibeat_core.errors import ParameterError
    from ibeat_train.mustyle import dtw_path
    with pytest.raises(ParameterError):
        dtw_path(np.zeros(5), np.zeros(6), band=2)
    with pytest.raises(ParameterError):
        dtw_path(np.zeros(5), np.zeros(5), band=-1)


def tiny_config(**overrides):
    from ibeat_train.mustyle import TrainConfig
    settings = dict(steps=6, batch_size=4, window_s=4.0, n_train_pairs=12, n_validation_pairs=6,
                    eval_every=3)
    settings.update(overrides)
    return TrainConfig(**settings)


def test_pairs_are_seeded_and_on_the_motion_axis(motion_example, fixture_drums):
    pytest.importorskip("torch")
    from ibeat_train.mustyle import make_style_pairs
    cfg = tiny_config()
    pairs = make_style_pairs([motion_example], fixture_drums, n_pairs=8, cfg=cfg, seed=3)
    assert pairs.offsets.shape == pairs.envelopes.shape == (8, cfg.window_frames)
    assert pairs.envelopes.min() >= 0 and pairs.envelopes.max() <= 1
    assert pairs.envelopes.max(axis=1).min() > 0          # every target has onsets
    np.testing.assert_allclose(pairs.tempo_bpm, 80.0, rtol=0.1)   # the clip's beat, 80 BPM
    same = make_style_pairs([motion_example], fixture_drums, n_pairs=8, cfg=cfg, seed=3)
    np.testing.assert_array_equal(pairs.envelopes, same.envelopes)
    other = make_style_pairs([motion_example], fixture_drums, n_pairs=8, cfg=cfg, seed=4)
    assert not np.array_equal(pairs.envelopes, other.envelopes)


@pytest.mark.usefixtures("onnx_export")
def test_training_smoke_run_is_deterministic_and_exports_with_parity(
        tmp_path, motion_example, fixture_drums, causal_offsets):
    torch = pytest.importorskip("torch")
    from ibeat_train.mustyle import (export_mustyle, load_mustyle_torch, make_style_pairs,
                                     mustyle_parity, train_mustyle)
    cfg = tiny_config()
    train = make_style_pairs([motion_example], fixture_drums, n_pairs=cfg.n_train_pairs, cfg=cfg)
    validation = make_style_pairs([motion_example], fixture_drums,
                                  n_pairs=cfg.n_validation_pairs, cfg=cfg, seed=1)
    net, history = train_mustyle(train, validation, cfg, progress=False)
    assert len(history["evals"]) == 2 and np.isfinite(history["best_val_mse"])
    again, _ = train_mustyle(train, validation, cfg, progress=False)
    for a, b in zip(net.state_dict().values(), again.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)   # fixed seed, same weights
    path = export_mustyle(net, tmp_path, meta={"parameters": 1, "data": {}})
    assert mustyle_parity(net, path, causal_offsets) <= 1e-5
    reloaded = load_mustyle_torch(tmp_path / "mustyle.pt")
    for a, b in zip(net.state_dict().values(), reloaded.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    value, state = StyleNetwork(str(path)).step(0.5, StyleNetwork(str(path)).initial_state())
    assert 0 <= value <= 1 and state.shape == (2, 1, 64)


def test_shipped_onnx_matches_its_torch_weights(causal_offsets):
    pytest.importorskip("torch")
    from ibeat_train.mustyle import load_mustyle_torch, mustyle_parity
    folder = model_dir("mustyle")
    net = load_mustyle_torch(folder / "mustyle.pt")
    assert mustyle_parity(net, folder / "mustyle.onnx", causal_offsets) <= 1e-5
