"""Accuracy and speed of the bundled pose models (``ibeat evaluate pose``).

* Accuracy: the real AIST video of camera c01, sequence ``gBR_sBM_c01_d04_mBR0_ch01``
  (1920x1080, 60 fps; ``aistpp-keypoints2d-sample/video/``) against view 0 of the
  AIST++ 2D keypoints of the same frames (``keypoints2d/gBR_sBM_cAll_d04_mBR0_ch01.pkl``):
  per COCO-17 joint, the median distance [px] between our keypoint and AIST++'s,
  over the frames where we found the dancer and AIST++ has the joint.
* Detection rate: frames where the estimator returned a person.
* Speed: wall-clock time of each MediaPipe call [ms] at the video's own size,
  on this video and on the 512x288 dance video (``dance-videos/``).

Every model in :data:`~ibeat_video.pose.POSE_MODELS` runs with the default
:class:`~ibeat_video.pose.PoseConfig` (VIDEO mode, up to 3 people tracked), and
on the dance video also with one person tracked.
"""

from __future__ import annotations

import os
import pickle
import platform
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ibeat_core.skeleton import COCO17_JOINTS

from .pose import POSE_MODELS, PoseConfig, PoseEstimator

__all__ = ["AIST_VIDEO", "AIST_KEYPOINTS", "DANCE_VIDEO", "run_video", "keypoint_errors",
           "evaluate_pose", "format_pose_report", "run_pose_evaluation"]

AIST_VIDEO = ("aistpp-keypoints2d-sample/video/"
              "gBR_sBM_c01_d04_mBR0_ch01_aistpp_keypoints_overlay.mp4")
AIST_KEYPOINTS = "aistpp-keypoints2d-sample/keypoints2d/gBR_sBM_cAll_d04_mBR0_ch01.pkl"
#: The overlay video shows camera c01, which is view 0 of the keypoints.
AIST_VIEW = 0
DANCE_VIDEO = "dance-videos/aist_dance2music_test_0.mp4"
#: Frame offsets tried by the synchronisation check (ours[i] vs AIST++[i + k]).
SYNC_OFFSETS = range(-3, 4)


def run_video(path, config: PoseConfig, *, progress: bool = True, desc: str = "") -> dict:
    """Run a fresh estimator over every frame of a video file.

    Parameters
    ----------
    path : path-like
    config : PoseConfig
    progress : bool
        A tqdm bar on stderr.

    Returns
    -------
    dict
        ``keypoints`` (T, 17, 3) float32 px (NaN where nobody was found),
        ``found`` (T,) bool, ``n_people`` (T,) int, ``inference_ms`` (T,) float,
        ``fps``, ``width``, ``height``.
    """
    import cv2

    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise FileNotFoundError(f"cannot open video {path}")
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) or None
    kps, found, people, ms = [], [], [], []
    width = height = 0
    try:
        with PoseEstimator(config) as estimator, \
                tqdm(total=total, desc=desc, unit="frame", disable=not progress,
                     leave=False) as bar:
            while True:
                ok, bgr = cap.read()
                if not ok:
                    break
                height, width = bgr.shape[:2]
                rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
                pose = estimator.estimate(rgb, round(len(kps) * 1000.0 / fps))
                found.append(pose.keypoints is not None)
                kps.append(pose.keypoints if pose.keypoints is not None
                           else np.full((17, 3), np.nan, np.float32))
                people.append(pose.n_people)
                ms.append(pose.inference_ms)
                bar.update()
    finally:
        cap.release()
    if not kps:
        raise FileNotFoundError(f"{path} has no readable frame")
    return {"keypoints": np.stack(kps), "found": np.array(found), "n_people": np.array(people),
            "inference_ms": np.array(ms), "fps": float(fps), "width": width, "height": height}


