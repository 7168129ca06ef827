"""``ibeat-replay``: a headless client that streams a recorded clip exactly like a live one.

It sends the clip's frames over ``ibeat.v1.Ibeat/Session`` at their real timing
(``--speed 1``, or faster, or ``max``: as fast as the server takes them),
collects the beats and hits the server sends back, writes what it heard as
MIDI and WAV, and prints a latency report:

* **server processing latency** p50/p99 [us]: frame received -> its events
  queued, from the server's last SessionStats;
* **client latency** p50/p99 [ms]: a frame handed to gRPC -> the event it
  produced received (``frame_id`` on each event), over loopback or the network;
* **hit lead time** p1/p50 [ms] (real-time speeds only): how long before its
  play time each hit arrived, play times mapped from the clip clock to wall
  time by the replay's own start (negative = late), and the share on time;
* frames sent and acknowledged (processed, from the last SessionStats).

Timestamps sent are the clip's own, in integer microseconds; a joint the clip
has as NaN goes out as confidence 0 (the protocol's "missed joint").
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import numpy as np

from ibeat_core.drums import GENRES
from ibeat_core.session import MODES

from .v1 import ibeat_pb2 as pb
from .v1 import ibeat_pb2_grpc as pb_grpc

__all__ = ["clip_frames", "frame_messages", "Replay", "replay", "hit_leads_ms", "report",
           "write_outputs", "main"]

_MODES = {"poly": pb.DRUM_MODE_POLY, "mono": pb.DRUM_MODE_MONO}


def clip_frames(timestamps_s, keypoints) -> tuple[np.ndarray, np.ndarray]:
    """A clip as wire frames: ``(timestamps [us] int64 (T,), keypoints float32 (T, J, 3))``.

    NaN/Inf joints become ``[0, 0, 0]`` (confidence 0 = missed joint).
    """
    t_us = np.round(np.asarray(timestamps_s, dtype=np.float64) * 1e6).astype(np.int64)
    kp = np.array(keypoints, dtype=np.float32)
    bad = ~np.isfinite(kp).all(axis=-1)
    kp[bad] = 0.0
    return t_us, kp


def frame_messages(timestamps_us, keypoints, *, config: pb.SessionConfig, speed: float | None,
                   sent: dict | None = None, start=None):
    """The client messages of a replay: config, then every frame, paced by ``speed``.

    ``speed`` None sends as fast as gRPC takes them. ``sent`` collects
    ``frame_id -> perf_counter`` at hand-over; ``start`` (a one-item list) gets
    the wall time [perf_counter s] the first frame's timestamp maps to.
    """
    yield pb.ClientMessage(config=config)
    t0 = None
    for i, (t, kp) in enumerate(zip(timestamps_us, keypoints)):
        if t0 is None:
            t0 = time.perf_counter()
            if start is not None:
                start.append(t0)
        if speed is not None:
            delay = t0 + (int(t) - int(timestamps_us[0])) / 1e6 / speed - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        if sent is not None:
            sent[i] = time.perf_counter()
        yield pb.ClientMessage(frame=pb.PoseFrame(timestamp_us=int(t),
                                                  keypoints=kp.ravel().tolist(), frame_id=i))


@dataclass
class Replay:
    """What a replay sent and heard (wall times are ``time.perf_counter`` seconds)."""

    timestamps_us: np.ndarray
    speed: float | None
    messages: list = field(default_factory=list)
    received_at: list = field(default_factory=list)
    sent_at: dict = field(default_factory=dict)
    start: list = field(default_factory=list)
    status: grpc.StatusCode = grpc.StatusCode.OK
    details: str = ""

    @property
    def beats(self) -> list:
        return [m.beat for m in self.messages if m.HasField("beat")]

    @property
    def hits(self) -> list:
        return [h for m in self.messages if m.HasField("hits") for h in m.hits.hits]

    @property
    def last_stats(self):
        stats = [m.stats for m in self.messages if m.HasField("stats")]
        return stats[-1] if stats else None


def replay(target, timestamps_us, keypoints, *, config: pb.SessionConfig | None = None,
           speed: float | None = 1.0, timeout_s: float | None = None) -> Replay:
    """Stream frames to ``target`` (``"host:port"`` or a ``grpc.Channel``); collect the answers.

    A stream that ends with an error status is returned with ``status`` and
    ``details`` set (what arrived before is kept).
    """
    out = Replay(np.asarray(timestamps_us), speed)
    channel = grpc.insecure_channel(target) if isinstance(target, str) else target
    try:
        stub = pb_grpc.IbeatStub(channel)
        requests = frame_messages(timestamps_us, keypoints, config=config or pb.SessionConfig(),
                                  speed=speed, sent=out.sent_at, start=out.start)
        try:
            for message in stub.Session(requests, timeout=timeout_s):
                out.received_at.append(time.perf_counter())
                out.messages.append(message)
        except grpc.RpcError as e:
            out.status, out.details = e.code(), e.details()
    finally:
        if isinstance(target, str):
            channel.close()
    return out


def _pct(values, qs) -> list:
    v = np.asarray(values, dtype=np.float64)
    return [round(float(x), 3) for x in np.percentile(v, qs)] if v.size else [None] * len(qs)


def hit_leads_ms(r: Replay) -> list | None:
    """Per hit heard, in order: how long [ms] before its play time it arrived (None at max speed)."""
    if r.speed is None or not r.start or not len(r.timestamps_us):
        return None
    t0_us, wall0 = int(r.timestamps_us[0]), r.start[0]
    return [1e3 * (wall0 + (h.time_us - t0_us) / 1e6 / r.speed - at)
            for m, at in zip(r.messages, r.received_at) if m.HasField("hits")
            for h in m.hits.hits]


def report(r: Replay) -> dict:
    """The latency report of a replay (see the module docstring); times in ms unless ``_us``."""
    stats = r.last_stats
    client_ms = []
    for m, at in zip(r.messages, r.received_at):
        kind = m.WhichOneof("msg")
        if kind in ("beat", "hits"):
            frame_id = getattr(m, kind).frame_id
            if frame_id in r.sent_at:
                client_ms.append(1e3 * (at - r.sent_at[frame_id]))
    out = {"status": r.status.name, "details": r.details,
           "speed": "max" if r.speed is None else r.speed,
           "frames_sent": len(r.sent_at),
           "frames_acknowledged": int(stats.frames_processed) if stats else 0,
           "beats": len(r.beats), "hits": len(r.hits),
           "tempo_bpm": round(float(np.median([b.tempo_bpm for b in r.beats])), 2) if r.beats else None,
           "server_latency_p50_us": int(stats.latency_p50_us) if stats else None,
           "server_latency_p99_us": int(stats.latency_p99_us) if stats else None,
           "events_dropped": int(stats.events_dropped) if stats else None}
    p50, p99 = _pct(client_ms, [50, 99])
    out.update(client_latency_p50_ms=p50, client_latency_p99_ms=p99)
    leads = hit_leads_ms(r)
    if leads is not None:
        p1, p50 = _pct(leads, [1, 50])
        out.update(hit_lead_p1_ms=p1, hit_lead_p50_ms=p50,
                   hits_on_time_share=round(float(np.mean(np.asarray(leads) >= 0)), 4)
                   if leads else None)
    else:
        out.update(hit_lead_p1_ms=None, hit_lead_p50_ms=None, hits_on_time_share=None)
    return out


def write_outputs(r: Replay, *, midi=None, wav=None, seed: int = 0) -> dict:
    """Write the hits heard as MIDI and/or WAV, times from the clip's first frame."""
    written = {}
    if not (midi or wav):
        return written
    t0_us = int(r.timestamps_us[0])
    hits = [h for h in r.hits if h.time_us >= t0_us]
    onsets = np.array([(h.time_us - t0_us) / 1e6 for h in hits], dtype=np.float64)
    if midi:
        from ibeat_io.midi import notes_to_pretty_midi
        tempo = float(np.median([b.tempo_bpm for b in r.beats])) if r.beats else 120.0
        pm = notes_to_pretty_midi(onsets, np.array([h.gm_pitch for h in hits], dtype=np.int64),
                                  np.array([h.velocity for h in hits], dtype=np.int64), bpm=tempo)
        pm.write(str(midi))
        written["midi"] = str(midi)
    if wav:
        from ibeat_core.drumkit import SAMPLE_RATE, render_hits
        from ibeat_io.audio import write_wav
        duration_s = (int(r.timestamps_us[-1]) - t0_us) / 1e6 + 1.0
        audio = render_hits(onsets, np.array([h.drum_class for h in hits], dtype=np.int64),
                            np.array([h.velocity / 127.0 for h in hits], dtype=np.float64),
                            sample_rate=SAMPLE_RATE, duration_s=duration_s, seed=seed)
        write_wav(wav, audio, sample_rate=SAMPLE_RATE)
        written["wav"] = str(wav)
    return written


