"""The non-causal reference beat tracker (paper 4.4): size, windows, training, checkpoints."""

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from ibeat_core.rhythm import motion_rhythm  # noqa: E402
from ibeat_io.beat_data import BeatExample  # noqa: E402
from ibeat_train.reference import (ReferenceBeats, ReferenceConfig, ReferenceNet,  # noqa: E402
                                   load_reference, reference_beat_probs, reference_predict,
                                   save_reference, train_reference)

CHECKPOINT = Path(__file__).resolve().parents[1] / "ibeat_train" / "checkpoints" / "reference.pt"

#: A tiny configuration so that training runs in a second.
TINY = ReferenceConfig(steps=5, batch_size=4, window_s=1.0, kernel_frames=3, d_model=16,
                       n_heads=2, n_layers=1, d_ff=32, eval_every=5, val_stride=1)


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return ReferenceNet().eval()


def _example(source, seed, n=150):
    """A synthetic example: a movement burst, an offset peak and a beat every 15 frames."""
    rng = np.random.default_rng(seed)
    beat_frames = np.arange(5, n, 15)
    directogram = rng.random((n, 18), dtype=np.float32)
    directogram[beat_frames - 2] += 5.0
    offsets = np.zeros(n, np.float32)
    offsets[beat_frames] = 1.0
    times = np.arange(n) / 30.0
    return BeatExample(source=source, sequence=f"seq{seed}", view=0, fps=30.0, times_s=times,
                       timestamps_s=times, keypoints=np.zeros((n, 17, 3), np.float32),
                       directogram=directogram, offsets=offsets, beat_frames=beat_frames)


def test_parameter_count_is_rhythmicnet_size(net):
    n = sum(p.numel() for p in net.parameters())
    assert 700_000 <= n <= 900_000
    assert ReferenceBeats(net).params == n


def test_output_shapes(net):
    with torch.no_grad():
        off, logit = net(torch.rand(3, 120, 18))
        short_off, _ = net(torch.rand(1, 50, 18))
    assert off.shape == logit.shape == (3, 120)
    assert short_off.shape == (1, 50)
    assert torch.all((off >= 0) & (off <= 1))
    with pytest.raises(ValueError, match="exceeds"):
        net(torch.rand(1, 121, 18))
    with pytest.raises(ValueError, match="odd"):
        ReferenceNet(kernel_frames=4)


@pytest.mark.parametrize("n", [0, 7, 120, 301])
def test_windowed_inference_keeps_length(net, n):
    d = np.random.default_rng(n).random((n, 18), dtype=np.float32)
    off, probs = reference_predict(net, d)
    assert off.shape == probs.shape == (n,)
    assert np.all((probs >= 0) & (probs <= 1))


def test_one_window_equals_the_forward_pass(net):
    d = np.random.default_rng(1).random((120, 18), dtype=np.float32)
    with torch.no_grad():
        _, logit = net(torch.from_numpy(d[None]))
    np.testing.assert_allclose(reference_beat_probs(net, d), torch.sigmoid(logit)[0].numpy(),
                               atol=1e-6)


def test_inference_is_non_causal(net):
    d = np.random.default_rng(2).random((300, 18), dtype=np.float32)
    before = reference_beat_probs(net, d)
    d[200] += 10.0
    after = reference_beat_probs(net, d)
    # A future frame moves earlier outputs (the windows holding frame 200
    # start at frame 120), which no causal tracker could do.
    assert np.abs(after[120:200] - before[120:200]).max() > 1e-4
    np.testing.assert_allclose(after[:120], before[:120], atol=1e-6)


def test_training_smoke_run():
    train = [_example("aistpp", 0), _example("dwm", 1)]
    validation = [_example("salsa", 2)]
    net, history = train_reference(train, validation, TINY, progress=False)
    assert not net.training
    (last,) = history["evals"]
    assert all(np.isfinite(last[k]) for k in ("val_mse", "val_bce", "val_f"))
    assert history["params"] == sum(p.numel() for p in net.parameters())
    assert history["data"]["train"]["aistpp"] == {"examples": 1, "sequences": 1, "frames": 150}
    assert set(history["validation"]) == {"salsa"}
    beats = ReferenceBeats(net).beats(validation[0])
    assert np.all(np.diff(beats) > 0)


def test_training_is_reproducible():
    train = [_example("aistpp", 0), _example("dwm", 1)]
    a, _ = train_reference(train, train, TINY, progress=False)
    b, _ = train_reference(train, train, TINY, progress=False)
    for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(va, vb), k


def test_save_load_round_trip(net, tmp_path):
    path = save_reference(net, tmp_path / "ref" / "reference.pt", {"seed": 0})
    loaded = load_reference(path)
    assert not loaded.training
    assert all(p.dtype == torch.float32 for p in loaded.parameters())
    assert (tmp_path / "ref" / "reference.json").read_text().strip().startswith("{")
    rounded = ReferenceNet(**net.hyper_parameters).eval()
    rounded.load_state_dict({k: v.half().float() for k, v in net.state_dict().items()})
    d = np.random.default_rng(3).random((200, 18), dtype=np.float32)
    np.testing.assert_allclose(reference_beat_probs(loaded, d), reference_beat_probs(rounded, d),
                               atol=1e-6)
    # The float16 rounding itself stays small next to a beat probability.
    assert np.abs(reference_beat_probs(loaded, d) - reference_beat_probs(net, d)).max() < 1e-2


def test_ms_per_frame_is_measured(net):
    ms = ReferenceBeats(net).ms_per_frame(SimpleNamespace(directogram=np.ones((30, 18))), repeats=3)
    assert 0 < ms < 100


@pytest.mark.skipif(not CHECKPOINT.is_file(), reason="no trained reference checkpoint")
def test_committed_checkpoint_tracks_a_real_clip(aist_clip):
    net = load_reference(CHECKPOINT)
    rhythm = motion_rhythm(aist_clip.timestamps_s, aist_clip.keypoints)
    clip = SimpleNamespace(directogram=rhythm.directogram, times_s=rhythm.times_s)
    probs = reference_beat_probs(net, clip.directogram)
    assert probs.shape == (len(rhythm.times_s),)
    beats = ReferenceBeats(net)(clip)
    # 12 s of dance at 80 BPM music: some beats, strictly inside the clip.
    assert len(beats) >= 5
    assert np.all(np.diff(beats) > 0)
    assert rhythm.times_s[0] <= beats[0] and beats[-1] <= rhythm.times_s[-1]
