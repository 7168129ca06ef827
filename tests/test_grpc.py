"""The gRPC service end to end: a real server on a free port, the bundled AIST++ clip."""

import threading
import time

import grpc
import numpy as np
import pytest

from ibeat_core.session import SessionConfig, run_session
from ibeat_grpc.replay import clip_frames, replay, report
from ibeat_grpc.server import SERVICE_NAME, start_server
from ibeat_core.stream import to_us
from ibeat_grpc.servicer import (MAX_MESSAGE_BYTES, Outbox, StreamError, frame_keypoints,
                                 session_config)
from ibeat_grpc.v1 import ibeat_pb2 as pb
from ibeat_grpc.v1 import ibeat_pb2_grpc as pb_grpc

TIMEOUT_S = 60


@pytest.fixture(scope="module")
def server(networks):
    running = start_server(0, networks=networks, max_sessions=8)
    yield running
    running.stop(1)


@pytest.fixture(scope="module")
def frames(aist_clip):
    return clip_frames(aist_clip.timestamps_s, aist_clip.keypoints)


@pytest.fixture
def channel(server):
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as ch:
        yield ch


def _frame(t_us, kp, frame_id=0):
    return pb.ClientMessage(frame=pb.PoseFrame(timestamp_us=int(t_us),
                                               keypoints=np.ravel(kp).tolist(), frame_id=frame_id))


def _call(channel, messages):
    """Run one Session stream; return (messages received, status code, details)."""
    out = []
    try:
        for m in pb_grpc.IbeatStub(channel).Session(iter(messages), timeout=TIMEOUT_S):
            out.append(m)
    except grpc.RpcError as e:
        return out, e.code(), e.details()
    return out, grpc.StatusCode.OK, ""


def _wait_for(predicate, timeout_s=10.0):
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def _expected(networks, frames, config: SessionConfig):
    """run_session on exactly what went over the wire, as wire values."""
    t_us, kp = frames
    res = run_session(networks, (t_us - t_us[0]) / 1e6, kp, config=config)
    o = int(t_us[0])
    beats = [(to_us(o, b.time_s), b.tempo_bpm, np.float32(b.confidence), b.index, b.feel,
              to_us(o, b.emitted_s)) for b in res.beats]
    hits = [(to_us(o, h.time_s), h.drum_class, h.pitch, h.midi_velocity, h.beat_index, h.step,
             h.joint, np.float32(h.joint_x), np.float32(h.joint_y)) for h in res.hits]
    return beats, hits


def _received(r):
    beats = [(b.time_us, b.tempo_bpm, np.float32(b.confidence), b.index, b.feel, b.emitted_us)
             for b in r.beats]
    hits = [(h.time_us, h.drum_class, h.gm_pitch, h.velocity, h.beat_index, h.step, h.joint,
             np.float32(h.joint_x), np.float32(h.joint_y)) for h in r.hits]
    return beats, hits