def keypoint_errors(estimated: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Euclidean distance per frame and joint.

    Parameters
    ----------
    estimated, reference : np.ndarray, shape (T, 17, >=2)
        Pixels; NaN where missing.

    Returns
    -------
    np.ndarray, shape (T, 17)
        Distance [px]; NaN where either side is missing.
    """
    diff = np.asarray(estimated, np.float64)[..., :2] - np.asarray(reference, np.float64)[..., :2]
    return np.hypot(diff[..., 0], diff[..., 1])


def _latency(run: dict) -> dict:
    ms = run["inference_ms"]
    return {"frames": int(len(ms)), "size": f"{run['width']}x{run['height']}",
            "detection_rate": float(run["found"].mean()),
            "frames_with_several_people": int((run["n_people"] > 1).sum()),
            "ms_median": float(np.median(ms)), "ms_p90": float(np.percentile(ms, 90)),
            "ms_max": float(ms.max())}


def evaluate_pose(data_dir, *, models=POSE_MODELS, progress: bool = True) -> dict:
    """Accuracy against AIST++ and per-frame speed of each model.

    Parameters
    ----------
    data_dir : path-like
        Laid out like ``shared/data``; needs ``aistpp-keypoints2d-sample/``
        (video + keypoints) and/or ``dance-videos/``.
    models : sequence of str
        Bundled model names.

    Returns
    -------
    dict
        ``{"models": {name: {"aist": {...}, "dance": {...}}}, "machine": {...}}``;
        ``aist`` has ``joint_median_px`` (joint name -> px), ``median_px``,
        ``mean_px``, ``median_pct_of_height`` (overall median / median AIST++
        body height), ``sync_offset_frames`` and the latency fields.

    Raises
    ------
    FileNotFoundError
        If ``data_dir`` holds neither video.
    """
    data_dir = Path(data_dir)
    aist_video, aist_kp, dance = (data_dir / AIST_VIDEO, data_dir / AIST_KEYPOINTS,
                                  data_dir / DANCE_VIDEO)
    have_aist = aist_video.is_file() and aist_kp.is_file()
    if not have_aist and not dance.is_file():
        raise FileNotFoundError(f"{data_dir} holds neither {AIST_VIDEO} (+ {AIST_KEYPOINTS}) "
                                f"nor {DANCE_VIDEO}")
    reference = None
    if have_aist:
        with open(aist_kp, "rb") as f:
            reference = np.asarray(pickle.load(f)["keypoints2d"][AIST_VIEW], np.float64)
    report = {"models": {}, "data": {"aist_video": AIST_VIDEO if have_aist else None,
                                     "aist_keypoints": f"{AIST_KEYPOINTS} view {AIST_VIEW}"
                                     if have_aist else None,
                                     "dance_video": DANCE_VIDEO if dance.is_file() else None},
              "machine": {"cpus": os.cpu_count(), "processor": platform.processor() or
                          platform.machine(), "load_avg_1min": os.getloadavg()[0]}}
    for model in models:
        config = PoseConfig(model=model)
        entry = {}
        if have_aist:
            run = run_video(aist_video, config, progress=progress, desc=f"pose {model} AIST")
            entry["aist"] = {**_latency(run), **_accuracy(run["keypoints"], reference)}
        if dance.is_file():
            run = run_video(dance, config, progress=progress, desc=f"pose {model} dance")
            entry["dance"] = _latency(run)
            # Tracking one person only skips the detector while that person is tracked.
            single = PoseConfig(model=model, num_poses=1)
            run = run_video(dance, single, progress=progress, desc=f"pose {model} dance, 1 person")
            entry["dance_1_person"] = _latency(run)
        report["models"][model] = entry
    report["machine"]["load_avg_1min_after"] = os.getloadavg()[0]
    return report


def _accuracy(estimated: np.ndarray, reference: np.ndarray) -> dict:
    n = min(len(estimated), len(reference))
    est, ref = estimated[:n], reference[:n]
    err = keypoint_errors(est, ref)
    per_joint = {name: _nanmedian(err[:, j]) for j, name in enumerate(COCO17_JOINTS)}
    valid = np.isfinite(ref[..., :2]).all(-1)
    heights = [np.ptp(r[v, 1]) for r, v in zip(ref, valid) if v.sum() >= 2]
    height = float(np.median(heights)) if heights else float("nan")
    # Synchronisation check: the overall median error with ours shifted by k frames.
    sync = {}
    for k in SYNC_OFFSETS:
        a, b = (est[:n - k], ref[k:n]) if k >= 0 else (est[-k:n], ref[:n + k])
        sync[k] = _nanmedian(keypoint_errors(a, b))
    return {"frames_compared": int(n), "joint_median_px": per_joint,
            "median_px": _nanmedian(err), "mean_px": float(np.nanmean(err)),
            "p90_px": float(np.nanpercentile(err, 90)),
            "reference_body_height_px": height,
            "median_pct_of_height": 100.0 * _nanmedian(err) / height,
            "sync_offset_frames": int(min(sync, key=sync.get)),
            "sync_median_px": {str(k): v for k, v in sync.items()}}


def _nanmedian(x) -> float:
    x = np.asarray(x, np.float64)
    x = x[np.isfinite(x)]
    return float(np.median(x)) if x.size else float("nan")


def format_pose_report(report: dict) -> str:
    """Markdown tables of :func:`evaluate_pose`'s report."""
    models = list(report["models"])
    default_poses = PoseConfig().num_poses
    lines = []
    aist = {m: report["models"][m].get("aist") for m in models}
    if all(aist.values()):
        first = aist[models[0]]
        lines += [
            "### Accuracy against AIST++ (camera c01, gBR_sBM_d04_mBR0_ch01)", "",
            f"Median distance [px, 1920x1080 frame] between our COCO-17 joints and the AIST++ 2D "
            f"keypoints over {first['frames_compared']} frames (AIST++ body height about "
            f"{first['reference_body_height_px']:.0f} px).", "",
            "| joint | " + " | ".join(models) + " |",
            "|---|" + "---:|" * len(models)]
        for joint in COCO17_JOINTS:
            lines.append(f"| {joint} | " + " | ".join(
                f"{aist[m]['joint_median_px'][joint]:.1f}" for m in models) + " |")
        rows = [("**all joints, median**", "median_px", "{:.1f}"),
                ("all joints, mean", "mean_px", "{:.1f}"),
                ("all joints, 90th percentile", "p90_px", "{:.1f}"),
                ("median, % of body height", "median_pct_of_height", "{:.1f} %"),
                ("detection rate", "detection_rate", "{:.1%}"),
                ("best frame offset (sync check)", "sync_offset_frames", "{:d}")]
        for label, key, fmt in rows:
            lines.append(f"| {label} | " + " | ".join(fmt.format(aist[m][key]) for m in models)
                         + " |")
        lines += [
            "",
            "Caveats: the video has the AIST++ skeleton drawn on it in green, which may bias the "
            "detector (towards or away from those lines); AIST++'s 2D keypoints are themselves "
            "detector output with per-joint scores, not hand labels; and BlazePose's hips, ears "
            "and eyes are not placed exactly where COCO annotators put them, so part of the error "
            "on those joints is a definition offset, not noise.", ""]
    lines += ["### Speed and detection rate", "",
              "Wall-clock time of one MediaPipe call per frame [ms], frames at the video's own "
              f"size. With `num_poses` = {default_poses} (the default) MediaPipe runs the person "
              "detector on every frame while fewer people than that are tracked, as well as "
              "the landmark network per person; with 1 it runs the detector only to find the "
              "person again after losing them.", "",
              "| model | video | size | num_poses | frames | detected | ms median | ms p90 |",
              "|---|---|---|---:|---:|---:|---:|---:|"]
    for m in models:
        for key, label, poses in (("aist", "AIST c01 overlay", default_poses),
                                  ("dance", "dance2music test 0", default_poses),
                                  ("dance_1_person", "dance2music test 0", 1)):
            r = report["models"][m].get(key)
            if r:
                lines.append(f"| {m} | {label} | {r['size']} | {poses} | {r['frames']} | "
                             f"{r['detection_rate']:.1%} | {r['ms_median']:.1f} | "
                             f"{r['ms_p90']:.1f} |")
    mach = report["machine"]
    lines += ["", f"Machine: {mach['cpus']} CPUs ({mach['processor']}), 1-minute load average "
                  f"{mach['load_avg_1min']:.1f} before and {mach['load_avg_1min_after']:.1f} "
                  "after the run (other processes share these cores, so the times are upper "
                  "bounds).", ""]
    return "\n".join(lines)


def run_pose_evaluation(data_dir, *, models=POSE_MODELS, progress: bool = True):
    """Everything ``ibeat evaluate pose`` prints: returns (markdown text, report dict)."""
    report = evaluate_pose(data_dir, models=models, progress=progress)
    text = "\n".join([
        f"Bundled MediaPipe pose models ({', '.join(models)}) on `{data_dir}`.", "",
        format_pose_report(report)])
    return text, report
