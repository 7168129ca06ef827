"""Load and abuse limits: idle streams end, one address cannot hold every slot, an overloaded
loop refuses new sessions and paces streams running ahead of real time, late hits are not sent."""

import asyncio
import threading
import time

import grpc
import numpy as np
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from ibeat_grpc.load import LoopMonitor, ServerLimits, Shedder, StreamClock, peer_host
from ibeat_grpc.replay import clip_frames, replay
from ibeat_grpc.server import main as server_main
from ibeat_grpc.server import start_server
from ibeat_grpc.servicer import StreamPipeline, _drop_late_hits, _Stream, Outbox
from ibeat_grpc.v1 import ibeat_pb2 as pb
from ibeat_grpc.v1 import ibeat_pb2_grpc as pb_grpc

TIMEOUT_S = 30


class FakeClock:
    def __init__(self, t=100.0):
        self.t = t

    def __call__(self):
        return self.t


# -- pure parts ---------------------------------------------------------------------------
def test_peer_host_drops_the_port_of_every_peer_form():
    assert peer_host("ipv4:192.168.1.20:50123") == "192.168.1.20"
    assert peer_host("ipv6:[fe80::1]:50123") == "fe80::1"
    assert peer_host("ws:::1:8765") == "::1"
    assert peer_host("ws:10.1.2.3:8765") == "10.1.2.3"
    assert peer_host("unix:/run/ibeat.sock") == "unix:/run/ibeat.sock"
    # Two connections of one client share a host.
    assert peer_host("ipv4:10.0.0.1:1") == peer_host("ipv4:10.0.0.1:2")


@pytest.mark.parametrize("field", ["config_timeout_s", "idle_timeout_s", "pace_lag_s",
                                   "refuse_lag_s", "max_ahead_s", "contention_memory_s"])
@pytest.mark.parametrize("value", [0.0, -1.0, float("nan")])
def test_limits_refuse_values_that_are_not_positive(field, value):
    with pytest.raises(ValueError, match=field):
        ServerLimits(**{field: value})


@pytest.mark.parametrize("value", [-0.001, 0.021, float("nan")])
def test_limits_refuse_a_batch_window_outside_0_to_20_ms(value):
    with pytest.raises(ValueError, match="batch_window_s"):
        ServerLimits(batch_window_s=value)
    assert ServerLimits(batch_window_s=0.0).batch_window_s == 0.0


def test_limits_refuse_a_per_peer_cap_below_one():
    with pytest.raises(ValueError, match="max_sessions_per_peer"):
        ServerLimits(max_sessions_per_peer=0)


def test_loop_monitor_keeps_the_worst_lag_of_its_window_and_remembers_contention():
    clock = FakeClock()
    m = LoopMonitor(interval_s=0.02, window_s=1.0, contention_s=0.025, clock=clock)
    assert m.lag_s == 0.0 and not m.contended_within(10.0)
    m.record(clock.t, 0.004)
    m.record(clock.t + 0.1, 0.050)
    clock.t += 0.2
    assert m.lag_s == pytest.approx(0.050)
    assert m.contended_within(10.0)
    clock.t += 1.5  # the 50 ms sample left the window; contention is remembered longer
    m.record(clock.t, 0.001)
    assert m.lag_s == pytest.approx(0.001)
    assert m.contended_within(10.0) and not m.contended_within(1.0)
    assert m.samples == 3 and m.total_lag_s == pytest.approx(0.055)


def test_loop_monitor_sees_a_loop_that_is_busy_right_now():
    clock = FakeClock()
    m = LoopMonitor(interval_s=0.02, clock=clock)
    m._due = clock.t + 0.02  # the monitor's timer is set ...
    clock.t += 0.5           # ... and the loop has not run it for half a second
    assert m.lag_s == pytest.approx(0.48)
    assert m.contended_within(0.001)


