"""The real-time engine with stand-in networks: scheduling, lead, clocks, silence, determinism."""

import numpy as np
import pytest

from ibeat_core.drums import GENRES, GM_EXPORT_PITCHES
from ibeat_core.errors import ParameterError
from ibeat_core.mono import MONO_TOKENS
from ibeat_core.session import (BeatCue, DrumHit, Networks, Session, SessionConfig,
                                hits_on_beat_grid, run_session)


class OffsetBeats:
    """Beat network: the causal kinematic offset, sharpened, is the beat probability."""

    def initial_state(self):
        from ibeat_core.kinematic import KinematicOffsetTracker
        return KinematicOffsetTracker()

    def step(self, row, flux, state):
        k = state.process_frame(row)
        return k, float(np.clip(k, 0.0, 1.0)) ** 4, state


class EchoStyle:
    """Style network: the envelope is the offset itself."""

    calibration = None

    def initial_state(self):
        return None

    def step(self, offset, state):
        return float(offset), state


class StyleFollower:
    """DrumGenNet stand-in: a kick wherever the newest beat of style was strong, hi-hats on 8ths."""

    def logits(self, style_ctx, hits_ctx, genre):
        z = np.full((4, 9), -4.0, dtype=np.float32)
        z[:, 0] = np.where(style_ctx[-4:] > 0.5, 4.0, -4.0)
        z[[0, 2], 2] = 4.0
        return z


class Snares:
    def initial_state(self):
        return None

    def step(self, token, state):
        logits = np.full(MONO_TOKENS, -5.0, dtype=np.float32)
        logits[1] = 5.0
        return logits, state


NETWORKS = Networks(beat=OffsetBeats(), style=EchoStyle(), drumgen=StyleFollower(), mono=Snares())


@pytest.fixture(scope="module")
def poly(aist_clip):
    return run_session(NETWORKS, aist_clip.timestamps_s + 50.0, aist_clip.keypoints,
                       config=SessionConfig(seed=3))


def test_poly_session_schedules_beats_ahead_in_the_clients_clock(poly, aist_clip):
    assert len(poly.beats) >= 8                        # 12 s of dance at 80 BPM
    times = [b.time_s for b in poly.beats]
    assert np.all(np.diff(times) > 0)
    assert min(times) >= 50.0 and max(times) <= 50.0 + aist_clip.timestamps_s[-1] + 2.0
    leads = np.array([b.time_s - b.emitted_s for b in poly.beats])
    assert np.all(leads <= 0.1 + 0.035 + 1 / 30 + 1e-9)   # lead + margin, plus at most one frame
    # The margin absorbs the forecast's jitter: nearly every beat leaves lead_s ahead.
    assert np.mean(leads >= 0.1 - 1e-9) >= 0.9
    for b in poly.beats:
        assert 60 <= b.tempo_bpm <= 180 and 0.5 <= b.confidence <= 1
    assert [b.index for b in poly.beats] == list(range(len(poly.beats)))


def test_poly_hits_sit_on_the_16th_grid_of_their_beat(poly):
    assert poly.hits
    beats = {b.index: b for b in poly.beats}
    for h in poly.hits:
        b = beats[h.beat_index]
        step_s = 60.0 / b.tempo_bpm / 4
        assert h.time_s == pytest.approx(b.time_s + h.step * step_s)
        assert h.time_s - h.emitted_s >= 0.02 - 1e-9   # never too late to play
        assert h.pitch == GM_EXPORT_PITCHES[h.drum_class]
        assert 0 < h.velocity <= 1 and 1 <= h.midi_velocity <= 127
        assert 0 <= h.joint < 17 and np.isfinite([h.joint_x, h.joint_y]).all()
    # A break dancer's beats come from the limbs, and the driver changes over the clip.
    joints = {h.joint for h in poly.hits}
    assert joints - {0, 1, 2, 3, 4} and len(joints) > 1
    grid = hits_on_beat_grid(poly.beats, poly.hits)
    assert grid.shape == (4 * len(poly.beats), 9)
    assert (grid[:, 2] > 0).sum() == 2 * len(poly.beats)   # the stand-in's 8th-note hi-hats