def _speed(text: str) -> float | None:
    if text == "max":
        return None
    value = float(text)
    if not (np.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"speed must be > 0 or 'max', got {text!r}")
    return value


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="ibeat-replay", formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Stream a keypoint clip to an ibeat server like a live client; write the "
                    "drums heard and print a latency report.")
    parser.add_argument("clip", nargs="?", type=Path, default=None,
                        help="AIST++ .pkl or ibeat .npz clip (default: the bundled AIST++ clip)")
    parser.add_argument("--server", default="localhost:50051", help="host:port of ibeat-server")
    parser.add_argument("--view", type=int, default=0, help="camera view of a multi-view clip")
    parser.add_argument("--speed", type=_speed, default=1.0,
                        help="1.0 = the clip's real timing, 2 = twice as fast, max = no pacing")
    parser.add_argument("--mode", choices=MODES, default="poly")
    parser.add_argument("--genre", choices=GENRES, default="any")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lead-ms", type=float, default=None,
                        help="lead time asked for [ms] (default: the server's, 100)")
    parser.add_argument("--out", type=Path, help="write the hits heard as General MIDI")
    parser.add_argument("--wav", type=Path, help="write the hits heard as WAV (synthesised kit)")
    parser.add_argument("--plot", type=Path,
                        help="write a figure of what was heard: beats, drum roll, hit lead times")
    parser.add_argument("--wait-s", type=float, default=0.0,
                        help="wait up to this long [s] for the server to come up")
    parser.add_argument("--tls", action="store_true", help="connect with TLS (system roots)")
    parser.add_argument("--tls-ca", type=Path,
                        help="connect with TLS, trusting this PEM certificate (e.g. self-signed)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)

    from ibeat_core.errors import IbeatError
    from ibeat_io.clips import bundled_clip_path, load_clip
    path = args.clip if args.clip is not None else bundled_clip_path()
    try:
        clip = load_clip(path, view=args.view)
    except (OSError, IbeatError) as e:
        print(f"ibeat-replay: {e}", file=sys.stderr)
        return 2
    t_us, kp = clip_frames(clip.timestamps_s, clip.keypoints)
    config = pb.SessionConfig(layout=pb.SKELETON_LAYOUT_COCO17, mode=_MODES[args.mode],
                              genre=args.genre, seed=args.seed)
    if args.lead_ms is not None:
        config.lead_time_us = int(round(args.lead_ms * 1e3))
    if args.tls or args.tls_ca:
        roots = args.tls_ca.read_bytes() if args.tls_ca else None
        channel = grpc.secure_channel(args.server, grpc.ssl_channel_credentials(roots))
    else:
        channel = grpc.insecure_channel(args.server)
    with channel:
        if args.wait_s > 0:
            try:
                grpc.channel_ready_future(channel).result(timeout=args.wait_s)
            except grpc.FutureTimeoutError:
                print(f"ibeat-replay: no server at {args.server} after {args.wait_s:g} s",
                      file=sys.stderr)
                return 2
        r = replay(channel, t_us, kp, config=config, speed=args.speed)
    rep = {"clip": str(path), "view": clip.view, "server": args.server, **report(r)}
    rep.update(write_outputs(r, midi=args.out, wav=args.wav, seed=args.seed))
    if args.plot:
        from ibeat_io.plots import plot_heard
        plot_heard(r.timestamps_us[0], r.beats, r.hits, hit_leads_ms(r), args.plot,
                   title=f"{clip.name} (view {clip.view}) through {args.server}")
        rep["plot"] = str(args.plot)
    if args.json:
        print(json.dumps(rep, indent=1))
    else:
        for key, value in rep.items():
            print(f"{key:>24}: {value}")
    if r.status != grpc.StatusCode.OK:
        if not args.json:
            print(f"ibeat-replay: stream ended with {r.status.name}: {r.details}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
