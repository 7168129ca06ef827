"""The video overlay and ``ibeat render clip.mp4 -o out.mp4``."""

import re
import subprocess

import cv2
import numpy as np
import pytest

from ibeat_io.drumkit import SAMPLE_RATE
from ibeat_core.errors import ParameterError
from ibeat_core.session import BeatCue, DrumHit, SessionConfig
from ibeat_io.clips import bundled_clip_path, load_clip
from ibeat_video.errors import SourceError
from ibeat_video.overlay import (CLASS_COLORS_BGR, Overlay, OverlayConfig, draw_skeleton,
                                 frame_scale, roll_panel_height)
from ibeat_video.render_video import RENDER_OVERLAY, ffmpeg_exe, is_video_path, render_video

try:
    from ibeat_video.pose import PoseEstimate
except ImportError:  # the pose module is optional for these tests: a stand-in with its fields
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class PoseEstimate:
        keypoints: np.ndarray | None
        n_people: int
        inference_ms: float


def _standing_pose(w, h, confidence=0.9):
    """A person standing in the middle of a ``w`` x ``h`` frame, COCO-17 [x, y, conf] px."""
    rel = np.array([[0.50, 0.12], [0.48, 0.10], [0.52, 0.10], [0.46, 0.11], [0.54, 0.11],
                    [0.42, 0.22], [0.58, 0.22], [0.38, 0.36], [0.62, 0.36], [0.36, 0.48],
                    [0.64, 0.48], [0.45, 0.50], [0.55, 0.50], [0.44, 0.66], [0.56, 0.66],
                    [0.44, 0.82], [0.56, 0.82]])
    kp = np.empty((17, 3), np.float32)
    kp[:, 0], kp[:, 1], kp[:, 2] = rel[:, 0] * w, rel[:, 1] * h, confidence
    return kp


def _hit(t, drum, *, beat=0, step=0, joint=9, x=0.0, y=0.0, velocity=0.8):
    return DrumHit(t, drum, 36, velocity, 100, beat, step, t - 0.1, joint, x, y)


def _grey(w, h):
    return np.full((h, w, 3), 128, np.uint8)


@pytest.mark.parametrize("size", [(64, 48), (512, 288), (1920, 1080)])
@pytest.mark.parametrize("layout", ["inside", "below"])
def test_overlay_draws_at_any_size_deterministically(size, layout):
    w, h = size
    kp = _standing_pose(w, h)
    events = [BeatCue(1.0, 120.0, 0.8, 0, 0.9, "funk"), _hit(1.0, 0, x=kp[9, 0], y=kp[9, 1]),
              _hit(1.125, 2, step=1), _hit(1.5, 1, step=4)]
    outs = []
    for _ in range(2):
        ov = Overlay(OverlayConfig(layout=layout))
        ov.add_events(events)
        outs.append([ov.draw(_grey(w, h), t, kp, status) for t, status in
                     ((0.5, "tracking"), (1.02, "tracking"), (1.6, "no person in frame"))])
    for a, b in zip(*outs):
        assert a.dtype == np.uint8
        assert a.shape == (*ov.output_size(w, h)[::-1], 3)
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(outs[0][0], outs[0][1])
    # No person: the engine's status is drawn, nothing crashes.
    ov.draw(_grey(w, h), 2.0, None, "no person in frame")


def test_below_layout_adds_a_panel_and_keeps_the_picture_size():
    ov = Overlay(OverlayConfig(layout="below"))
    out = ov.draw(_grey(512, 288), 0.0, None, "tracking")
    assert out.shape == (288 + roll_panel_height(288), 512, 3)
    assert roll_panel_height(288) % 2 == 0
    inside = Overlay(OverlayConfig(layout="inside"))
    frame = _grey(512, 288)
    assert inside.draw(frame, 0.0, None, "tracking") is frame  # in place, for the live preview


