"""The anchors of ``ibeat evaluate follow``: established trackers on the engine's causal offsets."""

import json
import sys
from types import SimpleNamespace

import numpy as np
import pytest
from mir_eval.beat import f_measure

from ibeat_cli.evaluate import anchors
from ibeat_cli.evaluate.following import (ENGINE, FollowCase, Method, anchor_case, anchor_methods,
                                          format_follow_report, summarise)
from ibeat_core.visual_beats import pick_peaks

FPS = 30.0


def _pulse_train(bpm=120.0, seconds=30.0, start_s=5.0):
    """A clean activation: 1 on the 30 Hz frame of each beat, 0 elsewhere, on a clock from ``start_s``."""
    t = start_s + np.arange(int(seconds * FPS)) / FPS
    beats = t[np.round(np.arange(0.0, seconds, 60.0 / bpm) * FPS).astype(int)]
    offsets = np.zeros_like(t)
    offsets[np.searchsorted(t, beats)] = 1.0
    return t, offsets, beats


def _madmom():
    if anchors.load_madmom() is None:
        pytest.skip("madmom not installed (pip install '.[eval]')")


def _librosa():
    pytest.importorskip("librosa")


@pytest.mark.parametrize("name, needs", [
    ("rule_based_beats", None), ("madmom_online_beats", _madmom),
    ("madmom_offline_beats", _madmom), ("librosa_beat_track_beats", _librosa),
    ("librosa_plp_beats", _librosa)])
def test_every_anchor_finds_the_beats_of_a_clean_pulse_train(name, needs):
    if needs:
        needs()
    t, offsets, truth = _pulse_train()
    beats, tempi = getattr(anchors, name)(t, offsets)
    assert beats.shape == tempi.shape and np.all(np.diff(beats) > 0)
    assert f_measure(truth, beats) > 0.9
    # On the clip's own clock, at the pulse's tempo (the first interval may be a partial one).
    assert beats[0] >= t[0] and np.median(tempi) == pytest.approx(120.0, rel=0.02)


