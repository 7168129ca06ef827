"""The WebSocket + JSON transport: the same streams, statuses and limits as gRPC."""

import json
import threading
from contextlib import ExitStack

import grpc
import numpy as np
import pytest
from google.protobuf import json_format
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from ibeat_grpc.replay import clip_frames, replay
from ibeat_grpc.server import start_server
from ibeat_grpc.servicer import NO_SOURCE_MESSAGE
from ibeat_grpc.v1 import ibeat_pb2 as pb
from ibeat_grpc.websocket import (MAX_JSON_BYTES, SESSION_PATH, SUBSCRIBE_PATH, close_code,
                                  close_reason, status_of_close)
from test_grpc import BAD_STREAMS, _wait_for

TIMEOUT_S = 60


@pytest.fixture(scope="module")
def server(networks):
    running = start_server(0, networks=networks, max_sessions=4, ws_port=0)
    yield running
    running.stop(1)


@pytest.fixture(scope="module")
def frames(aist_clip):
    return clip_frames(aist_clip.timestamps_s, aist_clip.keypoints)


def _url(server, path=SESSION_PATH):
    return f"ws://127.0.0.1:{server.ws_port}{path}"


def _json(message) -> str:
    return json_format.MessageToJson(message, indent=None)


def _session(server, texts, *, path=SESSION_PATH):
    """Send ``texts`` (str or bytes) on one socket, read to the end: (ServerMessages, close code,
    reason)."""
    out = []
    with connect(_url(server, path), open_timeout=TIMEOUT_S, max_size=None) as ws:
        try:
            for t in texts:
                ws.send(t)
        except ConnectionClosed:
            pass  # the server ended the stream early: its status tells why
        try:
            while True:
                out.append(json_format.Parse(ws.recv(timeout=TIMEOUT_S), pb.ServerMessage()))
        except ConnectionClosed:
            pass
        return out, ws.close_code, ws.close_reason


def _config(**fields):
    return _json(pb.ClientMessage(config=pb.SessionConfig(**fields)))


def _frames_json(frames):
    t_us, kp = frames
    return [_json(pb.ClientMessage(frame=pb.PoseFrame(timestamp_us=int(t), frame_id=i,
                                                      keypoints=np.ravel(k).tolist())))
            for i, (t, k) in enumerate(zip(t_us, kp))]


def test_a_session_over_websocket_gets_what_grpc_gets(server, frames):
    config = pb.SessionConfig(layout=pb.SKELETON_LAYOUT_COCO17, genre="funk", seed=5)
    texts = [_json(pb.ClientMessage(config=config)), *_frames_json(frames), '{"end": {}}']
    got, code, reason = _session(server, texts)
    assert code == 1000, reason
    kinds = [m.WhichOneof("msg") for m in got]
    assert kinds[0] == "accepted" and kinds[-1] == "stats" and got[-1].stats.final
    assert got[-1].stats.frames_processed == len(frames[0])
    ws_beats = [m.beat for m in got if m.HasField("beat")]
    ws_hits = [h for m in got if m.HasField("hits") for h in m.hits.hits]
    grpc_run = replay(f"127.0.0.1:{server.port}", *frames, config=config, speed=None,
                      timeout_s=TIMEOUT_S)
    assert grpc_run.status == grpc.StatusCode.OK
    assert len(ws_beats) >= 8 and len(ws_hits) >= len(ws_beats) // 2
    assert ws_beats == list(grpc_run.beats)
    assert ws_hits == list(grpc_run.hits)
    assert _wait_for(lambda: server.servicer.active_sessions == 0)


def test_the_wire_is_protobufs_canonical_json(server, frames):
    texts = [_config(), *_frames_json(frames)[:3], '{"end": {}}']
    with connect(_url(server), open_timeout=TIMEOUT_S) as ws:
        for t in texts:
            ws.send(t)
        raw = []
        try:
            while True:
                raw.append(ws.recv(timeout=TIMEOUT_S))
        except ConnectionClosed:
            pass
    accepted = json.loads(raw[0])["accepted"]
    assert accepted["jointsExpected"] == 17 and accepted["mode"] == "poly"
    assert accepted["leadTimeUs"] == "100000"          # int64 as a string
    assert set(accepted["modelVersions"]) == {"visbeat", "mustyle", "drumgen", "mono"}
    final = json.loads(raw[-1])["stats"]
    assert final["final"] is True and final["framesProcessed"] == "3"
    # snake_case and enum numbers are accepted too, as protobuf's parser does.
    got, code, _ = _session(server, ['{"config": {"layout": 1, "lead_time_us": "50000"}}',
                                     '{"end": {}}'])
    assert code == 1000 and got[0].accepted.lead_time_us == 50_000


