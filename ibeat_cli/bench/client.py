"""One bench client process: paces a group of replay sessions for :mod:`~ibeat_cli.bench.load`.

Run as ``python -m ibeat_cli.bench.client``. A module of its own that the package
does not import: ``python -m`` on a module the package has already imported would
run a second copy of it (runpy warns).
"""

from __future__ import annotations

import gc
import json
import os
import sys
import threading
import time

import numpy as np

from .load import CLIENT_NICE, loop_frames


def main():
    """A client process: spec (JSON) on stdin, 'ready', wait for 'go <epoch>', run, JSON out."""
    import grpc

    os.nice(CLIENT_NICE)  # gives way to the server it measures
    from ibeat_grpc.replay import replay
    from ibeat_grpc.v1 import ibeat_pb2 as pb

    from ibeat_io.clips import bundled_clip_path, load_clip

    spec = json.loads(sys.stdin.readline())
    frames = {}
    for s in spec["sessions"]:
        if s["view"] not in frames:
            clip = load_clip(spec.get("clip") or bundled_clip_path(), view=s["view"])
            frames[s["view"]] = loop_frames(clip.timestamps_s, clip.keypoints, fps=spec["fps"],
                                            duration_s=spec["duration_s"])
    # A full collection of this process stalls all its sessions, about 20 ms of CPU (over
    # 100 ms on a shared core): the client's pause, not the server's, in a figure about the
    # server. The run's garbage (messages, lists of times) is acyclic, so reference counting
    # frees it with the collector off.
    gc.collect()
    gc.freeze()
    gc.disable()
    print("ready", flush=True)
    start_epoch = float(sys.stdin.readline().split()[1])
    import resource
    usage0 = resource.getrusage(resource.RUSAGE_SELF)
    replays = [None] * len(spec["sessions"])

    def run(i, s):
        t_us, kp = frames[s["view"]]
        speed = 1.0
        if s.get("attack"):  # frames just under the restart gap apart, as fast as it can
            n = int(s["attack"]["frames"])
            t_us = np.arange(n, dtype=np.int64) * int(s["attack"]["gap_us"])
            kp = kp[np.arange(n) % len(kp)]
            speed = None
        time.sleep(max(0.0, start_epoch + s["delay_s"] - time.time()))
        config = pb.SessionConfig(layout=pb.SKELETON_LAYOUT_COCO17, mode=pb.DRUM_MODE_POLY,
                                  genre="any", seed=int(s["seed"]), nominal_fps=spec["fps"])
        # Own TCP connection per session, as separate clients would have.
        channel = grpc.insecure_channel(spec["target"],
                                        options=[("grpc.use_local_subchannel_pool", 1)])
        with channel:
            r = replay(channel, t_us, kp, config=config, speed=speed,
                       timeout_s=spec["duration_s"] + 120,
                       reconnect_s=float(s.get("reconnect_s", 0.0)))
        replays[i] = r

    threads = [threading.Thread(target=run, args=(i, s), daemon=True)
               for i, s in enumerate(spec["sessions"])]
    for th in threads:
        th.start()
    # An attacker's stream may outlast the run (the server paces it): it is left running
    # (daemon threads end with the process) and reported as unfinished (null).
    attack_end = start_epoch + spec["duration_s"] + 5
    for th, s in zip(threads, spec["sessions"]):
        th.join(max(0.0, attack_end - time.time()) if s.get("attack") else None)
    usage1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu_s = (usage1.ru_utime + usage1.ru_stime) - (usage0.ru_utime + usage0.ru_stime)
    # Pooled only now: a session's results take tens of ms of the interpreter, which the
    # sessions still running would wait for before they could time their arrivals.
    results = [None if th.is_alive() or r is None else _session_result(r)
               for th, r in zip(threads, replays)]
    print(json.dumps({"cpu_s": cpu_s, "sessions": results}), flush=True)


def _session_result(r) -> dict:
    """Raw measurements of one replay (ms), for pooling across sessions."""
    from ibeat_grpc.replay import client_latencies_ms, hit_leads_ms

    client_ms = client_latencies_ms(r)
    leads = hit_leads_ms(r) or []
    # How far ahead the engine scheduled each hit: play time - the timestamp of the
    # input frame whose arrival produced it (same order as the leads).
    engine_leads = [(h.time_us - int(r.timestamps_us[m.hits.frame_id])) / 1e3
                    for m in r.messages if m.HasField("hits") for h in m.hits.hits]
    # How far behind real time the sending fell: last hand-over vs its due time.
    behind_ms = None
    if r.start and r.sent_at:
        last = max(r.sent_at)
        due = r.start[0] + (int(r.timestamps_us[last]) - int(r.timestamps_us[0])) / 1e6
        behind_ms = 1e3 * (r.sent_at[last] - due)
    st = r.last_stats
    to_wall = time.time() - time.perf_counter()  # perf_counter -> time.time(), for the parent
    return {"status": r.status.name, "details": r.details, "frames_sent": len(r.sent_at),
            "frames_expected": int(len(r.timestamps_us)),
            "frames_acknowledged": r.frames_acknowledged_before + (
                int(st.frames_processed) if st else 0),
            # Each stream the session ran (a reconnect opens another) and how the ones
            # before the last ended, in wall time.
            "streams": [{"session_id": m.accepted.session_id, "accepted_at": at + to_wall}
                        for m, at in zip(r.messages, r.received_at) if m.HasField("accepted")],
            "reconnects": [{"at": at + to_wall, "details": details[:200]}
                           for at, details in r.reconnects],
            "final_stats": bool(st and st.final),
            "server_p50_us": int(st.latency_p50_us) if st else None,
            "server_p99_us": int(st.latency_p99_us) if st else None,
            "server_max_us": int(st.latency_max_us) if st else None,
            "events_dropped": int(st.events_dropped) if st else None,
            "hits_dropped_late": int(st.hits_dropped_late) if st else 0,
            "beats": len(r.beats), "hits": len(r.hits),
            "client_ms": client_ms, "lead_ms": leads, "engine_lead_ms": engine_leads,
            "send_behind_ms": behind_ms}


if __name__ == "__main__":
    main()