def test_loop_monitor_measures_a_blocked_loop():
    async def scenario():
        m = LoopMonitor(interval_s=0.01, window_s=5.0)
        task = asyncio.get_running_loop().create_task(m.run())
        await asyncio.sleep(0.05)
        time.sleep(0.2)  # the loop is blocked, as by a slow engine step
        await asyncio.sleep(0.05)
        task.cancel()
        return m.lag_s

    assert asyncio.run(scenario()) >= 0.15


def _real_time_clock(n=90, fps=30.0, transit_s=0.003, jitter_s=0.01, seed=0):
    """A client whose clock reads 5000 s when the server's reads 100 s: frames arrive after a
    transit plus jitter. Returns (StreamClock, the true offset server - client [us])."""
    rng = np.random.default_rng(seed)
    clock = StreamClock()
    for i in range(n):
        t_client_us = 5_000_000_000 + int(i / fps * 1e6)
        arrival = 100.0 + i / fps + transit_s + rng.uniform(0, jitter_s)
        clock.observe(arrival, t_client_us)
    return clock, 100e6 - 5_000_000_000


def test_stream_clock_never_reads_later_than_the_clients_clock():
    clock, offset = _real_time_clock()
    now = 100.0 + 3.0 + 0.1
    est = clock.client_now_us(now)
    true = now * 1e6 - offset
    assert est <= true           # a hit is only called late when it certainly is
    assert true - est < 4_000    # within the smallest transit (3 ms) plus rounding


def test_stream_clock_has_no_clock_for_a_stream_faster_than_real_time():
    clock = StreamClock()
    for i in range(100):  # 3.3 s of frames in 0.1 s
        clock.observe(10.0 + i * 0.001, int(i / 30 * 1e6))
    assert clock.client_now_us(10.2) is None


def test_pacing_holds_a_stream_to_real_time_from_when_contention_began():
    clock = StreamClock()
    clock.observe(10.0, 0)
    clock.observe(10.01, 1_990_000)
    assert clock.pace_delay(10.01, contended=False, max_ahead_s=1.0) == 0.0
    assert clock.pace_delay(10.01, contended=True, max_ahead_s=1.0) == 0.0  # anchored here
    for k in range(2, 5):
        clock.observe(10.01 + 0.001 * k, 1_990_000 * k)
    # 5.97 s of stream time in 3 ms of wall time since the anchor: wait all but max_ahead_s.
    delay = clock.pace_delay(10.014, contended=True, max_ahead_s=1.0)
    assert delay == pytest.approx(5.97 - 0.004 - 1.0, abs=1e-6)
    assert clock.pace_delay(10.014, contended=False, max_ahead_s=1.0) == 0.0


def test_a_real_time_stream_is_never_paced():
    clock, _ = _real_time_clock(n=1)
    assert clock.pace_delay(100.01, contended=True, max_ahead_s=1.0) == 0.0
    for i in range(1, 300):
        clock.observe(100.0 + i / 30 + 0.002 * (i % 5), 5_000_000_000 + int(i / 30 * 1e6))
        assert clock.pace_delay(100.0 + i / 30 + 0.002 * (i % 5), contended=True,
                                max_ahead_s=1.0) == 0.0


def test_a_real_time_stream_working_off_a_backlog_is_not_paced():
    """Frames that queued behind a busy loop are taken as fast as the loop can; pacing them
    to real time would keep the stream (and its hits) behind for as long as the loop is busy."""
    clock = StreamClock()
    for i in range(30):  # on time for a second, the loop not contended
        clock.observe(100.0 + i / 30, int(i / 30 * 1e6), waited=True)
        assert clock.pace_delay(100.0 + i / 30, contended=False, max_ahead_s=1.0) == 0.0
    # Its frames queued in gRPC (the loop's own lag did not show it yet); from t = 104 s the
    # loop reads as contended, and the next 3 s of frames (90) are read 1 ms apart.
    now = 104.0
    for i in range(30, 120):
        now += 0.001
        clock.observe(now, int(i / 30 * 1e6))
        assert clock.pace_delay(now, contended=True, max_ahead_s=1.0) == 0.0
    assert clock.delay_s == pytest.approx(now - 100.0 - 119 / 30, abs=1e-3)   # still behind
    # Caught up and real time again: still not paced.
    for i in range(120, 180):
        now = 100.0 + i / 30 + 0.002
        clock.observe(now, int(i / 30 * 1e6), waited=True)
        assert clock.pace_delay(now, contended=True, max_ahead_s=1.0) == 0.0


