"""``ibeat-server --metrics-port``: the Prometheus endpoint counts what the streams did."""

import socket
import sys
import threading
import time
import urllib.request

import grpc
import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families

from ibeat_grpc.load import ServerLimits
from ibeat_grpc.replay import clip_frames, replay
from ibeat_grpc.server import main as server_main
from ibeat_grpc.server import start_server
from ibeat_grpc.v1 import ibeat_pb2 as pb
from ibeat_grpc.v1 import ibeat_pb2_grpc as pb_grpc

TIMEOUT_S = 30


def _scrape(port) -> dict:
    """``{(name, frozenset(labels)): value}`` of every sample at ``/metrics``."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=TIMEOUT_S) as r:
        text = r.read().decode()
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_metrics_count_sessions_frames_hits_restarts_and_refusals(networks, aist_clip):
    t_us, kp = clip_frames(aist_clip.timestamps_s, aist_clip.keypoints)
    n = 150
    # A 3-s gap after frame 100 restarts the engine once.
    t_gap = np.concatenate([t_us[:100], t_us[100:n] + 3_000_000])
    running = start_server(0, networks=networks, max_sessions=1, metrics_port=0,
                           limits=ServerLimits(max_sessions_per_peer=1))
    try:
        before = _scrape(running.metrics_port)
        assert before[("ibeat_sessions_active", frozenset())] == 0
        assert before[("ibeat_sessions_max", frozenset())] == 1
        cpu0 = time.process_time()  # the server runs in this process
        r = replay(f"127.0.0.1:{running.port}", t_gap, kp[:n], speed=None, timeout_s=TIMEOUT_S)
        cpu_s = time.process_time() - cpu0
        assert r.status == grpc.StatusCode.OK and r.last_stats.restarts == 1
        after = _scrape(running.metrics_port)
    finally:
        running.stop(1)
    assert after[("ibeat_sessions_opened_total", frozenset())] == 1
    assert after[("ibeat_sessions_ended_total", frozenset({("code", "OK")}))] == 1
    assert after[("ibeat_frames_total", frozenset())] == n
    assert after[("ibeat_frame_latency_seconds_count", frozenset())] == n
    assert after[("ibeat_hits_sent_total", frozenset())] == len(r.hits) > 0
    assert after[("ibeat_stream_restarts_total", frozenset())] == 1
    assert after[("ibeat_loop_lag_seconds_count", frozenset())] > 0
    assert after[("ibeat_sessions_active", frozenset())] == 0
    assert after[("ibeat_engine_batch_frames_sum", frozenset())] == n
    # The engine's share of the CPU time the replay took (client and server together), and of
    # this process's.
    engine_s = after[("ibeat_engine_cpu_seconds_total", frozenset())]
    assert 0 < engine_s < cpu_s
    if sys.platform.startswith("linux"):  # prometheus_client's process collector reads /proc
        assert engine_s < after[("process_cpu_seconds_total", frozenset())]


def test_metrics_count_refusals_by_status(networks):
    running = start_server(0, networks=networks, max_sessions=1, metrics_port=0)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{running.port}") as ch:
            hold = threading.Event()

            def held():
                yield pb.ClientMessage(config=pb.SessionConfig())
                hold.wait(TIMEOUT_S)

            first = pb_grpc.IbeatStub(ch).Session(held(), timeout=TIMEOUT_S)
            next(first)  # accepted: the one slot is taken
            with pytest.raises(grpc.RpcError) as e:
                list(pb_grpc.IbeatStub(ch).Session(iter([pb.ClientMessage(
                    config=pb.SessionConfig())]), timeout=TIMEOUT_S))
            assert e.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            hold.set()
            list(first)
        m = _scrape(running.metrics_port)
    finally:
        running.stop(1)
    assert m[("ibeat_sessions_refused_total", frozenset({("code", "RESOURCE_EXHAUSTED")}))] == 1


def test_a_taken_metrics_port_is_one_clear_line(networks, capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert server_main(["--port", "0", "--metrics-port", str(port)]) == 2
    err = capsys.readouterr().err
    assert f"could not serve metrics on 127.0.0.1:{port}" in err and "Traceback" not in err
