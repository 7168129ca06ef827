"""The server's own source (``ibeat-server --camera/--video``) and its ``Subscribe`` listeners.

Most tests run a fake source: the bundled AIST++ keypoints as posed frames at
30 fps (no camera, no MediaPipe), through the real VideoSession and engine,
unpaced unless said. The last test runs the real pipeline on a shared video.
"""

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc
import numpy as np
import pytest

from ibeat_core.session import SessionConfig
from ibeat_core.stream import EngineStream, to_us
from ibeat_grpc.listen import Listening, clock_offsets_us, hit_leads_ms, listen
from ibeat_grpc.server import start_server
from ibeat_grpc.servicer import NO_SOURCE_MESSAGE, event_messages
from ibeat_grpc.source import SourceConfig, video_source
from ibeat_grpc.v1 import ibeat_pb2 as pb
from ibeat_grpc.v1 import ibeat_pb2_grpc as pb_grpc
from ibeat_video.capture import CapturedFrame, PosedFrame
from ibeat_video.pose import PoseEstimate
from ibeat_video.video_session import VideoSession

TIMEOUT_S = 60
FPS = 30.0
# The clip's pixels are 1920x1080; VideoSession only reads the image's height
# and, with nobody in it, its brightness. One shared image for every frame.
_BGR = np.full((1080, 1920, 3), 128, np.uint8)
_BGR.setflags(write=False)
SEED = 1


@pytest.fixture(scope="module")
def keypoints(aist_clip):
    """The bundled clip at 30 fps: (360, 17, 3) px."""
    return np.asarray(aist_clip.keypoints[::2], dtype=np.float32)


class FakePass:
    """A SourcePass over keypoints: posed frames at 30 fps, as a file would give them.

    ``speed``: times real time (None: as fast as the engine goes); ``gate``: an
    Event to wait for before the first frame; ``hold``: after the last frame,
    wait for :meth:`stop` (a source that never ends by itself).
    """

    name = "fake.mp4"
    is_live = False
    fps = FPS
    width, height = 1920, 1080

    def __init__(self, keypoints, *, speed=None, gate=None, hold=False):
        self.keypoints = keypoints
        self.frame_count = len(keypoints)
        self.speed, self.gate, self.hold = speed, gate, hold
        self.captured = 0
        self.closed = False
        self._stop = threading.Event()

    def posed_frames(self):
        for i, kp in enumerate(self.keypoints):
            frame = CapturedFrame(i, i / FPS, _BGR, time.monotonic())
            yield PosedFrame(frame, PoseEstimate(kp, 1, 0.0), time.monotonic())

    def frames(self):
        while self.gate is not None and not self.gate.wait(0.05):
            if self._stop.is_set():
                return
        t0 = time.monotonic()
        for pf in self.posed_frames():
            if self._stop.is_set():
                return
            if self.speed is not None:
                due = t0 + pf.frame.time_s / self.speed
                if self._stop.wait(max(due - time.monotonic(), 0)):
                    return
                pf = PosedFrame(CapturedFrame(pf.frame.index, pf.frame.time_s, _BGR, due),
                                pf.pose, time.monotonic())
            self.captured += 1
            yield pf
        if self.hold:
            self._stop.wait()

    def stop(self):
        self._stop.set()

    def close(self):
        self.stop()
        self.closed = True

    def stats(self):
        return {"captured": self.captured}


def _fake_source(keypoints, *, loop=False, passes=None, **kwargs) -> SourceConfig:
    """A SourceConfig of FakePasses; ``passes`` collects every pass opened."""
    def open_pass():
        p = FakePass(keypoints, **kwargs)
        if passes is not None:
            passes.append(p)
        return p
    return SourceConfig(open_pass=open_pass, loop=loop, session=SessionConfig(seed=SEED))


