"""An ``ibeat-server`` child process for one client run (``ibeat-replay --serve``).

The server is a real ``ibeat-server`` process (the same command a user types),
started on the client's ``--server`` address. It is ready when it logs that it
listens; if it exits before that (the port is taken, say) its own one-line
reason is raised at once, so the client never waits for, or talks to, a server
that is not the one it started. It is stopped (SIGINT: open streams end
cleanly) when the ``with`` block ends.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time

__all__ = ["ServerStartError", "spawned_server", "stop_server_process", "READY_MARK"]

#: What ``ibeat-server`` logs once it accepts calls.
READY_MARK = "ibeat-server listening on "


class ServerStartError(RuntimeError):
    """The child server exited, or did not get ready in time; the message says why."""


class spawned_server:
    """``with spawned_server("localhost:50051"):`` runs an ``ibeat-server`` on that address.

    Parameters
    ----------
    address : str
        ``host:port`` the server listens on. ``localhost`` becomes ``127.0.0.1``
        (:attr:`address`): gRPC binds a name to every address it resolves to and
        succeeds if any is free, so a server already on one of them would
        answer in its place.
    timeout_s : float
        How long it may take to get ready.
    extra_args : sequence of str
        More ``ibeat-server`` flags.
    """

    def __init__(self, address: str, *, timeout_s: float = 60.0, extra_args=()):
        host, sep, port = address.rpartition(":")
        if not sep or not port.isdigit():
            raise ServerStartError(f"--serve needs --server HOST:PORT, got {address!r}")
        host = host.strip("[]")
        if host == "localhost":
            host = "127.0.0.1"
        #: Where clients reach it: ``host:port``.
        self.address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        self.command = [sys.executable, "-m", "ibeat_grpc.server", "--host", host,
                        "--port", port, "--log-level", "INFO", *extra_args]
        self.timeout_s = float(timeout_s)
        self.process: subprocess.Popen | None = None

    def __enter__(self):
        self.process = subprocess.Popen(self.command, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE, text=True)
        lines: list[str] = []
        ready = threading.Event()

        def read():
            for line in self.process.stderr:
                if not ready.is_set():
                    lines.append(line.rstrip())
                    if READY_MARK in line:
                        ready.set()
                elif " WARNING " in line or " ERROR " in line:
                    print(line.rstrip(), file=sys.stderr)  # the server's warnings stay visible

        threading.Thread(target=read, name="ibeat-server-log", daemon=True).start()
        end = time.monotonic() + self.timeout_s
        while not ready.wait(0.05):
            if self.process.poll() is not None:
                time.sleep(0.1)  # the reader takes the last lines
                raise ServerStartError(_reason(lines, self.process.returncode))
            if time.monotonic() > end:
                self._stop()
                raise ServerStartError(f"the server did not get ready within {self.timeout_s:g} s")
        return self

    def __exit__(self, *exc):
        self._stop()
        return False

    def _stop(self):
        if self.process is not None:
            stop_server_process(self.process)


def stop_server_process(process: subprocess.Popen, timeout_s: float = 15.0):
    """SIGINT (open streams end cleanly), then SIGKILL if it has not exited after ``timeout_s``."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _reason(lines: list[str], code: int) -> str:
    """The server's own last words (its ``ibeat-server: ...`` line), else its exit code."""
    own = [line for line in lines if line.startswith("ibeat-server:")]
    if own:
        return own[-1].removeprefix("ibeat-server: ")
    return f"the server exited with code {code} before it was ready" + (
        f": {lines[-1]}" if lines else "")
