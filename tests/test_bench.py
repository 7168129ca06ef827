"""``ibeat bench``: a tiny run of the compute and gRPC sections, and the helpers."""

import json
import os

import numpy as np
import pytest

from ibeat_cli.bench import (STAGES, TARGETS, format_bench, loop_frames, nearest_distances,
                            parse_sessions)
from ibeat_cli.main import main


def test_loop_frames_resamples_and_loops_without_a_jump(aist_clip):
    t_us, kp = loop_frames(aist_clip.timestamps_s, aist_clip.keypoints, fps=30.0, duration_s=30.0)
    assert len(t_us) == 900 and kp.shape == (900, 17, 3)
    assert np.all(np.diff(t_us) > 0) and abs(np.diff(t_us).mean() - 1e6 / 30) < 1
    assert np.isfinite(kp).all()
    # Forwards then backwards: the frame after the clip's end is the one just before it.
    n = (len(aist_clip.timestamps_s) + 1) // 2
    assert np.array_equal(kp[n], kp[n - 2])


def test_nearest_distances_and_session_counts():
    assert nearest_distances([0.0, 1.4, 5.0], [1.0, 2.0]).round(3).tolist() == [1.0, 0.4, 3.0]
    assert nearest_distances([1.0], []).size == 0
    assert parse_sessions("1, 8,32") == [1, 8, 32]
    for bad in ("", "0", "a,b"):
        with pytest.raises(ValueError):
            parse_sessions(bad)


def test_bench_tiny_run_writes_the_report(capsys, tmp_path):
    code = main(["bench", "--sections", "compute,grpc", "--compute-frames", "300",
                 "--sessions", "1", "--duration-s", "2", "--out", str(tmp_path), "--json"])
    captured = capsys.readouterr()
    assert code == 0
    report = json.loads(captured.out)
    assert "[bench]" in captured.err  # progress on stderr
    c = report["compute"]
    assert c["grid_frames"] == 300 and c["push"]["n"] == 300
    assert set(c["stages"]) == set(STAGES)
    for s in (*c["stages"].values(), c["push"]):
        assert 0 < s["median_ms"] <= s["p99_ms"]
    # The 9 views' streams run together, one network call per round for all.
    together = c["push_together"]
    assert together["streams"] == 9 and together["grid_frames"] >= 300
    assert 0 < together["push"]["median_ms"] <= together["push"]["p99_ms"]
    for b in c["push_3d"].values():   # 3D bodies at a headset's rate, the same frame budget
        assert b["grid_frames"] == 300 and b["input_fps"] == 90
        assert b["input_frames"] > 2.5 * b["grid_frames"] and 0 < b["push"]["median_ms"]
    assert {b["layout"] for b in c["push_3d"].values()} == {"coco17_3d", "head_hands"}
    assert c["beats"] >= 1 and c["generation"]["median_ms"] > 0
    # Genre strength 1 (the default): one run per beat, no guidance.
    assert c["generation_parts"]["drumgen_calls_per_beat"] == 1.0
    assert all(0 < b["per_input_frame_mean_ms"] for b in c["push_3d"].values())
    assert c["targets"]["beat_generation_ms"]["target"] == TARGETS["beat_generation_ms"]

    (level,) = report["grpc"]["levels"]
    assert level["sessions"] == 1 and level["statuses"] == {"OK": 1}
    assert level["frames_sent"] == level["frames_acknowledged"] == level["frames_expected"] == 60
    assert 0 < level["server_latency_ms"]["p50_median_session"]
    assert 50 < level["server_rss_mb"]["peak_sampled"] < 2000
    assert "server_p99_ms_1_sessions" in report["grpc"]["targets"]

    md = (tmp_path / "performance.md").read_text()
    assert md == format_bench(report)
    assert "whole push, 3D head + hands at 90 Hz" in md
    assert "`ibeat bench --sections compute,grpc --sessions 1 --duration-s 2 --compute-frames 300" in md
    assert json.loads((tmp_path / "performance.json").read_text())["command"] == report["command"]


def test_bench_rejects_bad_options(capsys):
    assert main(["bench", "--sessions", "0"]) == 2
    assert main(["bench", "--sections", "gpu"]) == 2
    err = capsys.readouterr().err
    assert "--sessions" in err and "unknown --sections" in err


