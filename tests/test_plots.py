"""The figures: every legend sits outside the data it describes, and a long title is never cut."""

import numpy as np
import pytest

import ibeat_io.plots as plots
from ibeat_core.rhythm import analyze
from ibeat_core.session import SessionConfig, run_session
from ibeat_grpc.v1 import ibeat_pb2 as pb

LONG_TITLE = ("video /srv/recordings/studio_b/dance_video_recording_2026_12_06_take_3_front.mp4 "
              "(looped, pose lite, poly, genre any, seed 0) heard through 192.168.100.200:50051")


@pytest.fixture
def figures(monkeypatch):
    """The figures the plot functions draw, kept open (they close them when done)."""
    kept = []
    monkeypatch.setattr(plots.plt, "close", kept.append)
    yield kept
    monkeypatch.undo()
    for fig in kept:
        plots.plt.close(fig)


def _check(fig):
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    legends = 0
    for ax in fig.axes:
        legend = ax.get_legend()
        if legend is None:
            continue
        legends += 1
        box, data = legend.get_window_extent(renderer), ax.get_window_extent(renderer)
        assert box.y0 >= data.y1 - 1, f"legend of {ax.get_ylabel()!r} covers its data"
    title = fig._suptitle.get_window_extent(renderer)
    page = fig.bbox
    assert page.x0 <= title.x0 and title.x1 <= page.x1 and title.y1 <= page.y1
    return legends


def test_analysis_figure(aist_clip, figures, tmp_path):
    analysis = analyze(aist_clip.timestamps_s, aist_clip.keypoints)
    plots.plot_analysis(analysis, tmp_path / "a.png", title=LONG_TITLE, reference_tempo_bpm=80)
    assert _check(figures[0]) == 2


def test_session_figure(networks, aist_clip, figures, tmp_path):
    result = run_session(networks, aist_clip.timestamps_s, aist_clip.keypoints,
                         config=SessionConfig())
    plots.plot_session(result, tmp_path / "s.png", title=LONG_TITLE)
    assert _check(figures[0]) == 2


def test_heard_figure(figures, tmp_path):
    beats = [pb.BeatEvent(time_us=int(6e5 * i), tempo_bpm=100.0) for i in range(1, 15)]
    hits = [pb.DrumHit(time_us=int(3e5 * i), drum_class=i % 9, velocity=90) for i in range(1, 28)]
    plots.plot_heard(0, beats, hits, list(np.full(27, 150.0)), tmp_path / "h.png",
                     title=LONG_TITLE)
    assert _check(figures[0]) == 1
