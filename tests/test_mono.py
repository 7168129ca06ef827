"""Mono baseline: tokens of real drums, the pure generator, a training smoke run, ONNX parity,
the shipped model."""

from pathlib import Path

import numpy as np
import pytest

from ibeat_core.errors import ParameterError
from ibeat_core.mono import MONO_TOKENS, NO_NOTE, REST, MonoNoteGenerator, beat_tokens
from ibeat_models.mono import MonoRuntime
from ibeat_models.runtime import load_model, model_dir

FIXTURES = Path(__file__).parent / "fixtures" / "groove"


class FlatNetwork:
    """Equal logits for every token; counts its calls in the state."""

    def initial_state(self):
        return 0

    def step(self, token, state):
        assert token.shape == (MONO_TOKENS,)
        return np.zeros(MONO_TOKENS, np.float32), state + 1


def test_tokens_prefer_kick_and_snare_then_the_loudest():
    hits = np.zeros((16, 9), np.float32)
    hits[0, [1, 0]] = [0.9, 0.5]        # snare louder than kick
    hits[4, [2, 7]] = [0.3, 0.8]        # crash louder than hi-hat
    hits[13, 0] = 1.0                   # off the beat only
    assert beat_tokens(hits).tolist() == [1, 7, REST, REST]
    with pytest.raises(ParameterError):
        beat_tokens(np.zeros((6, 9)))
    with pytest.raises(ParameterError):
        beat_tokens(np.zeros((8, 4)))


@pytest.mark.parametrize("kwargs", [dict(temperature=-1.0), dict(temperature=float("nan")),
                                    dict(seed="0")])
def test_generator_rejects_bad_values(kwargs):
    with pytest.raises(ParameterError):
        MonoNoteGenerator(FlatNetwork(), **kwargs)


def test_same_seed_same_notes_other_seed_other_notes():
    def run(seed):
        gen = MonoNoteGenerator(FlatNetwork(), seed=seed)
        return [gen.next_note() for _ in range(50)]

    a = run(1)
    assert a == run(1) and a != run(2)
    assert set(a) <= set(range(9)) | {NO_NOTE} and NO_NOTE in a
    gen = MonoNoteGenerator(FlatNetwork(), seed=1)
    first = [gen.next_note() for _ in range(50)]
    assert [gen.next_note() for _ in range(50)] != first   # the stream goes on
    gen.reset()
    assert [gen.next_note() for _ in range(50)] == a


def test_shipped_model_loads_and_generates_without_torch_or_data():
    model = load_model("mono")
    assert model.path.stat().st_size < 1_000_000
    acc = model.meta["next_token"]
    assert acc["accuracy"] > acc["majority_accuracy"]
    net = MonoRuntime()
    gen = MonoNoteGenerator(net, seed=0)
    notes = [gen.next_note() for _ in range(64)]
    assert set(notes) <= set(range(9)) | {NO_NOTE}
    gen.reset()
    assert [gen.next_note() for _ in range(64)] == notes
    greedy = MonoNoteGenerator(net, temperature=0)
    assert len({greedy.next_note() for _ in range(16)}) >= 1


@pytest.fixture(scope="module")
def fixture_sequences():
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)   # tiny networks; the machine is shared
    from ibeat_train.mono import load_token_sequences
    return load_token_sequences(FIXTURES, split="train")


@pytest.mark.usefixtures("onnx_export")
def test_training_smoke_run_and_onnx_parity(tmp_path, fixture_sequences):
    torch = pytest.importorskip("torch")
    from ibeat_train.mono import (MonoTrainConfig, export_mono, mono_accuracy, mono_parity,
                                  train_mono)
    assert len(fixture_sequences) == 3
    cfg = MonoTrainConfig(steps=6, batch_size=4, eval_every=3)
    net, history = train_mono(fixture_sequences, fixture_sequences, cfg, progress=False)
    assert len(history["evals"]) == 2 and np.isfinite(history["best_val_ce"])
    again, _ = train_mono(fixture_sequences, fixture_sequences, cfg, progress=False)
    for a, b in zip(net.state_dict().values(), again.state_dict().values()):
        torch.testing.assert_close(a, b)   # fixed seed, same weights
    acc = mono_accuracy(net, fixture_sequences, fixture_sequences)
    assert 0 <= acc["accuracy"] <= 1 and acc["majority_token"] in ("kick", "snare")
    path = export_mono(net, tmp_path, meta={"parameters": 1})
    assert mono_parity(net, path, max(fixture_sequences, key=len)) <= 1e-5


def test_shipped_onnx_matches_its_torch_weights(fixture_sequences):
    from ibeat_train.mono import load_mono_torch, mono_parity
    folder = model_dir("mono")
    net = load_mono_torch(folder / "mono.pt")
    assert mono_parity(net, folder / "mono.onnx", max(fixture_sequences, key=len)) <= 1e-5