def test_streaming_push_equals_run_session_and_is_deterministic(poly, aist_clip):
    session = Session(NETWORKS, SessionConfig(seed=3))
    events = [e for t, kp in zip(aist_clip.timestamps_s + 50.0, aist_clip.keypoints)
              for e in session.push(t, kp)]
    assert [e for e in events if isinstance(e, BeatCue)] == poly.beats
    assert [e for e in events if isinstance(e, DrumHit)] == poly.hits
    session.reset()
    again = [e for t, kp in zip(aist_clip.timestamps_s + 50.0, aist_clip.keypoints)
             for e in session.push(t, kp)]
    assert again == events


def test_mono_mode_plays_one_note_per_beat(aist_clip):
    r = run_session(NETWORKS, aist_clip.timestamps_s, aist_clip.keypoints,
                    config=SessionConfig(mode="mono"))
    assert len(r.hits) == len(r.beats) > 0
    assert all(h.drum_class == 1 and h.step == 0 for h in r.hits)
    assert [h.time_s for h in r.hits] == [b.time_s for b in r.beats]


def test_a_dancer_who_stops_gets_silence_then_drums_again(aist_clip):
    t, kp = aist_clip.timestamps_s, aist_clip.keypoints
    half = len(t) // 2
    still = np.repeat(kp[half - 1:half], len(t), axis=0)       # frozen pose for 12 s
    times = np.concatenate([t[:half], t[half - 1] + t[1:] - t[0], t[half - 1] + t[-1] - t[0] + t[1:]])
    poses = np.concatenate([kp[:half], still[1:], kp[1:]])
    r = run_session(NETWORKS, times, poses)
    stop_s, restart_s = t[half - 1], t[half - 1] + t[-1] - t[0]
    silent = [b for b in r.beats if stop_s + 3.0 < b.time_s < restart_s]
    assert not silent
    assert any(b.time_s > restart_s for b in r.beats)


def test_any_draws_a_feel_with_the_seed_and_a_genre_is_kept(aist_clip):
    t, kp = aist_clip.timestamps_s[:240], aist_clip.keypoints[:240]

    def feels(**kwargs):
        return {b.feel for b in run_session(NETWORKS, t, kp, config=SessionConfig(**kwargs)).beats}

    assert feels(genre="jazz") == {"jazz"}
    drawn = [feels(seed=s) for s in range(8)]
    assert all(len(f) == 1 and f <= set(GENRES[1:]) for f in drawn)
    assert drawn == [feels(seed=s) for s in range(8)]            # the seed decides
    assert len(set().union(*drawn)) > 1                           # and seeds differ


def test_bad_configuration_is_refused():
    with pytest.raises(ParameterError, match="mode"):
        SessionConfig(mode="stereo")
    with pytest.raises(ParameterError, match="genre"):
        SessionConfig(genre="polka")
    with pytest.raises(ParameterError, match="lead_s"):
        SessionConfig(lead_s=0.0)
    with pytest.raises(ParameterError, match="forecast_margin_s"):
        SessionConfig(forecast_margin_s=-0.01)
    with pytest.raises(ParameterError):
        SessionConfig(temperature=-1.0)
    with pytest.raises(ParameterError, match="seed must be an integer >= 0, got -1"):
        SessionConfig(seed=-1)


def test_hits_that_would_be_late_are_skipped_and_counted(aist_clip):
    session = Session(NETWORKS, SessionConfig(min_lead_s=0.09, forecast_margin_s=0.0))
    events = [e for t, kp in zip(aist_clip.timestamps_s, aist_clip.keypoints)
              for e in session.push(t, kp)]
    hits = [e for e in events if isinstance(e, DrumHit)]
    assert hits and all(h.time_s - h.emitted_s >= 0.09 - 1e-9 for h in hits)
    assert session.late_hits_skipped > 0              # step-0 hits of beats committed < 90 ms ahead
    with pytest.raises(ParameterError, match="min_lead_s"):
        SessionConfig(min_lead_s=0.2)