def _expected_events(networks, keypoints) -> list:
    """Beat and hit messages of the same frames through an offline VideoSession."""
    session = VideoSession(networks, SessionConfig(seed=SEED))
    stream = EngineStream(session, origin_us=0, max_gap_us=None)
    out = []
    for pf in FakePass(keypoints).posed_frames():
        step = stream.push(to_us(0, pf.frame.time_s), frame_id=pf.frame.index,
                           run=lambda _, pf=pf: session.push(pf))
        out += event_messages(step.events, frame_id=pf.frame.index)
    return out


def _events(r: Listening) -> list:
    return [m for m in r.messages if m.HasField("beat") or m.HasField("hits")]


def _wait_for(predicate, timeout_s=10.0):
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def _in_thread(fn, *args, **kwargs):
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("r", fn(*args, **kwargs)))
    thread.start()
    return thread, result


def test_subscribe_without_a_source_fails_clearly(networks):
    srv = start_server(0, networks=networks)
    try:
        r = listen(f"127.0.0.1:{srv.port}", timeout_s=TIMEOUT_S)
        assert r.status == grpc.StatusCode.FAILED_PRECONDITION
        assert r.details == NO_SOURCE_MESSAGE and "--camera N or --video FILE" in r.details
        with grpc.insecure_channel(f"127.0.0.1:{srv.port}") as ch:
            info = pb_grpc.IbeatStub(ch).GetInfo(pb.GetInfoRequest(), timeout=TIMEOUT_S)
        assert (info.source, info.listeners, info.max_listeners) == ("", 0, 0)
    finally:
        srv.stop(1)


def test_two_listeners_hear_the_same_hits_then_the_video_ends(networks, keypoints):
    gate = threading.Event()
    passes = []
    srv = start_server(0, networks=networks, source=_fake_source(keypoints, gate=gate,
                                                                 passes=passes))
    target = f"127.0.0.1:{srv.port}"
    try:
        threads = [_in_thread(listen, target, timeout_s=TIMEOUT_S) for _ in range(2)]
        assert _wait_for(lambda: srv.servicer.listeners == 2)
        with grpc.insecure_channel(target) as ch:
            info = pb_grpc.IbeatStub(ch).GetInfo(pb.GetInfoRequest(), timeout=TIMEOUT_S)
        assert info.listeners == 2 and info.source.startswith("video fake.mp4 (1920x1080, 30 fps")
        gate.set()
        for thread, _ in threads:
            thread.join(TIMEOUT_S)
        a, b = (result["r"] for _, result in threads)
        expected = _expected_events(networks, keypoints)
        assert sum(m.HasField("beat") for m in expected) >= 8
        for r in (a, b):
            assert r.status == grpc.StatusCode.OK, r.details
            assert _events(r) == expected  # exactly the offline session, both listeners
            first = r.messages[0].source
            assert first.description == info.source and not first.is_live
            assert (first.width, first.height, first.fps) == (1920, 1080, FPS)
            assert first.duration_us == 12_000_000 and first.seed == SEED
            assert first.session.lead_time_us == 100_000 and first.session.mode == "poly"
            assert set(first.session.model_versions) == {"visbeat", "mustyle", "drumgen", "mono"}
            assert r.messages[1].source_status.state == pb.SOURCE_STATE_STARTING
            assert [s.state for s in r.statuses][-1] == pb.SOURCE_STATE_ENDED
            assert "tracking" in [s.message for s in r.statuses]
            final = r.messages[-1].stats
            assert final.final and final.frames_processed == len(keypoints)
            assert final.events_dropped == final.stats_dropped == 0
            assert final.HasField("source_time_us") and final.HasField("server_time_us")
        assert a.messages[0].source.listener_id != b.messages[0].source.listener_id
        assert _wait_for(lambda: srv.servicer.listeners == 0)
        assert passes[0].closed
        # A listener who comes after the end hears that it ended, and the stream closes OK.
        late = listen(target, timeout_s=TIMEOUT_S)
        assert late.status == grpc.StatusCode.OK
        kinds = [m.WhichOneof("msg") for m in late.messages]
        assert kinds == ["source", "source_status", "stats"]
        assert late.statuses[0].message.startswith("video ended") and late.last_stats.final
    finally:
        gate.set()
        srv.stop(1)