@pytest.mark.parametrize("mode, genre, seed", [("poly", "any", 3), ("mono", "rock", 1)])
def test_stream_equals_offline_session(server, networks, frames, mode, genre, seed):
    config = pb.SessionConfig(layout=pb.SKELETON_LAYOUT_COCO17, mode=pb.DrumMode.Value(
        f"DRUM_MODE_{mode.upper()}"), genre=genre, seed=seed)
    r = replay(f"127.0.0.1:{server.port}", *frames, config=config, speed=None,
               timeout_s=TIMEOUT_S)
    assert r.status == grpc.StatusCode.OK, r.details
    beats, hits = _expected(networks, frames, SessionConfig(mode=mode, genre=genre, seed=seed))
    assert len(beats) >= 8 and len(hits) >= len(beats) // 2
    got_beats, got_hits = _received(r)
    assert got_beats == beats
    np.testing.assert_equal(got_hits, hits)  # NaN-aware for joint positions
    # Poly drums are played in bars, and each beat says where in its bar it falls; Mono has none.
    bars = {(b.beat_in_bar, b.beats_per_bar) for b in r.beats}
    if mode == "poly":
        assert all(n in (3, 4) and 1 <= k <= n for k, n in bars) and (1, 4) in bars
    else:
        assert bars == {(0, 0)}
    accepted = r.messages[0].accepted
    assert accepted.joints_expected == 17 and accepted.internal_rate_hz == 30.0
    assert set(accepted.model_versions) == {"visbeat", "mustyle", "drumgen", "mono"}
    # Each beat's hits come right after it, batched.
    kinds = [m.WhichOneof("msg") for m in r.messages]
    for i, m in enumerate(r.messages):
        if m.HasField("hits"):
            assert kinds[i - 1] == "beat" and r.messages[i - 1].beat.index == m.hits.beat_index
    rep = report(r)
    assert rep["frames_sent"] == rep["frames_acknowledged"] == len(frames[0])
    assert r.last_stats.final and rep["events_dropped"] == 0
    assert rep["server_latency_p50_us"] > 0


def test_get_info_health_and_reflection(server, channel):
    info = pb_grpc.IbeatStub(channel).GetInfo(pb.GetInfoRequest(), timeout=TIMEOUT_S)
    assert info.protocol == "ibeat.v1" and info.internal_rate_hz == 30.0
    assert "funk" in info.genres and list(info.drum_classes)[:2] == ["kick", "snare"]
    assert info.max_message_bytes == MAX_MESSAGE_BYTES and info.max_sessions == 8
    layouts = {x.layout: x for x in info.layouts}
    assert set(layouts) == set(pb.SkeletonLayout.values()) - {pb.SKELETON_LAYOUT_UNSPECIFIED}
    head_hands = layouts[pb.SKELETON_LAYOUT_HEAD_HANDS]
    assert (head_hands.name, head_hands.is_3d, head_hands.values_per_joint) == (
        "head_hands", True, 4)
    assert list(head_hands.joints) == ["head", "left_hand", "right_hand"]
    humanoid = layouts[pb.SKELETON_LAYOUT_HUMANOID]
    assert len(humanoid.joints) == 19 and humanoid.joints[17] == "LeftHand"
    assert layouts[pb.SKELETON_LAYOUT_BODY25].values_per_joint == 3

    from grpc_health.v1 import health_pb2, health_pb2_grpc
    health = health_pb2_grpc.HealthStub(channel)
    for name in ("", SERVICE_NAME):
        status = health.Check(health_pb2.HealthCheckRequest(service=name), timeout=TIMEOUT_S)
        assert status.status == health_pb2.HealthCheckResponse.SERVING

    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    replies = stub.ServerReflectionInfo(
        iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=TIMEOUT_S)
    names = {s.name for r in replies for s in r.list_services_response.service}
    assert {SERVICE_NAME, "grpc.health.v1.Health"} <= names


_KP = np.tile([100.0, 200.0, 1.0], (17, 1))
_CONFIG = pb.ClientMessage(config=pb.SessionConfig())


def _nan_kp(value):
    kp = _KP.copy()
    kp[9, 0] = value
    return kp


