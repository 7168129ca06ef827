"""``ibeat render clip.mp4 -o out.mp4``: a dance video, annotated, with the drums it played.

Every frame of the file goes through the live pipeline, offline: the pose
estimator (:class:`~ibeat_video.capture.PosePipeline` with ``realtime=False``,
so no frame is dropped), :class:`~ibeat_video.video_session.VideoSession` and
the engine, then :class:`~ibeat_video.overlay.Overlay` draws the frame with
what the engine knew at that moment. Frames are piped raw to the ffmpeg
binary shipped by ``imageio-ffmpeg`` (H.264, yuv420p, the source's frame
rate); the drums are synthesised on ibeat's kit
(:func:`ibeat_io.drum_files.drum_audio`) and muxed in as AAC.

Clocks: the capture clock of a file is the position in the file, ``index /
fps`` (0 at frame 0). Output frame ``i`` is shown at ``i / fps`` and a hit
sounds at its ``time_s`` in the audio, so picture and drums are in sync by
construction (checked in the tests by decoding the muxed audio).

Small videos are scaled up before drawing (to 720 px high by default) so
the overlay's text and lines stay crisp after H.264's colour subsampling.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

from ibeat_core.errors import IbeatError, ParameterError
from ibeat_core.session import BeatCue, DrumHit, SessionConfig
from ibeat_io.drum_files import drum_audio, write_drums
from ibeat_io.session_options import session_config_from_args

from .errors import SourceError
from .overlay import Overlay, OverlayConfig

__all__ = ["VIDEO_SUFFIXES", "OUTPUT_SUFFIXES", "MIN_HEIGHT", "MAX_HEIGHT", "RENDER_OVERLAY",
           "is_video_path",
           "ffmpeg_exe", "render_video", "main_render_video"]

#: Inputs ``ibeat render`` treats as video (anything else is a keypoint clip).
VIDEO_SUFFIXES = (".mp4", ".mov", ".avi", ".mkv", ".webm")
#: Containers the annotated video can be written as (H.264 + AAC fit all three).
OUTPUT_SUFFIXES = (".mp4", ".mov", ".mkv")
#: Default output picture height range [px]: smaller videos are scaled up to
#: MIN_HEIGHT (crisp overlay), larger ones down to MAX_HEIGHT (speed, size).
MIN_HEIGHT = 720
MAX_HEIGHT = 1080
#: The overlay of rendered videos: the drum roll in a panel under the picture.
RENDER_OVERLAY = OverlayConfig(layout="below", roll_height=0.24)
# H.264 quality (lower is better; 18 is visually lossless) and AAC bitrate.
_CRF = 18
_AUDIO_BITRATE = "192k"


def is_video_path(path) -> bool:
    """Whether ``ibeat render`` should treat ``path`` as a video (by its extension).

    >>> is_video_path("dance.MP4"), is_video_path("clip.pkl")
    (True, False)
    """
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def ffmpeg_exe() -> str:
    """The ffmpeg binary shipped with ``imageio-ffmpeg`` (or ``$IMAGEIO_FFMPEG_EXE``)."""
    try:
        import imageio_ffmpeg
        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError) as exc:
        raise IbeatError(f"no ffmpeg to write the video ({exc}); install it with "
                         "pip install imageio-ffmpeg") from exc


def _output_height(source_height: int, height: int | None) -> int:
    """Picture height [px] of the output: ``height``, else the source's clamped to the range."""
    if height is None:
        return int(np.clip(source_height, MIN_HEIGHT, MAX_HEIGHT))
    if isinstance(height, bool) or not isinstance(height, (int, np.integer)) \
            or not 16 <= height <= 4320:
        raise ParameterError(f"height must be an int in [16, 4320] px, got {height!r}")
    return int(height)


