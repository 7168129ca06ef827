"""``--auth-token-file``: every call but health needs a bearer token, over gRPC and WebSocket."""

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from ibeat_grpc.auth import load_tokens, token_ok
from ibeat_grpc.heard import open_channel
from ibeat_grpc.replay import clip_frames, main as replay_main, replay
from ibeat_grpc.server import start_server
from ibeat_grpc.v1 import ibeat_pb2 as pb
from ibeat_grpc.v1 import ibeat_pb2_grpc as pb_grpc
from ibeat_grpc.websocket import SESSION_PATH

TOKEN = "s3cret-token-for-tests"


@pytest.fixture(scope="module")
def server(networks, tmp_path_factory):
    path = tmp_path_factory.mktemp("auth") / "tokens"
    path.write_text(f"# ibeat tokens\n{TOKEN}\nanother-one\n\n")
    running = start_server(0, networks=networks, ws_port=0, auth_tokens=load_tokens(path))
    yield running
    running.stop(1)


def test_calls_without_the_token_are_unauthenticated(server):
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        with pytest.raises(grpc.RpcError) as e:
            pb_grpc.IbeatStub(channel).GetInfo(pb.GetInfoRequest(), timeout=10)
        assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert TOKEN not in e.value.details()
        # Health stays open for orchestrators.
        status = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(),
                                                           timeout=10)
        assert status.status == health_pb2.HealthCheckResponse.SERVING
    with open_channel(f"127.0.0.1:{server.port}", token="wrong") as channel:
        with pytest.raises(grpc.RpcError) as e:
            pb_grpc.IbeatStub(channel).GetInfo(pb.GetInfoRequest(), timeout=10)
        assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_the_token_opens_every_stream(server, aist_clip, monkeypatch):
    with open_channel(f"127.0.0.1:{server.port}", token=TOKEN) as channel:
        assert pb_grpc.IbeatStub(channel).GetInfo(pb.GetInfoRequest(), timeout=10).protocol
    t_us, kp = clip_frames(aist_clip.timestamps_s, aist_clip.keypoints)
    no_token = replay(f"127.0.0.1:{server.port}", t_us[:30], kp[:30], config=pb.SessionConfig(),
                      speed=None, timeout_s=30)
    assert no_token.status == grpc.StatusCode.UNAUTHENTICATED
    # The command line client takes --token, or $IBEAT_TOKEN.
    monkeypatch.setenv("IBEAT_TOKEN", "another-one")
    assert replay_main(["--server", f"127.0.0.1:{server.port}", "--speed", "max"]) == 0


def test_the_websocket_needs_the_same_token(server):
    url = f"ws://127.0.0.1:{server.ws_port}{SESSION_PATH}"
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        with connect(url, open_timeout=10, additional_headers=headers) as ws:
            with pytest.raises(ConnectionClosed):
                ws.recv(timeout=10)
            assert ws.close_code == 4016  # UNAUTHENTICATED, which a client does not retry
            assert ws.close_reason.startswith("UNAUTHENTICATED: a valid token is needed")
    with connect(url, open_timeout=10,
                 additional_headers={"Authorization": f"Bearer {TOKEN}"}) as ws:
        ws.send('{"config": {}}')
        assert '"accepted"' in ws.recv(timeout=10)


def test_token_files_and_comparison(tmp_path):
    empty = tmp_path / "empty"
    empty.write_text("# nothing\n\n")
    with pytest.raises(ValueError, match="no token"):
        load_tokens(empty)
    spaced = tmp_path / "spaced"
    spaced.write_text("two words\n")
    with pytest.raises(ValueError, match="spaces"):
        load_tokens(spaced)
    tokens = (b"abc", b"def")
    assert token_ok("Bearer def", tokens) and not token_ok("Bearer de", tokens)
    assert not token_ok("def", tokens) and not token_ok(None, tokens)
