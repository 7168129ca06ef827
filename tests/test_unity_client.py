"""The Unity package's engine-free client end to end: a mono console program built from
``Ibeat.Core`` streams the bundled clip in real time to a real ``ibeat-server --ws-port`` and
schedules the hits on a simulated audio clock (``unity_client/Tools~/run-tests.sh e2e``).

Needs Debian's mono-devel (``mcs``, ``mono``); skips without it (``.ci/run`` installs it).
"""

import json
import os
import shutil
import subprocess
from pathlib import Path

import grpc
import numpy as np
import pytest
from google.protobuf import json_format

from ibeat_grpc.replay import clip_frames, replay
from ibeat_grpc.server import start_server
from ibeat_grpc.v1 import ibeat_pb2 as pb

RUN_TESTS = Path(__file__).resolve().parents[1] / "unity_client" / "Tools~" / "run-tests.sh"
TIMEOUT_S = 180

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("mcs") is None or shutil.which("mono") is None,
                       reason="needs mono-devel (mcs, mono): apt-get install mono-devel"),
]


def _write_frames(path: Path, config: pb.SessionConfig, frames):
    """The E2E client's input: the config, then one PoseFrame per line, in proto JSON."""
    t_us, kp = frames
    lines = [json_format.MessageToJson(config, indent=None)]
    lines += [json_format.MessageToJson(pb.PoseFrame(timestamp_us=int(t), frame_id=i,
                                                     keypoints=np.ravel(k).tolist()), indent=None)
              for i, (t, k) in enumerate(zip(t_us, kp))]
    path.write_text("\n".join(lines) + "\n")


def test_the_console_client_gets_the_grpc_hits_ahead_of_time(networks, aist_clip, tmp_path):
    frames = clip_frames(aist_clip.timestamps_s, aist_clip.keypoints)
    config = pb.SessionConfig(layout=pb.SKELETON_LAYOUT_COCO17, genre="rock", seed=11)
    _write_frames(tmp_path / "frames.jsonl", config, frames)
    server = start_server(0, networks=networks, ws_port=0)
    try:
        run = subprocess.run(
            [str(RUN_TESTS), "e2e", "--server", f"ws://127.0.0.1:{server.ws_port}",
             "--frames", str(tmp_path / "frames.jsonl"), "--out", str(tmp_path / "result.json")],
            capture_output=True, text=True, timeout=TIMEOUT_S,
            env={**os.environ, "IBEAT_CS_OUT": str(tmp_path / "build")})
        assert run.returncode == 0, run.stdout + run.stderr
        grpc_run = replay(f"127.0.0.1:{server.port}", *frames, config=config, speed=None,
                          timeout_s=TIMEOUT_S)
    finally:
        server.stop(1)
    assert grpc_run.status == grpc.StatusCode.OK
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["status"] == "OK", result
    assert result["finalStats"]["framesProcessed"] == len(frames[0])
    hits = result["hits"]
    # The same hits as ibeat-replay over gRPC, field for field.
    expected = [(h.time_us, h.drum_class, h.velocity, h.beat_index, h.step, h.joint)
                for h in grpc_run.hits]
    got = [(h["timeUs"], h["drumClass"], h["velocity"], h["beatIndex"], h["step"], h["joint"])
           for h in hits]
    assert len(got) >= 20 and got == expected
    # Streamed in real time: at least 99 % arrive before their play time and are scheduled
    # on the simulated audio clock.
    ahead = np.mean([h["leadUs"] > 0 for h in hits])
    assert ahead >= 0.99, ahead
    assert result["scheduled"] >= 0.99 * len(hits)
    assert result["scheduled"] + result["dropped"] + result["neverDue"] == len(hits)
    # The running fit found the simulated audio clock's drift.
    assert abs(result["clock"]["driftFitted"] - result["clock"]["driftSimulated"]) < 5e-6
