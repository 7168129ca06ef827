"""DrumGenNet: the pure generator, a training smoke run on real GMD fixtures, ONNX parity, the
shipped model."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from ibeat_core.bar import BarConfig, BarPosition, bar_features
from ibeat_core.drumgen import (CONTEXT_STEPS, TIMEKEEPERS, DrumGenConfig, DrumPatternGenerator,
                                generate_pattern, hit_velocities, sample_hits)
from ibeat_core.drums import GENRES
from ibeat_core.errors import ParameterError
from ibeat_core.session import SessionConfig
from ibeat_models.drumgen import DrumGenRuntime
from ibeat_models.runtime import load_model, model_dir

FIXTURES = Path(__file__).parent / "fixtures" / "groove"
STYLE = np.tile(np.array([1.0, 0.2, 0.6, 0.2], np.float32), 3)


class FlatLogits:
    """A stand-in network: the same logit everywhere, and a log of the contexts it saw."""

    def __init__(self, value=0.0):
        self.value = value
        self.seen = []

    def logits(self, style_ctx, hits_ctx, genre):
        self.seen.append((style_ctx.copy(), hits_ctx.copy(), genre))
        return np.full((4, 9), self.value, dtype=np.float32)


@pytest.mark.parametrize("kwargs", [dict(genre="disco"), dict(temperature=-0.1),
                                    dict(temperature=float("nan")), dict(density=float("inf")),
                                    dict(seed=1.5), dict(min_velocity=0.0),
                                    dict(min_velocity=1.5)])
def test_config_rejects_bad_values(kwargs):
    with pytest.raises(ParameterError):
        DrumGenConfig(**kwargs)


def test_bad_inputs_raise_parameter_error():
    gen = DrumPatternGenerator(FlatLogits())
    with pytest.raises(ParameterError, match=r"\(12,\)"):
        gen.next_beat(np.zeros(8))
    with pytest.raises(ParameterError, match="in \\[0, 1\\]"):
        gen.next_beat(np.full(12, 1.5))
    with pytest.raises(ParameterError, match="rng"):
        sample_hits(np.zeros((4, 9)), temperature=1.0)
    with pytest.raises(ParameterError, match="shape"):
        sample_hits(np.zeros((9, 4)), temperature=0)
    with pytest.raises(ParameterError):
        DrumPatternGenerator(FlatLogits(), config={"genre": "rock"})
    with pytest.raises(ParameterError, match="multiple of 4"):
        generate_pattern(FlatLogits(), np.zeros(10))


def test_generator_feeds_back_its_own_hits():
    net = FlatLogits(5.0)   # almost surely a hit everywhere
    gen = DrumPatternGenerator(net, DrumGenConfig(genre="jazz", genre_strength=4.0))
    assert not gen.hits_ctx.any()
    first = gen.next_beat(STYLE)
    assert first.shape == (4, 9) and first.dtype == np.float32
    assert first.min() >= 0 and first.max() <= 1
    gen.next_beat(STYLE)
    # Each beat asks for the genre and, for the guidance, for "any".
    assert [g for _, _, g in net.seen] == [GENRES.index("jazz"), 0] * 2
    style, hits, genre = net.seen[2]
    assert style.shape == (CONTEXT_STEPS,)
    np.testing.assert_array_equal(hits[-4:], first > 0)       # last beat is what it generated
    assert not hits[:4].any()                                  # the oldest beat still silent
    gen.reset()
    assert not gen.hits_ctx.any()


def test_genre_strength_extrapolates_from_the_unconditional_logits():
    class ByGenre:
        def logits(self, style_ctx, hits_ctx, genre):
            return np.full((4, 9), 1.0 if genre else -1.0, dtype=np.float32)

    def hits(strength):
        gen = DrumPatternGenerator(ByGenre(), DrumGenConfig(genre="rock", temperature=0,
                                                            genre_strength=strength))
        return gen.next_beat(STYLE).any()

    # any + s * (rock - any) = -1 + 2 s: no hit below s = 0.5, hits above.
    assert not hits(0.25) and hits(1.0) and hits(4.0)
    with pytest.raises(ParameterError):
        DrumGenConfig(genre_strength=-1.0)


def test_velocity_rule_uses_context_style_with_a_floor():
    hits = np.ones((4, 9), dtype=bool)
    vel = hit_velocities(hits, STYLE, min_velocity=0.3)
    np.testing.assert_allclose(vel[:, 0], [1.0, 0.3, 0.6, 0.3])
    assert not hit_velocities(np.zeros((4, 9), bool), STYLE).any()


def test_a_drummers_levels_set_each_class_and_the_body_accents_them():
    hits = np.ones((4, 9), dtype=bool)
    levels = np.tile(np.linspace(0.4, 0.8, 9), (4, 1))          # hi-hat softer than a tom, say
    flat = hit_velocities(hits, np.full(12, 0.5), levels=levels)
    np.testing.assert_allclose(flat, levels, rtol=1e-6)           # no accent: the drummer's level
    accented = hit_velocities(hits, STYLE, levels=levels)
    assert (accented[0] > flat[0]).all() and (accented[1] < flat[1]).all()
    assert accented.min() >= 0.3 and accented.max() <= 1.0


class BarAware(FlatLogits):
    """Records the bar features it is given; a kick only on the one."""

    bar_aware = True

    def logits(self, style_ctx, hits_ctx, genre, bar=None):
        self.seen.append((np.array(style_ctx), np.array(hits_ctx), genre, np.array(bar)))
        z = np.full((4, 9), -9.0, dtype=np.float32)
        z[0, 0] = 9.0 if bar[0] == 1.0 else -9.0
        return z


def test_a_bar_aware_network_reads_where_the_beat_falls_in_the_bar():
    net = BarAware()
    gen = DrumPatternGenerator(net, DrumGenConfig(temperature=0, bar=BarConfig(meter="4/4")))
    kicks = [bool(gen.next_beat(STYLE)[0, 0]) for _ in range(9)]
    assert kicks == [True, False, False, False] * 2 + [True]
    assert [int(np.argmax(b[4:])) for *_, b in net.seen[:9]] == [0] * 4 + [1] * 4 + [2]
    assert gen.position == (0, 2, 4)
    # The paper's network (no bar_aware) is never given one.
    plain = FlatLogits()
    DrumPatternGenerator(plain).next_beat(STYLE)
    assert len(plain.seen[0]) == 3


def test_same_seed_same_drums_other_seed_other_drums():
    styles = [np.roll(STYLE, k) for k in range(16)]

    def run(seed):
        gen = DrumPatternGenerator(FlatLogits(0.0), DrumGenConfig(seed=seed))
        return np.stack([gen.next_beat(s) for s in styles])

    a, b = run(3), run(3)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, run(4))
    gen = DrumPatternGenerator(FlatLogits(0.0), DrumGenConfig(seed=3))
    first = np.stack([gen.next_beat(s) for s in styles])
    second = np.stack([gen.next_beat(s) for s in styles])
    assert not np.array_equal(first, second)      # without a reset the draws go on
    gen.reset()
    np.testing.assert_array_equal(np.stack([gen.next_beat(s) for s in styles]), a)


def test_density_and_temperature_move_the_hit_rate():
    logits = np.full((4, 9), -2.0, np.float32)
    rng = np.random.default_rng(0)

    def rate(**kw):
        return np.mean([sample_hits(logits, rng=rng, **kw).mean() for _ in range(400)])

    assert rate(density=1.0) > rate() + 0.1 > rate(density=-1.0) + 0.1
    assert rate(temperature=3.0) > rate() + 0.1
    assert not sample_hits(logits, temperature=0).any()
    assert sample_hits(logits, temperature=0, density=2.5).all()


def test_sample_hits_compares_given_draws_with_the_probabilities():
    logits = np.log(np.full((4, 9), 0.25 / 0.75, np.float32))  # p = 0.25 everywhere
    draws = np.tile(np.linspace(0.0, 0.99, 9), (4, 1))
    np.testing.assert_array_equal(sample_hits(logits, draws=draws), draws < 0.25)
    with pytest.raises(ParameterError, match="draws"):
        sample_hits(logits, draws=draws[:3])


def _phrases(hold: bool, n_beats: int = 1024, p: float = 0.4):
    """Hits (n, 4, 9) and bar positions of a generator whose every logit gives ``p``."""
    gen = DrumPatternGenerator(FlatLogits(float(np.log(p / (1 - p)))),
                               DrumGenConfig(seed=3, hold_draws=hold))
    hits, positions = [], []
    for _ in range(n_beats):
        hits.append(gen.next_beat(STYLE) > 0)
        positions.append(gen.position)
    return np.array(hits), positions


def test_held_draws_repeat_the_groove_bar_by_bar_and_keep_each_hits_probability():
    for hold in (True, False):
        hits, positions = _phrases(hold)
        # Every hit keeps its probability: held draws are still uniform.
        assert abs(hits.mean() - 0.4) < 0.03
        starts = [i for i, q in enumerate(positions) if q.beat == 0 and q.bar == 0]
        assert len(starts) > 40 and all(q.beats_per_bar == 4 for q in positions)
        phrases = [hits[a:a + 16].reshape(4, 4, 4, 9) for a in starts if a + 16 <= len(hits)]
        same_bar = np.mean([(ph[1:] == ph[0]).all() for ph in phrases])
        keep = list(TIMEKEEPERS)
        hats = np.mean([(ph[:, 1:][..., keep] == ph[:, :1][..., keep]).all() for ph in phrases])
        if hold:
            # The same probabilities give the same bar all through the phrase, and the hi-hats
            # play alike on every beat.
            assert same_bar == 1.0 and hats == 1.0
        else:
            assert same_bar == 0.0 and hats == 0.0
    held, _ = _phrases(True)
    np.testing.assert_array_equal(held, _phrases(True)[0])  # seeded: a rerun is the same


def test_the_session_holds_draws_for_the_bar_aware_drums_only():
    assert SessionConfig().drumgen_config().hold_draws
    assert not SessionConfig(drums="paper").drumgen_config().hold_draws
    assert not DrumGenConfig().hold_draws  # the paper's sampling, for generate_pattern
    with pytest.raises(ParameterError, match="hold_draws"):
        DrumGenConfig(hold_draws=1)


def test_generate_pattern_matches_streaming():
    style = np.concatenate([STYLE, STYLE[:8]])
    cfg = DrumGenConfig(seed=7)
    offline = generate_pattern(FlatLogits(0.5), style, config=cfg)
    gen = DrumPatternGenerator(FlatLogits(0.5), cfg)
    padded = np.concatenate([np.zeros(12, np.float32), style])
    online = np.concatenate([gen.next_beat(padded[s:s + 12]) for s in range(0, len(style), 4)])
    np.testing.assert_array_equal(offline, online)


def test_shipped_model_loads_and_generates_without_torch_or_data():
    model = load_model("drumgen")
    assert model.path.stat().st_size < 1_000_000
    assert (model_dir("drumgen") / "drumgen.pt").stat().st_size < 1_000_000
    assert model.meta["parameters"] < 200_000
    f1 = model.meta["next_beat_f1"]["micro"]
    assert f1["drumgen"] > f1["repeat_last_beat"]
    net = DrumGenRuntime()
    assert net.bar_aware and set(net.velocity_levels) == set(GENRES)
    bar = bar_features(BarPosition(1, 0, 4))
    assert net.logits(STYLE, np.zeros((12, 9), np.float32), 0, bar=bar).shape == (4, 9)
    with pytest.raises(ParameterError, match="bar"):
        net.logits(STYLE, np.zeros((12, 9), np.float32), 0)
    paper = DrumGenRuntime("drumgen_paper")
    assert not paper.bar_aware and paper.velocity_levels is None
    assert paper.logits(STYLE, np.zeros((12, 9), np.float32), 0).shape == (4, 9)
    style = np.tile(STYLE, 8)
    a = generate_pattern(net, style, config=DrumGenConfig(genre="rock", seed=1))
    b = generate_pattern(net, style, config=DrumGenConfig(genre="rock", seed=1))
    c = generate_pattern(net, style, config=DrumGenConfig(genre="rock", seed=2))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.any() and a.min() >= 0 and a.max() <= 1
    dense = generate_pattern(net, style, config=DrumGenConfig(genre="rock", seed=1, density=1.5))
    sparse = generate_pattern(net, style, config=DrumGenConfig(genre="rock", seed=1,
                                                               density=-1.5))
    assert (dense > 0).sum() > (a > 0).sum() > (sparse > 0).sum()


class Calibrated(FlatLogits):
    """A stand-in network with a body calibration: the "e" read at half its level, bias +1."""

    def __init__(self, value=0.0):
        super().__init__(value)
        q = np.linspace(0.0, 1.0, 5)
        self.body_calibration = {"source": [q] * 4, "density": 1.0,
                                 "target": {"any": [q] * 4, "jazz": [q, q / 2, q, q]}}


def test_body_calibration_reads_the_body_style_as_the_feels_drum_style():
    net = Calibrated(-1.0)
    style = np.full(12, 0.8, np.float32)
    gen = DrumPatternGenerator(net, DrumGenConfig(genre="jazz", temperature=0,
                                                  body_calibration=True))
    vel = gen.next_beat(style)
    # The network saw the "e" (step 1 of each beat) mapped, the other steps as they came.
    np.testing.assert_allclose(net.seen[0][0], np.tile([0.8, 0.4, 0.8, 0.8], 3), rtol=1e-6)
    # Logit -1 plus the bias +1 is not above 0: no hit at temperature 0; +1.5 more is.
    assert not vel.any()
    dense = DrumPatternGenerator(Calibrated(-1.0), DrumGenConfig(
        genre="jazz", temperature=0, density=0.5, body_calibration=True)).next_beat(style)
    assert dense.all()
    # The velocities keep the body's own style (no accent in a flat style: the floor rule).
    np.testing.assert_allclose(dense, 0.8)
    # A feel without a table of its own uses "any"'s; off (the default), nothing changes.
    other = Calibrated(-1.0)
    DrumPatternGenerator(other, DrumGenConfig(genre="rock", body_calibration=True)).next_beat(style)
    np.testing.assert_allclose(other.seen[0][0], style)
    plain = Calibrated(-1.0)
    assert not DrumPatternGenerator(plain, DrumGenConfig(genre="jazz", temperature=0,
                                                         density=0.5)).next_beat(style).any()
    np.testing.assert_allclose(plain.seen[0][0], style)


def test_body_calibration_rejects_bad_tables():
    from ibeat_core.drumgen import BodyCalibration
    q = np.linspace(0.0, 1.0, 5)
    with pytest.raises(ParameterError, match="shape"):
        BodyCalibration([q] * 3, {"any": [q] * 3})
    with pytest.raises(ParameterError, match="any"):
        BodyCalibration([q] * 4, {"rock": [q] * 4})
    with pytest.raises(ParameterError):
        BodyCalibration([q] * 4, {"any": [q] * 4, "disco": [q] * 4})
    with pytest.raises(ParameterError, match="non-decreasing"):
        BodyCalibration([q[::-1]] * 4, {"any": [q] * 4})
    with pytest.raises(ParameterError):
        BodyCalibration([q] * 4, {"any": [q] * 4}, density=float("nan"))
    with pytest.raises(ParameterError):
        DrumGenConfig(body_calibration="yes")


def test_shipped_body_calibration_and_the_session_uses_it():
    from ibeat_core.drumgen import BodyCalibration
    from ibeat_core.session import SessionConfig
    cal = BodyCalibration.of(DrumGenRuntime())
    assert set(cal.target) == set(GENRES) and cal.source.shape == (4, 101)
    assert 0.0 < cal.density < 0.5
    # The body accents the "e" more than drummers and the "and" less; the map undoes it.
    median = [np.interp(0.5, np.linspace(0, 1, 101), cal.source[p]) for p in range(4)]
    mapped = cal.style_map("rock")(np.tile(median, 3))
    assert mapped[1] < median[1] and mapped[2] > median[2]
    assert BodyCalibration.of(DrumGenRuntime("drumgen_paper")) is None
    assert SessionConfig().drumgen_config().body_calibration
    assert not DrumGenConfig().body_calibration


@pytest.fixture(scope="module")
def fixture_windows():
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)   # tiny networks; the machine is shared
    from ibeat_train.drumgen import build_windows, load_performances
    performances = load_performances(FIXTURES, split="train")
    return performances, build_windows(performances)


def test_windows_from_real_gmd(fixture_windows):
    performances, windows = fixture_windows
    assert len(performances) == 3
    assert {GENRES[p.genre] for p in performances} == {"any", "rock", "jazz"}  # pop -> any
    n = sum(len(p.style) // 4 - 3 for p in performances)
    assert len(windows) == n
    assert windows.style.shape == (n, 12) and windows.hits_ctx.shape == (n, 12, 9)
    assert windows.target.shape == (n, 4, 9) and set(np.unique(windows.target)) <= {0.0, 1.0}
    # The style is the loudest hit of each step: zero exactly where no drum sounds.
    np.testing.assert_array_equal(windows.style > 0, windows.hits_ctx.max(axis=2) > 0)


def test_corruption_only_removes_context_or_adds_a_few_hits(fixture_windows):
    from ibeat_train.drumgen import DrumGenConfigTrain, corrupt_context
    _, w = fixture_windows
    cfg = DrumGenConfigTrain(zero_context_prob=0.5, corrupt_prob=0.5, feedback_prob=0.0,
                             max_insert=0.0)
    style, hits, genre, feedback = corrupt_context(w.style, w.hits_ctx, w.genre,
                                                   np.random.default_rng(0), cfg)
    assert not feedback.any()
    assert np.all(hits <= w.hits_ctx)                      # no insertions when max_insert = 0
    zeroed = ~hits.reshape(len(hits), -1).any(axis=1) & w.hits_ctx.reshape(len(hits), -1).any(1)
    assert 0.3 < zeroed.mean() < 0.7
    assert style.min() >= 0 and style.max() <= 1
    assert set(genre) <= set(w.genre) | {0}


def test_generated_context_is_binary_and_follows_the_seed(fixture_windows):
    torch = pytest.importorskip("torch")
    from ibeat_train.drumgen import DrumGenNet, generated_context
    _, w = fixture_windows
    torch.manual_seed(0)
    net = DrumGenNet()
    seq = np.concatenate([w.lead_style[:5], w.style[:5]], axis=1)
    a = generated_context(net, seq, w.genre[:5], np.random.default_rng(1))
    b = generated_context(net, seq, w.genre[:5], np.random.default_rng(1))
    assert a.shape == (5, 12, 9) and set(np.unique(a)) <= {0.0, 1.0}
    np.testing.assert_array_equal(a, b)
    assert net.training   # the caller's mode is kept


def test_lead_style_is_the_style_before_the_context(fixture_windows):
    performances, w = fixture_windows
    first = 0
    for p in performances:
        n = len(p.style) // 4 - 3
        lead, style = w.lead_style[first:first + n], w.style[first:first + n]
        assert not lead[0].any()                                       # silence before the start
        np.testing.assert_array_equal(lead[3:, -4:], style[:-3, -4:])  # beat b-4, seen twice
        first += n


def test_network_shapes_and_parameter_count():
    torch = pytest.importorskip("torch")
    from ibeat_train.drumgen import DrumGenNet
    net = DrumGenNet().eval()
    assert 50_000 < sum(p.numel() for p in net.parameters()) < 200_000
    out = net(torch.zeros(3, 12), torch.zeros(3, 12, 9), torch.eye(len(GENRES))[:3])
    assert out.shape == (3, 4, 9)


@pytest.mark.usefixtures("onnx_export")
def test_training_smoke_run_and_onnx_parity(tmp_path, fixture_windows):
    torch = pytest.importorskip("torch")
    from ibeat_train.drumgen import (DrumGenConfigTrain, TorchDrumGen, drumgen_parity,
                                     export_drumgen, next_beat_f1, train_drumgen)
    _, w = fixture_windows
    cfg = DrumGenConfigTrain(steps=6, batch_size=32, eval_every=3)
    net, history = train_drumgen(w, w, cfg, progress=False)
    assert len(history["evals"]) == 2 and np.isfinite(history["best_val_score"])
    again, _ = train_drumgen(w, w, cfg, progress=False)
    for a, b in zip(net.state_dict().values(), again.state_dict().values()):
        torch.testing.assert_close(a, b)   # fixed seed, same weights
    table = next_beat_f1(net, w)
    assert set(table["per_class"]) == {"kick", "snare", "closed_hihat", "open_hihat", "low_tom",
                                       "mid_tom", "high_tom", "crash", "ride"}
    assert 0 <= table["micro"]["repeat_last_beat"] <= 1
    path = export_drumgen(net, tmp_path, meta={"parameters": 1})
    assert drumgen_parity(net, path, w) <= 1e-5
    from ibeat_models.runtime import OnnxModel
    onnx_net, torch_net = DrumGenRuntime(OnnxModel(path)), TorchDrumGen(net)
    bar = bar_features(BarPosition(3, 1, 4))
    np.testing.assert_allclose(onnx_net.logits(w.style[5], w.hits_ctx[5], 2, bar=bar),
                               torch_net.logits(w.style[5], w.hits_ctx[5], 2, bar=bar), atol=1e-5)
    # The paper's DrumGenNet (no bar) trains and exports too.
    paper, _ = train_drumgen(w, w, replace(cfg, bar_aware=False), progress=False)
    paper_path = export_drumgen(paper, tmp_path / "paper", meta={"name": "drumgen_paper"})
    assert paper_path.name == "drumgen_paper.onnx" and drumgen_parity(paper, paper_path, w) <= 1e-5
    assert not DrumGenRuntime(OnnxModel(paper_path)).bar_aware


@pytest.mark.parametrize("n_heads, bar_aware", [(1, True), (2, False)])
def test_the_export_forward_is_the_networks_own(n_heads, bar_aware):
    """DrumGenStep, the forward the ONNX graph is traced from, gives what DrumGenNet gives
    (one head or several, with the bar or without) for a batch of beats."""
    torch = pytest.importorskip("torch")
    from ibeat_train.drumgen import DrumGenNet, DrumGenStep, one_hot_genres

    torch.manual_seed(0)
    net = DrumGenNet(d_model=16, n_heads=n_heads, n_layers=1, dim_feedforward=16,
                     bar_aware=bar_aware).eval()
    rng = np.random.default_rng(0)
    args = [torch.tensor(rng.random((3, 12)), dtype=torch.float32),
            torch.tensor(rng.random((3, 12, 9)) < 0.2, dtype=torch.float32),
            torch.from_numpy(one_hot_genres([0, 3, 7]))]
    if bar_aware:
        args.append(torch.tensor(rng.random((3, 8)), dtype=torch.float32))
    with torch.no_grad():
        torch.testing.assert_close(DrumGenStep(net)(*args), net(*args), atol=1e-5, rtol=0)


def test_shipped_onnx_matches_its_torch_weights(fixture_windows):
    from ibeat_train.drumgen import drumgen_parity, load_drumgen_torch
    _, w = fixture_windows
    folder = model_dir("drumgen")
    net = load_drumgen_torch(folder / "drumgen.pt")
    assert drumgen_parity(net, folder / "drumgen.onnx", w) <= 1e-5