def _hits_message(times_us):
    return pb.ServerMessage(hits=pb.DrumHits(beat_index=3, hits=[
        pb.DrumHit(time_us=int(t), beat_index=3, step=k) for k, t in enumerate(times_us)]))


def test_late_hits_are_dropped_and_counted_the_rest_sent():
    stream = _Stream("s", Outbox(4))
    stream.pipeline = StreamPipeline(None, session_id="s")
    stream.clock, offset = _real_time_clock()
    now = 100.0 + 3.0
    client_now = now * 1e6 - offset
    msg = _hits_message([client_now - 50_000, client_now + 20_000, client_now + 80_000])
    out = _drop_late_hits(msg, stream, now)
    assert [h.step for h in out.hits.hits] == [1, 2]
    assert stream.pipeline.hits_dropped_late == 1
    assert _drop_late_hits(_hits_message([client_now - 10_000]), stream, now) is None
    assert stream.pipeline.hits_dropped_late == 2
    beat = pb.ServerMessage(beat=pb.BeatEvent(time_us=int(client_now - 1e6)))
    assert _drop_late_hits(beat, stream, now) is beat  # beats still tell the tempo


# -- a real server ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def frames(aist_clip):
    return clip_frames(aist_clip.timestamps_s, aist_clip.keypoints)


@pytest.fixture(scope="module")
def strict_server(networks):
    running = start_server(0, networks=networks, max_sessions=8, ws_port=0, limits=ServerLimits(
        config_timeout_s=0.5, idle_timeout_s=0.8))
    yield running
    running.stop(1)


def _wait_for(predicate, timeout_s=10.0):
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def _stream(channel, messages, *, hold: threading.Event | None = None):
    """One Session: (messages received, status code, details); ``hold`` keeps the request
    side open until set."""
    def requests():
        yield from messages
        if hold is not None:
            hold.wait(TIMEOUT_S)

    out = []
    try:
        for m in pb_grpc.IbeatStub(channel).Session(requests(), timeout=TIMEOUT_S):
            out.append(m)
    except grpc.RpcError as e:
        return out, e.code(), e.details()
    return out, grpc.StatusCode.OK, ""


def _config():
    return pb.ClientMessage(config=pb.SessionConfig(layout=pb.SKELETON_LAYOUT_COCO17))


def _frame_messages(frames, n):
    t_us, kp = frames
    return [pb.ClientMessage(frame=pb.PoseFrame(timestamp_us=int(t_us[i]), frame_id=i,
                                                keypoints=np.ravel(kp[i]).tolist()))
            for i in range(n)]


def test_a_stream_without_a_config_ends_and_frees_its_slot(strict_server):
    hold = threading.Event()
    with grpc.insecure_channel(f"127.0.0.1:{strict_server.port}") as ch:
        t0 = time.monotonic()
        out, code, details = _stream(ch, [], hold=hold)
        waited = time.monotonic() - t0
    hold.set()
    assert code == grpc.StatusCode.DEADLINE_EXCEEDED, details
    assert "--config-timeout-s" in details and out == []
    assert 0.4 <= waited < 5
    assert _wait_for(lambda: strict_server.servicer.active_sessions == 0)


