"""``ibeat-replay``: a headless client that streams a recorded clip exactly like a live one.

A 2D clip (AIST++ ``.pkl``, ibeat ``.npz`` with ``keypoints``; default: the
bundled AIST++ clip) goes out as COCO-17 keypoints, as a camera client sends
them. A 3D clip (:func:`ibeat_io.clips3d.load_clip3d`: AIST++ 3D keypoints
``keypoints3d/*.npy``, a Dance-with-Melody ``DANCE_*`` folder, CMU ``.bvh``
and ``.amc``, ibeat 3D ``.npz`` with ``joints``) goes out as a VR or game
client would send it (:func:`ibeat_io.clips3d.client_frames`): the full body,
head + hands, Unity Humanoid bones or tracked points (``--body``), at the
headset's rate (``--rate``, 72/90/120 Hz) in an engine's frame (``--frame``).

With ``--serve`` it first starts an ``ibeat-server`` of its own on the
``--server`` address (:mod:`ibeat_grpc.spawn`) and stops it at the end.

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

Timestamps sent are the clip's own (3D: the client's, ``k / rate``), in
integer microseconds; a joint the clip has as NaN goes out as confidence 0
(the protocol's "missed joint").
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import numpy as np

from ibeat_io.clips3d import (BODIES, DEFAULT_BODY, DEFAULT_FRAME, DEFAULT_RATE_HZ, FRAMES,
                               is_clip3d)
from ibeat_io.session_options import add_session_options
from ibeat_io.version import add_version_argument

from .heard import (CHANNEL_OPTIONS, HeardMessages, add_connection_arguments, channel_from_args,
                    lead_summary,
                    percentiles, print_report, wait_for_server, write_heard)
from .layouts import HANDEDNESS, LAYOUT_BY_NAME, UP_AXES
from .v1 import ibeat_pb2 as pb
from .v1 import ibeat_pb2_grpc as pb_grpc

__all__ = ["clip_frames", "frame_messages", "Replay", "replay", "hit_leads_ms", "client_latencies_ms",
           "report",
           "write_outputs", "main"]

_MODES = {"poly": pb.DRUM_MODE_POLY, "mono": pb.DRUM_MODE_MONO}
# The options only a 3D clip takes (argparse dests).
_OPTIONS_3D = ("body", "rate", "frame")


def clip_frames(timestamps_s, keypoints) -> tuple[np.ndarray, np.ndarray]:
    """A clip as wire frames: ``(timestamps [us] int64 (T,), keypoints float32 (T, J, C))``.

    ``keypoints`` are ``[x, y, confidence]`` (C = 3, 2D) or ``[x, y, z,
    confidence]`` (C = 4, 3D) per joint; a joint with any NaN/Inf value becomes
    all zeros (confidence 0 = missed joint).
    """
    t_us = np.round(np.asarray(timestamps_s, dtype=np.float64) * 1e6).astype(np.int64)
    kp = np.array(keypoints, dtype=np.float32)
    bad = ~np.isfinite(kp).all(axis=-1)
    kp[bad] = 0.0
    return t_us, kp


def frame_messages(timestamps_us, keypoints, *, config: pb.SessionConfig, speed: float | None,
                   sent: dict | None = None, start=None, first: int = 0):
    """The client messages of a replay: config, then every frame from ``first``, paced by ``speed``.

    ``speed`` None sends as fast as gRPC takes them. ``sent`` collects
    ``frame_id -> perf_counter`` at hand-over; ``start`` (a one-item list) gets
    the wall time [perf_counter s] the first frame's timestamp maps to, and
    keeps the schedule when a reconnect goes on from a later frame.
    """
    yield pb.ClientMessage(config=config)
    t0 = start[0] if start else None
    for i in range(first, len(timestamps_us)):
        t, kp = timestamps_us[i], keypoints[i]
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
class Replay(HeardMessages):
    """What a replay sent and heard (wall times are ``time.perf_counter`` seconds)."""

    timestamps_us: np.ndarray
    speed: float | None
    messages: list = field(default_factory=list)
    received_at: list = field(default_factory=list)
    sent_at: dict = field(default_factory=dict)
    start: list = field(default_factory=list)
    status: grpc.StatusCode = grpc.StatusCode.OK
    details: str = ""
    #: ``(perf_counter s, the status details that ended the stream before)`` per reconnect.
    reconnects: list = field(default_factory=list)
    #: Frames the streams before the last one processed (their last stats).
    frames_acknowledged_before: int = 0


#: Waits between reconnect attempts [s]: doubling from the first to the last.
RECONNECT_BACKOFF_S = (0.05, 1.0)


def replay(target, timestamps_us, keypoints, *, config: pb.SessionConfig | None = None,
           speed: float | None = 1.0, timeout_s: float | None = None,
           reconnect_s: float = 0.0) -> Replay:
    """Stream frames to ``target`` (``"host:port"`` or a ``grpc.Channel``); collect the answers.

    A stream that ends with an error status is returned with ``status`` and
    ``details`` set (what arrived before is kept). With ``reconnect_s`` > 0, a
    stream that ends UNAVAILABLE with frames left (a server shutting down, a
    replica lost behind a proxy: :func:`_lost_server`) is opened again, with backoff, for up to that
    long [s]; it goes on with the frame due then (the server starts a fresh
    session: new beat numbers, the tempo found again). Each reconnect is in
    :attr:`Replay.reconnects`.
    """
    out = Replay(np.asarray(timestamps_us), speed)
    channel = (grpc.insecure_channel(target, options=CHANNEL_OPTIONS) if isinstance(target, str)
               else target)
    config = config or pb.SessionConfig()
    n = len(timestamps_us)
    try:
        stub = pb_grpc.IbeatStub(channel)
        first, give_up_at, wait = 0, None, RECONNECT_BACKOFF_S[0]
        while True:
            accepted, last_stats = False, None
            out.status, out.details = grpc.StatusCode.OK, ""
            requests = frame_messages(timestamps_us, keypoints, config=config, speed=speed,
                                      sent=out.sent_at, start=out.start, first=first)
            try:
                for message in stub.Session(requests, timeout=timeout_s):
                    out.received_at.append(time.perf_counter())
                    out.messages.append(message)
                    accepted = accepted or message.HasField("accepted")
                    if message.HasField("stats"):
                        last_stats = message.stats
            except grpc.RpcError as e:
                out.status, out.details = e.code(), e.details()
            left = n - (max(out.sent_at) + 1 if out.sent_at else 0)
            if not _lost_server(out) or reconnect_s <= 0 or left <= 0:
                break
            now = time.perf_counter()
            if accepted:  # a stream that ran: a fresh budget and backoff
                give_up_at, wait = now + reconnect_s, RECONNECT_BACKOFF_S[0]
                out.frames_acknowledged_before += int(last_stats.frames_processed) \
                    if last_stats is not None else 0
                out.reconnects.append((now, out.details))
            elif give_up_at is None:
                give_up_at = now + reconnect_s
            if now + wait > give_up_at:
                break
            time.sleep(wait)
            wait = min(2 * wait, RECONNECT_BACKOFF_S[1])
            first = _next_frame(out, timestamps_us, speed)
    finally:
        if isinstance(target, str):
            channel.close()
    return out


def _lost_server(out: Replay) -> bool:
    """Whether the stream ended because its server went (not because it refused something):
    UNAVAILABLE, or a stream reset by a proxy whose upstream died (INTERNAL "RST_STREAM":
    Envoy cannot turn a reset after the response began into a status)."""
    return out.status == grpc.StatusCode.UNAVAILABLE or (
        out.status == grpc.StatusCode.INTERNAL and "RST_STREAM" in out.details)


def _next_frame(out: Replay, timestamps_us, speed) -> int:
    """Where a reconnected stream goes on: the frame due now (real time), else the next unsent."""
    unsent = max(out.sent_at) + 1 if out.sent_at else 0
    if speed is None or not out.start:
        return unsent
    elapsed_us = (time.perf_counter() - out.start[0]) * 1e6 * speed
    due = int(np.searchsorted(timestamps_us, int(timestamps_us[0]) + elapsed_us))
    return max(unsent, min(due, len(timestamps_us) - 1))


def hit_leads_ms(r: Replay) -> list | None:
    """Per hit heard, in order: how long [ms] before its play time it arrived (None at max speed)."""
    if r.speed is None or not r.start or not len(r.timestamps_us):
        return None
    t0_us, wall0 = int(r.timestamps_us[0]), r.start[0]
    return [1e3 * (wall0 + (h.time_us - t0_us) / 1e6 / r.speed - at)
            for m, at in zip(r.messages, r.received_at) if m.HasField("hits")
            for h in m.hits.hits]


def client_latencies_ms(r: Replay) -> list:
    """Per beat or hits message heard: frame handed to gRPC -> the event it produced arrived [ms]."""
    out = []
    for m, at in zip(r.messages, r.received_at):
        kind = m.WhichOneof("msg")
        if kind in ("beat", "hits"):
            frame_id = getattr(m, kind).frame_id
            if frame_id in r.sent_at:
                out.append(1e3 * (at - r.sent_at[frame_id]))
    return out


def report(r: Replay) -> dict:
    """The latency report of a replay (see the module docstring); times in ms unless ``_us``."""
    stats = r.last_stats
    out = {"status": r.status.name, "details": r.details,
           "speed": "max" if r.speed is None else r.speed,
           "frames_sent": len(r.sent_at),
           "frames_acknowledged": r.frames_acknowledged_before + (
               int(stats.frames_processed) if stats else 0),
           "reconnects": len(r.reconnects),
           "beats": len(r.beats), "hits": len(r.hits),
           "tempo_bpm": round(float(np.median([b.tempo_bpm for b in r.beats])), 2) if r.beats else None,
           "server_latency_p50_us": int(stats.latency_p50_us) if stats else None,
           "server_latency_p99_us": int(stats.latency_p99_us) if stats else None,
           "events_dropped": int(stats.events_dropped) if stats else None}
    p50, p99 = percentiles(client_latencies_ms(r), [50, 99])
    out.update(client_latency_p50_ms=p50, client_latency_p99_ms=p99)
    out.update(lead_summary(hit_leads_ms(r)))
    return out


def write_outputs(r: Replay, *, midi=None, wav=None, seed: int = 0) -> dict:
    """Write the hits heard as MIDI and/or WAV, times from the clip's first frame."""
    if not (midi or wav):
        return {}
    return write_heard(r.beats, r.hits, start_us=int(r.timestamps_us[0]),
                       end_us=int(r.timestamps_us[-1]), midi=midi, wav=wav, seed=seed)


