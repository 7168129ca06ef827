"""``ibeat evaluate follow``: clips streamed through the engine, scheduled beats scored."""

import json

import numpy as np
import pytest

from ibeat_cli.evaluate.following import (FollowCase, build_follow_cases, follow_case,
                                          format_follow_report, summarise)
from ibeat_core.session import SessionConfig


def _bundled_case(aist_clip, *, phase_known):
    t = aist_clip.timestamps_s
    grid = t[0] + np.arange(0.0, t[-1] - t[0], 0.75)  # the music: 80 BPM
    return FollowCase("aistpp-2d" if not phase_known else "dwm", "bundled view 0", "break", t,
                      aist_clip.keypoints, grid, phase_known, tempo_bpm=80.0,
                      motion_start_s=float(t[0]))


def test_a_case_is_the_engines_scheduled_beats_scored(networks, aist_clip):
    from ibeat_core.session import run_session
    from ibeat_metrics.following import coverage

    case = _bundled_case(aist_clip, phase_known=True)
    scores = follow_case(networks, case)
    result = run_session(networks, case.timestamps_s, case.keypoints, config=SessionConfig())
    beats = [b.time_s for b in result.beats]
    assert scores["scheduled_beats"] == len(beats) > 0 and scores["hits"] == len(result.hits)
    assert scores["coverage"] == coverage(case.reference_beats_s, beats,
                                          motion_start_s=case.motion_start_s)
    assert 0.0 <= scores["f_measure"] <= 1.0 and scores["f_measure_chance"] > 0
    # A tempo-only case keeps coverage and tempo, not what needs the phase.
    tempo_only = follow_case(networks, _bundled_case(aist_clip, phase_known=False))
    assert tempo_only["coverage"] == scores["coverage"]
    assert tempo_only["f_measure"] is None and tempo_only["lock_beats"] is None


def test_the_summary_averages_views_and_counts_locks_over_phase_known_cases():
    def row(coverage, lock, first, phase_known=True):
        keys = ("f_measure", "f_measure_chance", "cmlt", "cmlt_chance", "amlt", "amlt_chance",
                "tempo_agreement")
        return {**{k: (0.5 if phase_known else None) for k in keys}, "coverage": coverage,
                "lock_beats": lock, "first_drums_s": first, "beats_into_stillness": 1,
                "phase_known": phase_known, "relock_beats": (2, None) if phase_known else ()}

    cases = [FollowCase("dwm", f"s{i}", g, np.zeros(1), np.zeros((1, 17, 3)), np.zeros(0), True)
             for i, g in enumerate(("waltz", "waltz", "rumba"))]
    cases.append(FollowCase("aistpp-3d", "a", "pop", np.zeros(1), np.zeros((1, 17, 3)),
                            np.zeros(0), False))
    scores = [row(0.2, 3, 1.0), row(0.4, None, 2.0), row(0.9, 5, None), row(0.6, None, 1.5, False)]
    s = summarise(cases, scores)
    assert s["dwm"]["views"] == 3 and s["dwm"]["coverage"] == pytest.approx(0.5)
    assert s["dwm"]["lock_beats_median"] == 4.0 and s["dwm"]["lock_beats_share"] == round(2 / 3, 4)
    assert s["dwm"]["first_drums_s_median"] == 1.5 and s["dwm"]["beats_into_stillness"] == 3
    assert s["dwm"]["groups"]["waltz"]["coverage"] == pytest.approx(0.3)
    assert s["dwm"]["relock_beats_median"] == 2.0 and s["dwm"]["relock_beats_share"] == 0.5
    assert s["aistpp-3d"]["lock_beats_share"] is None and s["aistpp-3d"]["f_measure"] is None
    text = format_follow_report(s)
    assert "| **Dance-with-Melody** | 3 | 0.50 |" in text and "waltz" in text
    json.dumps(s)


@pytest.mark.slow
def test_real_datasets_give_cases_of_every_kind(data_dir):
    cases = build_follow_cases(data_dir, datasets=("aistpp-3d", "dwm", "exercise"), views=1,
                               include_train=True, progress=False)
    kinds = {c.dataset for c in cases}
    assert kinds == {"aistpp-3d", "dwm", "exercise"}
    exercise = [c for c in cases if c.dataset == "exercise"]
    assert len(exercise) == 40 and len({c.group for c in exercise}) == 8
    assert any(c.still_intervals for c in exercise) and any(c.relock_times_s for c in exercise)
    dwm = [c for c in cases if c.dataset == "dwm"]
    assert all(c.phase_known and len(c.reference_beats_s) > 20 for c in dwm)
    aist = [c for c in cases if c.dataset == "aistpp-3d"]
    assert len({c.group for c in aist}) == 10
    # A tempo-only clip's stand-in beats are at its music's tempo.
    c = aist[0]
    assert 60.0 / np.median(np.diff(c.reference_beats_s)) == pytest.approx(c.tempo_bpm)