def test_an_idle_stream_gets_its_final_stats_then_ends(strict_server, frames):
    hold = threading.Event()
    with grpc.insecure_channel(f"127.0.0.1:{strict_server.port}") as ch:
        out, code, details = _stream(ch, [_config(), *_frame_messages(frames, 5)], hold=hold)
    hold.set()
    assert code == grpc.StatusCode.DEADLINE_EXCEEDED, details
    assert "--idle-timeout-s" in details
    assert out[0].HasField("accepted")
    assert out[-1].HasField("stats") and out[-1].stats.final
    assert out[-1].stats.frames_processed == 5
    assert _wait_for(lambda: strict_server.servicer.active_sessions == 0)


def test_an_idle_websocket_closes_with_deadline_exceeded(strict_server):
    url = f"ws://127.0.0.1:{strict_server.ws_port}/ibeat.v1.Ibeat/Session"
    with connect(url, open_timeout=TIMEOUT_S) as ws:
        with pytest.raises(ConnectionClosed):
            while True:
                ws.recv(timeout=TIMEOUT_S)
        assert ws.close_code == 4000 + grpc.StatusCode.DEADLINE_EXCEEDED.value[0]
        assert "--config-timeout-s" in ws.close_reason


def test_a_stream_that_keeps_sending_is_not_idle(strict_server, frames):
    """Frames 0.3 s apart for 1.5 s, longer than the 0.8-s idle limit in all."""
    msgs = _frame_messages(frames, 6)

    def requests():
        yield _config()
        for m in msgs:
            time.sleep(0.3)
            yield m

    with grpc.insecure_channel(f"127.0.0.1:{strict_server.port}") as ch:
        out = list(pb_grpc.IbeatStub(ch).Session(requests(), timeout=TIMEOUT_S))
    assert out[-1].stats.final and out[-1].stats.frames_processed == 6


def test_get_info_lists_the_limits(strict_server):
    with grpc.insecure_channel(f"127.0.0.1:{strict_server.port}") as ch:
        info = pb_grpc.IbeatStub(ch).GetInfo(pb.GetInfoRequest(), timeout=TIMEOUT_S)
    assert info.config_timeout_us == 500_000 and info.idle_timeout_us == 800_000
    assert info.max_sessions_per_peer == 0  # no cap on this server
    assert 0 <= info.loop_lag_us < 1_000_000


def test_one_address_cannot_hold_every_slot(networks, frames):
    running = start_server(0, networks=networks, max_sessions=8,
                           limits=ServerLimits(max_sessions_per_peer=2))
    hold = threading.Event()
    results = []
    try:
        with grpc.insecure_channel(f"127.0.0.1:{running.port}") as ch:
            threads = [threading.Thread(target=lambda: results.append(
                _stream(ch, [_config()], hold=hold))) for _ in range(2)]
            for th in threads:
                th.start()
            assert _wait_for(lambda: running.servicer.active_sessions == 2)
            out, code, details = _stream(ch, [_config()])
            assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert "--max-sessions-per-peer" in details
            info = pb_grpc.IbeatStub(ch).GetInfo(pb.GetInfoRequest(), timeout=TIMEOUT_S)
            assert info.max_sessions_per_peer == 2
            hold.set()
            for th in threads:
                th.join(TIMEOUT_S)
            assert [r[1] for r in results] == [grpc.StatusCode.OK] * 2
            assert _wait_for(lambda: running.servicer.active_sessions == 0)
            # The slots are free again.
            out, code, details = _stream(ch, [_config(), *_frame_messages(frames, 2)])
            assert code == grpc.StatusCode.OK, details
    finally:
        hold.set()
        running.stop(1)


def _on_loop(running, fn):
    async def call():
        return fn()
    return asyncio.run_coroutine_threadsafe(call(), running.loop).result(TIMEOUT_S)


