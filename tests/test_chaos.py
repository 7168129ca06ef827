"""Chaos against a live ``ibeat-server`` process (issue 16: "safe to leave running").

- 100 clients killed mid-stream, three ways at once: client processes SIGKILLed (their TCP
  connections just drop), calls cancelled, channels closed. Afterwards no session is left
  open and the server's RSS is back within 10 MB of its value after warm-up (the same load,
  twice), twice over.
- SIGTERM with 32 open streams: every client gets its final stats and a clean status
  (UNAVAILABLE "server is shutting down", or OK) within the grace period (``--grace``).
- SIGKILL, then an immediate restart on the same ports: it binds and serves.

Clients are synchronous grpc (an asyncio client that keeps writing after the server ended
the stream reports a client-side INTERNAL that hides the server's status).
"""

import json
import math
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from ibeat_grpc.v1 import ibeat_pb2 as pb
from ibeat_grpc.v1 import ibeat_pb2_grpc as pb_grpc

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
TIMEOUT_S = 60
#: One connection per channel: without it grpc shares one connection between channels to
#: the same target, and closing a channel would not drop a connection.
OWN_CONNECTION = [("grpc.use_local_subchannel_pool", 1)]
FRAME_US = 33_333


def _keypoints(i: int) -> list:
    """COCO-17 frame ``i`` of a body bouncing at 2 Hz (the engine finds beats in it)."""
    b = math.sin(2 * math.pi * 2.0 * i / 30)
    return [v for j in range(17)
            for v in (300 + 15 * j + 8 * b * (j % 3), 100 + 25 * j + 20 * b, 1.0)]


def _frame(i: int, t_us: int | None = None):
    return pb.ClientMessage(frame=pb.PoseFrame(
        timestamp_us=i * FRAME_US if t_us is None else t_us, keypoints=_keypoints(i), frame_id=i))


CONFIG = pb.ClientMessage(config=pb.SessionConfig(genre="rock"))


def _endless(stop: threading.Event, burst: int = 10, period_s: float = 0.2):
    """A stream that never ends by itself: config, ``burst`` frames, then one every ``period_s``."""
    yield CONFIG
    i = 0
    while not stop.is_set():
        yield _frame(i)
        i += 1
        if i >= burst:
            stop.wait(period_s)


def _info(target: str) -> pb.ServerInfo:
    with grpc.insecure_channel(target) as ch:
        return pb_grpc.IbeatStub(ch).GetInfo(pb.GetInfoRequest(), timeout=TIMEOUT_S)


def _serving(target: str) -> bool:
    with grpc.insecure_channel(target) as ch:
        reply = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(),
                                                     timeout=TIMEOUT_S)
    return reply.status == health_pb2.HealthCheckResponse.SERVING


def _eventually(predicate, timeout_s: float = 20.0, every_s: float = 0.1) -> bool:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(every_s)
    return predicate()


def _short_session(target: str, n: int = 40):
    """A whole stream of ``n`` frames (retried on "retry later"): (messages, code, details)."""
    with grpc.insecure_channel(target) as ch:
        for _ in range(100):
            out = []
            try:
                for m in pb_grpc.IbeatStub(ch).Session(iter([CONFIG, *map(_frame, range(n))]),
                                                       timeout=TIMEOUT_S):
                    out.append(m)
            except grpc.RpcError as e:
                if not out and _retry_later(e):
                    time.sleep(0.3)
                    continue
                return out, e.code(), e.details()
            return out, grpc.StatusCode.OK, ""


def _assert_clean_log(server):
    text = server.log()
    assert "Traceback" not in text, text[text.find("Traceback") - 300:][:3000]
    assert " ERROR " not in text and " CRITICAL " not in text, text[-3000:]


# -- 100 clients killed mid-stream ------------------------------------------------------------