class _Encoder:
    """Raw BGR frames piped to ffmpeg, encoded as H.264 (yuv420p) at a fixed frame rate."""

    def __init__(self, path: Path, width: int, height: int, fps: float, *, ffmpeg: str):
        rate = Fraction(fps).limit_denominator(1001)
        self.path = path
        self.size = (width, height)
        self._log = tempfile.TemporaryFile()
        cmd = [ffmpeg, "-hide_banner", "-loglevel", "error", "-y",
               "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{width}x{height}",
               "-framerate", f"{rate.numerator}/{rate.denominator}", "-i", "-",
               # yuv420p needs even sides; pad an odd one with a black line.
               "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2",
               "-an", "-c:v", "libx264", "-preset", "medium", "-crf", str(_CRF),
               "-pix_fmt", "yuv420p", str(path)]
        self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                      stderr=self._log)
        self.frames = 0

    def write(self, bgr: np.ndarray):
        if bgr.shape[1::-1] != self.size:
            raise ParameterError(f"frame of {bgr.shape[1]}x{bgr.shape[0]} px, the video is "
                                 f"{self.size[0]}x{self.size[1]}")
        try:
            self._proc.stdin.write(np.ascontiguousarray(bgr).tobytes())
        except BrokenPipeError:
            self.close()  # raises with ffmpeg's message
            raise
        self.frames += 1

    def close(self):
        if self._proc.stdin and not self._proc.stdin.closed:
            try:
                self._proc.stdin.close()
            except BrokenPipeError:
                pass
        rc = self._proc.wait()
        self._log.seek(0)
        message = self._log.read().decode(errors="replace").strip()
        self._log.close()
        if rc != 0:
            raise IbeatError(f"ffmpeg could not encode {self.path} (exit {rc}): {message[-800:]}")

    def abort(self):
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        if not self._log.closed:
            self._log.close()


def _mux(ffmpeg: str, video: Path, audio: Path, out: Path):
    """Copy ``video``'s H.264 stream and encode ``audio`` as AAC into ``out``."""
    cmd = [ffmpeg, "-hide_banner", "-loglevel", "error", "-y", "-i", str(video), "-i", str(audio),
           "-map", "0:v:0", "-map", "1:a:0", "-c:v", "copy", "-c:a", "aac",
           "-b:a", _AUDIO_BITRATE]
    if out.suffix.lower() in (".mp4", ".mov"):
        cmd += ["-movflags", "+faststart"]  # index first: the video plays while it downloads
    run = subprocess.run(cmd + [str(out)], capture_output=True)
    if run.returncode != 0:
        raise IbeatError(f"ffmpeg could not mux the drums into {out}: "
                         f"{run.stderr.decode(errors='replace').strip()[-800:]}")


def _check_output(path, suffixes, what) -> Path | None:
    if path is None:
        return None
    path = Path(path)
    if suffixes and path.suffix.lower() not in suffixes:
        raise ParameterError(f"{path}: the {what} must end in {', '.join(suffixes)} "
                             f"(got {path.suffix or 'no extension'!r})")
    if path.exists() and path.is_dir():
        raise ParameterError(f"{path} is a folder; give a file name for the {what}")
    return path


