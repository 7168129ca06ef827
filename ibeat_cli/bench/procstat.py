"""Memory and CPU of a process and its descendants, read from ``/proc`` (Linux).

Sums over the tree because ``ibeat-server --workers N`` forks worker processes.
"""

from __future__ import annotations

import os
import threading
import time


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants (the server's worker processes)."""
    pids, i = [pid], 0
    while i < len(pids):
        try:
            for task in os.listdir(f"/proc/{pids[i]}/task"):
                with open(f"/proc/{pids[i]}/task/{task}/children") as f:
                    pids += [int(c) for c in f.read().split()]
        except OSError:
            pass
        i += 1
    return pids


def _tree_status(pid: int) -> dict:
    """VmRSS, VmHWM [kB] summed over the process tree (an upper bound: shared pages count twice)."""
    out = {}
    for p in _tree(pid):
        for key, value in _proc_status(p).items():
            out[key] = out.get(key, 0) + value
    return out


def _tree_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds summed over the process tree; None once ``pid`` is gone."""
    values = [_proc_cpu_s(p) for p in _tree(pid)]
    return sum(v for v in values if v is not None) if values[0] is not None else None


def _proc_status(pid: int) -> dict:
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:", "Threads:")):
                    key, value = line.split(":", 1)
                    out[key] = int(value.split()[0])
    except OSError:
        pass
    return out


def _proc_cpu_s(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


class _RssSampler(threading.Thread):
    """The process tree's VmRSS [kB], sampled every ``interval_s`` until :meth:`stop`."""

    def __init__(self, pid: int, interval_s: float = 0.1):
        super().__init__(daemon=True)
        self.pid, self.interval_s = pid, interval_s
        self.samples: list[int] = []
        #: (seconds since start, VmRSS [kB]) of every sample.
        self.series: list[tuple[float, int]] = []
        self._stop_event = threading.Event()

    def run(self):
        t0 = time.monotonic()
        while not self._stop_event.is_set():
            rss = _tree_status(self.pid).get("VmRSS")
            if rss is not None:
                self.samples.append(rss)
                self.series.append((time.monotonic() - t0, rss))
            self._stop_event.wait(self.interval_s)

    def stop(self):
        self._stop_event.set()
        self.join()
