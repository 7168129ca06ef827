"""``ibeat live``: a camera or a video, played as drums in real time.

:class:`~ibeat_video.capture.PosePipeline` (real time: a file is paced like a
camera, stale frames are skipped) feeds a
:class:`~ibeat_video.video_session.VideoSession`; its drum hits go to the
default audio device through a small mixer (:class:`DrumMixer`: each hit of
:mod:`ibeat_io.drumkit`'s synthesised kit starts at its play time, mixed in
the output stream's callback). A preview window shows the skeleton when a
display exists. A one-line status goes to stderr every second, and a summary
with per-stage latency at the end. Ctrl-C, ``q`` or Esc in the preview, the
end of a file or ``duration_s`` end the run cleanly.

Audio needs the PortAudio system library (``sounddevice``); without it, or
without an output device, the run goes on silently and says so once.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import threading
import time
from dataclasses import dataclass

import numpy as np

from ibeat_io.drum_files import write_drums
from ibeat_io.drumkit import MIX_GAIN, SAMPLE_RATE, soft_limit, synth_voice
from ibeat_io.session_options import session_config_from_args
from ibeat_core.drums import MAX_MIDI_VELOCITY, N_DRUM_CLASSES
from ibeat_core.errors import IbeatError, ParameterError
from ibeat_core.session import BeatCue, DrumHit, SessionConfig

from .capture import PosePipeline, open_source
from .errors import SourceError
from .video_session import VideoSession

__all__ = ["DrumMixer", "AudioOut", "has_display", "run_live", "main_live", "format_summary",
           "STATUS_EVERY_S"]

#: Seconds between two status lines on stderr.
STATUS_EVERY_S = 1.0
# The preview is drawn on a copy at most this wide [px]: a 1080p frame would
# cost more to draw and show than to pose.
_PREVIEW_MAX_WIDTH = 960
_WINDOW = "ibeat live"


def _log(message: str):
    print(f"[live] {message}", file=sys.stderr, flush=True)


# -- audio -------------------------------------------------------------------------------

@functools.lru_cache(maxsize=N_DRUM_CLASSES * MAX_MIDI_VELOCITY)
def _voice(drum_class: int, level: int, sample_rate: int, seed: int) -> np.ndarray:
    """One hit of the kit at MIDI velocity ``level`` (read-only; cached: cymbals take ~50 ms)."""
    out = synth_voice(drum_class, level / MAX_MIDI_VELOCITY, sample_rate=sample_rate, seed=seed)
    out.setflags(write=False)
    return out


class DrumMixer:
    """Mixes drum hits, each starting at its play time, into consecutive audio buffers.

    Thread-safe between one thread that calls :meth:`schedule` and the audio
    callback that calls :meth:`fill`. Times are ``time.monotonic()`` seconds.

    Parameters
    ----------
    sample_rate : int
    seed : int
        Seed of the kit's voices (as :func:`ibeat_io.drumkit.render_hits`).
    gain : float
        Gain on the sum of voices before the soft limiter.

    Examples
    --------
    >>> m = DrumMixer(sample_rate=8000)
    >>> m.schedule(10.01, 0, 1.0)            # a kick 10 ms after the buffer starts
    >>> out = np.zeros(160, np.float32)
    >>> m.fill(out, 10.0)
    >>> int(np.flatnonzero(out)[0])
    80
    """

    def __init__(self, *, sample_rate: int = SAMPLE_RATE, seed: int = 0, gain: float = MIX_GAIN):
        self.sample_rate = int(sample_rate)
        self.seed = int(seed)
        self.gain = float(gain)
        self._lock = threading.Lock()
        self._pending: list[tuple[float, np.ndarray]] = []
        self._active: list[list] = []  # [samples, index of samples at out[0]]
        #: Hits that reached the mixer after their play time (played at once).
        self.late = 0
        #: Hits mixed so far.
        self.played = 0

    def warm_up(self):
        """Synthesise every voice once (its slow part is cached) before the first hit."""
        for c in range(N_DRUM_CLASSES):
            _voice(c, 64, self.sample_rate, self.seed)

    def schedule(self, play_at: float, drum_class: int, velocity: float):
        """Play ``drum_class`` at ``velocity`` in (0, 1] at monotonic time ``play_at`` [s]."""
        level = int(np.clip(np.rint(velocity * MAX_MIDI_VELOCITY), 1, MAX_MIDI_VELOCITY))
        samples = _voice(int(drum_class), level, self.sample_rate, self.seed)
        with self._lock:
            self._pending.append((float(play_at), samples))

    def fill(self, out: np.ndarray, start_at: float):
        """Mix into ``out`` (n,) the hits sounding in its span; its first sample plays at ``start_at``."""
        n = len(out)
        end_at = start_at + n / self.sample_rate
        with self._lock:
            due = [p for p in self._pending if p[0] < end_at]
            if due:
                self._pending = [p for p in self._pending if p[0] >= end_at]
        for play_at, samples in due:
            offset = int(round((play_at - start_at) * self.sample_rate))
            if offset < 0:
                self.late += 1
                offset = 0
            self._active.append([samples, -offset])
            self.played += 1
        if not self._active:
            out[:] = 0.0
            return
        mix = np.zeros(n, dtype=np.float64)
        for voice in self._active:
            samples, pos = voice
            first = max(0, -pos)
            count = min(n - first, len(samples) - (pos + first))
            if count > 0:
                mix[first:first + count] += samples[pos + first:pos + first + count]
            voice[1] = pos + n
        self._active = [v for v in self._active if v[1] < len(v[0])]
        out[:] = soft_limit(mix * self.gain)


class AudioOut:
    """The default output device playing a :class:`DrumMixer` (use :meth:`open`)."""

    def __init__(self, stream, mixer: DrumMixer):
        self._stream = stream
        self.mixer = mixer
        self.device = None

    @classmethod
    def open(cls, *, seed: int = 0, sample_rate: int = SAMPLE_RATE):
        """``(AudioOut, None)``, or ``(None, why not)`` when there is no way to play sound."""
        try:
            import sounddevice as sd
        except OSError as exc:  # sounddevice raises OSError when libportaudio is missing
            return None, f"no audio: {exc} (install it: apt install libportaudio2)"
        try:
            device = sd.query_devices(kind="output")
        except Exception as exc:  # noqa: BLE001 - PortAudioError or ValueError: no device
            return None, f"no audio: no output device ({exc})"
        mixer = DrumMixer(sample_rate=sample_rate, seed=seed)
        mixer.warm_up()
        holder = {}

        def callback(outdata, frames, time_info, status):
            # Stream time -> monotonic: the buffer plays (dac - now) after this call.
            ahead = time_info.outputBufferDacTime - time_info.currentTime
            if not (0 <= ahead < 1.0):
                ahead = holder["latency"]
            mixer.fill(outdata[:, 0], time.monotonic() + ahead)

        try:
            stream = sd.OutputStream(samplerate=sample_rate, channels=1, dtype="float32",
                                     latency="low", callback=callback)
            holder["latency"] = float(stream.latency)
            stream.start()
        except Exception as exc:  # noqa: BLE001 - any PortAudio failure means no sound
            return None, f"no audio: cannot open the output device ({exc})"
        out = cls(stream, mixer)
        out.device = device.get("name") if isinstance(device, dict) else str(device)
        out.latency_ms = 1e3 * holder["latency"]
        return out, None

    def close(self):
        try:
            self._stream.stop()
            self._stream.close()
        except Exception:  # noqa: BLE001 - closing a dead device must not hide the summary
            pass


# -- preview -----------------------------------------------------------------------------

def has_display() -> bool:
    """Whether a window can be shown (on Linux: ``DISPLAY`` or ``WAYLAND_DISPLAY`` is set)."""
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def _draw_preview(overlay, pf, vs: VideoSession):
    """The frame with the overlay (skeleton, beat flash, drum roll, HUD), at most 960 px wide."""
    import cv2

    bgr, kp = pf.frame.bgr, vs.last_keypoints
    scale = min(1.0, _PREVIEW_MAX_WIDTH / bgr.shape[1])
    if scale < 1.0:
        bgr = cv2.resize(bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        if kp is not None:
            kp = kp * np.array([scale, scale, 1.0], np.float32)
    else:
        bgr = bgr.copy()
    return overlay.draw(bgr, pf.frame.time_s, kp, vs.status)


class _Preview:
    """A cv2 window; :meth:`show` returns False when the user closed it or pressed q / Esc."""

    def __init__(self):
        import cv2

        self._cv2 = cv2
        cv2.namedWindow(_WINDOW, cv2.WINDOW_AUTOSIZE)

    def show(self, img) -> bool:
        cv2 = self._cv2
        cv2.imshow(_WINDOW, img)
        key = cv2.waitKey(1) & 0xFF
        if key in (ord("q"), 27):
            return False
        return cv2.getWindowProperty(_WINDOW, cv2.WND_PROP_VISIBLE) >= 1

    def close(self):
        try:
            self._cv2.destroyWindow(_WINDOW)
            self._cv2.waitKey(1)
        except self._cv2.error:
            pass


# -- the run -----------------------------------------------------------------------------

@dataclass
class _Rate:
    """Posed frames per second over the last status interval."""

    frames: int = 0
    at: float = 0.0


def run_live(source_spec, *, session_config: SessionConfig = SessionConfig(), pose_config=None,
             audio: bool = True, preview: bool = True, duration_s: float | None = None,
             out_midi=None, out_wav=None, networks=None, estimator=None,
             status_every_s: float | None = STATUS_EVERY_S) -> dict:
    """Play a camera or video as drums in real time; return a summary.

    Parameters
    ----------
    source_spec : int, str or path-like
        Camera index or video file / URL (see :func:`~ibeat_video.capture.open_source`).
    session_config : SessionConfig
    pose_config : ibeat_video.pose.PoseConfig, optional
        Used when ``estimator`` is None (default: the lite model).
    audio : bool
        Play the drums on the default output device (skipped, with one line
        saying why, when PortAudio or a device is missing).
    preview : bool
        Show a window (skipped with "no display: running headless" without one).
    duration_s : float, optional
        Stop after this many seconds of capture time, > 0.
    out_midi, out_wav : path-like, optional
        Also write the hits as a General MIDI drum track / a WAV of the kit
        (:func:`ibeat_io.drum_files.write_drums`); time 0 is the first frame,
        the WAV lasts to the last frame or the last hit, whichever is later, plus 1 s.
    networks : ibeat_core.session.Networks, optional
        Default: ``ibeat_models.load_networks()``.
    estimator : object with ``estimate(rgb, timestamp_ms)``, optional
        Default: a :class:`ibeat_video.pose.PoseEstimator` of ``pose_config``,
        closed at the end (one given here is not closed).
    status_every_s : float or None
        Seconds between status lines on stderr; None: none (nor the notes).

    Returns
    -------
    dict
        Source, frames captured / posed / dropped, beats, hits, per-stage
        latency [ms] p50/p99, CPU use, status counts, outputs written,
        ``stopped_by`` ("end of video", "duration", "ctrl-c", "preview closed").

    Raises
    ------
    SourceError
        A camera or video that cannot be used.
    ParameterError
        A bad ``duration_s``.
    """
    if duration_s is not None and not (np.isfinite(duration_s) and duration_s > 0):
        raise ParameterError(f"duration_s must be > 0 seconds, got {duration_s!r}")
    say = _log if status_every_s is not None else (lambda message: None)
    source = open_source(source_spec)
    say(f"source: {source.name}, {source.width}x{source.height} at {source.fps:g} fps"
        + ("" if source.is_live else f", {source.frame_count} frames"))
    if source.fps_note:
        say(source.fps_note)
    own_estimator = estimator is None
    player = window = pipeline = None
    try:
        if networks is None:
            from ibeat_models import load_networks
            networks = load_networks()
        if own_estimator:
            from .pose import PoseConfig, PoseEstimator
            pose_config = pose_config or PoseConfig()
            estimator = PoseEstimator(pose_config)
            say(f"pose: MediaPipe PoseLandmarker {pose_config.model}")
        if audio:
            player, why = AudioOut.open(seed=session_config.seed)
            say(why if player is None else
                f"audio: {player.device}, output latency {player.latency_ms:.0f} ms")
        if preview:
            if not has_display():
                say("no display: running headless")
            else:
                try:
                    window = _Preview()
                except Exception as exc:  # noqa: BLE001 - e.g. an OpenCV built without GUI
                    say(f"no preview window ({exc}): running headless")
        vs = VideoSession(networks, session_config)
        pipeline = PosePipeline(source, estimator, realtime=True)
        return _loop(source, pipeline, vs, player, window, session_config, duration_s,
                     out_midi, out_wav, status_every_s, say)
    finally:
        if pipeline is not None:
            pipeline.stop()
        if player is not None:
            player.close()
        if window is not None:
            window.close()
        if own_estimator and estimator is not None:
            estimator.close()
        source.close()


def _loop(source, pipeline, vs, player, window, config, duration_s, out_midi, out_wav,
          status_every_s, say) -> dict:
    beats, hits = [], []
    first_s = last_s = None
    if window is not None:
        from .overlay import Overlay, OverlayConfig
        overlay = Overlay(OverlayConfig(layout="inside"), mode=config.mode, feel=config.genre)
    stopped_by = "end of video" if not source.is_live else "source stopped"
    cpu0 = time.process_time()  # every thread of the process: capture, pose, engine
    wall0 = time.monotonic()
    next_status = wall0 + (status_every_s or np.inf)
    rate = _Rate(0, wall0)
    try:
        for pf in pipeline:
            if first_s is None:
                first_s = pf.frame.time_s
            last_s = pf.frame.time_s
            events = vs.push(pf)
            for e in events:
                if isinstance(e, DrumHit):
                    hits.append(e)
                    if player is not None:
                        player.mixer.schedule(vs.to_monotonic(e.time_s), e.drum_class, e.velocity)
                elif isinstance(e, BeatCue):
                    beats.append(e)
            now = time.monotonic()
            if window is not None:
                overlay.add_events(events)
                if not window.show(_draw_preview(overlay, pf, vs)):
                    stopped_by = "preview closed"
                    break
            if now >= next_status:
                fps_now = (pipeline.posed - rate.frames) / max(now - rate.at, 1e-9)
                rate = _Rate(pipeline.posed, now)
                next_status = now + status_every_s
                st = pipeline.stats
                e2e = vs.latency_stats()["end_to_end"]["p50"]
                c2p = vs.latency_stats()["capture_to_posed"]["p50"]
                say(f"{pf.frame.time_s - first_s:6.1f} s  frames {st['captured']} captured / "
                    f"{st['posed']} posed ({fps_now:.1f} fps), dropped {st['dropped_stale']}  "
                    f"latency p50 pose {_ms(c2p)}, end-to-end {_ms(e2e)}  "
                    f"beats {len(beats)} hits {len(hits)}  {vs.status}")
            if duration_s is not None and pf.frame.time_s - first_s >= duration_s:
                stopped_by = "duration"
                break
    except KeyboardInterrupt:
        stopped_by = "ctrl-c"
    pipeline.stop()
    if player is not None and hits:
        # Let the hits already scheduled ring (up to their play time plus a short tail).
        last = vs.to_monotonic(max(h.time_s for h in hits)) + 0.3 - time.monotonic()
        try:
            time.sleep(min(max(last, 0.0), 1.0))
        except KeyboardInterrupt:
            pass
    wall = time.monotonic() - wall0
    cpu_s = time.process_time() - cpu0
    duration = 0.0 if first_s is None else last_s - first_s
    summary = _summary(source, pipeline, vs, beats, hits, duration, wall, cpu_s, stopped_by,
                       player)
    start_s = first_s or 0.0
    tempi = [b.tempo_bpm for b in beats]
    # Hits are forecast ahead of the last frame: the WAV lets those ring too.
    summary.update(write_drums([h.time_s - start_s for h in hits], [h.drum_class for h in hits],
                               [h.velocity for h in hits],
                               tempo_bpm=float(np.median(tempi)) if tempi else None,
                               duration_s=summary["duration_s"], seed=config.seed,
                               midi=out_midi, wav=out_wav, extend_to_last_onset=True))
    return summary


def _ms(v) -> str:
    return "-" if v is None else f"{v:.0f} ms"


def _summary(source, pipeline, vs, beats, hits, duration, wall, cpu_s, stopped_by, player):
    st = pipeline.stats
    tempi = [b.tempo_bpm for b in beats]
    out = {"source": source.name, "width": source.width, "height": source.height,
           "source_fps": source.fps, "duration_s": round(duration, 3), "wall_s": round(wall, 3),
           "stopped_by": stopped_by,
           "frames": {k: st[k] for k in ("captured", "posed", "delivered", "dropped_before_pose",
                                         "dropped_unconsumed", "dropped_stale")},
           "posed_fps": round(st["posed"] / wall, 2) if wall > 0 else None,
           "pose_ms": st["pose_ms"], "latency_ms": vs.latency_stats(),
           "cpu_cores": round(cpu_s / wall, 2) if wall > 0 else None,
           "beats": len(beats), "hits": len(hits),
           "tempo_bpm": round(float(np.median(tempi)), 2) if tempi else 0.0,
           "feels": sorted({b.feel for b in beats}),
           "late_hits_skipped": vs.session.late_hits_skipped,
           "status_frames": dict(vs.status_counts), "last_status": vs.status,
           "audio": player is not None}
    if player is not None:
        out["audio_hits_late"] = player.mixer.late
    if st["ended_early"]:
        out["warning"] = st["ended_early"]
    return out


def format_summary(s: dict) -> str:
    """The end-of-run summary of :func:`run_live`, as lines of text."""
    f = s["frames"]
    lat = s["latency_ms"]

    def pair(d):
        return f"{_ms(d['p50'])} / {_ms(d['p99'])}"

    lines = [f"source    {s['source']} ({s['width']}x{s['height']}, {s['source_fps']:g} fps), "
             f"{s['duration_s']:.1f} s, stopped by {s['stopped_by']}",
             f"frames    {f['captured']} captured, {f['posed']} posed ({s['posed_fps']} fps), "
             f"{f['dropped_stale']} dropped stale ({f['dropped_before_pose']} before pose, "
             f"{f['dropped_unconsumed']} unconsumed)",
             f"drums     {s['hits']} hits on {s['beats']} beats at {s['tempo_bpm']:.1f} BPM "
             f"({', '.join(s['feels']) or 'no feel yet'})",
             f"latency   p50 / p99: capture -> pose done {pair(lat['capture_to_posed'])}, "
             f"pose -> events {pair(lat['posed_to_events'])}, end-to-end capture -> event "
             f"{pair(lat['end_to_end'])}; pose call {pair(s['pose_ms'])}",
             f"hit lead  p1 / p50 {_ms(lat['hit_lead']['p1'])} / {_ms(lat['hit_lead']['p50'])} "
             "(play time - time the hit left the engine)",
             f"cpu       {s['cpu_cores']} cores",
             "status    " + ", ".join(f"{k} {v}" for k, v in s["status_frames"].items())]
    if "warning" in s:
        lines.append(f"warning   {s['warning']}")
    for key in ("midi", "wav"):
        if key in s:
            lines.append(f"{key:<9} {s[key]}")
    return "\n".join(lines)


def main_live(args) -> int:
    """``ibeat live``: the handler for the parsed command line (see the parser lines in the report).

    Expects ``args.camera`` (int or None), ``args.video`` (path or None),
    ``args.pose_model``, ``args.mode``, ``args.genre``, ``args.seed``,
    ``args.lead_ms``, ``args.no_audio``, ``args.no_preview``, ``args.duration_s``,
    ``args.out``, ``args.wav``, ``args.json``.
    """
    from .pose import PoseConfig

    spec = args.camera if args.camera is not None else args.video
    if spec is None:
        print("ibeat live: error: give --camera N or --video PATH", file=sys.stderr)
        return 2
    try:
        summary = run_live(spec, session_config=session_config_from_args(args),
                           pose_config=PoseConfig(model=args.pose_model),
                           audio=not args.no_audio, preview=not args.no_preview,
                           duration_s=args.duration_s, out_midi=args.out, out_wav=args.wav)
    except (SourceError, IbeatError) as exc:
        print(f"ibeat live: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        # Ctrl-C before the first frame (while loading); once running it ends the run instead.
        print("ibeat live: interrupted", file=sys.stderr)
        return 130
    print(json.dumps(summary, indent=2) if args.json else format_summary(summary))
    return 0