#: A client process: N streams, each on its own connection, opened 50 ms apart, that print
#: "accepted" and then stream on until the process is killed. A stream refused with "retry
#: later" (RESOURCE_EXHAUSTED: the server sheds load while its event loop lags) retries.
_CLIENT = r"""
import math, sys, threading, time
import grpc
from ibeat_grpc.v1 import ibeat_pb2 as pb, ibeat_pb2_grpc as pb_grpc

target, n = sys.argv[1], int(sys.argv[2])

def messages():
    yield pb.ClientMessage(config=pb.SessionConfig(genre="rock"))
    i = 0
    while True:
        b = math.sin(2 * math.pi * 2.0 * i / 30)
        kp = [v for j in range(17)
              for v in (300 + 15 * j + 8 * b * (j % 3), 100 + 25 * j + 20 * b, 1.0)]
        yield pb.ClientMessage(frame=pb.PoseFrame(timestamp_us=i * 33_333, keypoints=kp,
                                                  frame_id=i))
        i += 1
        if i >= 3:
            time.sleep(0.25)

def stream():
    ch = grpc.insecure_channel(target, options=[("grpc.use_local_subchannel_pool", 1)])
    for _ in range(100):
        accepted = False
        try:
            for m in pb_grpc.IbeatStub(ch).Session(messages()):
                if m.HasField("accepted"):
                    accepted = True
                    print("accepted", flush=True)
        except grpc.RpcError as e:
            if accepted or "retry" not in (e.details() or ""):
                raise
            time.sleep(0.3)

for _ in range(n):
    threading.Thread(target=stream, daemon=True).start()
    time.sleep(0.05)
time.sleep(3600)
"""


def _retry_later(e: grpc.RpcError) -> bool:
    """A refusal a client should retry: RESOURCE_EXHAUSTED "... retry later" (the server at
    its session limit, or shedding load while its event loop lags)."""
    return e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and "retry" in (e.details() or "")


class _InProcessClient:
    """One stream on its own channel, run by a thread (retried while the server says "retry
    later"); ended abruptly by :meth:`kill`: its call cancelled, or its channel closed."""

    def __init__(self, target: str, how: str, stop: threading.Event):
        self.how = how
        self.stop = stop
        self.channel = grpc.insecure_channel(target, options=OWN_CONNECTION)
        self.call = None
        self.accepted = threading.Event()
        self.ended = threading.Event()
        self.code = self.details = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        stub = pb_grpc.IbeatStub(self.channel)
        try:
            for _ in range(100):
                self.call = stub.Session(_endless(self.stop, burst=3, period_s=0.25),
                                         timeout=TIMEOUT_S * 2)
                try:
                    for m in self.call:
                        if m.HasField("accepted"):
                            self.accepted.set()
                    return
                except grpc.RpcError as e:
                    self.code, self.details = e.code(), e.details()
                    if self.accepted.is_set() or not _retry_later(e) or self.stop.is_set():
                        return
                    time.sleep(0.3)
        finally:
            self.ended.set()

    def kill(self):
        if self.how == "cancel":
            self.call.cancel()       # RST_STREAM CANCEL mid-stream
        else:
            self.channel.close()     # the whole connection goes

    def close(self):
        self.channel.close()
        self.thread.join(10)


def _chaos_round(target: str, *, processes: int = 4, per_process: int = 10,
                 cancelled: int = 30, closed: int = 30, kill: bool = True) -> int:
    """Open ``processes * per_process + cancelled + closed`` streams, all open together, each
    mid-stream; then end them all abruptly (``kill``) or by half-closing. Returns how many."""
    total = processes * per_process + cancelled + closed
    stop = threading.Event()
    procs = [subprocess.Popen([sys.executable, "-c", _CLIENT, target, str(per_process)],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                              cwd=REPO) for _ in range(processes)]
    accepted = []  # one "accepted" per stream of the client processes

    def count(p):
        for line in p.stdout:
            accepted.append(line.strip())

    readers = [threading.Thread(target=count, args=(p,), daemon=True) for p in procs]
    for r in readers:
        r.start()
    clients = []
    try:
        for k in range(cancelled + closed):
            clients.append(_InProcessClient(target, "cancel" if k < cancelled else "close", stop))
            time.sleep(0.02)
        assert _eventually(lambda: len(accepted) == processes * per_process
                           and all(c.accepted.is_set() or c.ended.is_set() for c in clients),
                           timeout_s=TIMEOUT_S), f"{len(accepted)} of the processes' streams"
        refused = [(c.code, c.details) for c in clients if not c.accepted.is_set()]
        assert not refused, refused[:3]
        assert _info(target).active_sessions == total
        time.sleep(0.5)  # a few frames more on every stream: mid-stream, not at its start
        if kill:
            for p in procs:
                p.kill()
            for c in clients:
                c.kill()
        else:
            for p in procs:
                p.kill()
            stop.set()    # the in-process streams half-close: they end OK
    finally:
        stop.set()
        for p in procs:
            p.kill()
            p.wait()
        for r in readers:
            r.join(10)
        for p in procs:
            p.stdout.close()
        for c in clients:
            c.close()
    return total


