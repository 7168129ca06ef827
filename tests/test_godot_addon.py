"""The Godot add-on (``godot_client/``): its engine-neutral core run in headless Godot 3
against a real ``ibeat-server --ws-port``, and every GDScript parsed and linted as Godot 4's.

Godot 4 is not installable on these machines; Debian's ``godot3-server`` (3.2.3) is. The
add-on keeps its protocol logic (message building, decoding, clock mapping, hit scheduling,
reconnect policy) in ``godot_client/addons/ibeat/core/``, written in the GDScript both engines
run; the Godot 4 nodes wrap it. Here Godot 3 runs that core unchanged over a WebSocketClient
adapter (``godot_client/tests/``): the unit tests, the bundled clip streamed in real time (the
same hits as ``ibeat-replay`` over gRPC, ahead of their play time, each heard on time from a
simulated sound card), a listener to the server's own source, the demo's dancer, and the
statuses a client sees. The Godot 3 tests skip
without ``godot3-server`` (``apt-get install godot3-server``; ``.ci/run`` installs it); the
lint (gdtoolkit, the ``test`` extra) always runs.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc
import numpy as np
import pytest

from ibeat_core.session import SessionConfig
from ibeat_grpc.replay import clip_frames, replay
from ibeat_grpc.server import start_server
from ibeat_grpc.source import SourceConfig
from ibeat_grpc.v1 import ibeat_pb2 as pb
from ibeat_grpc.v1 import ibeat_pb2_grpc as pb_grpc
from ibeat_video.capture import CapturedFrame, PosedFrame
from ibeat_video.pose import PoseEstimate

REPO = Path(__file__).resolve().parents[1]
GODOT_CLIENT = REPO / "godot_client"
ADDON = GODOT_CLIENT / "addons" / "ibeat"
GODOT3 = shutil.which("godot3-server")
TIMEOUT_S = 180

needs_godot3 = pytest.mark.skipif(
    GODOT3 is None, reason="needs Debian's headless Godot 3: apt-get install godot3-server")


@pytest.fixture(scope="module")
def godot_project(tmp_path_factory):
    """A Godot 3 project whose res:// holds the add-on, its tests and the demo (links)."""
    root = tmp_path_factory.mktemp("godot3")
    (root / "project.godot").write_text(
        'config_version=4\n\n[application]\nconfig/name="ibeat add-on tests"\n')
    for name in ("addons", "tests", "demo"):
        (root / name).symlink_to(GODOT_CLIENT / name, target_is_directory=True)
    return root


def run_godot(project: Path, script: str, env: dict | None = None, timeout: float = TIMEOUT_S):
    """``godot3-server --no-window --path PROJECT -s res://tests/SCRIPT``; fails on a script error
    (Godot 3 exits 0 after a parse error, so its output is read)."""
    run = subprocess.run(
        [GODOT3, "--no-window", "--path", str(project), "-s", f"res://tests/{script}"],
        capture_output=True, text=True, timeout=timeout,
        env={**os.environ, "HOME": str(project), "LANG": "C.UTF-8", **(env or {})})
    output = run.stdout + run.stderr
    assert "SCRIPT ERROR" not in output, output
    return run, output


@needs_godot3
def test_the_core_unit_tests_pass_on_godot3(godot_project):
    run, output = run_godot(godot_project, "test_core.gd", timeout=60)
    counts = re.search(r"^(\d+) passed, (\d+) failed$", run.stdout, re.M)
    assert counts, output
    print(counts.group(0))
    assert int(counts.group(2)) == 0 and run.returncode == 0, output
    assert int(counts.group(1)) >= 150