@pytest.mark.slow
def test_a_listener_that_does_not_read_holds_up_nobody(networks, keypoints):
    """Stats after every frame, 16-message outboxes, an unpaced source: the silent listener
    drops its own messages, the source runs through, the reading listener gets every event
    (stats may drop for it too: the source outpaces a Python reader, and stats go first)."""
    gate = threading.Event()
    long = np.concatenate([keypoints] * 4)
    srv = start_server(0, networks=networks, outbox_size=16, stats_interval_us=1,
                       source=_fake_source(long, gate=gate))
    target = f"127.0.0.1:{srv.port}"
    try:
        # A small, fixed receive window, so that not reading soon backs the server up.
        options = [("grpc.http2.bdp_probe", 0), ("grpc.http2.lookahead_bytes", 1024)]
        with grpc.insecure_channel(target, options=options) as ch:
            silent = pb_grpc.IbeatStub(ch).Subscribe(pb.SubscribeRequest(), timeout=TIMEOUT_S)
            assert next(silent).HasField("source")
            reader, result = _in_thread(listen, target, timeout_s=TIMEOUT_S)
            assert _wait_for(lambda: srv.servicer.listeners == 2)
            gate.set()
            reader.join(TIMEOUT_S)
            r = result["r"]
            assert r.status == grpc.StatusCode.OK, r.details
            final = r.last_stats
            assert final.final and final.frames_processed == len(long)
            assert final.events_dropped == 0
            # One stats per frame after the first, and the final one: each arrived or is counted.
            assert sum(m.HasField("stats") for m in r.messages) + final.stats_dropped == len(long)
            assert _events(r) == _expected_events(networks, long)
            rest = list(silent)  # the silent listener reads at last: its own drops, counted
        last = rest[-1].stats
        assert last.final and last.frames_processed == len(long)
        assert last.events_dropped > 0 and last.stats_dropped > 0
        assert rest[-2].source_status.state == pb.SOURCE_STATE_ENDED  # the end is never dropped
        assert _wait_for(lambda: srv.servicer.listeners == 0)
    finally:
        gate.set()
        srv.stop(1)


def test_a_listener_vanishing_mid_stream_is_freed(networks, keypoints):
    srv = start_server(0, networks=networks, max_listeners=1,
                       source=_fake_source(keypoints, speed=1.0, hold=True))
    target = f"127.0.0.1:{srv.port}"
    try:
        with grpc.insecure_channel(target) as ch:
            call = pb_grpc.IbeatStub(ch).Subscribe(pb.SubscribeRequest(), timeout=TIMEOUT_S)
            assert next(call).HasField("source")
            assert srv.servicer.listeners == 1
            full = listen(target, timeout_s=TIMEOUT_S)
            assert full.status == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert "limit of 1 listeners" in full.details
            call.cancel()
            assert _wait_for(lambda: srv.servicer.listeners == 0)
            assert not srv.servicer.source._listeners  # the outbox is gone too
        # The source and the server carry on.
        r = listen(target, duration_s=0.5, timeout_s=TIMEOUT_S)
        assert r.status == grpc.StatusCode.OK and r.ended_by == "duration"
        assert r.messages[0].HasField("source") and srv.source.alive
        assert _wait_for(lambda: srv.servicer.listeners == 0)
    finally:
        srv.stop(1)


