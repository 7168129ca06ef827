"""Training and evaluation examples for the beat stage, built from real dance.

Every example is one 2D view of one sequence on the internal grid (30 Hz):

* input: the directogram of the view's keypoints;
* targets: the offline ground truth of the paper (3.1.1) computed from the same
  keypoints: zero-phase kinematic offsets and the visual beats of the DP;
* for Dance-with-Melody, also the musical beats of the ChoreoNet grid.

Sources, all real motion: AIST++ 2D (9 real camera views per sequence),
AIST++ 3D (10 genres), Dance-with-Melody and CMU salsa (3D mocap seen through
seeded random virtual cameras with detector-like noise). Validation holds out
whole choreographies, sequences and, for AIST++ 3D, dancers
(:data:`VALIDATION`), never views of a training one; for CMU the two partners
of a take go to the same side.

Dance-with-Melody has no licence for use in a product: shipped networks train
on :data:`PRODUCT_SOURCES` only, and Dance-with-Melody serves evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ibeat_io.projection import to_2d_views
from ibeat_core.rhythm import RhythmConfig, motion_rhythm
from ibeat_core.visual_beats import visual_beats
from ibeat_io.aistpp import AISTPP_DIR, N_VIEWS, list_aist_files, load_aist_clip
from ibeat_io.aistpp3d import AISTPP3D_DIR, list_aist3d_clips, load_aist3d_clip
from ibeat_io.mocap import list_dwm_sequences, list_salsa_takes, load_bvh_sequence, load_dwm_sequence

__all__ = ["BeatExample", "VALIDATION", "SOURCES", "PRODUCT_SOURCES", "split_of",
           "build_beat_examples"]

#: What the evaluations score by default.
SOURCES = ("aistpp", "dwm", "salsa")
#: What shipped networks may train on: data whose licence allows use in a product
#: (AIST++ CC BY 4.0, CMU mocap).
PRODUCT_SOURCES = ("aistpp", "aistpp3d", "salsa")

#: Held-out sequences per source: AIST++ choreography ids, AIST++ 3D dancers (one
#: per genre that has two), Dance-with-Melody sequence names, CMU salsa trial
#: numbers (both partners).
VALIDATION = {
    "aistpp": ("ch04", "ch09"),
    "aistpp3d": ("d02", "d06", "d08", "d12", "d15", "d21", "d24", "d26"),
    "dwm": ("DANCE_C_7", "DANCE_R_4", "DANCE_R_9", "DANCE_W_3", "DANCE_W_14", "DANCE_W_25"),
    "salsa": ("13", "14", "15"),
}


@dataclass
class BeatExample:
    """One view of one sequence, on the internal grid.

    Attributes
    ----------
    source : str
        ``"aistpp"``, ``"aistpp3d"``, ``"dwm"`` or ``"salsa"``.
    sequence : str
        Sequence id (views of one sequence share it).
    view : int
    fps : float
        Grid rate [Hz].
    times_s : np.ndarray, shape (N,)
        Grid times [s] in the clip's clock.
    timestamps_s : np.ndarray, shape (T,)
        Input frame times [s] (for streaming evaluation).
    keypoints : np.ndarray, shape (T, 17, 3)
        Input keypoints as a client would send them.
    directogram : np.ndarray, shape (N, 18), float32
    offsets : np.ndarray, shape (N,), float32
        Zero-phase kinematic offsets (ground truth).
    beat_frames : np.ndarray, shape (n_beats,), int
        Offline visual beats (ground truth), grid frames.
    music_beats_s : np.ndarray or None
        Musical beat times [s] (Dance-with-Melody grid).
    tempo_bpm : float or None
        Known musical tempo.
    """

    source: str
    sequence: str
    view: int
    fps: float
    times_s: np.ndarray
    timestamps_s: np.ndarray
    keypoints: np.ndarray
    directogram: np.ndarray
    offsets: np.ndarray
    beat_frames: np.ndarray
    music_beats_s: np.ndarray | None = None
    tempo_bpm: float | None = None

    @property
    def beat_times_s(self) -> np.ndarray:
        return self.times_s[self.beat_frames]


def split_of(source: str, sequence: str) -> str:
    """``"validation"`` or ``"train"`` for a sequence id of a source."""
    held = VALIDATION[source]
    if source == "aistpp":
        return "validation" if any(sequence.endswith(c) for c in held) else "train"
    if source == "aistpp3d":
        return "validation" if sequence.split("_")[3] in held else "train"
    if source == "salsa":
        trial = sequence.split("_")[1]
        return "validation" if trial in held else "train"
    return "validation" if sequence in held else "train"


def _example(source, sequence, view, t, kp, config, music_beats_s=None, tempo_bpm=None):
    rhythm = motion_rhythm(t, kp, config=config)
    beats = visual_beats(rhythm.offsets, rhythm.motion_energy, config=config.beats)
    return BeatExample(source=source, sequence=sequence, view=view, fps=config.fps,
                       times_s=rhythm.times_s, timestamps_s=np.asarray(t, dtype=np.float64),
                       keypoints=np.asarray(kp, dtype=np.float32),
                       directogram=rhythm.directogram.astype(np.float32),
                       offsets=rhythm.offsets.astype(np.float32), beat_frames=beats,
                       music_beats_s=music_beats_s, tempo_bpm=tempo_bpm)


def build_beat_examples(data_dir, *, split: str | None = None, sources=SOURCES,
                        mocap_views: int = 4, seed: int = 0,
                        config: RhythmConfig = RhythmConfig(), exclude=(),
                        progress: bool = True) -> list[BeatExample]:
    """All beat examples the data folder holds.

    Parameters
    ----------
    data_dir : path-like
        Laid out like ``shared/data``; missing datasets are skipped.
    split : {"train", "validation", None}
        Keep one side of :data:`VALIDATION`; None keeps everything.
    sources : iterable of str
    mocap_views : int
        Virtual cameras per 3D mocap sequence (per partner for salsa).
    seed : int
        Seeds the cameras and noise; each sequence gets its own stream, so
        adding or removing a sequence does not change the others' views.
    exclude : iterable of str
        Sequence ids to leave out (e.g. those a shipped model trained on).
    """
    root = Path(data_dir)
    todo = []
    if "aistpp" in sources and (root / AISTPP_DIR).is_dir():
        for f in list_aist_files(root):
            todo.append(("aistpp", f.stem, f))
    if "aistpp3d" in sources and (root / AISTPP3D_DIR).is_dir():
        for path in list_aist3d_clips(root):
            todo.append(("aistpp3d", path.stem, path))
    if "dwm" in sources and (root / "dance-with-melody").is_dir():
        for folder in list_dwm_sequences(root / "dance-with-melody"):
            todo.append(("dwm", folder.name, folder))
    if "salsa" in sources and (root / "cmu-salsa-bvh").is_dir():
        for path in list_salsa_takes(root / "cmu-salsa-bvh"):
            todo.append(("salsa", path.name.split(".")[0], path))
    excluded = set(exclude)
    todo = [item for item in todo
            if (split is None or split_of(item[0], item[1]) == split) and item[1] not in excluded]

    examples = []
    for source, name, path in tqdm(todo, desc=f"beat examples ({split or 'all'})", disable=not progress):
        if source == "aistpp":
            for view in range(N_VIEWS):
                clip = load_aist_clip(path, view=view)
                examples.append(_example(source, name, view, clip.timestamps_s, clip.keypoints,
                                         config, tempo_bpm=clip.tempo_bpm))
            continue
        tempo = None
        if source == "aistpp3d":
            clip = load_aist3d_clip(path, root=root)
            mocap, tempo = clip.mocap, clip.tempo_bpm
        else:
            mocap = load_dwm_sequence(path) if source == "dwm" else load_bvh_sequence(path)
        rng = np.random.default_rng([seed, *name.encode()])
        t = np.arange(mocap.n_frames) / mocap.fps
        if mocap.beat_times_s is not None:
            tempo = 60.0 / float(np.median(np.diff(mocap.beat_times_s)))
        for view, (kp, _) in enumerate(to_2d_views(mocap, rng, n_views=mocap_views)):
            examples.append(_example(source, name, view, t, kp, config,
                                     music_beats_s=mocap.beat_times_s, tempo_bpm=tempo))
    return examples