def _speed(text: str) -> float | None:
    if text == "max":
        return None
    value = float(text)
    if not (np.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"speed must be > 0 or 'max', got {text!r}")
    return value


def _clip_2d(path: Path, view: int):
    """A 2D clip's wire frames, session layout, report entries and plot title."""
    from ibeat_io.clips import load_clip
    clip = load_clip(path, view=view)
    t_us, kp = clip_frames(clip.timestamps_s, clip.keypoints)
    config = pb.SessionConfig(layout=pb.SKELETON_LAYOUT_COCO17)
    info = {"clip": str(path), "view": clip.view}
    return t_us, kp, config, info, f"{clip.name} (view {clip.view})"


def _clip_3d(path: Path, *, body: str, rate_hz: float, frame: str):
    """A 3D clip as a VR client sends it: wire frames, session layout and frame, report
    entries and plot title."""
    from ibeat_io.clips3d import client_frames, load_clip3d
    mocap = load_clip3d(path)
    timestamps_s, points, layout = client_frames(mocap, body=body, rate_hz=rate_hz, frame=frame)
    t_us, kp = clip_frames(timestamps_s, points)
    handedness, up = FRAMES[frame]
    config = pb.SessionConfig(layout=LAYOUT_BY_NAME[layout],
                              coordinate_space=pb.COORDINATE_SPACE_METERS,
                              handedness=HANDEDNESS[handedness], up_axis=UP_AXES[up],
                              nominal_fps=rate_hz)
    info = {"clip": str(path), "body": body, "rate_hz": rate_hz, "frame": frame,
            "layout": layout}
    return t_us, kp, config, info, f"{mocap.name} ({body} at {rate_hz:g} Hz, {frame})"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="ibeat-replay", formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Stream a keypoint clip to an ibeat server like a live client (a 3D clip "
                    "like a VR or game client); write the drums heard and print a latency "
                    "report.")
    add_version_argument(parser)
    parser.add_argument("clip", nargs="?", type=Path, default=None,
                        help="2D: AIST++ .pkl or ibeat .npz with keypoints (default: the bundled "
                             "AIST++ clip); 3D: AIST++ 3D keypoints3d/*.npy (in its dataset "
                             "folder), a Dance-with-Melody DANCE_* folder, CMU .bvh[.gz] or "
                             ".amc, ibeat .npz with joints")
    parser.add_argument("--server", default="localhost:50051", help="host:port of ibeat-server")
    parser.add_argument("--reconnect-s", type=float, default=10.0, metavar="S",
                        help="when the server ends the stream as unavailable (shutting down, a "
                             "replica lost behind a proxy), open a new one and go on, retrying "
                             "with backoff for up to S seconds (0: never)")
    parser.add_argument("--serve", action="store_true",
                        help="start an ibeat-server on --server's address for this replay and "
                             "stop it after (fails at once, saying why, if it cannot start: "
                             "the port is taken, say)")
    parser.add_argument("--view", type=int, default=0, help="camera view of a multi-view 2D clip")
    parser.add_argument("--speed", type=_speed, default=1.0,
                        help="1.0 = the clip's real timing, 2 = twice as fast, max = no pacing")
    # Unset unless given (SUPPRESS), so that a 2D clip can refuse them.
    parser.add_argument("--body", choices=BODIES, default=argparse.SUPPRESS,
                        help="3D clips: what the client tracks and sends: every COCO-17 joint, "
                             "headset + controllers, Unity Humanoid bones, or tracked points "
                             f"(default: {DEFAULT_BODY})")
    parser.add_argument("--rate", type=float, metavar="HZ", default=argparse.SUPPRESS,
                        help="3D clips: the client's frame rate [Hz], e.g. a headset's 72, 90 "
                             f"or 120 (default: {DEFAULT_RATE_HZ:g})")
    parser.add_argument("--frame", choices=tuple(FRAMES), default=argparse.SUPPRESS,
                        help="3D clips: the engine whose coordinate frame is sent (unity: "
                             f"left-handed; openxr, godot: right-handed) (default: "
                             f"{DEFAULT_FRAME})")
    add_session_options(parser, ("mode", "genre", "seed", "lead_ms"), server_lead_default=True)
    parser.add_argument("--out", type=Path, help="write the hits heard as General MIDI")
    parser.add_argument("--wav", type=Path, help="write the hits heard as WAV (synthesised kit)")
    parser.add_argument("--plot", type=Path,
                        help="write a figure of what was heard: beats, drum roll, hit lead times")
    parser.add_argument("--wait-s", type=float, default=0.0,
                        help="wait up to this long [s] for the server to come up")
    add_connection_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)

    from ibeat_core.errors import IbeatError
    from ibeat_io.clips import bundled_clip_path
    path = args.clip if args.clip is not None else bundled_clip_path()
    is_3d = is_clip3d(path)
    given_3d = [f"--{dest}" for dest in _OPTIONS_3D if dest in vars(args)]
    if given_3d and not is_3d:
        print(f"ibeat-replay: {', '.join(given_3d)} only apply to 3D clips; {path} is a 2D "
              "clip", file=sys.stderr)
        return 2
    try:
        if is_3d:
            t_us, kp, config, info, title = _clip_3d(
                path, body=getattr(args, "body", DEFAULT_BODY),
                rate_hz=getattr(args, "rate", DEFAULT_RATE_HZ),
                frame=getattr(args, "frame", DEFAULT_FRAME))
        else:
            t_us, kp, config, info, title = _clip_2d(path, args.view)
    except (OSError, IbeatError) as e:
        print(f"ibeat-replay: {e}", file=sys.stderr)
        return 2
    config.mode, config.genre, config.seed = _MODES[args.mode], args.genre, args.seed
    if args.lead_ms is not None:
        config.lead_time_us = int(round(args.lead_ms * 1e3))
    from .spawn import ServerStartError, spawned_server
    try:
        serving = contextlib.nullcontext()
        if args.serve:
            serving = spawned_server(args.server)
            args.server = serving.address
        with serving, channel_from_args(parser, args) as channel:
            if not wait_for_server(channel, args.server, args.wait_s, prog="ibeat-replay"):
                return 2
            r = replay(channel, t_us, kp, config=config, speed=args.speed,
                       reconnect_s=args.reconnect_s)
    except ServerStartError as e:
        print(f"ibeat-replay: --serve: {e}", file=sys.stderr)
        return 2
    rep = {**info, "server": args.server, **report(r)}
    rep.update(write_outputs(r, midi=args.out, wav=args.wav, seed=args.seed))
    if args.plot:
        from ibeat_io.plots import plot_heard
        plot_heard(r.timestamps_us[0], r.beats, r.hits, hit_leads_ms(r), args.plot,
                   title=f"{title} through {args.server}")
        rep["plot"] = str(args.plot)
    print_report(rep, as_json=args.json)
    if r.status != grpc.StatusCode.OK:
        if not args.json:
            print(f"ibeat-replay: stream ended with {r.status.name}: {r.details}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