def test_shutdown_ends_listener_streams_cleanly(networks, keypoints):
    passes = []
    srv = start_server(0, networks=networks,
                       source=_fake_source(keypoints, speed=1.0, hold=True, passes=passes))
    target = f"127.0.0.1:{srv.port}"
    threads = [_in_thread(listen, target, timeout_s=TIMEOUT_S) for _ in range(2)]
    try:
        assert _wait_for(lambda: srv.servicer.listeners == 2)
        time.sleep(1.2)  # a stats message or two
        t0 = time.monotonic()
        srv.stop(grace_s=5)
        assert time.monotonic() - t0 < 3  # not the whole grace: the streams ended themselves
        for thread, _ in threads:
            thread.join(10)
        for _, result in threads:
            r = result["r"]
            assert r.status == grpc.StatusCode.UNAVAILABLE and "shutting down" in r.details
            assert r.messages[0].HasField("source")
            assert r.last_stats.final and r.last_stats.frames_processed > 0
        assert not srv.source.alive and passes[0].closed
        assert srv.servicer.listeners == 0
    finally:
        srv.stop(0)


def test_a_looping_video_restarts_the_engine_cleanly(networks, keypoints):
    """Six seconds looped: each pass is a fresh engine, so it hears the same beats again,
    later by one pass, with indices that keep counting up."""
    short = keypoints[:180]  # 6 s
    gate = threading.Event()
    passes = []
    srv = start_server(0, networks=networks,
                       source=_fake_source(short, loop=True, gate=gate, passes=passes))
    try:
        with grpc.insecure_channel(f"127.0.0.1:{srv.port}") as ch:
            call = pb_grpc.IbeatStub(ch).Subscribe(pb.SubscribeRequest(), timeout=TIMEOUT_S)
            messages = [next(call)]
            assert messages[0].source.loop and messages[0].source.duration_us == 6_000_000
            gate.set()
            restarts = 0
            for m in call:
                messages.append(m)
                restarts += m.HasField("restarted")
                if restarts == 2:
                    call.cancel()
                    break
    finally:
        srv.stop(1)
    assert len(passes) >= 3 and all(p.closed for p in passes)
    restarted = [m.restarted for m in messages if m.HasField("restarted")]
    assert [r.time_us for r in restarted] == [6_000_000, 12_000_000]
    assert all(r.gap_us == 33_333 and "looped" in r.reason for r in restarted)
    beats = [m.beat for m in messages if m.HasField("beat")]
    # Which pass a beat came from: the time of the frame that committed it.
    first = [b for b in beats if b.emitted_us < 6_000_000]
    second = [b for b in beats if 6_000_000 <= b.emitted_us < 12_000_000]
    assert len(first) >= 2
    shifted = [(b.time_us - 6_000_000, b.emitted_us - 6_000_000, b.tempo_bpm) for b in second]
    assert shifted == [(b.time_us, b.emitted_us, b.tempo_bpm) for b in first]
    assert [b.index for b in beats] == list(range(len(beats)))


class LivePass(FakePass):
    """A camera: stamped like ibeat_video's (time since the first grab), lost after the
    frames run out, or failing with ``error`` after ``fail_after`` frames."""

    name = "camera 7"
    is_live = True

    def __init__(self, keypoints, *, error=None, fail_after=None):
        super().__init__(keypoints)
        self.frame_count = None
        self.error, self.fail_after = error, fail_after

    def frames(self):
        t0 = None
        for i, pf in enumerate(FakePass.frames(self)):
            if self.error is not None and i == self.fail_after:
                raise self.error
            grabbed = pf.frame.grabbed_at
            t0 = grabbed if t0 is None else t0
            yield PosedFrame(CapturedFrame(i, grabbed - t0, _BGR, grabbed), pf.pose, grabbed)

    def stats(self):
        return {"captured": self.captured,
                "ended_early": f"{self.name} stopped delivering frames after {self.captured}"}


