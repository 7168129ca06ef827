"""Beats counted in bars: meter from the accents, the one on the strongest beat."""

import numpy as np
import pytest

from ibeat_core.bar import BAR_FEATURES, BarConfig, BarCounter, BarPosition, bar_features
from ibeat_core.errors import ParameterError


def _count(pattern, n_beats, config=BarConfig(), noise=0.05, seed=0):
    rng = np.random.default_rng(seed)
    counter = BarCounter(config)
    accents = np.resize(pattern, n_beats) + rng.uniform(0, noise, n_beats)
    # Each call gets the accent of the beat before the one it places.
    return [counter.next_beat(None if i == 0 else accents[i - 1]) for i in range(n_beats)]


def test_a_waltz_is_counted_in_three_and_a_march_in_four():
    waltz = _count([1.0, 0.3, 0.3], 60)
    assert all(p.beats_per_bar == 3 for p in waltz[-30:])
    # The strong beats are the ones.
    assert all(p.beat == 0 for i, p in enumerate(waltz[-30:], start=30) if i % 3 == 0)
    march = _count([1.0, 0.3, 0.7, 0.3], 60)
    assert all(p.beats_per_bar == 4 for p in march)
    assert all(p.beat == 0 for i, p in enumerate(march) if i % 4 == 0)


def test_the_one_moves_to_the_stressed_beat_at_a_bar_line():
    # The body stresses what the count calls beat 3: the count moves so that it is the one.
    positions = _count([0.3, 0.3, 1.0, 0.3], 48, BarConfig(meter="4/4"))
    late = positions[-16:]
    stressed = [p.beat for i, p in enumerate(late, start=32) if i % 4 == 2]
    assert stressed == [0] * len(stressed)
    # Bars and phrases keep counting: every bar of the phrase comes round.
    assert {p.bar for p in positions} == {0, 1, 2, 3}


def test_no_accents_keep_the_stated_rule():
    counter = BarCounter()
    positions = [counter.next_beat() for _ in range(20)]
    assert [p.beat for p in positions[:8]] == [0, 1, 2, 3] * 2
    assert positions[16] == BarPosition(0, 0, 4)     # a new phrase after four bars
    fixed = BarCounter(BarConfig(meter="3/4"))
    assert [fixed.next_beat(1.0).beat for _ in range(6)] == [0, 1, 2] * 2
    counter.reset()
    assert counter.next_beat() == BarPosition(0, 0, 4)


def test_bar_features_and_bad_settings():
    f = bar_features(BarPosition(1, 2, 4))
    assert f.shape == (BAR_FEATURES,) and f.sum() == 2 and f[1] == f[6] == 1
    assert bar_features(BarPosition(2, 0, 3))[3] == 1          # a waltz's last beat leads to the one
    assert bar_features(BarPosition(0, 7, 4), phrase_bars=8)[7] == 1
    for bad in (dict(meter="5/4"), dict(phrase_bars=0), dict(min_beats=4),
                dict(history_beats=10), dict(margin=0.0)):
        with pytest.raises(ParameterError):
            BarConfig(**bad)
    with pytest.raises(ParameterError, match="accent"):
        BarCounter().next_beat(-1.0)
