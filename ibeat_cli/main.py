"""The ``ibeat`` command line.

    ibeat analyze [CLIP] [--view N] [--plot out.png] [--wav out.wav] [--midi out.mid] [--json]
    ibeat analyze [CLIP] --model visbeat ...
    ibeat render [CLIP] -o out.mid [--wav out.wav] [--plot out.png] [--mode poly|mono] [--genre G]
    ibeat render VIDEO -o out.mp4 [--midi out.mid] [--wav out.wav] [--pose-model lite|full]
    ibeat live --camera N | --video PATH [--no-audio] [--no-preview] [--duration-s S]
    ibeat train visbeat|reference|mustyle|drumgen|mono|drumclassifier --data DIR --out DIR
    ibeat train drumgen-calibration --data DIR --out ibeat_models/drumgen
    ibeat evaluate tempo|beats|drums|pose|follow|input --data DIR [--out DIR] [--json]
    ibeat bench [--sessions 1,8,32,64] [--workers N] [--sections compute,grpc,soak,abuse,capacity,cluster,timing,video]
                [--data DIR] [--out DIR] [--json]
    ibeat kit --out DIR [--sample-rate HZ] [--seed N]

Run ``ibeat COMMAND --help`` for every option and its default.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

import numpy as np

from ibeat_core.errors import IbeatError
from ibeat_core.keypoints import FPS
from ibeat_core.rhythm import RhythmConfig, analyze
from ibeat_core.trackers import TRACKERS
from ibeat_video.pose import POSE_MODELS  # light: mediapipe loads when a model is opened

from ibeat_io.clips import bundled_clip_path, load_clip
from ibeat_io.datasets import DATA_ENV, default_data_dir
from ibeat_io.session_options import add_session_options, session_config_from_args
from ibeat_io.version import add_version_argument

__all__ = ["main", "build_parser"]

_VIDEO_SUFFIXES = {".mp4", ".mov", ".avi", ".mkv", ".webm"}
# Side stick, a short dry click that cuts through any mix, for beat click tracks.
_CLICK_PITCH = 37


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Show defaults, except empty ones and those the help text already states."""

    def _get_help_string(self, action):
        if action.default is None or action.default is False or "default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def _add_data_argument(parser):
    parser.add_argument("--data", type=Path, default=default_data_dir(),
                        help=f"data root laid out like shared/data (default: ${DATA_ENV})")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ibeat", description="ibeat: hear the rhythm in body motion.",
        formatter_class=_HelpFormatter)
    add_version_argument(parser)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "analyze", help="tempo and visual beats of a keypoint clip",
        description="Print the tempo and visual beats of a keypoint clip (offline, "
                    "ground-truth dynamic program) and optionally plot them or render a "
                    "click track on the beats.",
        formatter_class=_HelpFormatter)
    p.add_argument("clip", nargs="?", default=None,
                   help="AIST++ keypoints2d .pkl or ibeat .npz clip (default: the bundled "
                        "AIST++ clip, 12 s of break dance at 80 BPM)")
    p.add_argument("--view", type=int, default=0, help="camera view of a multi-view clip")
    p.add_argument("--fps", type=float, default=FPS, help="internal frame rate [Hz]")
    p.add_argument("--plot", type=Path, help="write a figure of the analysis (PNG/PDF/SVG)")
    p.add_argument("--wav", type=Path, help="write a click track on the beats (WAV)")
    p.add_argument("--midi", type=Path, help="write the beats as a MIDI click track")
    p.add_argument("--model", choices=["dp", "visbeat"], default="dp",
                   help="dp: offline dynamic program (ground truth); visbeat: the shipped "
                        "VisBeatNet + online beat HMM, streamed frame by frame")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=_cmd_analyze)

    p = sub.add_parser(
        "render", help="drums for a keypoint clip or a dance video through the real-time engine",
        description="Stream a keypoint clip (or the poses MediaPipe finds in a dance video) frame "
                    "by frame through the real-time engine (VisBeatNet + B-HMM beats, MuStyleNet "
                    "style, DrumGenNet or Mono drums) and write the drums it played as MIDI, WAV "
                    "and a figure; for a video, also the annotated video with the drums as audio.",
        formatter_class=_HelpFormatter)
    p.add_argument("clip", nargs="?", default=None,
                   help="AIST++ keypoints2d .pkl or ibeat .npz clip, or a dance video "
                        "(.mp4 .mov .avi .mkv .webm) (default: the bundled clip)")
    p.add_argument("-o", "--out", type=Path, default=None,
                   help="keypoint clip: the MIDI file (same as --midi); video: the annotated "
                        "video with the drums as audio (.mp4/.mov/.mkv)")
    p.add_argument("--midi", type=Path, default=None, help="write the drums as a General MIDI file")
    p.add_argument("--pose-model", choices=list(POSE_MODELS), default="lite",
                   help="video input: MediaPipe pose model (lite is faster, full more accurate)")
    p.add_argument("--height", type=int, default=None,
                   help="video input: output picture height [px] (default: the source's, "
                        "within 720..1080)")
    p.add_argument("--wav", type=Path, help="write the drums played on the synthesised kit (WAV)")
    p.add_argument("--plot", type=Path, help="write a figure: motion, beats, drum roll (PNG/PDF/SVG)")
    p.add_argument("--view", type=int, default=0, help="camera view of a multi-view clip")
    add_session_options(p, ("mode", "genre", "genre_strength", "drums", "meter", "seed", "density",
                            "temperature", "tracker"))
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=_cmd_render)

    p = sub.add_parser(
        "live", help="play a camera or a video as drums in real time",
        description="Pose a camera or a video in real time (MediaPipe, bundled model), run the "
                    "engine on the dancer and play the drums on the default audio device, with a "
                    "preview window when a display exists. Ctrl-C (or q in the preview) stops.",
        formatter_class=_HelpFormatter)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--camera", type=int, metavar="N", help="camera index (Linux: /dev/videoN)")
    src.add_argument("--video", metavar="PATH",
                     help="video file or URL, played at its frame rate like a camera")
    p.add_argument("--pose-model", choices=list(POSE_MODELS), default="lite",
                   help="pose landmark model: lite is faster, full more accurate")
    add_session_options(p, ("mode", "genre", "seed", "lead_ms", "tracker"))
    p.add_argument("--no-audio", action="store_true", help="do not play the drums")
    p.add_argument("--no-preview", action="store_true", help="no preview window")
    p.add_argument("--duration-s", type=float, default=None, help="stop after this many seconds")
    p.add_argument("-o", "--out", type=Path, default=None,
                   help="also write the drums as a General MIDI file")
    p.add_argument("--wav", type=Path, default=None,
                   help="also write the drums on the synthesised kit (WAV)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=_cmd_live)

    p = sub.add_parser(
        "train", help="train a network on a data directory (needs torch)",
        description="Train a network on every training sequence in DIR (laid out like "
                    "shared/data) and write its weights, ONNX graph and model card to OUT.",
        formatter_class=_HelpFormatter)
    p.add_argument("what", choices=["visbeat", "reference", "mustyle", "drumgen",
                                    "drumgen-calibration", "mono", "drumclassifier"],
                   help="which network; drumgen-calibration refits only the body calibration "
                        "in OUT's meta.json (a DrumGenNet folder), training nothing")
    _add_data_argument(p)
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--steps", type=int, default=None, help="training steps (default: the config's)")
    p.add_argument("--seed", type=int, default=0, help="seed of data views, sampling and weights")
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser(
        "evaluate", help="score ibeat on a data directory",
        description="Score ibeat on every sequence in DIR (laid out like shared/data, any "
                    "subset of its folders) and print the tables.",
        formatter_class=_HelpFormatter)
    p.add_argument("what", choices=["tempo", "beats", "drums", "pose", "follow", "input"],
                   help="what to evaluate (follow: do the scheduled beats follow the body; "
                        "input: 3D, head + hands and partial bodies against a camera view)")
    _add_data_argument(p)
    p.add_argument("--out", type=Path, help="also write <what>.md and <what>.json here")
    p.add_argument("--views", type=int, default=3,
                   help="virtual camera views per 3D mocap sequence")
    p.add_argument("--seed", type=int, default=0, help="seed of the virtual cameras and noise")
    p.add_argument("--include-train", action="store_true",
                   help="beats, drums, follow: also score sequences the shipped models trained on")
    add_session_options(p, ("tracker",))
    p.add_argument("--compare-tracker", action="append", default=None, metavar="NAME",
                   choices=sorted(TRACKERS),
                   help="follow: also stream the clips through this beat tracker, side by side "
                        "with the engine's (repeatable; default: visbeat, the paper's, unless "
                        "it is the engine's)")
    p.add_argument("--anchors", action=argparse.BooleanOptionalAction, default=True,
                   help="follow: also score the anchors (rule-based, madmom DBN online and "
                        "offline, librosa beat_track and PLP) on the engine's causal offsets; "
                        "madmom and librosa need pip install '.[eval]'")
    p.add_argument("--reference", type=Path, default=None,
                   help="beats: checkpoint of the non-causal reference (default: the "
                        "repository's ibeat_train/checkpoints/reference.pt when torch is installed)")
    p.add_argument("--datasets", default=None,
                   help="input: comma-separated subset of aistpp-3d, dwm, exercise, cmu-exercise")
    p.add_argument("--projections", default=None,
                   help="input: comma-separated views of a 3D body to score (world-oblique, "
                        "the engine's default, world, facing, oblique; default: all)")
    p.add_argument("--json", action="store_true", help="print the full result as JSON")
    p.set_defaults(func=_cmd_evaluate)

    p = sub.add_parser(
        "bench", help="compute, gRPC latency and musical timing benchmarks",
        description="Benchmark the real-time engine: per-stage compute per frame and per beat "
                    "(one thread), latency, hit lead times and server memory through "
                    "ibeat-server on loopback with concurrent real-time replay sessions, and "
                    "(with --data) the timing of the generated on-beat hits against the offline "
                    "visual beats of held-out clips. Progress goes to stderr, a markdown "
                    "summary to stdout.",
        formatter_class=_HelpFormatter)
    p.add_argument("--sessions", default="1,8,32,64",
                   help="concurrent gRPC replay sessions per load level, comma-separated")
    p.add_argument("--duration-s", type=float, default=20.0,
                   help="seconds each replay session streams (30 fps, real time)")
    p.add_argument("--per-process", type=int, default=8,
                   help="replay sessions per client process")
    p.add_argument("--workers", type=int, default=2,
                   help="ibeat-server worker processes (--workers of ibeat-server)")
    p.add_argument("--compute-frames", type=int, default=None,
                   help="grid frames timed in the compute section (default: every view of "
                        "the bundled clip, 3240)")
    p.add_argument("--sections", default="compute,grpc,timing,video",
                   help="which sections to run, of compute, grpc, soak (64 sessions for "
                        "--soak-duration-s), abuse (gap-amplification streams beside 16 "
                        "sessions), capacity (sessions one server core holds), cluster (Envoy "
                        "in front of 3 replicas: a kill and a rolling restart; needs the "
                        "repository's deploy/ and the deploy extra), timing and video "
                        "(those two only with --data)")
    p.add_argument("--soak-duration-s", type=float, default=600.0,
                   help="seconds the soak section runs")
    p.add_argument("--soak-sessions", type=int, default=64,
                   help="real-time sessions the soak section runs")
    p.add_argument("--capacity-sessions", default=None,
                   help="load levels of the capacity section (one server core), comma-separated "
                        "(default: the bench's own, 16 to 96)")
    p.add_argument("--capacity-runs", type=int, default=None,
                   help="runs of each capacity level, a fresh server each; a level is held "
                        "when every run holds it (default: 3)")
    p.add_argument("--cluster-sessions", type=int, default=96,
                   help="real-time sessions of the cluster section")
    p.add_argument("--data", type=Path, default=None,
                   help="data root laid out like shared/data: adds the musical timing on its "
                        "held-out clips")
    p.add_argument("--out", type=Path, help="also write performance.md and performance.json here")
    p.add_argument("--json", action="store_true", help="print the full report as JSON")
    p.set_defaults(func=_cmd_bench)

    p = sub.add_parser(
        "kit", help="export the synthesised drum kit as WAV files (for engine clients)",
        description="Write ibeat's synthesised drum kit as one WAV per drum class (16-bit PCM, "
                    "mono, full velocity) plus kit.json (class index, name, General MIDI "
                    "pitch, file), for game engines that play the hits themselves: the Unity "
                    "package's Samples~/Demo/Audio, the Godot add-on's sounds.",
        formatter_class=_HelpFormatter)
    p.add_argument("--out", type=Path, required=True, help="folder to write (created)")
    p.add_argument("--sample-rate", type=int, default=48000,
                   help="samples per second (game engines mix at 48000)")
    p.add_argument("--seed", type=int, default=0, help="seed of the voices' noise")
    p.set_defaults(func=_cmd_kit)
    return parser


def _cmd_analyze(args) -> int:
    path = Path(args.clip) if args.clip else bundled_clip_path()
    if path.suffix.lower() in _VIDEO_SUFFIXES:
        raise IbeatError(f"{path}: analyze takes keypoint clips (.pkl or .npz); for a video use "
                         f"ibeat render {shlex.quote(str(path))} -o out.mp4 --plot out.png")
    clip = load_clip(path, view=args.view)
    result = analyze(clip.timestamps_s, clip.keypoints, config=RhythmConfig.at_fps(args.fps))
    if args.model == "visbeat":
        result = _online_analysis(clip, result, args.fps)
    out = {
        "clip": str(path),
        "view": clip.view,
        "duration_s": float(clip.timestamps_s[-1] - clip.timestamps_s[0]) if len(clip.timestamps_s) else 0.0,
        "model": args.model,
        "tempo_bpm": round(result.tempo_bpm, 2),
        "beat_times_s": [round(float(b), 4) for b in result.beat_times_s],
        "rule_based_beat_times_s": [round(float(b), 4) for b in result.rule_beat_times_s],
    }
    if clip.tempo_bpm:
        from ibeat_metrics.beats import tempo_agrees  # mir_eval is slow to import
        out["reference_tempo_bpm"] = clip.tempo_bpm
        out["tempo_agrees"] = bool(result.tempo_bpm and tempo_agrees(result.tempo_bpm, clip.tempo_bpm))
    if args.plot:
        from ibeat_io.plots import plot_analysis  # matplotlib is slow to import; only when asked
        plot_analysis(result, args.plot, title=f"{clip.name} (view {clip.view})",
                      reference_tempo_bpm=clip.tempo_bpm)
        out["plot"] = str(args.plot)
    if args.wav or args.midi:
        _write_clicks(result.beat_times_s - (clip.timestamps_s[0] if len(clip.timestamps_s) else 0.0),
                      result.tempo_bpm, args, out)
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        _print_analysis(out)
    return 0


def _online_analysis(clip, offline, fps):
    """The offline analysis with beats and tempo replaced by the online VisBeatNet + B-HMM."""
    from dataclasses import replace

    from ibeat_core.beat_tracking import track_clip
    from ibeat_models.visbeat import VisBeatNetwork

    online = track_clip(VisBeatNetwork(), clip.timestamps_s, clip.keypoints,
                        rhythm=RhythmConfig.at_fps(fps))
    rhythm = replace(offline.rhythm, offsets=online.offsets)
    confident = online.confidence >= 0.5
    tempo = float(np.median(online.tempo_bpm[confident])) if confident.any() else 0.0
    return replace(offline, rhythm=rhythm, beat_times_s=online.beat_times_s, tempo_bpm=tempo,
                   tempo_curve_bpm=np.where(confident, online.tempo_bpm, 0.0))


#: What each output of a keypoint render is written as, by file suffix.
_OUTPUT_SUFFIXES = {"midi": (".mid", ".midi"), "wav": (".wav",), "plot": (".png", ".pdf", ".svg")}


def _check_suffixes(**outputs):
    """Refuse, before any work, an output whose suffix is not what would be written there."""
    for kind, path in outputs.items():
        if path is not None and Path(path).suffix.lower() not in _OUTPUT_SUFFIXES[kind]:
            flag = {"midi": "-o/--midi", "wav": "--wav", "plot": "--plot"}[kind]
            raise IbeatError(f"{flag} {path}: a keypoint clip renders {kind} as "
                             f"{' or '.join(_OUTPUT_SUFFIXES[kind])} (a video is rendered from "
                             "a video file)")


def _cmd_render(args) -> int:
    from .render import render_clip

    path = Path(args.clip) if args.clip else bundled_clip_path()
    if path.suffix.lower() in _VIDEO_SUFFIXES:
        from ibeat_video.render_video import main_render_video
        return main_render_video(args)
    if args.out and args.midi and args.out != args.midi:
        raise IbeatError("-o and --midi both name the MIDI file of a keypoint clip; give one")
    args.midi = args.midi or args.out
    if not (args.midi or args.wav or args.plot or args.json):
        raise IbeatError("nothing to write: give -o out.mid, --wav, --plot or --json")
    _check_suffixes(midi=args.midi, wav=args.wav, plot=args.plot)
    summary = render_clip(path, view=args.view, config=session_config_from_args(args),
                          midi=args.midi, wav=args.wav, plot=args.plot)
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(f"clip      {summary['clip']} (view {summary['view']}, {summary['duration_s']:.1f} s)")
    feels = ", ".join(summary["feels"])
    print(f"drums     {summary['mode']}, genre {summary['genre']} ({feels}), seed {summary['seed']}: "
          f"{summary['hits']} hits on {summary['beats']} beats at {summary['tempo_bpm']:.1f} BPM")
    if "no_drums" in summary:
        print(f"no drums  {summary['no_drums']}")
    for key in ("midi", "wav", "plot"):
        if key in summary:
            print(f"{key:<9} {summary[key]}")
    return 0


def _cmd_live(args) -> int:
    from ibeat_video.live import main_live
    return main_live(args)


def _data_dir(args) -> Path:
    if args.data is None:
        raise IbeatError(f"no data directory: pass --data DIR or set ${DATA_ENV}")
    if not args.data.is_dir():
        raise FileNotFoundError(f"data directory {args.data} does not exist")
    return args.data


def _cmd_train(args) -> int:
    try:
        from ibeat_train.commands import train
    except ModuleNotFoundError as exc:
        raise IbeatError(f"training needs torch ({exc}); install it with "
                         "pip install torch==2.13.0 '.[train]'") from exc
    train(args.what, _data_dir(args), args.out, steps=args.steps, seed=args.seed)
    return 0


def _cmd_evaluate(args) -> int:
    if args.what == "input":
        from ibeat_core.body3d import PROJECTIONS

        from .evaluate.body_input import INPUT_DATASETS, run_input_evaluation
        datasets = _choices(args.datasets, INPUT_DATASETS, "--datasets")
        projections = _choices(args.projections, PROJECTIONS, "--projections")
        text, report = run_input_evaluation(
            _data_dir(args), datasets=datasets, projections=projections, seed=args.seed,
            command=_typed_command("evaluate", f"ibeat evaluate input --data {args.data}"))
        _write_report(args.out, "input", text, report)
        print(json.dumps(report["summary"], indent=1) if args.json else text)
        return 0
    if args.what == "follow":
        from .evaluate.following import run_follow_evaluation
        text, report = run_follow_evaluation(_data_dir(args), tracker=args.tracker,
                                             compare_trackers=args.compare_tracker,
                                             include_train=args.include_train, views=args.views,
                                             seed=args.seed, anchors=args.anchors,
                                             command=_typed_command(
                                                 "evaluate", f"ibeat evaluate follow --data {args.data}"))
        _write_report(args.out, "following", text, report)
        print(json.dumps(report["summary"], indent=1) if args.json else text)
        return 0
    if args.what == "pose":
        from ibeat_video.pose_eval import run_pose_evaluation
        text, report = run_pose_evaluation(_data_dir(args))
        _write_report(args.out, "pose", text, report)
        print(json.dumps(report, indent=1) if args.json else text)
        return 0
    if args.what == "drums":
        from .evaluate.drums import run_drums_evaluation
        text, report = run_drums_evaluation(_data_dir(args), seed=args.seed,
                                            include_train=args.include_train)
        _write_report(args.out, "drums", text, report)
        print(json.dumps(report, indent=1) if args.json else text)
        return 0
    if args.what == "beats":
        from .evaluate.beats import run_beats_evaluation
        text, report = run_beats_evaluation(_data_dir(args), include_train=args.include_train,
                                            reference=args.reference)
        _write_report(args.out, "beats", text, report)
        print(json.dumps(report["summary"], indent=1) if args.json else text)
        return 0
    from .evaluate.tempo import evaluate_tempo, format_tempo_report

    report = evaluate_tempo(_data_dir(args), dwm_views=args.views, seed=args.seed)
    if not report:
        raise IbeatError(f"{args.data} holds no dataset ibeat can score for tempo "
                         "(aistpp-keypoints2d-sample/, dance-with-melody/)")
    text = format_tempo_report(report)
    _write_report(args.out, "tempo", text, report)
    print(json.dumps(report, indent=1) if args.json else text)
    return 0


def _choices(text, known, option: str) -> tuple:
    """A comma-separated option's values (all of ``known`` if unset), checked."""
    if text is None:
        return tuple(known)
    values = tuple(x.strip() for x in text.split(",") if x.strip())
    unknown = set(values) - set(known)
    if unknown or not values:
        raise IbeatError(f"{option}: unknown {sorted(unknown) or 'empty list'}; choose from "
                         f"{', '.join(known)}")
    return values


def _cmd_bench(args) -> int:
    from .bench import (BENCH_SECTIONS, CAPACITY_RUNS, CAPACITY_SESSIONS, DEFAULT_SECTIONS,
                        parse_sessions, run_bench)

    sections = [x.strip() for x in args.sections.split(",") if x.strip()]
    unknown = set(sections) - set(BENCH_SECTIONS)
    if unknown:
        raise IbeatError(f"unknown --sections {sorted(unknown)}; choose from "
                         f"{', '.join(BENCH_SECTIONS)}")
    try:
        sessions = parse_sessions(args.sessions) if "grpc" in sections else []
        capacity = []
        if "capacity" in sections:
            capacity = (list(CAPACITY_SESSIONS) if args.capacity_sessions is None
                        else parse_sessions(args.capacity_sessions, "--capacity-sessions"))
    except ValueError as exc:
        raise IbeatError(str(exc)) from None
    runs = CAPACITY_RUNS if args.capacity_runs is None else args.capacity_runs
    if not (args.duration_s > 0 and args.soak_duration_s > 0) or args.per_process < 1 \
            or args.workers < 1 or args.soak_sessions < 1 or args.cluster_sessions < 3 \
            or runs < 1:
        raise IbeatError("--duration-s and --soak-duration-s must be > 0, --per-process, "
                         "--workers, --soak-sessions and --capacity-runs >= 1, "
                         "--cluster-sessions >= 3")
    if args.compute_frames is not None and args.compute_frames < 1:
        raise IbeatError("--compute-frames must be >= 1")
    if args.data is not None:
        _data_dir(args)
    command = ["ibeat bench"]
    if args.sections != ",".join(DEFAULT_SECTIONS):
        command.append(f"--sections {args.sections}")
    if "grpc" in sections:
        command.append(f"--sessions {args.sessions}")
    if {"grpc", "abuse", "capacity"} & set(sections):
        command.append(f"--duration-s {args.duration_s:g}")
    if "capacity" in sections and args.capacity_sessions is not None:
        command.append(f"--capacity-sessions {args.capacity_sessions}")
    if "capacity" in sections and args.capacity_runs is not None:
        command.append(f"--capacity-runs {args.capacity_runs}")
    if {"grpc", "soak", "abuse", "capacity", "cluster"} & set(sections):
        if args.per_process != 8:
            command.append(f"--per-process {args.per_process}")
        if args.workers != 2:
            command.append(f"--workers {args.workers}")
    if "soak" in sections and args.soak_duration_s != 600:
        command.append(f"--soak-duration-s {args.soak_duration_s:g}")
    if "soak" in sections and args.soak_sessions != 64:
        command.append(f"--soak-sessions {args.soak_sessions}")
    if "cluster" in sections and args.cluster_sessions != 96:
        command.append(f"--cluster-sessions {args.cluster_sessions}")
    if args.compute_frames is not None:
        command.append(f"--compute-frames {args.compute_frames}")
    if args.data is not None:
        command.append(f"--data {args.data}")
    if args.out is not None:
        command.append(f"--out {args.out}")
    text, report = run_bench(sections=sections, sessions=sessions, duration_s=args.duration_s,
                             compute_frames=args.compute_frames, per_process=args.per_process,
                             workers=args.workers, data_dir=args.data,
                             soak_duration_s=args.soak_duration_s,
                             soak_sessions=args.soak_sessions, capacity_sessions=capacity,
                             capacity_runs=runs,
                             cluster_sessions=args.cluster_sessions,
                             command=_typed_command("bench", " ".join(command)))
    _write_report(args.out, "performance", text, report)
    print(json.dumps(report, indent=1) if args.json else text)
    return 0


def _typed_command(subcommand: str, fallback: str) -> str:
    """The command line exactly as typed when run as ``ibeat SUBCOMMAND ...``, else ``fallback``
    (``main(argv)`` called from Python): reports record how they were made."""
    if Path(sys.argv[0]).name == "ibeat" and sys.argv[1:2] == [subcommand]:
        return " ".join(["ibeat", *(shlex.quote(a) for a in sys.argv[1:])])
    return fallback


def _write_report(out_dir, name, text, report):
    """``<name>.md`` and ``<name>.json`` into ``out_dir`` (nothing when it is None)."""
    if out_dir is None:
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{name}.md").write_text(text)
    (out_dir / f"{name}.json").write_text(json.dumps(report, indent=1))


def _write_clicks(beats_s, tempo_bpm, args, out):
    if args.wav:
        from ibeat_io.drumkit import SAMPLE_RATE, render_clicks

        from ibeat_io.audio import write_wav
        audio = render_clicks(beats_s, sample_rate=SAMPLE_RATE)
        write_wav(args.wav, audio, sample_rate=SAMPLE_RATE)
        out["wav"] = str(args.wav)
    if args.midi:
        from ibeat_io.midi import notes_to_pretty_midi
        n = len(beats_s)
        pm = notes_to_pretty_midi(beats_s, np.full(n, _CLICK_PITCH), np.full(n, 100),
                                  bpm=tempo_bpm or 120.0)
        pm.write(str(args.midi))
        out["midi"] = str(args.midi)


def _print_analysis(out):
    print(f"clip      {out['clip']} (view {out['view']}, {out['duration_s']:.1f} s)")
    tempo = f"{out['tempo_bpm']:.1f} BPM" if out["tempo_bpm"] else "none (no motion)"
    if "reference_tempo_bpm" in out:
        verdict = "agrees" if out["tempo_agrees"] else "does not agree"
        tempo += f"  (music: {out['reference_tempo_bpm']:g} BPM; {verdict} within 4% or x1/2, x2)"
    print(f"tempo     {tempo}")
    beats = out["beat_times_s"]
    print(f"beats     {len(beats)} visual beats: " + " ".join(f"{b:.2f}" for b in beats))
    print(f"baseline  {len(out['rule_based_beat_times_s'])} rule-based beats")
    for key in ("plot", "wav", "midi"):
        if key in out:
            print(f"{key:<9} {out[key]}")


def _cmd_kit(args) -> int:
    from ibeat_io.kit_export import export_kit

    for path in export_kit(args.out, sample_rate=args.sample_rate, seed=args.seed):
        print(path)
    return 0


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (IbeatError, FileNotFoundError) as exc:
        print(f"ibeat {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