@pytest.fixture(scope="module")
def chaos_server(live_server):
    # 100 streams from one address: under the default cap per address (half of these).
    running = live_server("--max-sessions", "256", name="chaos")
    yield running
    assert running.stop(30) == 0
    _assert_clean_log(running)


def _settled_rss_kb(server, samples: int = 5) -> int:
    """RSS after the server has been idle a moment: the least of a few readings [kB]."""
    readings = []
    for _ in range(samples):
        time.sleep(0.2)
        readings.append(server.rss_kb())
    return min(readings)


def test_100_clients_killed_mid_stream_leave_no_session_and_no_leak(chaos_server):
    server, target = chaos_server, chaos_server.target
    # Warm-up: the same 100 streams twice, ended normally (but the killed client processes)
    # and killed, so that every allocation the load needs has been made. glibc sometimes
    # gives freed memory back (RSS 113 MB instead of 151 one round in seven): the value
    # after warm-up is the larger of the two readings.
    warm_kb = 0
    for kill in (False, True):
        _chaos_round(target, kill=kill)
        assert _eventually(lambda: _info(target).active_sessions == 0)
        warm_kb = max(warm_kb, _settled_rss_kb(server))
    for _ in range(2):
        killed = _chaos_round(target)
        assert killed == 100
        assert _eventually(lambda: _info(target).active_sessions == 0), (
            f"{_info(target).active_sessions} sessions left open")
        rss_kb = _settled_rss_kb(server)
        print(f"RSS after warm-up {warm_kb / 1024:.1f} MB, after 100 killed {rss_kb / 1024:.1f} MB")
        assert rss_kb - warm_kb <= 10 * 1024, (
            f"RSS {rss_kb / 1024:.1f} MB after 100 killed clients, "
            f"{warm_kb / 1024:.1f} MB after warm-up")
    assert server.alive() and _serving(target)
    out, code, details = _short_session(target)
    assert code == grpc.StatusCode.OK, details
    assert out[-1].stats.final and out[-1].stats.frames_processed == 40
    _assert_clean_log(server)


# -- SIGTERM with 32 open streams -------------------------------------------------------------

class _HeldClient:
    """Config and 31 frames, the last at 1 s of stream time, so a SessionStats answers it: that
    stats says every frame was processed. Then the stream stays open until the server ends it."""

    FRAMES = 31

    def __init__(self, target: str, release: threading.Event):
        self.release = release
        self.channel = grpc.insecure_channel(target, options=OWN_CONNECTION)
        self.messages = []
        self.all_processed = threading.Event()
        self.code = self.details = self.ended_at = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _requests(self):
        yield CONFIG
        for i in range(self.FRAMES - 1):
            yield _frame(i)
        yield _frame(self.FRAMES - 1, t_us=1_000_000)  # stats are due at 1 s
        self.release.wait(TIMEOUT_S)

    def _run(self):
        for _ in range(100):  # retried while the server says "retry later"
            try:
                for m in pb_grpc.IbeatStub(self.channel).Session(self._requests(),
                                                                 timeout=TIMEOUT_S):
                    self.messages.append(m)
                    if m.HasField("stats") and m.stats.frames_processed == self.FRAMES:
                        self.all_processed.set()
                self.code, self.details = grpc.StatusCode.OK, ""
            except grpc.RpcError as e:
                self.code, self.details = e.code(), e.details()
                if not self.messages and _retry_later(e):
                    time.sleep(0.3)
                    continue
            break
        self.ended_at = time.monotonic()