def test_beat_flash_lights_the_border_and_the_driving_joint_then_fades():
    w, h = 640, 360
    kp = _standing_pose(w, h)
    ov = Overlay(OverlayConfig(layout="below", hud=False, roll=False))
    ov.add_events([BeatCue(1.0, 120.0, 0.9, 0, 0.9), _hit(1.0, 0, joint=10)])
    before = ov.draw(_grey(w, h), 0.99, kp, "tracking")
    on_beat = ov.draw(_grey(w, h), 1.01, kp, "tracking")
    after = ov.draw(_grey(w, h), 1.6, kp, "tracking")
    border = (slice(0, 3), slice(w // 3, 2 * w // 3))
    assert np.abs(on_beat[border].astype(int) - before[border]).mean() > 20
    np.testing.assert_array_equal(after[border], before[border])  # decayed within ~150 ms
    x, y = int(kp[10, 0]), int(kp[10, 1])
    around = (slice(y - 40, y + 40), slice(x - 40, x + 40))
    assert np.abs(on_beat[around].astype(int) - before[around]).sum() > \
        10 * np.abs(after[around].astype(int) - before[around]).sum()


def test_drum_roll_shows_hits_in_their_row_and_upcoming_ones_right_of_the_playhead():
    w, h = 640, 360
    cfg = OverlayConfig(layout="below", hud=False, skeleton=False, effects=False)
    empty = Overlay(cfg).draw(_grey(w, h), 2.0, None, "tracking")
    ov = Overlay(cfg)
    ov.add_events([_hit(1.2, 0), _hit(1.6, 0), _hit(2.3, 0)])  # two played, one scheduled
    out = ov.draw(_grey(w, h), 2.0, None, "tracking")
    diff = np.abs(out.astype(int) - empty).sum(axis=2) > 30
    assert not diff[:h].any()  # the picture is untouched
    ys, xs = np.nonzero(diff)
    panel = roll_panel_height(h)
    # Kick is the bottom row of nine, as in the figures.
    assert ys.min() >= h + panel * 8 / 9 - 6 and ys.max() < h + panel
    playhead = 0.72 * w
    assert (xs > playhead + 10).any() and (xs < playhead - 10).any()
    # The played kick glows in its class colour.
    played = out[ys[xs < playhead - 10], xs[xs < playhead - 10]].astype(int)
    blue = np.array(CLASS_COLORS_BGR[0])
    assert np.min(np.abs(played - blue).sum(axis=1)) < 80


def test_skeleton_fades_low_confidence_joints_and_skips_missing_ones():
    w, h = 320, 240
    sure = _grey(w, h)
    draw_skeleton(sure, _standing_pose(w, h, 0.95), scale=frame_scale(w, h))
    unsure = _grey(w, h)
    draw_skeleton(unsure, _standing_pose(w, h, 0.05), scale=frame_scale(w, h))
    grey = _grey(w, h).astype(int)
    assert np.abs(sure.astype(int) - grey).sum() > 2 * np.abs(unsure.astype(int) - grey).sum() > 0
    missing = _standing_pose(w, h)
    missing[:, :2] = np.nan
    blank = _grey(w, h)
    draw_skeleton(blank, missing, scale=1.0)
    np.testing.assert_array_equal(blank, _grey(w, h))
    with pytest.raises(ParameterError, match=r"\(17, 2\|3\)"):
        draw_skeleton(blank, np.zeros((5, 2)), scale=1.0)


def test_overlay_rejects_a_bad_frame_and_config():
    with pytest.raises(ParameterError, match="uint8"):
        Overlay().draw(np.zeros((10, 10, 3), np.float32), 0.0, None)
    with pytest.raises(ParameterError, match="layout"):
        OverlayConfig(layout="above")


# ------------------------------------------------------------------- render_video


class ClipPoses:
    """A stand-in pose estimator: the bundled AIST++ clip's real keypoints, fitted to the frame."""

    def __init__(self, width, height):
        clip = load_clip(bundled_clip_path(), view=0)
        self.t = clip.timestamps_s - clip.timestamps_s[0]
        kp = clip.keypoints.astype(np.float64).copy()
        lo, hi = np.nanmin(kp[..., :2], axis=(0, 1)), np.nanmax(kp[..., :2], axis=(0, 1))
        k = 0.8 * height / (hi[1] - lo[1])
        kp[..., :2] = (kp[..., :2] - lo) * k + [width / 2 - k * (hi[0] - lo[0]) / 2, 0.1 * height]
        self.kp = kp.astype(np.float32)
        self.calls = []

    def estimate(self, rgb, timestamp_ms):
        self.calls.append(timestamp_ms)
        i = min(int(np.searchsorted(self.t, timestamp_ms / 1000.0)), len(self.t) - 1)
        return PoseEstimate(self.kp[i].copy(), 1, 0.1)

    def close(self):
        pass


def _write_video(path, n, w=96, h=64, fps=30.0):
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    assert vw.isOpened()
    for i in range(n):
        frame = np.full((h, w, 3), 40, np.uint8)
        cv2.circle(frame, (int(w / 2 + w / 4 * np.sin(i / 5)), h // 2), 5, (0, 200, 255), -1)
        vw.write(frame)
    vw.release()
    return path


@pytest.fixture(scope="module")
def rendered(tmp_path_factory, networks):
    """6 s of a synthetic 96x64 video with real dance keypoints, rendered once."""
    root = tmp_path_factory.mktemp("render")
    src = _write_video(root / "in.mp4", 180)
    estimator = ClipPoses(96, 64)
    out = root / "sub" / "out.mp4"
    summary = render_video(src, out, session_config=SessionConfig(seed=0), midi_path=root / "d.mid",
                           wav_path=root / "d.wav", plot_path=root / "d.png", progress=False,
                           height=64, networks=networks, estimator=estimator)
    return summary, out, root, estimator


def _probe(path):
    run = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True,
                         text=True)
    return run.stderr


def _decode_audio(path):
    run = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(path), "-vn", "-ac", "1",
                          "-ar", str(SAMPLE_RATE), "-f", "f32le", "-"], capture_output=True,
                         check=True)
    return np.frombuffer(run.stdout, np.float32)


def test_render_writes_a_video_with_every_frame_and_the_drums_as_audio(rendered):
    summary, out, root, estimator = rendered
    assert out.is_file() and summary["out"] == str(out)
    assert len(estimator.calls) == 180 and summary["frames"] == 180
    assert summary["hits"] > 0 and summary["beats"] > 0 and summary["person_frames"] == 1.0
    cap = cv2.VideoCapture(str(out))
    n, size = 0, None
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        n, size = n + 1, frame.shape[1::-1]
    cap.release()
    assert n == 180
    assert size == (96, 64 + roll_panel_height(64, RENDER_OVERLAY)) == tuple(summary["out_size"])
    info = _probe(out)
    assert re.search(r"Video: h264.*yuv420p", info) and "30 fps" in info
    assert re.search(r"Audio: aac", info)
    assert not list(out.parent.glob(".*partial*"))


def test_the_muxed_drums_are_in_sync_with_the_picture(rendered):
    import soundfile

    summary, out, root, _ = rendered
    wav, sr = soundfile.read(root / "d.wav", dtype="float32")
    assert sr == SAMPLE_RATE
    assert len(wav) == round((summary["duration_s"] + 1.0) * sr)
    muxed = _decode_audio(out)
    assert abs(len(muxed) - summary["duration_s"] * sr) < 0.05 * sr
    n = min(len(muxed), len(wav))
    a, b = muxed[:n], wav[:n]
    # Lag of the muxed track against the hits' times (the WAV): within 1 ms.
    spec = np.fft.rfft(a, 2 * n) * np.conj(np.fft.rfft(b, 2 * n))
    xc = np.fft.irfft(spec)
    lag = int(np.argmax(np.concatenate([xc[-n:], xc[:n]]))) - n
    assert abs(lag) <= sr // 1000
    assert np.corrcoef(a, b)[0, 1] > 0.9


def test_render_writes_midi_and_plot_with_the_same_hits(rendered):
    import pretty_midi

    summary, _, root, _ = rendered
    notes = pretty_midi.PrettyMIDI(str(root / "d.mid")).instruments[0].notes
    assert len(notes) == summary["hits"]
    assert (root / "d.png").stat().st_size > 10000


def test_render_without_video_writes_only_the_other_outputs(tmp_path, networks):
    src = _write_video(tmp_path / "in.avi", 20)
    summary = render_video(src, None, wav_path=tmp_path / "x.wav", progress=False,
                           networks=networks, estimator=ClipPoses(96, 64))
    assert (tmp_path / "x.wav").is_file() and "out" not in summary and summary["frames"] == 20


def test_render_handles_frames_without_a_person(tmp_path, networks):
    class Nobody:
        def estimate(self, rgb, timestamp_ms):
            return PoseEstimate(None, 0, 0.1)

    src = _write_video(tmp_path / "in.mp4", 12, w=97, h=63)  # odd sides are padded to even
    out = tmp_path / "out.mkv"
    summary = render_video(src, out, progress=False, height=63, networks=networks,
                           estimator=Nobody())
    assert summary["hits"] == 0 and summary["person_frames"] == 0.0
    assert summary["status"] == {"no person": 12}
    assert re.search(r"Audio: aac", _probe(out))
    cap = cv2.VideoCapture(str(out))
    ok, frame = cap.read()
    cap.release()
    assert ok and frame.shape[1] % 2 == 0 and frame.shape[0] % 2 == 0


def test_render_errors_name_the_problem(tmp_path, networks):
    with pytest.raises(SourceError, match="no such video"):
        render_video(tmp_path / "missing.mp4", tmp_path / "o.mp4", progress=False,
                     networks=networks, estimator=ClipPoses(96, 64))
    junk = tmp_path / "junk.mp4"
    junk.write_text("not a video")
    with pytest.raises(SourceError):
        render_video(junk, tmp_path / "o.mp4", progress=False, networks=networks,
                     estimator=ClipPoses(96, 64))
    src = _write_video(tmp_path / "in.mp4", 5)
    with pytest.raises(ParameterError, match=r"\.mp4, \.mov, \.mkv"):
        render_video(src, tmp_path / "o.avi", progress=False, networks=networks,
                     estimator=ClipPoses(96, 64))
    with pytest.raises(ParameterError, match="nothing to write"):
        render_video(src, None, progress=False, networks=networks)
    assert not (tmp_path / "o.mp4").exists()
    assert is_video_path("x.WEBM") and not is_video_path("x.npz")


@pytest.mark.slow
def test_render_real_dance_video(data_dir, tmp_path, networks):
    video = data_dir / "dance-videos" / "aist_dance2music_test_0.mp4"
    if not video.is_file():
        pytest.skip(f"{video} not found")
    pytest.importorskip("mediapipe")
    out = tmp_path / "dance.mp4"
    summary = render_video(video, out, progress=False, height=288, networks=networks)
    assert summary["frames"] == 288 and summary["person_frames"] > 0.9
    assert summary["hits"] > 0 and summary["beats"] > 0
    assert re.search(r"Audio: aac", _probe(out))


def _cli_args(clip, **kw):
    from argparse import Namespace
    args = dict(clip=str(clip), out=None, midi=None, wav=None, plot=None, json=False, mode="poly",
                genre="any", seed=0, density=0.0, temperature=1.0, genre_strength=4.0,
                pose_model="lite")
    args.update(kw)
    return Namespace(**args)


@pytest.mark.slow
def test_cli_handler_prints_a_summary_and_one_line_errors(tmp_path, networks, monkeypatch, capsys):
    import json

    import ibeat_video.render_video as rv

    real = rv.render_video
    monkeypatch.setattr(rv, "render_video", lambda *a, **k: real(
        *a, **k, networks=networks, estimator=ClipPoses(96, 64)))
    src = _write_video(tmp_path / "in.mp4", 30)
    assert rv.main_render_video(_cli_args(src, out=tmp_path / "o" / "v.mp4",
                                          midi=tmp_path / "v.mid")) == 0
    printed = capsys.readouterr().out
    assert "video     " in printed and str(tmp_path / "o" / "v.mp4") in printed
    assert (tmp_path / "v.mid").is_file()
    assert rv.main_render_video(_cli_args(src, out=tmp_path / "v2.mp4", json=True)) == 0
    assert json.loads(capsys.readouterr().out)["frames"] == 30
    assert rv.main_render_video(_cli_args(tmp_path / "nope.mp4", out=tmp_path / "x.mp4")) == 2
    assert "ibeat render: error: no such video" in capsys.readouterr().err
    assert rv.main_render_video(_cli_args(src, out=tmp_path / "x.gif")) == 2
    assert "must end in .mp4, .mov, .mkv" in capsys.readouterr().err
    assert rv.main_render_video(_cli_args(src)) == 2
    assert "nothing to write" in capsys.readouterr().err