def render_video(video_path, out_path=None, *, session_config: SessionConfig = SessionConfig(),
                 pose_config=None, midi_path=None, wav_path=None, plot_path=None,
                 progress: bool = True, height: int | None = None,
                 overlay_config: OverlayConfig = RENDER_OVERLAY,
                 networks=None, estimator=None) -> dict:
    """Render a dance video's drums: the annotated video with the drums as audio, MIDI, WAV.

    Parameters
    ----------
    video_path : path-like
        A video file OpenCV reads (.mp4, .mov, .avi, .mkv, .webm, ...).
    out_path : path-like, optional
        The annotated video, ``.mp4``, ``.mov`` or ``.mkv`` (H.264 + AAC).
        None: no video, only the other outputs (faster: nothing is drawn).
    session_config : SessionConfig
        The engine's settings (mode, genre, seed, ...).
    pose_config : ibeat_video.pose.PoseConfig, optional
        Pose estimator settings (model "lite" or "full"); default PoseConfig().
    midi_path, wav_path, plot_path : path-like, optional
        Also write the drums as General MIDI, the synthesised kit as WAV (the
        video's length plus 1 s of tail, time 0 at frame 0), and a figure of
        the session (PNG/PDF/SVG).
    progress : bool
        Show a progress bar on stderr.
    height : int, optional
        Picture height [px] of the output video (the width follows the
        aspect ratio); default the source's, clamped to [MIN_HEIGHT, MAX_HEIGHT].
    overlay_config : OverlayConfig
        What to draw; by default the drum roll goes in a panel under the picture.
    networks : ibeat_core.session.Networks, optional
        Default: the shipped networks.
    estimator : object with ``estimate(rgb, timestamp_ms) -> PoseEstimate``, optional
        Default: a :class:`ibeat_video.pose.PoseEstimator` of ``pose_config``
        (created and closed here; one passed in is not closed).

    Returns
    -------
    dict
        Summary: input, size, fps, frames, duration, tempo, counts of beats and
        hits, feels, frames with a person, tracking status counts, pose time,
        wall time, and the outputs written.

    Raises
    ------
    SourceError
        A missing, unreadable or undecodable input, or a camera / stream.
    ParameterError
        An output path with the wrong extension.
    """
    t_start = time.perf_counter()
    out_path = _check_output(out_path, OUTPUT_SUFFIXES, "output video")
    midi_path = _check_output(midi_path, (".mid", ".midi"), "MIDI file")
    wav_path = _check_output(wav_path, (".wav",), "WAV file")
    plot_path = _check_output(plot_path, (".png", ".pdf", ".svg"), "figure")
    if not any((out_path, midi_path, wav_path, plot_path)):
        raise ParameterError("nothing to write: give an output video, a MIDI, WAV or plot path")
    ffmpeg = ffmpeg_exe() if out_path else None

    from .capture import PosePipeline, open_source
    from .video_session import MISSING_KEYPOINTS, VideoSession

    source = open_source(os.fspath(video_path))
    own_estimator = estimator is None
    encoder = None
    tmp = None
    try:
        if source.is_live:
            raise SourceError(f"{source.name} is a camera or a stream; ibeat render needs a "
                              "video file (use ibeat live for a camera)")
        for p in (out_path, midi_path, wav_path, plot_path):
            if p is not None:
                p.parent.mkdir(parents=True, exist_ok=True)
        if networks is None:
            from ibeat_models import load_networks
            networks = load_networks()
        if own_estimator:
            from .pose import PoseConfig, PoseEstimator
            estimator = PoseEstimator(pose_config or PoseConfig())
        session = VideoSession(networks, session_config)
        fps = source.fps
        src_w, src_h = source.width, source.height
        if out_path is not None:
            pic_h = _output_height(src_h, height)
            zoom = pic_h / src_h
            pic_w = max(2, int(round(src_w * zoom / 2)) * 2)
            # The feel the session drew ("any" draws one), shown before the first beat too.
            overlay = Overlay(overlay_config, mode=session_config.mode,
                              feel=session.session.feel)
            out_w, out_h = overlay.output_size(pic_w, pic_h)
            tmp = tempfile.TemporaryDirectory(prefix="ibeat-render-")
            encoder = _Encoder(Path(tmp.name) / f"video{out_path.suffix.lower()}",
                               out_w, out_h, fps, ffmpeg=ffmpeg)
        times, keypoints, events = [], [], []
        people = 0
        bar = _progress_bar(source, progress)
        pipeline = PosePipeline(source, estimator, realtime=False)
        try:
            for pf in pipeline:
                new = session.push(pf)
                events += new
                kp = pf.pose.keypoints
                times.append(pf.frame.time_s)
                keypoints.append(MISSING_KEYPOINTS if kp is None else np.asarray(kp, np.float32))
                people += kp is not None
                if encoder is not None:
                    overlay.add_events(new)
                    frame = pf.frame.bgr
                    if zoom != 1.0:
                        import cv2
                        frame = cv2.resize(frame, (pic_w, pic_h), interpolation=cv2.INTER_CUBIC
                                           if zoom > 1 else cv2.INTER_AREA)
                        if kp is not None:
                            kp = np.asarray(kp, np.float64).copy()
                            kp[:, 0] *= pic_w / src_w
                            kp[:, 1] *= zoom
                    encoder.write(overlay.draw(frame, pf.frame.time_s, kp, session.status))
                bar.update(1)
        finally:
            pipeline.stop()
            bar.close()
        stats = pipeline.stats
        n = len(times)
        if n == 0:
            raise SourceError(f"{source.name}: no frame could be read")
        if encoder is not None:
            encoder.close()
        t0 = times[0]
        duration_s = n / fps
        beats = [e for e in events if isinstance(e, BeatCue)]
        hits = sorted((e for e in events if isinstance(e, DrumHit)), key=lambda h: h.time_s)
        onsets = np.array([h.time_s - t0 for h in hits], np.float64)
        classes = np.array([h.drum_class for h in hits], np.int64)
        velocities = np.array([h.velocity for h in hits], np.float64)
        tempo = float(np.median([b.tempo_bpm for b in beats])) if beats else 0.0
        summary = {"video": str(video_path), "width": src_w, "height": src_h,
                   "fps": round(fps, 3), "frames": n, "duration_s": round(duration_s, 3),
                   "mode": session_config.mode, "genre": session_config.genre,
                   "seed": session_config.seed, "feels": sorted({b.feel for b in beats}),
                   "tempo_bpm": round(tempo, 2), "beats": len(beats), "hits": len(hits),
                   "person_frames": round(people / n, 3),
                   "status": dict(session.status_counts),
                   "pose_ms_p50": stats["pose_ms"].get("p50")}
        if source.ended_early:
            summary["note"] = source.ended_early

        summary.update(write_drums(onsets, classes, velocities, tempo_bpm=tempo,
                                   duration_s=duration_s, seed=session_config.seed,
                                   midi=midi_path, wav=wav_path))
        if out_path is not None:
            from ibeat_io.audio import write_wav
            from ibeat_io.drumkit import SAMPLE_RATE

            track = Path(tmp.name) / "drums.wav"
            # The muxed track ends with the picture: the WAV file's audio, less its tail.
            audio = drum_audio(onsets, classes, velocities, duration_s=duration_s,
                               seed=session_config.seed)
            write_wav(track, audio[:int(round(duration_s * SAMPLE_RATE))],
                      sample_rate=SAMPLE_RATE)
            # Mux beside the target and rename: no half-written video on failure.
            partial = out_path.with_name(f".{out_path.name}.partial{out_path.suffix}")
            try:
                _mux(ffmpeg, encoder.path, track, partial)
                os.replace(partial, out_path)
            finally:
                partial.unlink(missing_ok=True)
            summary["out"] = str(out_path)
            summary["out_size"] = [out_w + out_w % 2, out_h + out_h % 2]
        if plot_path is not None:
            from ibeat_core.session import run_session

            from ibeat_io.plots import plot_session
            # The same frames through a fresh session: the engine is deterministic,
            # so these are the drums of the video (plus the per-frame curves).
            result = run_session(networks, np.asarray(times), np.stack(keypoints),
                                 config=session_config)
            plot_session(result, plot_path, title=f"{Path(video_path).name}: "
                         f"{session_config.mode}, genre {session_config.genre}, "
                         f"seed {session_config.seed}")
            summary["plot"] = str(plot_path)
        summary["wall_s"] = round(time.perf_counter() - t_start, 2)
        return summary
    finally:
        if encoder is not None:
            encoder.abort()
        if own_estimator and estimator is not None:
            estimator.close()
        source.close()
        if tmp is not None:
            tmp.cleanup()