@pytest.mark.parametrize("name", [n for n in BAD_STREAMS if n != "oversized message"])
def test_errors_close_the_socket_with_the_grpc_status(server, name):
    messages, status, text = BAD_STREAMS[name]
    _, code, reason = _session(server, [_json(m) for m in messages] + ['{"end": {}}'])
    assert code == close_code(status) and status_of_close(code) == status
    assert reason.startswith(f"{status.name}: ")
    assert text.lower() in reason.lower() or len(reason.encode()) >= 120  # cut to 123 bytes
    assert _wait_for(lambda: server.servicer.active_sessions == 0)


READER_ERRORS = {
    "bad JSON": (["{config"], grpc.StatusCode.INVALID_ARGUMENT, "not a JSON ClientMessage"),
    "unknown enum name": (['{"config": {"layout": "SKELETON_LAYOUT_KINECT"}}'],
                          grpc.StatusCode.INVALID_ARGUMENT, "SKELETON_LAYOUT_KINECT"),
    "unknown field": (['{"config": {"tempo": 120}}'], grpc.StatusCode.INVALID_ARGUMENT,
                      "tempo"),
    "binary frame": ([b"\x0a\x00"], grpc.StatusCode.INVALID_ARGUMENT, "text frame"),
    "oversized message": ([_config(), '{"frame": {"keypoints": [' + "1.0," * (MAX_JSON_BYTES // 4)
                           + '1.0]}}'], grpc.StatusCode.RESOURCE_EXHAUSTED, "limit"),
    "end before a config": (['{"end": {}}'], grpc.StatusCode.FAILED_PRECONDITION, "config"),
}


@pytest.mark.parametrize("name", list(READER_ERRORS))
def test_what_the_reader_cannot_take_gets_a_status_not_1011(server, name):
    texts, status, text = READER_ERRORS[name]
    _, code, reason = _session(server, texts)
    assert code == close_code(status), reason
    assert text.lower() in reason.lower()


def test_a_frame_past_twice_the_limit_is_not_even_read(server):
    _, code, _ = _session(server, [_config(), "[" * (2 * MAX_JSON_BYTES + 1)])
    assert code == 1009  # the standard "message too big"


def test_a_wrong_path_is_refused_before_the_upgrade(server):
    with pytest.raises(InvalidStatus) as e:
        connect(_url(server, "/ibeat.v1.Ibeat/Sessions"), open_timeout=TIMEOUT_S)
    assert e.value.response.status_code == 404


def test_subscribe_without_a_source_says_so(server):
    _, code, reason = _session(server, ["{}"], path=SUBSCRIBE_PATH)
    assert code == close_code(grpc.StatusCode.FAILED_PRECONDITION)
    assert reason == close_reason(grpc.StatusCode.FAILED_PRECONDITION, NO_SOURCE_MESSAGE)


def test_both_transports_share_the_session_limit(server, frames):
    with ExitStack() as stack:
        held = [stack.enter_context(connect(_url(server), open_timeout=TIMEOUT_S))
                for _ in range(4)]
        for ws in held:
            ws.send(_config())
            assert json.loads(ws.recv(timeout=TIMEOUT_S))["accepted"]
        _, code, reason = _session(server, [_config()])
        assert code == close_code(grpc.StatusCode.RESOURCE_EXHAUSTED), reason
        r = replay(f"127.0.0.1:{server.port}", frames[0][:5], frames[1][:5],
                   config=pb.SessionConfig(), speed=None, timeout_s=TIMEOUT_S)
        assert r.status == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert _wait_for(lambda: server.servicer.active_sessions == 0)


def test_a_client_that_just_leaves_frees_its_session(server, frames):
    with connect(_url(server), open_timeout=TIMEOUT_S) as ws:
        ws.send(_config())
        for t in _frames_json(frames)[:30]:
            ws.send(t)
    assert _wait_for(lambda: server.servicer.active_sessions == 0)


def test_shutdown_ends_websocket_streams_with_unavailable_after_final_stats(networks, frames):
    running = start_server(0, networks=networks, ws_port=0)
    got, done = [], threading.Event()
    with connect(_url(running), open_timeout=TIMEOUT_S) as ws:
        ws.send(_config())
        for t in _frames_json(frames)[:30]:
            ws.send(t)

        def read():
            try:
                while True:
                    got.append(json_format.Parse(ws.recv(timeout=TIMEOUT_S),
                                                 pb.ServerMessage()))
            except ConnectionClosed:
                done.set()

        reader = threading.Thread(target=read)
        reader.start()
        assert _wait_for(lambda: sum(m.HasField("accepted") for m in got) == 1)
        running.stop(2)
        reader.join(TIMEOUT_S)
    assert done.is_set()
    assert ws.close_code == close_code(grpc.StatusCode.UNAVAILABLE)
    assert "shutting down" in ws.close_reason
    assert got[-1].stats.final