def test_one_stall_of_the_loop_refuses_nothing(networks, frames):
    running = start_server(0, networks=networks, max_sessions=8)
    try:
        monitor = running.servicer.monitor
        time.sleep(0.3)  # the monitor's own samples: a loop keeping up
        _on_loop(running, lambda: monitor.record(monitor.now(), 0.6))
        with grpc.insecure_channel(f"127.0.0.1:{running.port}") as ch:
            info = pb_grpc.IbeatStub(ch).GetInfo(pb.GetInfoRequest(), timeout=TIMEOUT_S)
            assert info.loop_lag_us >= 600_000       # reported as it was
            out, code, details = _stream(ch, [_config(), *_frame_messages(frames, 2)])
            assert code == grpc.StatusCode.OK, details
    finally:
        running.stop(1)


def test_an_overloaded_loop_refuses_new_sessions(networks, frames):
    running = start_server(0, networks=networks, max_sessions=8)
    try:
        monitor = running.servicer.monitor

        def late_all_along():  # a loop that was late at every tick of the last second
            for k in range(200):
                monitor.record(monitor.now() - k * 0.004, 0.6)
        _on_loop(running, late_all_along)
        with grpc.insecure_channel(f"127.0.0.1:{running.port}") as ch:
            info = pb_grpc.IbeatStub(ch).GetInfo(pb.GetInfoRequest(), timeout=TIMEOUT_S)
            assert info.loop_lag_us >= 600_000
            out, code, details = _stream(ch, [_config()])
            assert code == grpc.StatusCode.RESOURCE_EXHAUSTED and "overloaded" in details
            # A second later the lag has left the monitor's window: sessions are taken again.
            assert _wait_for(lambda: _stream(ch, [_config(), *_frame_messages(frames, 2)])[1]
                             == grpc.StatusCode.OK, timeout_s=5)
    finally:
        running.stop(1)


def test_a_stream_running_ahead_is_paced_only_while_the_loop_is_contended(networks, frames):
    running = start_server(0, networks=networks, max_sessions=8,
                           limits=ServerLimits(max_ahead_s=0.5))
    t_us, kp = frames
    n = int(np.searchsorted(t_us, t_us[0] + 2_500_000))  # 2.5 s of the clip
    config = pb.SessionConfig(layout=pb.SKELETON_LAYOUT_COCO17)
    try:
        target = f"127.0.0.1:{running.port}"
        t0 = time.monotonic()
        free = replay(target, t_us[:n], kp[:n], config=config, speed=None, timeout_s=TIMEOUT_S)
        free_s = time.monotonic() - t0
        monitor = running.servicer.monitor
        _on_loop(running, lambda: monitor.record(monitor.now(), 0.05))  # contended from now
        t0 = time.monotonic()
        paced = replay(target, t_us[:n], kp[:n], config=config, speed=None, timeout_s=TIMEOUT_S)
        paced_s = time.monotonic() - t0
    finally:
        running.stop(1)
    assert free.status == paced.status == grpc.StatusCode.OK
    assert free_s < 1.5
    # Held to real time but for max_ahead_s: at least 2.5 - 0.5 s.
    assert paced_s >= 1.9
    assert list(paced.hits) == list(free.hits)  # pacing changes when, never what


@pytest.mark.parametrize("argv, message", [
    (["--idle-timeout-s", "0"], "--idle-timeout-s must be > 0"),
    (["--config-timeout-s", "-1"], "--config-timeout-s must be > 0"),
    (["--max-sessions-per-peer", "-1"], "--max-sessions-per-peer must be >= 0"),
    (["--max-sessions", "0"], "--max-sessions must be >= 1"),
    (["--batch-window-ms", "-1"], "--batch-window-ms must be in [0, 20]"),
    (["--batch-window-ms", "25"], "--batch-window-ms must be in [0, 20]"),
    (["--tls-client-ca", "ca.pem"], "--tls-client-ca (mutual TLS) needs --tls-cert"),
])
def test_server_flags_for_limits_are_checked(argv, message, capsys):
    with pytest.raises(SystemExit) as e:
        server_main(["--port", "0", *argv])
    assert e.value.code == 2
    assert message in capsys.readouterr().err