BAD_STREAMS = {
    "no config first": ([_frame(0, _KP)], grpc.StatusCode.FAILED_PRECONDITION, "config"),
    "no messages": ([], grpc.StatusCode.FAILED_PRECONDITION, "config"),
    "config twice": ([_CONFIG, _CONFIG], grpc.StatusCode.FAILED_PRECONDITION, "twice"),
    "unknown layout": ([pb.ClientMessage(config=pb.SessionConfig(layout=99))],
                       grpc.StatusCode.INVALID_ARGUMENT, "layout"),
    "unknown mode": ([pb.ClientMessage(config=pb.SessionConfig(mode=9))],
                     grpc.StatusCode.INVALID_ARGUMENT, "mode"),
    "unknown genre": ([pb.ClientMessage(config=pb.SessionConfig(genre="disco"))],
                      grpc.StatusCode.INVALID_ARGUMENT, "disco"),
    "negative temperature": ([pb.ClientMessage(config=pb.SessionConfig(temperature=-1))],
                             grpc.StatusCode.INVALID_ARGUMENT, "temperature"),
    "zero lead time": ([pb.ClientMessage(config=pb.SessionConfig(lead_time_us=0))],
                       grpc.StatusCode.INVALID_ARGUMENT, "lead_time_us"),
    "negative seed": ([pb.ClientMessage(config=pb.SessionConfig(seed=-1))],
                      grpc.StatusCode.INVALID_ARGUMENT, "seed"),
    "NaN density": ([pb.ClientMessage(config=pb.SessionConfig(density=float("nan")))],
                    grpc.StatusCode.INVALID_ARGUMENT, "density"),
    "wrong joint count": ([_CONFIG, _frame(0, _KP[:16])], grpc.StatusCode.INVALID_ARGUMENT,
                          "expected 51"),
    "wrong layout count": ([pb.ClientMessage(config=pb.SessionConfig(
        layout=pb.SKELETON_LAYOUT_BODY25)), _frame(0, _KP)], grpc.StatusCode.INVALID_ARGUMENT,
        "expected 75"),
    "NaN coordinate": ([_CONFIG, _frame(0, _KP), _frame(33_333, _nan_kp(np.nan))],
                       grpc.StatusCode.INVALID_ARGUMENT, "joint 9 (left_wrist) x is nan"),
    "Inf coordinate": ([_CONFIG, _frame(0, _nan_kp(np.inf))], grpc.StatusCode.INVALID_ARGUMENT,
                       "joint 9 (left_wrist) x is inf"),
    "3D layout in pixels": ([pb.ClientMessage(config=pb.SessionConfig(
        layout=pb.SKELETON_LAYOUT_HEAD_HANDS, coordinate_space=pb.COORDINATE_SPACE_PIXELS))],
        grpc.StatusCode.INVALID_ARGUMENT, "needs COORDINATE_SPACE_METERS"),
    "unknown handedness": ([pb.ClientMessage(config=pb.SessionConfig(
        layout=pb.SKELETON_LAYOUT_HEAD_HANDS, handedness=5))], grpc.StatusCode.INVALID_ARGUMENT,
        "handedness"),
    "unknown up axis": ([pb.ClientMessage(config=pb.SessionConfig(up_axis=5))],
                        grpc.StatusCode.INVALID_ARGUMENT, "up_axis"),
    "3D frame of 2D size": ([pb.ClientMessage(config=pb.SessionConfig(
        layout=pb.SKELETON_LAYOUT_HEAD_HANDS)), _frame(0, _KP[:3])],
        grpc.StatusCode.INVALID_ARGUMENT, "expected 12 keypoint values (3 head_hands joints x 4"),
    "NaN depth": ([pb.ClientMessage(config=pb.SessionConfig(
        layout=pb.SKELETON_LAYOUT_HEAD_HANDS)),
        pb.ClientMessage(frame=pb.PoseFrame(keypoints=[0, 1.6, 0, 1, -0.3, 1, 0.2, 1,
                                                       0.3, 1, float("nan"), 1]))],
        grpc.StatusCode.INVALID_ARGUMENT, "joint 2 (right_hand) z is nan"),
    "timestamps backwards": ([_CONFIG, _frame(100_000, _KP), _frame(50_000, _KP)],
                             grpc.StatusCode.INVALID_ARGUMENT, "going backwards"),
    "timestamp repeated": ([_CONFIG, _frame(100_000, _KP), _frame(100_000, _KP)],
                           grpc.StatusCode.INVALID_ARGUMENT, "repeated"),
    "oversized message": ([_CONFIG, pb.ClientMessage(frame=pb.PoseFrame(
        keypoints=[1.0] * (MAX_MESSAGE_BYTES // 4 + 10)))], grpc.StatusCode.RESOURCE_EXHAUSTED, ""),
    # Client mistakes that once ended as INTERNAL or failed later, at the first beat.
    "timestamps at the int64 edges": ([_CONFIG, _frame(-1, _KP), _frame(2 ** 63 - 1, _KP)],
                                      grpc.StatusCode.INVALID_ARGUMENT, "out of range"),
    "huge genre strength": ([pb.ClientMessage(config=pb.SessionConfig(genre="rock",
                                                                      genre_strength=3e38))],
                            grpc.StatusCode.INVALID_ARGUMENT, "genre_strength must be in [0, 100]"),
    "huge temperature": ([pb.ClientMessage(config=pb.SessionConfig(temperature=3e38))],
                         grpc.StatusCode.INVALID_ARGUMENT, "temperature must be in [0, 100]"),
    "a 60-KB genre": ([pb.ClientMessage(config=pb.SessionConfig(genre="x" * 60_000))],
                      grpc.StatusCode.INVALID_ARGUMENT, "genre is 60000 characters long"),
}


@pytest.mark.parametrize("name", list(BAD_STREAMS))
def test_bad_input_gets_a_clear_status(server, channel, name):
    messages, code, text = BAD_STREAMS[name]
    _, got, details = _call(channel, messages)
    assert got == code, details
    assert text.lower() in details.lower()
    assert len(details) < 400   # a client's string is never echoed whole
    # The server is fine afterwards.
    assert _wait_for(lambda: server.servicer.active_sessions == 0)
    assert pb_grpc.IbeatStub(channel).GetInfo(pb.GetInfoRequest(), timeout=TIMEOUT_S).protocol


def test_invalid_utf8_is_invalid_argument_with_one_log_line(server, channel, caplog):
    # ClientMessage.config.genre = b"\xff\xfe", which protobuf refuses to decode.
    raw = bytes([0x0A, 0x04, 0x2A, 0x02, 0xFF, 0xFE])
    call = channel.stream_stream("/ibeat.v1.Ibeat/Session", request_serializer=lambda b: b,
                                 response_deserializer=pb.ServerMessage.FromString)
    with caplog.at_level("INFO", logger="ibeat_grpc"):
        with pytest.raises(grpc.RpcError) as e:
            list(call(iter([raw, raw]), timeout=TIMEOUT_S))
        assert _wait_for(lambda: server.servicer.active_sessions == 0)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "UTF-8" in e.value.details() and len(e.value.details()) < 300
    assert not [r for r in caplog.records if r.levelname == "ERROR" or r.exc_info]


@pytest.mark.parametrize("lead_us", [1, 15_000])
def test_a_lead_the_proto_allows_is_served(channel, frames, lead_us):
    config = pb.ClientMessage(config=pb.SessionConfig(lead_time_us=lead_us))
    t_us, kp = frames
    got, code, details = _call(channel, [config] + [_frame(t, k, i) for i, (t, k)
                                                     in enumerate(zip(t_us[:200], kp[:200]))])
    assert code == grpc.StatusCode.OK, details
    assert got[0].accepted.lead_time_us == lead_us


def test_huge_gap_restarts_the_engine(channel, frames):
    t_us, kp = frames
    n = 300  # 5 s of the clip, then the same 5 s again after a 10 s gap
    messages = [_CONFIG] + [_frame(t, k, i) for i, (t, k) in enumerate(zip(t_us[:n], kp[:n]))]
    shift = int(t_us[n - 1]) + 10_000_000
    messages += [_frame(t + shift, k, n + i) for i, (t, k) in enumerate(zip(t_us[:n], kp[:n]))]
    out, code, details = _call(channel, messages)
    assert code == grpc.StatusCode.OK, details
    restarted = [m.restarted for m in out if m.HasField("restarted")]
    assert len(restarted) == 1 and restarted[0].gap_us == 10_000_000 + int(t_us[0])
    assert out[-1].stats.restarts == 1 and out[-1].stats.frames_processed == 2 * n
    beats = [m.beat for m in out if m.HasField("beat")]
    before = [b for b in beats if b.time_us < shift]
    after = [b for b in beats if b.time_us >= shift]
    assert before and after
    # A restart is a fresh stream: the same beats again, shifted; indices never reused.
    assert [b.time_us - shift for b in after] == [b.time_us for b in before]
    assert [b.index for b in beats] == list(range(len(beats)))


@pytest.mark.slow
def test_concurrent_sessions_are_isolated(server, networks, frames):
    """Streams at once share the engine's batches (one network call per round for all) and
    still get exactly what each would alone; one stream's bad frame fails it alone."""
    t_us, kp = frames
    results = {}
    batcher = server.servicer.batcher
    batches, batched = batcher.batches, batcher.frames

    def good(seed):
        results[seed] = replay(f"127.0.0.1:{server.port}", t_us, kp,
                               config=pb.SessionConfig(seed=seed), speed=None,
                               timeout_s=TIMEOUT_S)

    def bad():
        bad_kp = kp.copy()
        bad_kp[200:, 3, 1] = np.nan
        results["bad"] = replay(f"127.0.0.1:{server.port}", t_us, bad_kp, speed=None,
                                timeout_s=TIMEOUT_S)

    threads = [threading.Thread(target=good, args=(s,)) for s in (0, 1, 2)]
    threads.append(threading.Thread(target=bad))
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT_S)
    assert results["bad"].status == grpc.StatusCode.INVALID_ARGUMENT
    assert "frame 200" in results["bad"].details
    for seed in (0, 1, 2):
        r = results[seed]
        assert r.status == grpc.StatusCode.OK, r.details
        beats, hits = _expected(networks, frames, SessionConfig(seed=seed))
        got_beats, got_hits = _received(r)
        assert got_beats == beats
        np.testing.assert_equal(got_hits, hits)
    assert _wait_for(lambda: server.servicer.active_sessions == 0)
    # Four streams sending as fast as they can: their frames went through in shared batches.
    assert batcher.frames - batched > batcher.batches - batches


def _held_stream(channel, release: threading.Event, n_frames=10):
    """A stream that sends a config and a few frames, then waits for ``release``."""
    def messages():
        yield _CONFIG
        for i in range(n_frames):
            yield _frame(i * 33_333, _KP, i)
        release.wait(TIMEOUT_S)
    return pb_grpc.IbeatStub(channel).Session(messages(), timeout=TIMEOUT_S)


def test_too_many_sessions(networks):
    small = start_server(0, networks=networks, max_sessions=1)
    release = threading.Event()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{small.port}") as ch:
            first = _held_stream(ch, release)
            assert next(first).HasField("accepted")
            _, code, details = _call(ch, [_CONFIG])
            assert code == grpc.StatusCode.RESOURCE_EXHAUSTED and "1 sessions" in details
            release.set()
            assert all(m.WhichOneof("msg") for m in first)  # ends OK
            assert _wait_for(lambda: small.servicer.active_sessions == 0)
            _, code, _ = _call(ch, [_CONFIG])
            assert code == grpc.StatusCode.OK
    finally:
        release.set()
        small.stop(1)


def test_client_vanishing_frees_the_session(server, channel):
    release = threading.Event()
    try:
        call = _held_stream(channel, release, n_frames=30)
        assert next(call).HasField("accepted")
        assert server.servicer.active_sessions == 1
        call.cancel()
        assert _wait_for(lambda: server.servicer.active_sessions == 0)
    finally:
        release.set()


def test_shutdown_ends_open_streams_cleanly(networks):
    srv = start_server(0, networks=networks, max_sessions=4)
    release = threading.Event()
    outcomes = []

    def client():
        with grpc.insecure_channel(f"127.0.0.1:{srv.port}") as ch:
            got = []
            try:
                for m in _held_stream(ch, release):
                    got.append(m)
            except grpc.RpcError as e:
                outcomes.append((e.code(), e.details(), got))

    threads = [threading.Thread(target=client) for _ in range(2)]
    try:
        for t in threads:
            t.start()
        assert _wait_for(lambda: srv.servicer.active_sessions == 2)
        time.sleep(0.2)
        t0 = time.monotonic()
        srv.stop(grace_s=5)
        assert time.monotonic() - t0 < 3  # not the whole grace: the streams ended themselves
        for t in threads:
            t.join(10)
        assert len(outcomes) == 2
        for code, details, got in outcomes:
            assert code == grpc.StatusCode.UNAVAILABLE and "shutting down" in details
            assert got[0].HasField("accepted")
            assert got[-1].stats.final and got[-1].stats.frames_processed == 10
        assert srv.servicer.active_sessions == 0
    finally:
        release.set()
        srv.stop(0)


def test_outbox_drops_stats_first_then_oldest_events():
    box = Outbox(3)
    box.put("s1", is_stats=True)
    box.put("e1")
    box.put("e2")
    box.put("e3")          # full: the stats goes
    box.put("s2", is_stats=True)  # full, no older stats: the new stats goes
    box.put("e4")          # full, no stats: the oldest event goes
    assert (box.stats_dropped, box.events_dropped) == (2, 1)
    box.finish(["final"])  # never dropped
    assert [box.get() for _ in range(4)] == ["e2", "e3", "e4", "final"]
    with pytest.raises(StopIteration):
        box.get()
    failed = Outbox(1)
    failed.finish(status=StreamError(grpc.StatusCode.INVALID_ARGUMENT, "bad"))
    with pytest.raises(StreamError):
        failed.get()


@pytest.mark.slow
def test_slow_reader_never_blocks_the_engine(networks, frames):
    """A client that reads nothing until it has sent everything: the engine runs through,
    the transport backs up, the outbox drops stats first and counts every drop."""
    t_us, kp = frames
    copies = 4  # the clip 4 times over (48 s), stats after every frame
    t_us = np.concatenate([t_us + i * 13_000_000 for i in range(copies)])
    kp = np.concatenate([kp] * copies)
    srv = start_server(0, networks=networks, outbox_size=4, stats_interval_us=1)
    try:
        # A small, fixed receive window, so that not reading soon backs the server up.
        options = [("grpc.http2.bdp_probe", 0), ("grpc.http2.lookahead_bytes", 1024)]
        with grpc.insecure_channel(f"127.0.0.1:{srv.port}", options=options) as ch:
            sent = threading.Event()

            def messages():
                yield _CONFIG
                for i, (t, k) in enumerate(zip(t_us, kp)):
                    yield _frame(t, k, i)
                sent.set()

            call = pb_grpc.IbeatStub(ch).Session(messages(), timeout=TIMEOUT_S)
            assert sent.wait(TIMEOUT_S)
            out = list(call)
        final = out[-1].stats
        assert final.final and final.frames_processed == len(t_us)
        assert final.stats_dropped > 0
        # One stats per frame after the first, plus the final one: each arrived or is counted.
        assert sum(m.HasField("stats") for m in out) + final.stats_dropped == len(t_us)
        assert sum(m.HasField("beat") for m in out) > 0
    finally:
        srv.stop(1)


def test_layout_maps_onto_coco17():
    from ibeat_core.skeleton import BLAZEPOSE33_TO_COCO17
    config, layout = session_config(pb.SessionConfig(layout=pb.SKELETON_LAYOUT_BLAZEPOSE33))
    assert (layout.name, layout.n_joints, config.body3d) == ("blazepose33", 33, None)
    lm = np.zeros((33, 3), dtype=np.float32)
    lm[list(BLAZEPOSE33_TO_COCO17)] = np.arange(17 * 3, dtype=np.float32).reshape(17, 3)
    kp = frame_keypoints(pb.PoseFrame(keypoints=lm.ravel().tolist()), layout)
    np.testing.assert_array_equal(kp, np.arange(17 * 3).reshape(17, 3))
    with pytest.raises(StreamError, match="expected 99"):
        frame_keypoints(pb.PoseFrame(keypoints=[0.0] * 51), layout)
    # A hit driven by the left wrist names BlazePose's left wrist too.
    assert layout.layout_joint(9) == 15


def test_generated_code_is_up_to_date(tmp_path):
    pytest.importorskip("grpc_tools")
    from ibeat_grpc.codegen import OUT_DIR, generate
    for path in generate(tmp_path):
        assert path.read_bytes() == (OUT_DIR / path.name).read_bytes(), (
            f"{path.name} is stale: run python -m ibeat_grpc.codegen")


def test_replay_cli_writes_midi_and_wav(server, tmp_path, capsys):
    import json

    from ibeat_grpc.replay import main
    rc = main(["--server", f"127.0.0.1:{server.port}", "--speed", "max", "--seed", "2",
               "--out", str(tmp_path / "r.mid"), "--wav", str(tmp_path / "r.wav"),
               "--plot", str(tmp_path / "r.png"), "--wait-s", "5", "--json"])
    assert rc == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["status"] == "OK" and rep["frames_acknowledged"] == rep["frames_sent"] == 720
    assert rep["hits"] > 0 and rep["hit_lead_p1_ms"] is None  # no wall clock mapping at max
    assert (tmp_path / "r.mid").stat().st_size > 0 and (tmp_path / "r.wav").stat().st_size > 0
    assert (tmp_path / "r.png").stat().st_size > 10_000


def test_replay_says_when_no_server_comes_up(capsys):
    from ibeat_grpc.replay import main
    assert main(["--server", "127.0.0.1:9", "--wait-s", "0.3"]) == 2
    assert "no server" in capsys.readouterr().err


def test_tls_server_and_client(networks, tmp_path, capsys):
    """A self-signed certificate for localhost: the replay client trusts it and streams."""
    import json
    import shutil
    import subprocess

    from ibeat_grpc.replay import main
    if shutil.which("openssl") is None:
        pytest.skip("openssl not available to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    running = start_server(0, networks=networks, tls_cert=cert, tls_key=key)
    try:
        rc = main(["--server", f"localhost:{running.port}", "--tls-ca", str(cert),
                   "--speed", "max", "--json"])
        rep = json.loads(capsys.readouterr().out)
        assert rc == 0 and rep["status"] == "OK" and rep["hits"] > 0
        # A plaintext client cannot talk to it.
        assert main(["--server", f"localhost:{running.port}", "--speed", "max", "--json"]) == 1
    finally:
        running.stop(1)


@pytest.mark.slow
def test_two_worker_processes_share_the_port_and_stop_together(frames):
    """``ibeat-server --workers 2``: both processes serve, SIGTERM stops both cleanly."""
    import signal
    import socket
    import subprocess
    import sys

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "ibeat_grpc.server", "--host", "127.0.0.1",
                             "--port", str(port), "--workers", "2", "--log-level", "INFO"],
                            stderr=subprocess.PIPE, text=True)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
            grpc.channel_ready_future(ch).result(timeout=60)
        t_us, kp = frames
        results = [replay(f"127.0.0.1:{port}", t_us[:60], kp[:60], speed=None) for _ in range(6)]
        assert all(r.status == grpc.StatusCode.OK and r.last_stats.frames_processed == 60
                   for r in results)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert "ibeat_grpc[0]: stopped" in err and "ibeat_grpc[1]: stopped" in err