def _progress_bar(source, enabled: bool):
    from tqdm import tqdm
    return tqdm(total=source.frame_count, unit="frame", desc=Path(source.name).name,
                file=sys.stderr, disable=not enabled, dynamic_ncols=True, leave=False)


def main_render_video(args) -> int:
    """``ibeat render VIDEO ...``: the handler ``ibeat_cli.main`` routes video inputs to.

    Uses ``args.clip`` (the video), ``args.out`` (the annotated video),
    ``args.midi``, ``args.wav``, ``args.plot``, ``args.json``, the session
    options (``mode``, ``genre``, ``seed``, ``density``, ``temperature``,
    ``genre_strength``), ``args.pose_model`` and, if present, ``args.height``.
    Errors in the input or the options print one line and return 2.
    """
    from .pose import PoseConfig

    try:
        if not (args.out or args.midi or args.wav or args.plot):
            raise ParameterError("nothing to write: give -o out.mp4 (and/or --midi, --wav, "
                                 "--plot)")
        summary = render_video(args.clip, args.out, session_config=session_config_from_args(args),
                               pose_config=PoseConfig(model=getattr(args, "pose_model", "lite")),
                               midi_path=args.midi, wav_path=args.wav, plot_path=args.plot,
                               progress=not args.json, height=getattr(args, "height", None))
    except (SourceError, IbeatError, FileNotFoundError) as exc:
        print(f"ibeat render: error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(f"input     {summary['video']} ({summary['width']}x{summary['height']}, "
          f"{summary['fps']:g} fps, {summary['duration_s']:.1f} s; a person in "
          f"{100 * summary['person_frames']:.0f}% of frames)")
    feels = ", ".join(summary["feels"]) or "no beat found"
    print(f"drums     {summary['mode']}, genre {summary['genre']} ({feels}), seed "
          f"{summary['seed']}: {summary['hits']} hits on {summary['beats']} beats at "
          f"{summary['tempo_bpm']:.1f} BPM")
    if "note" in summary:
        print(f"note      {summary['note']}")
    for key in ("out", "midi", "wav", "plot"):
        if key in summary:
            print(f"{'video' if key == 'out' else key:<9} {summary[key]}")
    print(f"took      {summary['wall_s']:.1f} s "
          f"({summary['duration_s'] / max(summary['wall_s'], 1e-9):.2f}x real time)")
    return 0
