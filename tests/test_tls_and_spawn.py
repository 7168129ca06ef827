"""Mutual TLS (``--tls-client-ca``), no reflection (``--no-reflection``), and ``ibeat-replay
--serve``: a server of its own that fails at once, saying why, when it cannot start."""

import json
import shutil
import socket
import subprocess
import time

import grpc
import pytest

from ibeat_grpc.replay import main as replay_main
from ibeat_grpc.server import start_server
from ibeat_grpc.spawn import ServerStartError, spawned_server


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=cwd)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A test CA, a server certificate for localhost and a client certificate, both from it;
    and a client certificate from another CA."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl not available to make test certificates")
    d = tmp_path_factory.mktemp("pki")
    for ca in ("ca", "other_ca"):
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                 f"/CN=ibeat {ca}", "-keyout", f"{ca}.key", "-out", f"{ca}.pem", cwd=d)
    for name, ca, extra in (("server", "ca", ["-addext", "subjectAltName=DNS:localhost"]),
                            ("client", "ca", []), ("stranger", "other_ca", [])):
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj",
                 "/CN=localhost" if name == "server" else f"/CN={name}", *extra,
                 "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=d)
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
                 "-CAcreateserial", "-days", "1", "-copy_extensions", "copy",
                 "-out", f"{name}.pem", cwd=d)
    return d


def test_mutual_tls_takes_only_clients_with_a_certificate_from_its_ca(networks, pki, capsys):
    running = start_server(0, networks=networks, tls_cert=pki / "server.pem",
                           tls_key=pki / "server.key", tls_client_ca=pki / "ca.pem")
    base = ["--server", f"localhost:{running.port}", "--tls-ca", str(pki / "ca.pem"),
            "--speed", "max", "--json"]
    try:
        rc = replay_main([*base, "--tls-cert", str(pki / "client.pem"),
                          "--tls-key", str(pki / "client.key")])
        rep = json.loads(capsys.readouterr().out)
        assert rc == 0 and rep["status"] == "OK" and rep["hits"] > 0
        # No client certificate, or one from another CA: the handshake fails.
        for extra in ([], ["--tls-cert", str(pki / "stranger.pem"),
                           "--tls-key", str(pki / "stranger.key")]):
            rc = replay_main([*base, *extra])
            rep = json.loads(capsys.readouterr().out)
            assert rc == 1 and rep["status"] == "UNAVAILABLE" and rep["frames_acknowledged"] == 0
    finally:
        running.stop(1)


def test_a_client_certificate_needs_its_key(capsys):
    with pytest.raises(SystemExit) as e:
        replay_main(["--tls-cert", "client.pem"])
    assert e.value.code == 2
    assert "--tls-cert and --tls-key" in capsys.readouterr().err


def test_mutual_tls_needs_a_server_certificate(networks, pki):
    with pytest.raises(ValueError, match="needs --tls-cert"):
        start_server(0, networks=networks, tls_client_ca=pki / "ca.pem")


def test_reflection_can_be_turned_off(networks):
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    def services(running):
        with grpc.insecure_channel(f"127.0.0.1:{running.port}") as ch:
            stub = reflection_pb2_grpc.ServerReflectionStub(ch)
            request = reflection_pb2.ServerReflectionRequest(list_services="")
            try:
                answer = next(iter(stub.ServerReflectionInfo(iter([request]), timeout=10)))
            except grpc.RpcError as e:
                return e.code()
            return sorted(s.name for s in answer.list_services_response.service)

    on = start_server(0, networks=networks)
    off = start_server(0, networks=networks, reflection_on=False)
    try:
        assert "ibeat.v1.Ibeat" in services(on)
        assert services(off) == grpc.StatusCode.UNIMPLEMENTED
    finally:
        on.stop(1)
        off.stop(1)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_replay_serve_runs_a_server_of_its_own_and_stops_it(capsys):
    port = _free_port()
    rc = replay_main(["--serve", "--server", f"localhost:{port}", "--speed", "max", "--json"])
    rep = json.loads(capsys.readouterr().out)
    assert rc == 0 and rep["status"] == "OK" and rep["hits"] > 0
    assert rep["server"] == f"127.0.0.1:{port}"
    with socket.socket() as s:  # stopped: the port is free again
        s.bind(("127.0.0.1", port))


def test_replay_serve_fails_at_once_when_the_port_is_taken(capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        t0 = time.monotonic()
        rc = replay_main(["--serve", "--server", f"localhost:{port}", "--wait-s", "60"])
        elapsed = time.monotonic() - t0
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2
    assert len(err) == 1 and err[0].startswith("ibeat-replay: --serve: could not bind")
    assert "choose another --port" in err[0]
    assert elapsed < 30  # not the whole --wait-s: the server's exit is the answer


def test_spawned_server_needs_host_and_port():
    with pytest.raises(ServerStartError, match="HOST:PORT"):
        spawned_server("localhost")