def _write_frames(path: Path, settings: dict, frames):
    """The e2e client's input: its settings, then one frame a line (32-bit floats, shortest)."""
    t_us, kp = frames
    lines = [json.dumps(settings)]
    for t, k in zip(t_us, kp):
        values = ",".join(np.format_float_positional(x, unique=True, trim="-")
                          for x in np.ravel(k).astype(np.float32))
        lines.append(f'{{"t": {int(t)}, "kp": [{values}]}}')
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.slow
@needs_godot3
def test_godot3_streams_the_clip_and_gets_the_grpc_hits_ahead_of_time(
        godot_project, networks, aist_clip, tmp_path):
    frames = clip_frames(aist_clip.timestamps_s, aist_clip.keypoints)
    settings = {"layout": 1, "genre": "rock", "seed": 11}
    _write_frames(tmp_path / "frames.jsonl", settings, frames)
    server = start_server(0, networks=networks, ws_port=0)
    try:
        run, output = run_godot(godot_project, "e2e_client.gd", env={
            "IBEAT_E2E_MODE": "frames", "IBEAT_E2E_SERVER": f"ws://127.0.0.1:{server.ws_port}",
            "IBEAT_E2E_FRAMES": str(tmp_path / "frames.jsonl"),
            "IBEAT_E2E_OUT": str(tmp_path / "result.json")})
        config = pb.SessionConfig(layout=pb.SKELETON_LAYOUT_COCO17, genre="rock", seed=11)
        grpc_run = replay(f"127.0.0.1:{server.port}", *frames, config=config, speed=None,
                          timeout_s=TIMEOUT_S)
    finally:
        server.stop(1)
    assert run.returncode == 0, output
    assert grpc_run.status == grpc.StatusCode.OK
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["status"] == "OK", result["statuses"]
    assert result["framesSent"] == len(frames[0]) and result["framesSkipped"] == 0
    assert int(result["finalStats"]["frames_processed"]) == len(frames[0])
    assert int(result["accepted"]["lead_time_us"]) == 100000
    hits = result["hits"]
    # The same hits as ibeat-replay over gRPC, field for field: the message building (32-bit
    # floats written with 9 digits) and the decoding (64-bit times as strings) lose nothing.
    expected = [(h.time_us, h.drum_class, h.velocity, h.beat_index, h.step, h.joint)
                for h in grpc_run.hits]
    got = [(h["timeUs"], h["drumClass"], h["velocity"], h["beatIndex"], h["step"], h["joint"])
           for h in hits]
    assert len(got) >= 20 and got == expected
    assert len(result["beats"]) == len(grpc_run.beats)
    # Streamed in real time: hits arrive before their play time (the lead, 100 ms, less the
    # server's and the frame loop's delays) ...
    leads = np.array([h["leadUs"] for h in hits])
    assert np.mean(leads > 0) >= 0.99, leads
    # ... and are started on the (simulated) audio clock, never late: at least 99 % scheduled,
    # each heard within 3 ms of its time through the audio clock the client fitted.
    assert result["scheduled"] >= 0.99 * len(hits)
    assert result["scheduled"] + result["dropped"] + result["neverDue"] == len(hits)
    assert result["lateAtTake"] == 0
    errors_ms = np.array([p["errorUs"] for p in result["played"]]) / 1000.0
    assert len(errors_ms) == result["scheduled"]
    assert np.max(np.abs(errors_ms)) < 3.0, errors_ms
    assert abs(result["clock"]["driftFitted"] - result["clock"]["driftSimulated"]) < 1e-3
    print(f"Godot 3 e2e: {result['framesSent']} frames sent, {len(result['beats'])} beats, "
          f"{len(hits)} hits (gRPC {len(expected)}), lead min {leads.min() / 1000:.1f} ms, "
          f"median {np.median(leads) / 1000:.1f} ms; scheduled {result['scheduled']}, "
          f"dropped {result['dropped']}; heard error median {np.median(errors_ms):+.2f} ms, "
          f"max |{np.max(np.abs(errors_ms)):.2f}| ms; drift fitted "
          f"{result['clock']['driftFitted'] * 1e6:.0f} ppm (simulated 20)")


