"""``ibeat-listen``: hear the server's own camera or video over ``Subscribe``, sending no frames.

The server (``ibeat-server --camera N`` or ``--video FILE``) runs capture,
pose and the engine; this client listens for ``--duration-s`` seconds, until
the source ends (a video without ``--loop``), or until Ctrl-C, writes what it
heard as MIDI / WAV / a figure, and prints a report:

* **source**: the server's description of it, and the statuses seen in order
  ("tracking", "no person in frame", "video ended", ...);
* **beats, hits, tempo** heard, and how the stream ended;
* **hit lead time** p1/p50 [ms] and the share on time: how long before its
  play time each hit arrived. Play times are in the source clock; the
  listener maps them onto its own ``time.monotonic()`` with the clock
  readings the server sends (``source_time_us`` on SourceInfo and every
  SessionStats: the source clock at the instant the message was queued):
  offset = min(arrival - source_time_us) over the last
  :data:`CLOCK_READINGS` readings since the last StreamRestarted, the least
  delayed message giving the best estimate (it over-states leads by the
  smallest one-way network delay, well under a millisecond on loopback);
* **server latency** p50/p99 [us] (frame grab -> its events queued, pose
  estimation included), frames processed and dropped by the source, and the
  events and stats this listener dropped (it read too slowly).
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from ibeat_io.version import add_version_argument

from .heard import (HeardMessages, add_connection_arguments, channel_from_args, lead_summary,
                    print_report, wait_for_server, write_heard)
from .v1 import ibeat_pb2 as pb
from .v1 import ibeat_pb2_grpc as pb_grpc

__all__ = ["CLOCK_READINGS", "Listening", "listen", "clock_offsets_us", "hit_leads_ms",
           "report", "write_outputs", "main"]

#: Recent clock readings the source -> listener clock offset is taken over (one a second).
CLOCK_READINGS = 8


@dataclass
class Listening(HeardMessages):
    """What a listener heard; ``received_at`` are ``time.monotonic()`` seconds per message.

    ``ended_by``: ``"source"`` (the stream ended, see ``status``), ``"duration"``
    (``duration_s`` reached) or ``"interrupted"`` (Ctrl-C).
    """

    messages: list = field(default_factory=list)
    received_at: list = field(default_factory=list)
    status: grpc.StatusCode = grpc.StatusCode.OK
    details: str = ""
    ended_by: str = "source"
    started_at: float = 0.0
    ended_at: float = 0.0

    @property
    def info(self) -> pb.SourceInfo | None:
        return self.messages[0].source if self.messages and self.messages[0].HasField("source") else None

    @property
    def statuses(self) -> list:
        return [m.source_status for m in self.messages if m.HasField("source_status")]


def listen(target, *, duration_s: float | None = None, timeout_s: float | None = None) -> Listening:
    """Subscribe to ``target`` (``"host:port"`` or a ``grpc.Channel``) and collect what comes.

    Listens until the stream ends, or for ``duration_s`` seconds (then the
    call is cancelled and ``ended_by`` is ``"duration"``, status OK). A stream
    that ends with an error is returned with ``status`` and ``details`` set.
    """
    out = Listening(started_at=time.monotonic())
    channel = grpc.insecure_channel(target) if isinstance(target, str) else target
    timed_out = threading.Event()
    timer = None
    try:
        call = pb_grpc.IbeatStub(channel).Subscribe(pb.SubscribeRequest(), timeout=timeout_s)
        if duration_s is not None:
            def stop():
                timed_out.set()
                call.cancel()
            timer = threading.Timer(duration_s, stop)
            timer.daemon = True
            timer.start()
        try:
            for message in call:
                out.received_at.append(time.monotonic())
                out.messages.append(message)
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.CANCELLED and timed_out.is_set():
                out.ended_by = "duration"
            else:
                out.status, out.details = e.code(), e.details()
        except KeyboardInterrupt:
            call.cancel()
            out.ended_by = "interrupted"
    finally:
        if timer is not None:
            timer.cancel()
        if isinstance(target, str):
            channel.close()
        out.ended_at = time.monotonic()
    return out


def clock_offsets_us(r: Listening, *, readings: int = CLOCK_READINGS) -> list:
    """Per message: listener clock [us] minus source clock [us], from the readings so far.

    The offset of a message is the smallest ``arrival - source_time_us`` of the
    last ``readings`` clock readings received up to it. A StreamRestarted (a
    looping video) starts the readings afresh: the file reopening pauses the
    source clock against the server's. Messages before the first reading of
    their pass take that reading; after the last pass's readings, the last
    offset known. None for every message when there is no reading at all.
    """
    out = [None] * len(r.messages)
    recent, waiting, last = [], [], None
    for i, (m, at) in enumerate(zip(r.messages, r.received_at)):
        if m.HasField("restarted"):
            recent = []
        source_us = _source_time(m)
        if source_us is not None:
            recent = (recent + [int(round(at * 1e6)) - source_us])[-readings:]
            for j in waiting:
                out[j] = recent[0]
            waiting = []
        if recent:
            out[i] = last = min(recent)
        else:
            waiting.append(i)
    for j in waiting:
        out[j] = last
    return out


def _source_time(m) -> int | None:
    if m.HasField("source") and m.source.HasField("source_time_us"):
        return m.source.source_time_us
    if m.HasField("stats") and m.stats.HasField("source_time_us"):
        return m.stats.source_time_us
    return None


def hit_leads_ms(r: Listening) -> list | None:
    """Per hit heard, in order: how long [ms] before its play time it arrived (None: no clock reading)."""
    offsets = clock_offsets_us(r)
    if all(off is None for off in offsets):
        return None
    return [(h.time_us + off) / 1e3 - at * 1e3
            for m, at, off in zip(r.messages, r.received_at, offsets) if m.HasField("hits")
            for h in m.hits.hits]


def _span_us(r: Listening) -> tuple[int, int] | None:
    """Source times [us] of the start and end of what was heard (None: nothing timed)."""
    times = [t for m in r.messages for t in [_source_time(m)] if t is not None]
    times += [b.emitted_us for b in r.beats] + [h.time_us for h in r.hits]
    return (min(times), max(times)) if times else None


def _statuses(r: Listening) -> list:
    """Status messages seen, in order, repeats in a row collapsed."""
    out = []
    for s in r.statuses:
        if not out or out[-1] != s.message:
            out.append(s.message)
    return out


def report(r: Listening) -> dict:
    """The report of a listening (see the module docstring); times in ms unless ``_us``."""
    import numpy as np

    info, stats, beats = r.info, r.last_stats, r.beats
    out = {"source": info.description if info else None,
           "status": r.status.name, "details": r.details, "ended_by": r.ended_by,
           "listened_s": round(r.ended_at - r.started_at, 3),
           "statuses": _statuses(r), "beats": len(beats), "hits": len(r.hits),
           "tempo_bpm": round(float(np.median([b.tempo_bpm for b in beats])), 2) if beats else None,
           "restarts": int(stats.restarts) if stats else None,
           "frames_processed": int(stats.frames_processed) if stats else None,
           "frames_dropped": int(stats.frames_dropped) if stats else None,
           "server_latency_p50_us": int(stats.latency_p50_us) if stats else None,
           "server_latency_p99_us": int(stats.latency_p99_us) if stats else None,
           "events_dropped": int(stats.events_dropped) if stats else None,
           "stats_dropped": int(stats.stats_dropped) if stats else None}
    out.update(lead_summary(hit_leads_ms(r)))
    return out


def write_outputs(r: Listening, *, midi=None, wav=None, seed: int = 0) -> dict:
    """Write the hits heard as MIDI and/or WAV, time 0 at the first source time heard."""
    span = _span_us(r)
    if not (midi or wav) or span is None:
        return {}
    return write_heard(r.beats, r.hits, start_us=span[0], end_us=span[1], midi=midi, wav=wav,
                       seed=seed)


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text!r}")
    return value


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="ibeat-listen", formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Listen to an ibeat server's own camera or video (ibeat-server --camera N | "
                    "--video FILE) without sending frames; write the drums heard and print a "
                    "report (beats, hits, hit lead times, source statuses).")
    add_version_argument(parser)
    parser.add_argument("--server", default="localhost:50051", help="host:port of ibeat-server")
    parser.add_argument("--duration-s", type=_positive, default=None,
                        help="listen this long [s] (default: until the source ends or Ctrl-C)")
    parser.add_argument("--out", type=Path, help="write the hits heard as General MIDI")
    parser.add_argument("--wav", type=Path, help="write the hits heard as WAV (synthesised kit)")
    parser.add_argument("--plot", type=Path,
                        help="write a figure of what was heard: beats, drum roll, hit lead times")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthesised kit")
    parser.add_argument("--wait-s", type=float, default=0.0,
                        help="wait up to this long [s] for the server to come up")
    add_connection_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)

    with channel_from_args(parser, args) as channel:
        if not wait_for_server(channel, args.server, args.wait_s, prog="ibeat-listen"):
            return 2
        r = listen(channel, duration_s=args.duration_s)
    if r.status == grpc.StatusCode.UNAVAILABLE and not r.messages:
        # Nothing heard at all: a report of Nones would only hide the one line that matters.
        print(f"ibeat-listen: no server at {args.server} ({r.details})", file=sys.stderr)
        return 2
    rep = {"server": args.server, **report(r)}
    rep.update(write_outputs(r, midi=args.out, wav=args.wav, seed=args.seed))
    span = _span_us(r)
    if args.plot and span is not None:
        from ibeat_io.plots import plot_heard
        plot_heard(span[0], r.beats, r.hits, hit_leads_ms(r), args.plot,
                   title=f"{rep['source']} through {args.server}")
        rep["plot"] = str(args.plot)
    print_report(rep, as_json=args.json)
    if r.status != grpc.StatusCode.OK:
        print(f"ibeat-listen: stream ended with {r.status.name}: {r.details}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