def test_gap_amplification_streams_are_paced_beside_healthy_ones(networks, frames):
    """Three streams send frames 1.99 s apart as fast as they can (each makes the engine fill
    2 s of grid frames) beside two real-time sessions: the attackers are held to about real
    time, the healthy sessions finish with their hits. (The share on time under this load is
    measured by ``ibeat bench --sections abuse``.)"""
    running = start_server(0, networks=networks, max_sessions=8,
                           limits=ServerLimits(pace_lag_s=0.005))
    target = f"127.0.0.1:{running.port}"
    t_us, kp = frames
    n_attack = 200
    attack_t = np.arange(n_attack, dtype=np.int64) * 1_990_000
    attack_kp = kp[np.arange(n_attack) % len(kp)]
    healthy_n = int(np.searchsorted(t_us, t_us[0] + 6_000_000))  # 6 s in real time
    results = []
    attackers = [threading.Thread(target=replay, args=(target, attack_t, attack_kp),
                                  kwargs={"speed": None, "timeout_s": 8}, daemon=True)
                 for _ in range(3)]
    healthy = [threading.Thread(target=lambda: results.append(replay(
        target, t_us[:healthy_n], kp[:healthy_n], speed=1.0, timeout_s=TIMEOUT_S)))
        for _ in range(2)]
    try:
        for th in attackers + healthy:
            th.start()
        for th in healthy:
            th.join(TIMEOUT_S)
        taken = _on_loop(running, lambda: [s.pipeline.frames_processed
                                          for s in running.servicer.registry.streams()])
    finally:
        running.stop(1)
    assert len(results) == 2 and all(r.status == grpc.StatusCode.OK for r in results)
    assert all(r.last_stats.frames_processed == healthy_n and len(r.hits) > 0 for r in results)
    # About 6-7 s in: each attacker at most max_ahead_s + 7 s of stream time, 1.99 s per
    # frame (plus the frames taken before the loop first lagged), far from all 200.
    assert len(taken) == 3 and max(taken) <= 12, taken


def test_draining_refuses_new_streams_and_lets_open_ones_finish(networks, frames):
    """stop(drain_s=...): health NOT_SERVING and new streams refused at once; a stream that
    ends within the drain ends normally (OK, its final stats), and the stop returns then."""
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    running = start_server(0, networks=networks, max_sessions=8)
    target = f"127.0.0.1:{running.port}"
    go_on = threading.Event()
    result = {}
    msgs = _frame_messages(frames, 20)

    def client():
        def requests():
            yield _config()
            yield from msgs[:10]
            go_on.wait(TIMEOUT_S)
            yield from msgs[10:]

        with grpc.insecure_channel(target) as ch:
            result["out"], result["code"], _ = _stream(ch, requests())

    th = threading.Thread(target=client)
    th.start()
    stopper = threading.Thread(target=lambda: running.stop(1, drain_s=20))
    try:
        assert _wait_for(lambda: running.servicer.active_sessions == 1)
        stopper.start()
        with grpc.insecure_channel(target) as ch:
            health = health_pb2_grpc.HealthStub(ch)
            assert _wait_for(lambda: health.Check(health_pb2.HealthCheckRequest(), timeout=5)
                             .status == health_pb2.HealthCheckResponse.NOT_SERVING)
            out, code, details = _stream(ch, [_config()])
            assert code == grpc.StatusCode.UNAVAILABLE and "shutting down" in details
        assert stopper.is_alive()  # still draining: the open stream goes on
        t0 = time.monotonic()
        go_on.set()
        th.join(TIMEOUT_S)
        stopper.join(TIMEOUT_S)
        assert time.monotonic() - t0 < 10  # the stop returned when the stream ended
    finally:
        go_on.set()
        running.stop(0)
    assert result["code"] == grpc.StatusCode.OK
    assert result["out"][-1].stats.final and result["out"][-1].stats.frames_processed == 20