def test_madmom_online_is_causal():
    """The forward pass decides each frame on the past only: a clip cut in half
    gives the first half of the beats."""
    _madmom()
    t, offsets, _ = _pulse_train(bpm=100.0)
    full, _ = anchors.madmom_online_beats(t, offsets)
    part, _ = anchors.madmom_online_beats(t[:len(t) // 2], offsets[:len(t) // 2])
    assert len(part) > 10
    np.testing.assert_array_equal(part, full[:len(part)])
    assert full[len(part)] > t[len(t) // 2 - 1]


def test_a_rule_based_beat_is_known_half_a_window_after_it():
    t, offsets, truth = _pulse_train()
    rng = np.random.default_rng(0)
    offsets = 0.9 * offsets + 0.01 * rng.random(len(t))   # jitter below the 0.015 threshold
    beats, _ = anchors.rule_based_beats(t, offsets)
    # Scored at the peak itself, as ``ibeat evaluate beats`` does ...
    np.testing.assert_allclose(beats, truth)
    # ... and decided exactly RULE_BASED_DELAY_S later: every beat appears once
    # the offsets reach that far, and a higher offset at that last frame still undoes it.
    delay = int(round(anchors.RULE_BASED_DELAY_S * FPS))
    assert delay == 4
    for frame in np.searchsorted(t, truth[:6]):
        assert frame in pick_peaks(offsets[:frame + delay + 1])
        assert frame not in pick_peaks(np.r_[offsets[:frame + delay], np.ones(delay + 1)])


def test_the_rule_based_drums_sound_when_the_beat_is_known():
    t, offsets, truth = _pulse_train(start_s=0.0)
    case = FollowCase("exercise", "pulse", "bounce", t, np.zeros((len(t), 17, 3)), truth, True,
                      motion_start_s=0.0)
    rhythm = SimpleNamespace(times_s=t, offsets=offsets)
    rule = Method("rule-based", "Rule-based", beats=anchors.rule_based_beats,
                  delay_s=anchors.RULE_BASED_DELAY_S)
    scores = anchor_case(rule, case, rhythm=rhythm)
    assert scores["f_measure"] == 1.0 and scores["lock_beats"] == 0
    assert scores["first_drums_s"] == pytest.approx(anchors.RULE_BASED_DELAY_S)
    undelayed = anchor_case(Method("peaks", "peaks", beats=anchors.rule_based_beats), case,
                            rhythm=rhythm)
    assert undelayed["first_drums_s"] == 0.0 and undelayed["f_measure"] == 1.0


def test_anchor_methods_are_rule_based_then_what_is_installed():
    methods, notes = anchor_methods()
    keys = [m.key for m in methods]
    assert keys[0] == "rule-based" and methods[0].causal and methods[0].delay_s > 0
    missing = (anchors.load_madmom() is None) + (anchors.load_librosa() is None)
    assert len(methods) == 5 - 2 * missing and len(notes) == missing
    causal = {m.key: m.causal for m in methods}
    assert causal.get("madmom-online", True)
    assert not any(causal.get(k, False) for k in ("madmom-offline", "librosa-beat-track",
                                                  "librosa-plp"))


def test_without_madmom_and_librosa_their_anchors_are_skipped_with_a_note(monkeypatch):
    # None in sys.modules makes an import fail, even of a module imported before.
    for name in ("madmom", "madmom.features", "madmom.features.beats", "librosa"):
        monkeypatch.setitem(sys.modules, name, None)
    methods, notes = anchor_methods()
    assert [m.key for m in methods] == ["rule-based"]
    assert len(notes) == 2 and all("pip install '.[eval]'" in n for n in notes)


def test_the_summary_has_one_row_per_method_per_dataset():
    def row(f, coverage):
        keys = ("f_measure", "f_measure_chance", "cmlt", "cmlt_chance", "amlt", "amlt_chance",
                "tempo_agreement")
        return {**{k: f for k in keys}, "coverage": coverage, "lock_beats": None,
                "first_drums_s": 1.0, "beats_into_stillness": 0, "phase_known": True,
                "relock_beats": ()}

    cases = [FollowCase(d, f"s{i}", "waltz", np.zeros(1), np.zeros((1, 17, 3)), np.zeros(0), True)
             for i, d in enumerate(("dwm", "dwm", "exercise"))]
    online = Method("madmom-online", "madmom DBN, online (forward)")
    offline = Method("madmom-offline", "madmom DBN, offline (Viterbi)", causal=False)
    rule = Method("rule-based", "Rule-based, paper 4.4", delay_s=0.133)
    s = summarise(cases, [row(0.1, 0.3)] * 3,
                  anchors=[(rule, [row(0.2, 0.5)] * 3), (online, [row(0.3, 0.6), row(0.5, 0.8),
                                                                  row(0.0, 0.0)]),
                           (offline, [row(0.4, 0.9)] * 3)])
    for dataset in ("dwm", "exercise"):
        assert list(s[dataset]["methods"]) == [ENGINE.key, "rule-based", "madmom-online",
                                               "madmom-offline"]
    dwm = s["dwm"]["methods"]
    assert dwm["madmom-online"]["f_measure"] == pytest.approx(0.4)
    assert dwm["madmom-online"]["views"] == 2 and s["exercise"]["methods"]["madmom-online"][
        "coverage"] == 0.0
    assert dwm[ENGINE.key]["coverage"] == s["dwm"]["coverage"] == pytest.approx(0.3)
    assert not dwm["madmom-offline"]["causal"] and dwm["rule-based"]["delay_s"] == 0.133
    text = format_follow_report(s)
    block = text[text.index("Dance-with-Melody, 2 views, side by side:"):].split("\n\n")[1]
    rows = block.splitlines()[2:]
    assert [r.split(" | ")[0] for r in rows] == [
        f"| {ENGINE.label}", "| Rule-based, paper 4.4", "| madmom DBN, online (forward)",
        "| madmom DBN, offline (Viterbi)"]
    assert [r.split(" | ")[1] for r in rows] == ["yes", "yes (+133 ms)", "yes", "no"]
    assert rows[2].split(" | ")[2:4] == ["0.70", "0.40"]
    json.dumps(s)
    # The engine alone keeps today's tables, no side-by-side block.
    alone = format_follow_report(summarise(cases, [row(0.1, 0.3)] * 3))
    assert "side by side" not in alone and "| **Dance-with-Melody** | 2 | 0.30 |" in alone