def _held_clients(target: str, n: int, release: threading.Event) -> list:
    """``n`` held streams, opened 20 ms apart, each with all its frames processed."""
    clients = []
    for _ in range(n):
        clients.append(_HeldClient(target, release))
        time.sleep(0.02)
    assert _eventually(lambda: all(c.all_processed.is_set() or c.ended_at for c in clients),
                       timeout_s=TIMEOUT_S)
    failed = [(c.code, c.details) for c in clients if not c.all_processed.is_set()]
    assert not failed, failed[:3]
    return clients


def test_sigterm_with_32_open_streams_ends_each_cleanly_within_the_grace(live_server):
    grace_s = 5.0
    server = live_server("--grace", str(grace_s), "--max-sessions", "128", name="sigterm")
    release = threading.Event()
    clients = []
    try:
        clients = _held_clients(server.target, 32, release)
        assert _info(server.target).active_sessions == 32
        t0 = time.monotonic()
        server.signal(signal.SIGTERM)
        for c in clients:
            c.thread.join(grace_s + 10)
        assert server.proc.wait(grace_s + 10) == 0
        exited_s = time.monotonic() - t0
    finally:
        release.set()
        for c in clients:
            c.channel.close()
    for c in clients:
        assert c.ended_at is not None, "a client never saw its stream end"
        assert c.ended_at - t0 <= grace_s, f"ended {c.ended_at - t0:.1f} s after SIGTERM"
        assert c.code in (grpc.StatusCode.OK, grpc.StatusCode.UNAVAILABLE), (c.code, c.details)
        if c.code == grpc.StatusCode.UNAVAILABLE:
            assert "shutting down" in c.details
        assert c.messages[0].HasField("accepted")
        final = c.messages[-1]
        assert final.HasField("stats") and final.stats.final, final
        assert final.stats.frames_processed == _HeldClient.FRAMES
    assert exited_s <= grace_s + 5
    assert "stopped" in server.log().splitlines()[-1]
    _assert_clean_log(server)


# -- SIGKILL, then a restart on the same port -------------------------------------------------

def test_sigkill_then_an_immediate_restart_binds_the_same_ports(live_server):
    first = live_server("--ws-port", "0", name="sigkill")
    port, ws_port = first.port, first.ws_port
    release = threading.Event()
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect
    # Open streams (so the port has live connections when the process dies) and one WebSocket.
    clients = []
    try:
        clients = _held_clients(first.target, 8, release)
        with connect(f"ws://127.0.0.1:{ws_port}/ibeat.v1.Ibeat/Session",
                     open_timeout=TIMEOUT_S) as ws:
            ws.send('{"config": {}}')
            assert "accepted" in json.loads(ws.recv(timeout=TIMEOUT_S))
            first.proc.kill()
            first.proc.wait()
            t0 = time.monotonic()
            second = live_server("--ws-port", str(ws_port), port=port, name="restarted")
            started_s = time.monotonic() - t0
            # The dead server's clients were told (the connection broke), not left hanging.
            with pytest.raises(ConnectionClosed):
                ws.recv(timeout=TIMEOUT_S)
        for c in clients:
            c.thread.join(TIMEOUT_S)
            assert c.code == grpc.StatusCode.UNAVAILABLE, (c.code, c.details)
    finally:
        release.set()
        for c in clients:
            c.channel.close()
    assert (second.port, second.ws_port) == (port, ws_port)
    assert started_s < 30
    assert _serving(second.target)
    out, code, details = _short_session(second.target)
    assert code == grpc.StatusCode.OK, details
    assert out[-1].stats.final and out[-1].stats.frames_processed == 40
    with connect(f"ws://127.0.0.1:{ws_port}/ibeat.v1.Ibeat/Session",
                 open_timeout=TIMEOUT_S) as ws:
        ws.send('{"config": {}}')
        ws.send('{"end": {}}')
        assert "accepted" in json.loads(ws.recv(timeout=TIMEOUT_S))
        assert json.loads(ws.recv(timeout=TIMEOUT_S))["stats"]["final"] is True
    assert second.stop(30) == 0
    _assert_clean_log(second)
