"""Figures of the motion-rhythm analysis, for people who would rather look than read."""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: ibeat never needs a display to plot
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ibeat_core.drums import DRUM_CLASSES  # noqa: E402
from ibeat_core.rhythm import ClipAnalysis  # noqa: E402

__all__ = ["plot_analysis", "plot_session", "plot_heard"]


def plot_analysis(analysis: ClipAnalysis, path, *, title: str = "",
                  reference_tempo_bpm: float | None = None) -> Path:
    """Write a 4-panel PNG: directogram, motion energy, offsets with beats, tempo over time.

    Parameters
    ----------
    analysis : ClipAnalysis
    path : path-like
        Output image (``.png``, ``.pdf`` or ``.svg``).
    title : str
    reference_tempo_bpm : float, optional
        Known tempo, drawn as a dashed line in the tempo panel.
    """
    r = analysis.rhythm
    t = r.times_s
    fig, axes = plt.subplots(4, 1, figsize=(12, 9.5), sharex=True, layout="constrained",
                             gridspec_kw={"height_ratios": [1.3, 1, 1.4, 1]})
    ax = axes[0]
    extent = (t[0], t[-1], -180, 180) if len(t) else None
    ax.imshow(r.directogram.T, aspect="auto", origin="lower", extent=extent, cmap="magma",
              vmax=np.percentile(r.directogram, 99) if r.directogram.size else None)
    ax.set_ylabel("direction [deg]")
    _title(fig, title or "motion rhythm")

    ax = axes[1]
    ax.plot(t, r.motion_energy, color="tab:blue", lw=1)
    ax.set_ylabel("motion energy\n[body lengths/s]")

    ax = axes[2]
    ax.plot(t, r.offsets, color="0.3", lw=1, label="kinematic offsets")
    for i, b in enumerate(analysis.beat_times_s):
        ax.axvline(b, color="tab:red", lw=1.5, alpha=0.8, label="visual beats (DP)" if i == 0 else None)
    if len(analysis.rule_beat_times_s):
        ax.plot(analysis.rule_beat_times_s, np.full(len(analysis.rule_beat_times_s), 1.05), "v",
                color="tab:orange", ms=5, label="rule-based beats")
    ax.set_ylim(0, 1.12)
    ax.set_ylabel("offsets")
    _legend_above(ax)

    ax = axes[3]
    ax.plot(t, analysis.tempo_curve_bpm, color="tab:green", lw=1.5, label="local tempo")
    ax.axhline(analysis.tempo_bpm, color="tab:green", ls=":", label=f"clip tempo {analysis.tempo_bpm:.1f} BPM")
    if reference_tempo_bpm:
        ax.axhline(reference_tempo_bpm, color="k", ls="--", lw=1,
                   label=f"reference {reference_tempo_bpm:g} BPM")
    shown = [v for v in (*analysis.tempo_curve_bpm, analysis.tempo_bpm, reference_tempo_bpm or 0) if v]
    if shown:
        ax.set_ylim(0.8 * min(shown), 1.2 * max(shown))
    ax.set_ylabel("tempo [BPM]")
    ax.set_xlabel("time [s]")
    _legend_above(ax)
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_session(result, path, *, title: str = "") -> Path:
    """Write a 3-panel figure of a rendered session: motion, beats and tempo, drum roll.

    Parameters
    ----------
    result : ibeat_core.session.SessionResult
    path : path-like
        Output image (``.png``, ``.pdf`` or ``.svg``).
    title : str
    """
    t = result.times_s
    t0 = t[0] if len(t) else 0.0
    fig, axes = plt.subplots(3, 1, figsize=(12, 8.5), sharex=True, layout="constrained",
                             gridspec_kw={"height_ratios": [1.2, 1, 1.6]})
    ax = axes[0]
    ax.plot(t - t0, result.kinematic_offsets, color="0.45", lw=1, label="kinematic offsets (causal)")
    ax.plot(t - t0, result.envelope, color="tab:purple", lw=1.3, label="MuStyleNet onset envelope")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("motion")
    _title(fig, title or "ibeat render")
    _legend_above(ax)

    ax = axes[1]
    ax.plot(t - t0, result.beat_probs, color="tab:blue", lw=1, label="VisBeatNet beat probability")
    ax.plot(t - t0, result.confidence, color="tab:cyan", lw=1, ls=":", label="B-HMM confidence")
    for i, b in enumerate(result.beats):
        ax.axvline(b.time_s - t0, color="tab:red", lw=1, alpha=0.6,
                   label="scheduled beats" if i == 0 else None)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("beats")
    tempo_ax = ax.twinx()
    tempo_ax.plot(t - t0, np.where(result.confidence >= 0.5, result.tempo_bpm, np.nan),
                  color="tab:green", lw=1.5, label="tempo while confident (right axis)")
    tempo_ax.set_ylabel("tempo [BPM]", color="tab:green")
    _legend_above(ax, also=tempo_ax)

    ax = axes[2]
    _drum_roll(ax, [h.time_s - t0 for h in result.hits], [h.drum_class for h in result.hits],
               [h.velocity for h in result.hits])
    # The bar the drums were generated in: a line at every one, each beat numbered.
    top = ax.get_ylim()[1]
    for b in result.beats:
        if b.bar_beat < 0:
            continue
        if b.bar_beat == 0:
            ax.axvline(b.time_s - t0, color="0.3", lw=1.2, alpha=0.7, zorder=0)
        ax.text(b.time_s - t0, top, str(b.bar_beat + 1), fontsize=6, ha="center", va="bottom",
                color="0.2" if b.bar_beat == 0 else "0.55")
    ax.set_ylabel("generated drums")
    ax.set_xlabel("time [s] (numbers: beat in the bar; lines: the one)")
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_heard(start_us: int, beats, hits, leads_ms, path, *, title: str = "") -> Path:
    """Figure of what a client heard from the server: beats and tempo, drum roll, hit lead times.

    Parameters
    ----------
    start_us : int
        Client time [us] of the clip's first frame (time 0 of the figure).
    beats, hits : sequences of ``ibeat.v1`` BeatEvent and DrumHit messages
    leads_ms : list of float or None
        Per hit, how long before its play time it arrived [ms] (None: not paced).
    path : path-like
    """
    panels = 3 if leads_ms else 2
    fig, axes = plt.subplots(panels, 1, figsize=(12, 2.6 * panels + 1.3), sharex=True,
                             layout="constrained")
    ax = axes[0]
    bt = np.array([(b.time_us - start_us) / 1e6 for b in beats])
    for i, b in enumerate(bt):
        ax.axvline(b, color="tab:red", lw=1, alpha=0.7, label="beats heard" if i == 0 else None)
    if len(bt):
        ax.plot(bt, [b.tempo_bpm for b in beats], "o-", color="tab:green", ms=3, label="tempo")
    ax.set_ylabel("tempo [BPM]")
    _title(fig, title or "ibeat-replay")
    _legend_above(ax)

    ax = axes[1]
    _drum_roll(ax, [(h.time_us - start_us) / 1e6 for h in hits], [h.drum_class for h in hits],
               [h.velocity / 127.0 for h in hits])
    ax.set_ylabel("drums heard")
    if leads_ms:
        ax = axes[2]
        t = np.array([(h.time_us - start_us) / 1e6 for h in hits])
        ax.plot(t, leads_ms, ".", color="tab:blue", ms=4)
        ax.axhline(0, color="k", lw=1)
        ax.set_ylabel("arrived before\nplay time [ms]")
    axes[-1].set_xlabel("time [s] (clip clock)")
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _drum_roll(ax, times_s, classes, velocities):
    """Hits as dots on one row per drum class, bigger and darker when louder (velocity in [0, 1])."""
    if len(times_s):
        vel = np.asarray(velocities, dtype=np.float64)
        ax.scatter(times_s, classes, s=12 + 60 * vel, c=classes, cmap="tab10", vmin=0, vmax=9,
                   alpha=0.4 + 0.6 * vel, edgecolors="none")
    ax.set_yticks(range(len(DRUM_CLASSES)))
    ax.set_yticklabels([c.replace("_", " ") for c in DRUM_CLASSES], fontsize=8)
    ax.set_ylim(-0.7, len(DRUM_CLASSES) - 0.3)
    ax.grid(axis="y", color="0.9")


def _title(fig, title: str):
    """The figure's title, wrapped so that a long one (a source's description) is never cut."""
    fig.suptitle(textwrap.fill(title, 110), fontsize=12)


def _legend_above(ax, *, also=None):
    """A legend in a row above the panel, outside the data (constrained layout makes room);
    ``also``: a twin axes whose lines join it."""
    handles, labels = ax.get_legend_handles_labels()
    if also is not None:
        h, lab = also.get_legend_handles_labels()
        handles, labels = handles + h, labels + lab
    if handles:
        ax.legend(handles, labels, loc="lower left", bbox_to_anchor=(0, 1.0), ncol=len(handles),
                  fontsize=8, frameon=False, borderaxespad=0.2)