def test_bench_soak_and_abuse_tiny_runs(capsys, tmp_path):
    """The soak (memory over time, hits on time, errors) and abuse (gap amplification beside
    healthy sessions) sections, shrunk to seconds."""
    code = main(["bench", "--sections", "soak,abuse", "--soak-sessions", "2",
                 "--soak-duration-s", "3", "--duration-s", "4", "--workers", "1",
                 "--out", str(tmp_path), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    soak = report["soak"]["level"]
    assert soak["sessions"] == 2 and soak["errors"] == 0 and soak["statuses"] == {"OK": 2}
    assert len(soak["rss_series_mb"]) >= 1 and soak["rss_growth_last_half_mb"] is not None
    assert set(report["soak"]["targets"]) == {"soak_rss_growth_mb", "soak_hits_on_time",
                                              "soak_errors"}
    abuse = report["abuse"]["level"]
    assert abuse["sessions"] == 16 and abuse["attack"]["streams"] == 6
    assert abuse["hits"] > 0 and abuse["statuses"] == {"OK": 16}
    md = (tmp_path / "performance.md").read_text()
    assert "## Soak" in md and "## Abuse: gap amplification" in md
    assert "--soak-sessions 2" in md


def test_bench_capacity_tiny_run(capsys, tmp_path):
    """The capacity section, shrunk: one server process pinned to one CPU, its clients to the
    others, two small levels run twice each; every process of the server was held to that
    CPU, and a level is held (on time) only when both its runs are."""
    code = main(["bench", "--sections", "capacity", "--capacity-sessions", "1,2",
                 "--capacity-runs", "2", "--duration-s", "3", "--out", str(tmp_path), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    cap = report["capacity"]
    if cap.get("skipped"):
        pytest.skip(cap["skipped"])
    assert len(cap["server_cpus"]) == 1 and not set(cap["server_cpus"]) & set(cap["client_cpus"])
    assert [lv["sessions"] for lv in cap["levels"]] == [1, 2] and cap["runs"] == 2
    for lv in cap["levels"]:
        assert len(lv["runs"]) == 2
        for run in lv["runs"]:
            assert run["sessions"] == lv["sessions"]
            assert run["server_cpus_allowed"] == cap["server_cpus"]
            assert run["statuses"] == {"OK": lv["sessions"]} and run["hits"] > 0
            assert run["on_time"] == (run["hits_on_time_share"] >= 0.99)
            assert run["held"] == (run["on_time"]
                                   and run["server_latency_ms"]["p99_worst_session"] <= 10.0)
            # The engine's part of the server's CPU, from the server's own metrics.
            assert 0 < run["server_engine_cpu_ms_per_frame"] < run["server_cpu_ms_per_frame"]
            assert 1 <= run["engine_batch_frames_mean"] <= lv["sessions"]
        assert lv["p99_worst_session_ms"] == [r["server_latency_ms"]["p99_worst_session"]
                                              for r in lv["runs"]]
        assert lv["hits_on_time_share"] == min(r["hits_on_time_share"] for r in lv["runs"])
        assert lv["engine_batch_frames_mean"] == [r["engine_batch_frames_mean"] for r in lv["runs"]]
        assert lv["held_runs"] == sum(r["held"] for r in lv["runs"])
        assert lv["held"] == all(r["held"] for r in lv["runs"])
        assert lv["on_time"] == all(r["on_time"] for r in lv["runs"])
    held = [lv["sessions"] for lv in cap["levels"] if lv["held"]]
    assert cap["sessions_per_core"] == (max(held) if held else None)
    on_time = [lv["sessions"] for lv in cap["levels"] if lv["on_time"]]
    assert cap["sessions_on_time_per_core"] == (max(on_time) if on_time else None)
    if held:
        assert cap["nodes"]["4"] == 4 * max(held)
    md = (tmp_path / "performance.md").read_text()
    assert "## Capacity per core" in md and "--capacity-sessions 1,2 --capacity-runs 2" in md
    assert "2 runs per level" in md and "of it in the engine [ms]" in md
    assert "--metrics-port <free port>" in md


def test_bench_rejects_bad_capacity_levels(capsys):
    assert main(["bench", "--sections", "capacity", "--capacity-sessions", "8,x"]) == 2
    assert "--capacity-sessions takes comma-separated counts" in capsys.readouterr().err
    assert main(["bench", "--sections", "capacity", "--capacity-runs", "0"]) == 2
    assert "--capacity-runs >= 1" in capsys.readouterr().err


def test_bench_clients_give_way_to_the_server():
    """The client processes stand for players' machines: they run at a lower priority than
    the bench (and the server it starts), so they do not take the CPU the server measures."""
    from ibeat_cli.bench.load import CLIENT_NICE, kill_clients, launch_clients, session_groups
    from ibeat_io.clips import bundled_clip_path

    groups = session_groups(2, 1, per_process=1, fps=30.0)
    clients = launch_clients("127.0.0.1:1", groups, fps=30.0, duration_s=1.0,
                             clip=bundled_clip_path())
    try:
        ours = os.getpriority(os.PRIO_PROCESS, 0)
        assert CLIENT_NICE > 0
        assert [os.getpriority(os.PRIO_PROCESS, c.pid) for c in clients] == \
            [min(ours + CLIENT_NICE, 19)] * 2
    finally:
        kill_clients(clients)
