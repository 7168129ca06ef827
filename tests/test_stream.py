"""The transport-neutral stream rules (ibeat_core.stream): clock, restarts, numbering, stats."""

import numpy as np
import pytest

from ibeat_core.errors import ParameterError
from ibeat_core.session import BeatCue, DrumHit, Session, SessionConfig, run_session
from ibeat_core.stream import (EngineStream, StreamBeat, StreamHit, StreamRestarted, to_us)

UNIX_US = 1_700_000_000_000_000  # a client clock in Unix microseconds


class CountingEngine:
    """Every 3rd push commits a beat 0.5 s ahead with one hit; its own indices restart on reset."""

    def __init__(self):
        self.reset()

    def reset(self):
        self.pushes = []
        self.beats = 0

    def push(self, time_s, keypoints=None):
        self.pushes.append(time_s)
        if len(self.pushes) % 3:
            return []
        index = self.beats
        self.beats += 1
        beat_s = time_s + 0.5
        return [BeatCue(beat_s, 120.0, 0.9, index, time_s, "rock"),
                DrumHit(beat_s, 0, 36, 0.8, 102, index, 0, time_s, 11, 1.0, 2.0)]


def _push_all(stream, times_us):
    return [stream.push(t, frame_id=i) for i, t in enumerate(times_us)]


def test_engine_time_runs_from_the_first_frame_and_events_come_back_on_the_wire_clock():
    engine = CountingEngine()
    stream = EngineStream(engine)
    times = UNIX_US + np.arange(6) * 33_333
    steps = _push_all(stream, times)
    assert engine.pushes == pytest.approx((times - times[0]) / 1e6, abs=1e-12)
    beat, hit = steps[2].events
    assert isinstance(beat, StreamBeat) and isinstance(hit, StreamHit)
    assert beat.time_us == times[2] + 500_000 and beat.emitted_us == times[2]
    assert hit.time_us == beat.time_us and hit.beat_index == beat.index == 0
    assert stream.last_us == times[-1] and stream.last_frame_id == 5
    assert stream.frames_processed == 6 and stream.restarts == 0


def test_a_long_gap_restarts_the_engine_and_beat_indices_are_never_reused():
    engine = CountingEngine()
    stream = EngineStream(engine, max_gap_us=2_000_000)
    before = _push_all(stream, UNIX_US + np.arange(6) * 100_000)
    resume_us = UNIX_US + 500_000 + 2_500_000
    after = [stream.push(resume_us + k * 100_000) for k in range(6)]
    restarted = after[0].events[0]
    assert isinstance(restarted, StreamRestarted)
    assert (restarted.time_us, restarted.gap_us) == (resume_us, 2_500_000)
    assert "max_gap_us" in restarted.reason
    # The engine started over at the restarting frame: engine time 0 there.
    assert engine.pushes[0] == 0.0 and len(engine.pushes) == 6
    indices = [e.index for s in before + after for e in s.events if isinstance(e, StreamBeat)]
    assert indices == [0, 1, 2, 3]
    assert stream.restarts == 1


def test_a_gap_within_the_limit_or_no_limit_never_restarts():
    for max_gap in (2_000_000, None):
        stream = EngineStream(CountingEngine(), max_gap_us=max_gap)
        steps = _push_all(stream, [0, 1_999_999, 60_000_000 if max_gap is None else 3_999_998])
        assert not any(isinstance(e, StreamRestarted) for s in steps for e in s.events)


@pytest.mark.parametrize("second_us, word", [(1_000, "repeated"), (999, "going backwards")])
def test_timestamps_must_increase_and_a_bad_frame_changes_nothing(second_us, word):
    engine = CountingEngine()
    stream = EngineStream(engine)
    stream.push(1_000, frame_id=7)
    with pytest.raises(ParameterError, match=f"frame 8: timestamps must strictly increase.*{word}"):
        stream.push(second_us, frame_id=8)
    assert stream.frames_processed == 1 and len(engine.pushes) == 1
    stream.push(2_000, frame_id=9)
    assert stream.last_frame_id == 9


def test_engine_errors_name_the_frame():
    class Rejecting:
        def reset(self):
            pass

        def push(self, time_s, keypoints):
            raise ParameterError("keypoints must have 17 joints")

    with pytest.raises(ParameterError, match="^frame 4: keypoints must have 17 joints$"):
        EngineStream(Rejecting()).push(0, np.zeros((3, 2)), frame_id=4)


def test_stats_are_due_every_interval_not_at_the_first_frame():
    stream = EngineStream(CountingEngine(), stats_interval_us=1_000_000)
    due = [s.stats_due for s in _push_all(stream, np.arange(32) * 100_000)]
    assert [i for i, d in enumerate(due) if d] == [10, 20, 30]


def test_an_explicit_restart_swaps_the_engine_moves_the_origin_and_reports_stats_at_once():
    first, second = CountingEngine(), CountingEngine()
    stream = EngineStream(first, origin_us=5_000_000, max_gap_us=None)
    _push_all(stream, 5_000_000 + np.arange(3) * 100_000)
    stream.restart(time_us=9_000_000, origin_us=8_900_000, engine=second, reason="looped")
    step = stream.push(9_000_000)
    restarted = step.events[0]
    assert (restarted.time_us, restarted.gap_us, restarted.reason) == (9_000_000, 3_800_000,
                                                                       "looped")
    assert step.stats_due and stream.restarts == 1
    assert second.pushes == [pytest.approx(0.1)] and len(first.pushes) == 3
    steps = _push_all(stream, 9_000_000 + np.arange(1, 3) * 100_000)
    beat = next(e for e in steps[-1].events if isinstance(e, StreamBeat))
    assert beat.index == 1  # the first engine's beat 0 keeps its number
    assert beat.time_us == to_us(8_900_000, second.pushes[-1] + 0.5)


def test_a_real_session_through_the_stream_gives_the_offline_drums(aist_clip):
    """Same frames, same seed: the stream's wire events are the offline run's, on the wire clock."""
    from ibeat_models import load_networks

    networks = load_networks()
    t, kp = aist_clip.timestamps_s[:240], aist_clip.keypoints[:240]
    times_us = UNIX_US + np.round((t - t[0]) * 1e6).astype(np.int64)
    config = SessionConfig(seed=3)
    offline = run_session(networks, (times_us - UNIX_US) / 1e6, kp, config=config)
    stream = EngineStream(Session(networks, config))
    events = [e for i, (tu, k) in enumerate(zip(times_us, kp))
              for e in stream.push(int(tu), k, frame_id=i).events]
    beats = [e for e in events if isinstance(e, StreamBeat)]
    hits = [e for e in events if isinstance(e, StreamHit)]
    assert len(offline.beats) > 0
    assert [b.cue for b in beats] == offline.beats
    assert [h.hit for h in hits] == offline.hits
    assert [b.time_us for b in beats] == [to_us(UNIX_US, b.time_s) for b in offline.beats]
    assert [h.time_us for h in hits] == [to_us(UNIX_US, h.time_s) for h in offline.hits]


def test_bad_settings_are_refused():
    with pytest.raises(ParameterError, match="max_gap_us"):
        EngineStream(CountingEngine(), max_gap_us=0)
    with pytest.raises(ParameterError, match="stats_interval_us"):
        EngineStream(CountingEngine(), stats_interval_us=0)