@pytest.mark.slow
@needs_godot3
def test_the_demo_dancer_draws_drums_from_its_limbs(godot_project, networks, tmp_path):
    """The demo scene's dance (demo/ibeat_demo_dance.gd, 110 BPM) as the 19 humanoid joints in
    Godot's frame, packed by the add-on and streamed four times faster than real time."""
    server = start_server(0, networks=networks, ws_port=0)
    try:
        run, output = run_godot(godot_project, "e2e_client.gd", env={
            "IBEAT_E2E_MODE": "dance", "IBEAT_E2E_SERVER": f"ws://127.0.0.1:{server.ws_port}",
            "IBEAT_E2E_SECONDS": "12", "IBEAT_E2E_SPEED": "4",
            "IBEAT_E2E_OUT": str(tmp_path / "dance.json")})
    finally:
        server.stop(1)
    assert run.returncode == 0, output
    result = json.loads((tmp_path / "dance.json").read_text())
    assert result["status"] == "OK" and result["framesSent"] == 12 * 60
    assert int(result["accepted"]["joints_expected"]) == 19
    tempos = [b["tempo"] for b in result["beats"]]
    assert len(tempos) >= 8, result["beats"]
    assert abs(np.median(tempos) - 110) < 110 * 0.05, tempos
    hits = result["hits"]
    assert len(hits) >= 10
    # Every hit names the humanoid joint that drove it, a hand, foot or the head.
    assert all(0 <= h["layoutJoint"] < 19 for h in hits), hits
    print(f"demo dance: {len(result['beats'])} beats at {np.median(tempos):.1f} BPM, "
          f"{len(hits)} hits, driving joints {sorted({h['layoutJoint'] for h in hits})}")


class _ClipPass:
    """The server's source as a video file would give it, without MediaPipe: the bundled clip's
    keypoints as posed frames at 30 fps in real time, from when ``gate`` is set."""

    name = "clip.mp4"
    is_live = False
    fps = 30.0
    width, height = 1920, 1080

    def __init__(self, keypoints, gate):
        self.keypoints, self.gate = keypoints, gate
        self.frame_count = len(keypoints)
        self._stop = threading.Event()

    def posed_frames(self):
        image = np.full((self.height, self.width, 3), 128, np.uint8)
        for i, kp in enumerate(self.keypoints):
            yield PosedFrame(CapturedFrame(i, i / self.fps, image, time.monotonic()),
                             PoseEstimate(kp, 1, 0.0), time.monotonic())

    def frames(self):
        while not self.gate.wait(0.05):
            if self._stop.is_set():
                return
        t0 = time.monotonic()
        for pf in self.posed_frames():
            if self._stop.wait(max(t0 + pf.frame.time_s - time.monotonic(), 0)):
                return
            yield pf

    def stop(self):
        self._stop.set()

    def close(self):
        self.stop()

    def stats(self):
        return {}


