"""Shared fixtures: the bundled real AIST++ clip and the optional shared data root."""

import os
from pathlib import Path

import pytest

from ibeat_io.clips import bundled_clip_path, load_clip

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir():
    """The real data root: $IBEAT_DATA, else ../shared/data beside the repo; None if absent."""
    for candidate in (os.environ.get("IBEAT_DATA"), REPO.parent / "shared" / "data"):
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return None


@pytest.fixture(scope="session")
def networks():
    """The shipped networks, loaded once (stateless: every session keeps its own state)."""
    from ibeat_models import load_networks
    return load_networks()


@pytest.fixture(scope="session")
def aist_clip():
    """Real AIST++ keypoints (view 0 of gBR_sBM_d04_mBR0_ch01: 12 s at 60 fps, 80 BPM)."""
    return load_clip(bundled_clip_path(), view=0)


@pytest.fixture(scope="session")
def data_dir():
    root = shared_data_dir()
    if root is None:
        pytest.skip("shared data directory not found (set IBEAT_DATA)")
    return root


@pytest.fixture
def onnx_export():
    """Skip unless training and ONNX export can run: torch, and onnx, which torch.onnx.export
    needs to write a graph (the shipped graphs run on onnxruntime and need neither)."""
    pytest.importorskip("torch", reason="training needs torch (the optional [train] extra)")
    pytest.importorskip("onnx", reason="ONNX export needs onnx (the optional [train] extra)")


class LiveServer:
    """An ``ibeat-server`` process (``python -m ibeat_grpc.server``) with its log in a file.

    For tests that need the real process: signals, crashes, its RSS, tracebacks in its log.
    ``port`` / ``ws_port`` are read from its start-up log, so ``--port 0`` needs no guessing.
    """

    def __init__(self, log_path: Path, *args: str, port: int = 0, ready_timeout_s: float = 60):
        import re
        import subprocess
        import sys
        import time

        self.log_path = Path(log_path)
        env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "ibeat_grpc.server", "--port", str(port),
                 "--log-level", "INFO", *args],
                stdout=subprocess.DEVNULL, stderr=log, cwd=REPO, env=env)
        self.pid = self.proc.pid
        self.port = self.ws_port = None
        end = time.monotonic() + ready_timeout_s
        while time.monotonic() < end and self.proc.poll() is None:
            text = self.log()
            grpc_at = re.search(r"ibeat-server listening on \S+:(\d+)", text)
            ws_at = re.search(r"WebSocket transport on ws://\S+?:(\d+)/", text)
            if grpc_at and (ws_at or "--ws-port" not in args):
                self.port = int(grpc_at.group(1))
                self.ws_port = int(ws_at.group(1)) if ws_at else None
                return
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"ibeat-server did not start (exit {self.proc.poll()}):\n"
                           f"{self.log()[-3000:]}")

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def log(self, start: int = 0) -> str:
        """Its stderr so far, from byte ``start`` (a :meth:`log_size` taken earlier)."""
        with open(self.log_path, "rb") as f:
            f.seek(start)
            return f.read().decode(errors="replace")

    def log_size(self) -> int:
        return self.log_path.stat().st_size

    def alive(self) -> bool:
        return self.proc.poll() is None

    def rss_kb(self) -> int:
        """Resident set size now [kB] (``VmRSS`` of ``/proc/PID/status``)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def signal(self, signum):
        if self.alive():
            self.proc.send_signal(signum)

    def stop(self, timeout_s: float = 30) -> int | None:
        """SIGTERM (a graceful stop), SIGKILL after ``timeout_s``; the exit code (None: killed)."""
        import signal
        import subprocess

        self.signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def kill(self):
        if self.alive():
            self.proc.kill()
        self.proc.wait()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """``live_server(*args, port=0)``: start an ``ibeat-server`` process; every one still
    running is stopped at the end of the session."""
    started = []

    def start(*args, port: int = 0, name: str = "server"):
        server = LiveServer(tmp_path_factory.mktemp(name) / "stderr.log", *args, port=port)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop(10)