@pytest.mark.parametrize("error", [None, "read failed"])
def test_a_camera_lost_ends_listeners_with_the_reason(networks, keypoints, error):
    from ibeat_video.errors import SourceError
    gate = threading.Event()

    def open_pass():
        p = LivePass(keypoints[:150], error=error and SourceError(f"camera 7: {error}"),
                     fail_after=100)
        p.gate = gate
        return p

    srv = start_server(0, networks=networks, source=SourceConfig(open_pass=open_pass))
    try:
        reader, result = _in_thread(listen, f"127.0.0.1:{srv.port}", timeout_s=TIMEOUT_S)
        assert _wait_for(lambda: srv.servicer.listeners == 1)
        t0_us = int(time.monotonic() * 1e6)
        gate.set()
        reader.join(TIMEOUT_S)
    finally:
        gate.set()
        srv.stop(1)
    r = result["r"]
    info = r.info
    assert info.is_live and info.duration_us == 0 and info.description == "camera 7 (1920x1080, 30 fps)"
    assert r.status == grpc.StatusCode.UNAVAILABLE and "source camera lost" in r.details
    last = r.statuses[-1]
    assert last.state == pb.SOURCE_STATE_FAILED
    assert last.message == ("camera lost: camera 7: read failed" if error else
                            "camera lost: camera 7 stopped delivering frames after 150")
    final = r.last_stats
    assert final.final and final.frames_processed == (100 if error else 150)
    # A camera's clock is the server's monotonic clock.
    assert 0 <= final.stream_time_us - t0_us < 30_000_000
    assert abs(final.source_time_us - final.server_time_us) <= 1


def test_clock_mapping_and_hit_leads():
    """Readings (arrival, source time): the offset is the smallest arrival - source time."""
    def msg(**kw):
        return pb.ServerMessage(**kw)

    hits = msg(hits=pb.DrumHits(hits=[pb.DrumHit(time_us=5_000_000)]))
    r = Listening(messages=[msg(source=pb.SourceInfo(source_time_us=1_000_000)),
                            msg(stats=pb.SessionStats(source_time_us=2_000_000)), hits,
                            msg(stats=pb.SessionStats())],  # no reading: ignored
                  received_at=[101.002, 102.001, 104.850, 105.0])
    # Local clock = source clock + 100 s (+1 ms of delay at best).
    assert clock_offsets_us(r) == [100_002_000, 100_001_000, 100_001_000, 100_001_000]
    (lead,) = hit_leads_ms(r)
    assert lead == pytest.approx(5_000 + 100_001 - 104_850)
    assert hit_leads_ms(Listening(messages=[hits], received_at=[1.0])) is None


def test_listen_cli_writes_midi_wav_and_a_report(networks, keypoints, tmp_path, capsys):
    from ibeat_grpc.listen import main
    gate = threading.Event()
    srv = start_server(0, networks=networks, source=_fake_source(keypoints, gate=gate))
    try:
        opener = threading.Thread(
            target=lambda: _wait_for(lambda: srv.servicer.listeners == 1) and gate.set())
        opener.start()
        rc = main(["--server", f"127.0.0.1:{srv.port}", "--wait-s", "5", "--json",
                   "--out", str(tmp_path / "l.mid"), "--wav", str(tmp_path / "l.wav"),
                   "--plot", str(tmp_path / "l.png")])
        opener.join(10)
        rep = json.loads(capsys.readouterr().out)
        assert rc == 0 and rep["status"] == "OK" and rep["ended_by"] == "source"
        assert rep["source"].startswith("video fake.mp4") and rep["hits"] > 10
        assert rep["statuses"][0].startswith("starting") and rep["statuses"][-1].startswith(
            "video ended")
        assert rep["frames_processed"] == len(keypoints) and rep["events_dropped"] == 0
        assert rep["hit_lead_p50_ms"] is not None
        for name in ("l.mid", "l.wav", "l.png"):
            assert (tmp_path / name).stat().st_size > 0
        # Without a source: exit 1 and the server's reason.
        plain = start_server(0, networks=networks)
        try:
            assert main(["--server", f"127.0.0.1:{plain.port}", "--json"]) == 1
            assert "--camera N or --video FILE" in capsys.readouterr().err
        finally:
            plain.stop(1)
    finally:
        gate.set()
        srv.stop(1)