@pytest.mark.slow
@needs_godot3
def test_godot3_listens_to_the_servers_source_and_places_its_hits_ahead(
        godot_project, networks, aist_clip, tmp_path):
    """Subscribe: the server's own source (the clip at 30 fps, 8 s, in real time); the hits come
    in the source clock and are mapped onto the client's from the server's clock readings."""
    keypoints = np.asarray(aist_clip.keypoints[:480:2], dtype=np.float32)
    gate = threading.Event()
    source = SourceConfig(open_pass=lambda: _ClipPass(keypoints, gate),
                          session=SessionConfig(seed=1))
    server = start_server(0, networks=networks, ws_port=0, source=source)
    env = {**os.environ, "HOME": str(godot_project), "LANG": "C.UTF-8",
           "IBEAT_E2E_MODE": "subscribe", "IBEAT_E2E_SECONDS": "20",
           "IBEAT_E2E_SERVER": f"ws://127.0.0.1:{server.ws_port}",
           "IBEAT_E2E_OUT": str(tmp_path / "listen.json")}
    godot = subprocess.Popen(
        [GODOT3, "--no-window", "--path", str(godot_project), "-s", "res://tests/e2e_client.gd"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        # The source starts once the listener is in, so it hears every beat.
        with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            stub = pb_grpc.IbeatStub(channel)
            deadline = time.monotonic() + 20
            while stub.GetInfo(pb.GetInfoRequest()).listeners < 1:
                assert time.monotonic() < deadline and godot.poll() is None, "no listener"
                time.sleep(0.05)
        gate.set()
        output, _ = godot.communicate(timeout=60)
    finally:
        gate.set()
        if godot.poll() is None:
            godot.kill()
        server.stop(1)
    assert "SCRIPT ERROR" not in output and godot.returncode == 0, output
    result = json.loads((tmp_path / "listen.json").read_text())
    assert result["status"] == "OK", result["statuses"]  # the video ended: final stats, OK
    assert "clip.mp4" in result["source"]["description"]
    assert result["sourceStates"][-1] == "ENDED" and "TRACKING" in result["sourceStates"]
    hits = result["hits"]
    assert len(hits) >= 10 and result["hitsUnplaced"] == 0
    # Mapped onto the client's clock, the hits come ahead of their time (the source's lead,
    # 100 ms, less the delays) and are all scheduled on the audio clock, none late.
    leads = np.array([h["leadUs"] for h in hits])
    assert np.mean(leads > 0) >= 0.99, leads
    assert result["scheduled"] == len(hits) and result["dropped"] == 0
    print(f"Godot 3 listener: {len(result['beats'])} beats, {len(hits)} hits, lead min "
          f"{leads.min() / 1000:.1f} ms, median {np.median(leads) / 1000:.1f} ms")


@needs_godot3
def test_the_client_reports_and_retries_as_the_server_says(godot_project, networks, tmp_path):
    open_server = start_server(0, networks=networks, ws_port=0)
    locked = start_server(0, networks=networks, ws_port=0, auth_tokens=(b"s3cret",))
    closed = start_server(0, networks=networks, ws_port=0)
    closed_port = closed.ws_port
    closed.stop(0)
    ws, lock = f"ws://127.0.0.1:{open_server.ws_port}", f"ws://127.0.0.1:{locked.ws_port}"
    scenarios = [
        {"name": "subscribe without a source", "url": ws, "subscribe": True},
        {"name": "unknown genre", "url": ws, "settings": {"genre": "disco"}},
        {"name": "right token", "url": lock, "token": "s3cret",
         "settings": {"layout": 7}, "seconds": 2},
        {"name": "wrong token", "url": lock, "token": "nope", "seconds": 1.5},
        {"name": "no server", "url": f"ws://127.0.0.1:{closed_port}", "seconds": 1.5},
    ]
    try:
        run, output = run_godot(godot_project, "e2e_client.gd", env={
            "IBEAT_E2E_MODE": "status", "IBEAT_E2E_SCENARIOS": json.dumps(scenarios),
            "IBEAT_E2E_OUT": str(tmp_path / "status.json")}, timeout=60)
    finally:
        open_server.stop(0)
        locked.stop(0)
    assert run.returncode == 0, output
    got = {r["name"]: r for r in json.loads((tmp_path / "status.json").read_text())["scenarios"]}
    # Refusals end the stream with the server's status and reason, and are not retried.
    sub = got["subscribe without a source"]
    assert (sub["state"], sub["status"], sub["attempts"]) == ("ENDED", "FAILED_PRECONDITION", 1)
    assert "no camera or video source" in sub["message"]
    genre = got["unknown genre"]
    assert (genre["state"], genre["status"], genre["attempts"]) == ("ENDED", "INVALID_ARGUMENT", 1)
    assert "disco" in genre["message"] and "Not retrying" in genre["statuses"][-1]
    # The bearer token goes on the upgrade request.
    assert got["right token"]["accepted"] and got["right token"]["status"] == "none"
    # A wrong token: the server closes with 4016 UNAUTHENTICATED, which is not retried.
    wrong = got["wrong token"]
    assert (wrong["state"], wrong["status"], wrong["attempts"]) == ("ENDED", "UNAUTHENTICATED", 1)
    assert "valid token" in wrong["message"] and not wrong["accepted"]
    # No server at all: UNAVAILABLE, retried with backoff.
    r = got["no server"]
    assert r["status"] == "UNAVAILABLE" and r["attempts"] >= 2 and not r["accepted"], r
    assert "no ibeat server" in r["statuses"][0] and "Retrying in" in r["statuses"][0], r


def _gd_files():
    return sorted(GODOT_CLIENT.rglob("*.gd"))


def test_every_gdscript_parses_and_lints_clean_as_godot4():
    """gdtoolkit's parser and linter (GDScript 2, the Godot 4 language) on every script."""
    tools = Path(sys.executable).parent
    files = [str(p) for p in _gd_files()]
    assert len(files) >= 15
    parse = subprocess.run([str(tools / "gdparse"), *files], capture_output=True, text=True,
                           timeout=300)
    assert parse.returncode == 0, parse.stdout + parse.stderr
    lint = subprocess.run([str(tools / "gdlint"), *files], capture_output=True, text=True,
                          timeout=300, cwd=GODOT_CLIENT)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    print(lint.stderr.strip() or lint.stdout.strip())


# What the core may not use: it must run unchanged on Godot 3 and 4.
_NOT_IN_CORE = {
    r"^\s*@": "annotations (Godot 4 only)",
    r"\b(await|yield|setget|onready|export)\b": "a keyword of one engine only",
    r"\b(min|max|clamp)\(": "Godot 3 rounds min/max/clamp to 32-bit floats",
    r"\.to_int\(\)": "Godot 3's String.to_int() is 32-bit: use int(s)",
    r"\b(JSON|Time|OS|Engine|AudioServer)\.": "engine APIs that differ: pass values in",
    r"\b(remove_at|is_empty|slice|PackedFloat32Array|PoolRealArray)\b": "differs between 3 and 4",
    r"^extends\b": "the default base (Reference / RefCounted) is the one both have",
}


def test_the_core_keeps_to_what_godot3_and_godot4_share():
    core = sorted((ADDON / "core").glob("*.gd")) + [GODOT_CLIENT / "demo" / "ibeat_demo_dance.gd"]
    assert len(core) >= 9
    problems = []
    for path in core:
        for n, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            for pattern, why in _NOT_IN_CORE.items():
                if re.search(pattern, code):
                    problems.append(f"{path.relative_to(REPO)}:{n}: {why}: {line.strip()}")
    assert not problems, "\n".join(problems)


def test_the_addon_and_demo_hang_together():
    cfg = (ADDON / "plugin.cfg").read_text()
    assert re.search(r'^name="ibeat"$', cfg, re.M) and 'script="plugin.gd"' in cfg
    assert (ADDON / "plugin.gd").exists()
    # Every res:// path a script, scene or the project names exists in godot_client/.
    texts = [p.read_text() for p in [*_gd_files(), *GODOT_CLIENT.rglob("*.tscn"),
                                     GODOT_CLIENT / "project.godot"]]
    paths = {m for t in texts for m in re.findall(r'"res://([^"]+)"', t)}
    assert len(paths) >= 8
    # (res://ibeat_kit is IbeatDrumKit's default kit_dir, in the user's own project.)
    missing = [p for p in paths if not (GODOT_CLIENT / p).exists() and p != "ibeat_kit"]
    assert not missing, missing
    # Relative preloads resolve beside their script.
    for script in _gd_files():
        for rel in re.findall(r'preload\("([^":]+)"\)', script.read_text()):
            assert (script.parent / rel).exists(), f"{script}: {rel}"
    # The scene's scripts and main scene are wired.
    project = (GODOT_CLIENT / "project.godot").read_text()
    assert "config_version=5" in project and 'run/main_scene="res://demo/ibeat_demo.tscn"' in project
    assert 'ibeat/plugin.cfg' in project


def test_the_demo_kit_is_what_ibeat_kit_writes(tmp_path, capsys):
    from ibeat_cli.main import main

    assert main(["kit", "--out", str(tmp_path)]) == 0
    written = sorted(tmp_path.iterdir())
    assert len(written) == 10
    for path in written:
        shipped = GODOT_CLIENT / "demo" / "audio" / path.name
        assert shipped.read_bytes() == path.read_bytes(), path.name
        if path.suffix == ".wav":
            # Imported uncompressed, so IbeatDrumKit can pad them with silence (pre-roll).
            imp = (shipped.parent / (path.name + ".import")).read_text()
            assert "compress/mode=0" in imp