def test_a_replay_reconnects_when_its_server_goes_and_another_comes(networks, frames):
    """The server of a real-time replay stops (UNAVAILABLE); a new one comes up on the same port:
    the replay opens a new stream there and goes on with the frame due, with backoff between."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    first = start_server(port, networks=networks)
    t_us, kp = frames
    n = int(np.searchsorted(t_us, t_us[0] + 5_000_000))  # 5 s in real time
    result = {}
    th = threading.Thread(target=lambda: result.update(r=replay(
        f"127.0.0.1:{port}", t_us[:n], kp[:n], speed=1.0, timeout_s=TIMEOUT_S, reconnect_s=10)))
    second = None
    try:
        th.start()
        time.sleep(1.5)
        first.stop(1)
        time.sleep(0.5)  # no server for a while: the replay backs off
        second = start_server(port, networks=networks)
        th.join(TIMEOUT_S)
    finally:
        first.stop(0)
        if second is not None:
            second.stop(0)
    r = result["r"]
    assert r.status == grpc.StatusCode.OK, r.details
    assert len(r.reconnects) == 1 and "shutting down" in r.reconnects[0][1]
    accepted = [m for m in r.messages if m.HasField("accepted")]
    assert len(accepted) == 2 and accepted[0].accepted.session_id != accepted[1].accepted.session_id
    # Every frame went to one server or the other, but those due while none was up (0.5 s,
    # the new server's start and the backoff: well under 2.5 s of the 5).
    acknowledged = r.frames_acknowledged_before + r.last_stats.frames_processed
    assert n - 75 <= acknowledged < n
    assert max(r.sent_at) == n - 1


def test_pacing_counts_a_step_as_at_most_the_restart_gap():
    """A clock that jumps far ahead (a restart: no engine work) is not paced for the jump."""
    clock = StreamClock(max_step_us=2_000_000)
    clock.observe(10.0, 0)
    assert clock.pace_delay(10.0, contended=True, max_ahead_s=1.0) == 0.0  # anchored
    clock.observe(10.001, 2 ** 62)        # 146,000 years ahead: counts 2 s
    clock.observe(10.002, 2 ** 62 + 33_333)
    delay = clock.pace_delay(10.002, contended=True, max_ahead_s=1.0)
    assert delay == pytest.approx(2.033333 - 0.002 - 1.0, abs=1e-6)


def test_a_slow_client_clock_is_neither_late_nor_behind_when_the_server_waits_for_it():
    """A client whose clock runs at 0.4x real time (frames stamped 1/30 s apart, sent 12 a
    second) whose frames the server was waiting for: no delay, and its clock read as its
    own; the oldest offset would have called it 36 s behind after a minute."""
    clock, naive = StreamClock(), StreamClock()
    for i in range(720):
        arrival, t_us = 100.0 + i / 12, 5_000_000_000 + int(i / 30 * 1e6)
        clock.observe(arrival, t_us, waited=True)
        naive.observe(arrival, t_us)
    assert clock.real_time and clock.delay_s == 0.0
    assert naive.delay_s == pytest.approx(36.0, abs=0.1)
    now = 100.0 + 719 / 12 + 0.05
    assert clock.client_now_us(now) <= 5_000_000_000 + 719 / 30 * 1e6 + 0.05e6
    # Frames that then queue in the server (taken at once, 50 ms apart in arrival, 1/30 s
    # apart in time) show the queueing again, measured from the last frame it waited for.
    for k in range(1, 31):
        clock.observe(now + 0.05 * k, 5_000_000_000 + int((719 + k) / 30 * 1e6))
    assert clock.delay_s == pytest.approx(30 * (0.05 - 1 / 30) + 0.05, abs=0.002)


def test_frame_delay_is_how_late_a_real_time_frame_arrives_and_the_median_counts():
    clock, _ = _real_time_clock(n=30)
    assert clock.real_time and clock.delay_s <= 0.011
    clock.observe(100.0 + 30 / 30 + 0.503, 5_000_000_000 + 1_000_000)  # waited 0.5 s in queues
    assert clock.delay_s == pytest.approx(0.5, abs=0.011)
    fast = StreamClock()
    for i in range(100):
        fast.observe(10.0 + i * 0.001, int(i / 30 * 1e6))
    assert not fast.real_time

    t = FakeClock()
    m = LoopMonitor(window_s=1.0, clock=t)
    for k in range(10):  # one stream's frames late (its own network), nine on time
        m.frame_delay(t.t, 2.0 if k == 0 else 0.01)
    assert m.frame_delay_s == pytest.approx(0.01) and m.behind_s() == pytest.approx(0.01)
    for _ in range(20):
        m.frame_delay(t.t, 0.4)
    assert m.frame_delay_s == pytest.approx(0.4)
    t.t += 2.0
    assert m.frame_delay_s == 0.0


def test_shedding_waits_while_the_server_works_off_its_backlog():
    limits = ServerLimits(refuse_lag_s=0.25, shed_after_s=3.0)

    def sheds(behind):  # behind_s every 0.25 s -> the times [s] at which a session is ended
        s = Shedder(limits)
        return [k * 0.25 for k, b in enumerate(behind) if s.update(k * 0.25, b)]

    # Two seconds behind for good (not catching up): one session a second after the first 3 s.
    assert sheds([2.0] * 28) == [3.0, 4.0, 5.0, 6.0]
    # The first shed is enough: the backlog then falls 0.3 s a second, and nobody else goes
    # (a shed a second while late would have ended 5 more).
    draining = [2.0] * 13 + [2.0 - 0.075 * k for k in range(1, 23)]
    assert min(draining) > limits.refuse_lag_s and sheds(draining) == [3.0]
    # Falling too slowly to catch up (0.04 s a second): shed again.
    assert sheds([2.0] * 13 + [2.0 - 0.01 * k for k in range(1, 9)]) == [3.0, 4.0, 5.0]
    # On time again in between: the 3 s start over.
    assert sheds([2.0] * 13 + [0.1] + [2.0] * 13) == [3.0, 6.5]


def test_an_overloaded_server_ends_its_newest_session_first(networks):
    running = start_server(0, networks=networks, max_sessions=8,
                           limits=ServerLimits(refuse_lag_s=0.05, shed_after_s=0.5))
    hold = threading.Event()
    results = {}
    monitor = running.servicer.monitor

    def open_session(k):
        with grpc.insecure_channel(f"127.0.0.1:{running.port}") as ch:
            results[k] = _stream(ch, [_config()], hold=hold)

    threads = []
    try:
        for k in range(3):  # opened in this order: 2 is the newest
            threads.append(threading.Thread(target=open_session, args=(k,)))
            threads[-1].start()
            assert _wait_for(lambda: running.servicer.active_sessions == k + 1)

        async def overload(seconds):  # every real-time frame 1 s late, for a while
            end = monitor.now() + seconds
            while monitor.now() < end:
                monitor.frame_delay(monitor.now(), 1.0)
                await asyncio.sleep(0.05)

        asyncio.run_coroutine_threadsafe(overload(1.2), running.loop).result(TIMEOUT_S)
        assert _wait_for(lambda: 2 in results)
        out, code, details = results[2]
        assert code == grpc.StatusCode.RESOURCE_EXHAUSTED and "newest session" in details
        assert out[-1].stats.final
        time.sleep(1.5)  # the overload is over: nobody else is shed
        assert 0 not in results and running.servicer.active_sessions >= 1
    finally:
        hold.set()
        for th in threads:
            th.join(TIMEOUT_S)
        running.stop(1)
    assert results[0][1] == grpc.StatusCode.OK