def test_server_cli_refuses_bad_sources(capsys):
    from ibeat_grpc.server import POSE_MODELS, main
    from ibeat_video.pose import POSE_MODELS as models
    assert POSE_MODELS == models
    for argv, text in [(["--camera", "0", "--workers", "2", "--port", "50999"], "--workers 1"),
                       (["--loop"], "--loop needs --video"),
                       (["--camera", "0", "--video", "x.mp4"], "not allowed")]:
        with pytest.raises(SystemExit) as e:
            main(argv)
        assert e.value.code == 2 and text in capsys.readouterr().err
    if not Path("/dev/video0").exists():
        assert main(["--camera", "0", "--port", "0"]) == 2
        assert "no camera at /dev/video0" in capsys.readouterr().err
    # A missing video: one clear line and exit 2, no traceback (a real process).
    out = subprocess.run([sys.executable, "-m", "ibeat_grpc.server", "--video", "/missing.mp4",
                          "--port", "0"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert out.stderr.strip() == "ibeat-server: no such video: /missing.mp4"


@pytest.mark.slow
def test_real_video_through_pose_to_a_listener(networks, data_dir):
    """The real pipeline (OpenCV, MediaPipe lite, VideoSession) on a 9.6 s dance video, in real time."""
    pytest.importorskip("mediapipe")
    path = data_dir / "dance-videos" / "aist_dance2music_test_0.mp4"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    srv = start_server(0, networks=networks, source=video_source(path))
    try:
        r = listen(f"127.0.0.1:{srv.port}", timeout_s=TIMEOUT_S)
    finally:
        srv.stop(1)
    assert r.status == grpc.StatusCode.OK, r.details
    info = r.info
    # The file's name, not where it sits on the server.
    assert info.description.startswith(f"video {path.name} (512x288, 30 fps, 9.6 s")
    assert info.pose_model == "lite" and not info.is_live
    assert "tracking" in [s.message for s in r.statuses]
    assert r.statuses[-1].state == pb.SOURCE_STATE_ENDED
    assert r.last_stats.final and r.last_stats.frames_processed > 100
    hits = r.hits
    assert len(hits) > 0
    assert all(0 < h.time_us < 11_000_000 for h in hits)  # the file's play position
    leads = hit_leads_ms(r)
    assert leads is not None and np.median(leads) > 0  # hits arrive before their play time


def test_a_websocket_listener_hears_what_a_grpc_listener_hears(networks, keypoints):
    from google.protobuf import json_format
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    from ibeat_grpc.websocket import SUBSCRIBE_PATH

    gate = threading.Event()
    srv = start_server(0, networks=networks, ws_port=0,
                       source=_fake_source(keypoints, gate=gate))
    try:
        grpc_thread, grpc_result = _in_thread(listen, f"127.0.0.1:{srv.port}",
                                              timeout_s=TIMEOUT_S)
        heard = []
        with connect(f"ws://127.0.0.1:{srv.ws_port}{SUBSCRIBE_PATH}",
                     open_timeout=TIMEOUT_S) as ws:
            ws.send("{}")  # a SubscribeRequest; optional
            assert _wait_for(lambda: srv.servicer.listeners == 2)
            gate.set()
            try:
                while True:
                    heard.append(json_format.Parse(ws.recv(timeout=TIMEOUT_S),
                                                   pb.ServerMessage()))
            except ConnectionClosed:
                pass
        assert ws.close_code == 1000
        grpc_thread.join(TIMEOUT_S)
        r = grpc_result["r"]
        assert r.status == grpc.StatusCode.OK, r.details
        ws_events = [m for m in heard if m.HasField("beat") or m.HasField("hits")]
        assert len(ws_events) >= 8 and ws_events == _events(r)
        assert heard[0].HasField("source") and heard[-1].stats.final
        assert _wait_for(lambda: srv.servicer.listeners == 0)
    finally:
        srv.stop(1)
