"""Property-based fuzzing of a live ``ibeat-server`` process (issue 16: "safe to leave running").

Configs, frames and raw bytes over gRPC, and text over the WebSocket transport, drawn by
hypothesis and sent to a real server process. The properties, checked on every example:

- the process never dies, and its log never shows a traceback or an ERROR line;
- no stream ends INTERNAL or UNKNOWN: an accepted stream ends OK with its final stats, a
  refused one with INVALID_ARGUMENT, FAILED_PRECONDITION or RESOURCE_EXHAUSTED (or
  UNAUTHENTICATED without a token) and a short message that names what was wrong;
- configs and frames are judged against an oracle written from the proto's contract
  (``protos/ibeat/v1/ibeat.proto``): what it allows is served, what it forbids is refused
  naming the field, after exactly the frames before the bad one were processed;
- a WebSocket stream ends with 1000 or 4000 + {3, 8, 9}, never 1011.

The client is synchronous on purpose: an asyncio client that keeps writing after the server
refused reports a client-side INTERNAL that hides the server's status. The examples are
derandomized (the same examples on every run): about 1,300 streams, 40 s on two idle cores,
95 s with two other processes spinning (the server then paces streams that run ahead of real
time, so the span of each example's clock is bounded). A far jump in a stream's clock is
tested on its own.
"""

import json
import math
import os
import re
import signal
import threading
import time

import grpc
import numpy as np
import pytest

pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, Phase, event, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from ibeat_grpc.v1 import ibeat_pb2 as pb  # noqa: E402
from ibeat_grpc.v1 import ibeat_pb2_grpc as pb_grpc  # noqa: E402

pytestmark = pytest.mark.slow

TIMEOUT_S = 30
OK = grpc.StatusCode.OK
#: How a refusal may end a stream.
REFUSALS = {grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION,
            grpc.StatusCode.RESOURCE_EXHAUSTED}
#: Longest status message a refusal may carry [characters].
MAX_DETAILS = 300
#: Longest line the server may log [characters] (a client's string is never logged whole).
MAX_LOG_LINE = 1000
#: The gRPC transport's message limit (ServerInfo.max_message_bytes, checked in `info`).
MAX_MESSAGE_BYTES = 64 * 1024
INT64_MIN, INT64_MAX = -2 ** 63, 2 ** 63 - 1
#: |timestamp| the server takes [us] (2^62, ibeat_core.stream.MAX_TIME_US).
MAX_TIME_US = 2 ** 62
MAX_GAP_US = 2_000_000
#: |density|, temperature and genre_strength the engine takes (ibeat_core.drumgen.MAX_SETTING).
MAX_SETTING = 100.0
IMAGE_SPACES = {pb.COORDINATE_SPACE_PIXELS, pb.COORDINATE_SPACE_NORMALIZED}

#: Reproducible (derandomized: the same examples on every run, no example database), no
#: per-example deadline (a live server's timing varies), and none of the health checks, which
#: judge generated data by its speed and size, and these examples are slow and big on purpose.
#: A failure is reported as found: shrinking it against a live server can take many minutes;
#: IBEAT_FUZZ_SHRINK=1 shrinks it (to report a defect).
FUZZ = settings(deadline=None, derandomize=True, database=None, print_blob=False,
                suppress_health_check=list(HealthCheck),
                phases=[Phase.explicit, Phase.reuse, Phase.generate]
                + ([Phase.shrink] if os.environ.get("IBEAT_FUZZ_SHRINK") else []))


# -- the server under test --------------------------------------------------------------------

@pytest.fixture(scope="module")
def server(live_server):
    running = live_server("--ws-port", "0", "--max-sessions", "16", name="fuzz")
    yield running
    assert running.stop(30) == 0, running.log()[-3000:]
    _assert_clean_log(running.log())


@pytest.fixture(scope="module")
def channel(server):
    with grpc.insecure_channel(server.target) as ch:
        grpc.channel_ready_future(ch).result(timeout=TIMEOUT_S)
        yield ch


@pytest.fixture(scope="module")
def info(channel):
    info = pb_grpc.IbeatStub(channel).GetInfo(pb.GetInfoRequest(), timeout=TIMEOUT_S)
    assert info.max_message_bytes == MAX_MESSAGE_BYTES and info.max_gap_us == MAX_GAP_US
    return info


#: Layout -> (joints, values per joint, is 3D), as GetInfo lists them (filled by `layouts`).
LAYOUTS: dict = {}
GENRES: list = []


@pytest.fixture(scope="module", autouse=True)
def layouts(info):
    """The contract the strategies and the oracle use, as the server states it in GetInfo."""
    LAYOUTS.clear()
    for layout in info.layouts:
        LAYOUTS[layout.layout] = (len(layout.joints), layout.values_per_joint, layout.is_3d)
    LAYOUTS[pb.SKELETON_LAYOUT_UNSPECIFIED] = LAYOUTS[pb.SKELETON_LAYOUT_COCO17]
    GENRES[:] = list(info.genres)
    assert set(LAYOUTS) == set(pb.SkeletonLayout.values()) and "rock" in GENRES


def _assert_clean_log(text: str):
    assert "Traceback" not in text, _excerpt(text, "Traceback")
    assert not re.search(r" (ERROR|CRITICAL) ", text), _excerpt(text, " ERROR ")
    longest = max((len(line) for line in text.splitlines()), default=0)
    assert longest <= MAX_LOG_LINE, f"a log line of {longest} characters"


def _excerpt(text: str, needle: str) -> str:
    i = max(text.find(needle), 0)
    return text[max(0, i - 500):i + 3000]


class _Watch:
    """The server around one example: alive after it, its session freed (when ``channel`` may
    call GetInfo), and no traceback or ERROR logged meanwhile."""

    def __init__(self, server, channel=None):
        self.server = server
        self.channel = channel
        self.start = server.log_size()

    def check(self):
        assert self.server.alive(), f"the server died:\n{self.server.log()[-3000:]}"
        if self.channel is not None:
            stub = pb_grpc.IbeatStub(self.channel)
            assert _eventually(lambda: stub.GetInfo(pb.GetInfoRequest(),
                                                    timeout=TIMEOUT_S).active_sessions == 0)
        _assert_clean_log(self.server.log(self.start))


def _server_is_fine(server, channel):
    """After a test: alive, healthy, every session freed, nothing bad in the log."""
    from grpc_health.v1 import health_pb2, health_pb2_grpc
    assert server.alive()
    status = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(),
                                                       timeout=TIMEOUT_S)
    assert status.status == health_pb2.HealthCheckResponse.SERVING
    stub = pb_grpc.IbeatStub(channel)
    assert _eventually(lambda: stub.GetInfo(pb.GetInfoRequest(),
                                            timeout=TIMEOUT_S).active_sessions == 0)
    _assert_clean_log(server.log())


def _eventually(predicate, timeout_s=10.0):
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


# -- calls ------------------------------------------------------------------------------------

def _session(channel, messages, *, raw=False, timeout_s=TIMEOUT_S):
    """One Session stream, synchronously: (messages received, status code, details).

    A stream refused before its first answer with RESOURCE_EXHAUSTED "... retry later" (the
    server sheds load while its event loop lags, say after an expensive example) is retried,
    as a client would: that refusal is about the server's load, not about the input.
    """
    if raw:
        call = channel.stream_stream("/ibeat.v1.Ibeat/Session", request_serializer=lambda b: b,
                                     response_deserializer=pb.ServerMessage.FromString)
    else:
        call = pb_grpc.IbeatStub(channel).Session
    for _ in range(100):
        out = []
        try:
            for m in call(iter(messages), timeout=timeout_s):
                out.append(m)
        except grpc.RpcError as e:
            code, details = e.code(), e.details() or ""
            if (not out and code == grpc.StatusCode.RESOURCE_EXHAUSTED
                    and "retry later" in details):
                time.sleep(0.2)
                continue
            return out, code, details
        return out, OK, ""
    raise AssertionError(f"still refused after 100 tries: {details}")


def _check_status(code, details):
    """Every stream: never INTERNAL/UNKNOWN, a refusal with a short, non-empty reason."""
    event(f"ended {code.name}")  # pytest --hypothesis-show-statistics: what the examples hit
    assert code is not grpc.StatusCode.INTERNAL and code is not grpc.StatusCode.UNKNOWN, (
        code, details)
    assert code == OK or code in REFUSALS, (code, details)
    if code != OK:
        assert details and len(details) <= MAX_DETAILS, (code, len(details), details[:500])


def _check_ok_stream(out, frames_sent):
    assert out and out[0].HasField("accepted"), out[:1]
    final = out[-1]
    assert final.HasField("stats") and final.stats.final, final
    assert final.stats.frames_processed == frames_sent
    assert sum(m.HasField("accepted") for m in out) == 1
    for m in out:
        assert m.WhichOneof("msg") in ("accepted", "beat", "hits", "stats", "restarted")


def _names(details: str, fields) -> bool:
    """Whether ``details`` names one of ``fields`` (as a whole word; ``_`` may be a space)."""
    text = details.lower()
    for name in fields:
        name = name.lower()
        for spelling in {name, name.replace("_", " ")}:
            if re.search(rf"\b{re.escape(spelling)}\b", text):
                return True
    return False


# -- synthetic motion in any layout -----------------------------------------------------------

def _motion(layout: int, i: int, *, space: int = 0, fps: float = 30.0) -> list:
    """Frame ``i`` of a body bouncing at 2 Hz in ``layout`` (beats come after about 1-2 s)."""
    n_joints, per, is_3d = LAYOUTS[layout]
    j = np.arange(n_joints)
    b = math.sin(2 * math.pi * 2.0 * i / fps)
    if not is_3d:
        scale = 1 / 1000 if space == pb.COORDINATE_SPACE_NORMALIZED else 1.0
        kp = np.stack([(300 + 15 * j + 8 * b * (j % 3)) * scale, (100 + 25 * j + 20 * b) * scale,
                       np.ones(n_joints)], 1)
    else:
        scale = 100.0 if space == pb.COORDINATE_SPACE_CENTIMETERS else 1.0
        kp = np.stack([(0.05 * j + 0.05 * b * (j % 3)) * scale, (1 + 0.06 * j + 0.08 * b) * scale,
                       (0.03 * j + 0.04 * b) * scale, np.ones(n_joints)], 1)
    return kp.ravel().tolist()


def _frame(t_us, keypoints, frame_id):
    return pb.ClientMessage(frame=pb.PoseFrame(timestamp_us=t_us, keypoints=keypoints,
                                               frame_id=frame_id))


# -- configs ----------------------------------------------------------------------------------

_ANY_FLOAT = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=32),
    st.sampled_from([-0.0, 1e-45, 100.00001, -100.00001, 101.0, 1000.0001, 3e38, -3e38, 1e39,
                     float("nan"), float("inf"), float("-inf")]))
_ANY_ENUM = st.one_of(st.integers(-3, 12), st.integers(-2 ** 31, 2 ** 31 - 1))
#: Per field: (a value the contract allows, any value its type holds).
_CONFIG_FIELDS = {
    "layout": (st.integers(0, 7), _ANY_ENUM),
    "coordinate_space": (st.integers(0, 4), _ANY_ENUM),
    "mode": (st.integers(0, 2), _ANY_ENUM),
    "handedness": (st.integers(0, 2), _ANY_ENUM),
    "up_axis": (st.integers(0, 2), _ANY_ENUM),
    "nominal_fps": (st.floats(1e-3, 1000) | st.just(1000.0), _ANY_FLOAT),
    "density": (st.floats(-100, 100), _ANY_FLOAT),
    "temperature": (st.floats(0, 100) | st.just(0.0), _ANY_FLOAT),
    "genre_strength": (st.floats(0, 100) | st.just(100.0), _ANY_FLOAT),
    "genre": (st.sampled_from(["", "any", "rock", "funk", "hiphop", "jazz", "latin", "afrocuban",
                               "punk", "neworleans", "soul"]),
              st.one_of(st.sampled_from(["Rock", " rock", "disco", "x" * 32, "x" * 33,
                                         "rock\x00", "é", "any "]),
                        st.text(max_size=40),
                        st.integers(0, 100_000).map(lambda n: "g" * n))),
    "seed": (st.integers(0, 10) | st.integers(0, INT64_MAX), st.integers(INT64_MIN, INT64_MAX)),
    "lead_time_us": (st.sampled_from([1, 15_000, 100_000, 2_000_000]) | st.integers(1, 2_000_000),
                     st.sampled_from([0, -1, 2_000_001]) | st.integers(INT64_MIN, INT64_MAX)),
}


@st.composite
def configs(draw):
    """A SessionConfig with any subset of its fields set: each to a value the contract allows
    (seven times in eight), or to anything its type holds."""
    fields = {}
    for name, (allowed, anything) in _CONFIG_FIELDS.items():
        if draw(st.booleans()):
            fields[name] = draw(anything if draw(st.integers(0, 7)) == 0 else allowed)
    return pb.SessionConfig(**fields)


def config_problems(c: pb.SessionConfig) -> set:
    """The fields of ``c`` the proto's contract forbids (the oracle), as the server reads them."""
    bad = set()
    if c.layout not in LAYOUTS:
        bad.add("layout")
    if c.coordinate_space not in pb.CoordinateSpace.values():
        bad.add("coordinate_space")
    if c.mode not in pb.DrumMode.values():
        bad.add("mode")
    if c.handedness not in pb.Handedness.values():
        bad.add("handedness")
    if c.up_axis not in pb.UpAxis.values():
        bad.add("up_axis")
    if c.HasField("nominal_fps") and not (math.isfinite(c.nominal_fps)
                                          and 0 < c.nominal_fps <= 1000):
        bad.add("nominal_fps")
    if c.seed < 0:
        bad.add("seed")
    if c.HasField("density") and not (math.isfinite(c.density)
                                      and abs(c.density) <= MAX_SETTING):
        bad.add("density")
    for name in ("temperature", "genre_strength"):
        v = getattr(c, name)
        if c.HasField(name) and not (math.isfinite(v) and 0 <= v <= MAX_SETTING):
            bad.add(name)
    if c.HasField("lead_time_us") and not 0 < c.lead_time_us <= 2_000_000:
        bad.add("lead_time_us")
    if c.genre and c.genre not in GENRES:
        bad.add("genre")
    if c.layout in LAYOUTS and LAYOUTS[c.layout][2] and c.coordinate_space in IMAGE_SPACES:
        bad.add("coordinate_space")   # a 3D layout needs a length unit
    return bad


@settings(FUZZ, max_examples=300)
@given(config=configs())
def test_fuzzed_configs_are_served_or_refused_naming_the_field(server, channel, config):
    watch = _Watch(server, channel)
    problems = config_problems(config)
    size = len(pb.ClientMessage(config=config).SerializeToString())
    frames = []
    if not problems and size <= MAX_MESSAGE_BYTES:
        # Served: 2.5 s, long enough for beats and hits (the drum settings act there).
        frames = [_frame(i * 33_333, _motion(config.layout, i, space=config.coordinate_space), i)
                  for i in range(75)]
    out, code, details = _session(channel, [pb.ClientMessage(config=config), *frames])
    _check_status(code, details)
    if size > MAX_MESSAGE_BYTES:
        assert code == grpc.StatusCode.RESOURCE_EXHAUSTED, (code, details)
    elif problems:
        assert code == grpc.StatusCode.INVALID_ARGUMENT, (problems, code, details)
        assert _names(details, problems), (problems, details)
    else:
        assert code == OK, (config, details)
        _check_ok_stream(out, len(frames))
    watch.check()


# -- frames -----------------------------------------------------------------------------------

_SPECIAL_VALUES = [float("nan"), float("inf"), float("-inf"), 1e39, -1e39, 3e38, -3e38, 1e20,
                   -1e20, 1e-45, -0.0, 0.0, -5.0, 7.0]
_SPECIAL_DELTAS = [0, -1, 1, -33_333, 16_667, 1_000_000, MAX_GAP_US - 1, MAX_GAP_US,
                   MAX_GAP_US + 1, 2_500_000, MAX_TIME_US, INT64_MAX]
#: How far the fuzzed frames' clock may jump forward in one stream, in all [us]. The server
#: paces a stream that runs ahead of real time while its loop is (or lately was) contended
#: (each step counting at most the 2-s restart gap), so a stream spanning S s of its clock may
#: take S s: a bounded span keeps every example well inside its deadline, whatever the
#: machine's load (test_a_far_jump_in_stream_time_never_stalls_the_stream: a far jump).
JUMP_BUDGET_US = 3_000_000
_SPECIAL_TIMES = [0, -1, 1, INT64_MIN, INT64_MAX, MAX_TIME_US, MAX_TIME_US + 1, -MAX_TIME_US,
                  -MAX_TIME_US - 1, INT64_MAX - 1_000_000]


@st.composite
def frame_streams(draw):
    """A valid config and up to 60 frames of a bouncing body, some of them damaged: wrong
    counts, non-finite or huge values, missing or piled-up joints, odd timestamps (gaps that
    restart the engine, repeated, backwards, beyond +-2^62 us)."""
    layout = draw(st.sampled_from(sorted(LAYOUTS)))
    n_joints, per, is_3d = LAYOUTS[layout]
    spaces = [0, 3, 4] if is_3d else [0, 1, 2, 3, 4]
    config = pb.SessionConfig(
        layout=layout, coordinate_space=draw(st.sampled_from(spaces)),
        mode=draw(st.sampled_from([0, 1, 2])), genre=draw(st.sampled_from(["", "rock", "jazz"])),
        seed=draw(st.integers(0, INT64_MAX)), handedness=draw(st.sampled_from([0, 1, 2])),
        up_axis=draw(st.sampled_from([0, 1, 2])))
    if draw(st.booleans()):
        config.lead_time_us = draw(st.sampled_from([1, 15_000, 100_000, 2_000_000]))
    t = draw(st.one_of(st.integers(-10 ** 7, 10 ** 7), st.sampled_from(_SPECIAL_TIMES),
                       st.integers(INT64_MIN, INT64_MAX)))
    # How often a frame's clock or keypoints are odd in this stream [%].
    odd_clock, odd_values = draw(st.sampled_from([0, 0, 2, 10, 40])), draw(st.sampled_from(
        [0, 5, 20, 60]))
    frames = []
    budget = JUMP_BUDGET_US
    for i in range(draw(st.integers(0, 60))):
        if i:
            how = draw(st.integers(0, 99)) < odd_clock and draw(st.integers(1, 3))
            if not how:
                delta = 33_333
            elif how == 1:
                delta = draw(st.sampled_from(_SPECIAL_DELTAS))
            elif how == 2:
                delta = draw(st.integers(-10 ** 6, 3 * 10 ** 6))
            else:  # anywhere the server must refuse: backwards, or beyond +-2^62
                delta = draw(st.one_of(st.integers(INT64_MIN, t),
                                       st.integers(MAX_TIME_US + 1, INT64_MAX))) - t
            if 33_333 < delta and t + delta <= MAX_TIME_US:  # a jump the server takes
                if delta > budget:
                    delta = 33_333
                budget -= delta
            t = min(max(t + delta, INT64_MIN), INT64_MAX)
        kp = _motion(layout, i, space=config.coordinate_space)
        damage = draw(st.integers(0, 99)) < odd_values and draw(st.integers(7, 13))
        if damage == 7:    # one value special
            kp[draw(st.integers(0, len(kp) - 1))] = draw(st.sampled_from(_SPECIAL_VALUES))
        elif damage == 8 and draw(st.integers(0, 3)) == 0:  # a wrong count
            k = draw(st.integers(1, per * 3))
            kp = kp[:-k] if draw(st.booleans()) else kp + [0.5] * k
        elif damage == 9:  # every joint missed
            kp[per - 1::per] = [0.0] * n_joints
        elif damage == 10:  # all zeros
            kp = [0.0] * len(kp)
        elif damage == 11:  # every joint at one point: a body of size 0
            kp = kp[:per] * n_joints
        elif damage == 12:  # confidences outside [0, 1]
            kp[per - 1::per] = draw(st.lists(st.sampled_from([-5.0, 2.0, 1e30, -0.0]),
                                             min_size=n_joints, max_size=n_joints))
        elif damage == 13:  # huge but finite coordinates everywhere
            kp = [3e38 if (v % per) != per - 1 else 1.0 for v in range(len(kp))]
        frames.append(_frame(t, kp, i))
    return config, frames


def frame_problem(frames, expected_values: int):
    """The oracle: (index of the first frame the contract forbids, words the refusal may use),
    or (None, None) when it allows them all."""
    last = None
    for i, message in enumerate(frames):
        frame = message.frame
        words = []
        values = np.asarray(frame.keypoints, dtype=np.float64)  # float32 already, as sent
        if values.size != expected_values:
            words.append("keypoint")
        elif not np.isfinite(values).all():
            words.append("joint")
        t = frame.timestamp_us
        if abs(t) > MAX_TIME_US or (last is not None and t <= last):
            words.append("timestamp")
        if words:
            return i, words
        last = t
    return None, None


@settings(FUZZ, max_examples=200)
@given(stream=frame_streams())
def test_fuzzed_frames_are_served_or_refused_at_the_first_bad_one(server, channel, stream):
    watch = _Watch(server, channel)
    config, frames = stream
    n_joints, per, _ = LAYOUTS[config.layout]
    bad, words = frame_problem(frames, n_joints * per)
    out, code, details = _session(channel, [pb.ClientMessage(config=config), *frames])
    _check_status(code, details)
    if bad is None:
        assert code == OK, details
        _check_ok_stream(out, len(frames))
        times = [m.frame.timestamp_us for m in frames]
        gaps = sum(b - a > MAX_GAP_US for a, b in zip(times, times[1:]))
        assert out[-1].stats.restarts == gaps
    else:
        assert code == grpc.StatusCode.INVALID_ARGUMENT, (bad, words, code, details)
        assert f"frame {bad}" in details and _names(details, words + ["timestamps"]), (
            bad, words, details)
        assert out[0].HasField("accepted") and out[-1].stats.final
        assert (out[-1].stats.frames_received, out[-1].stats.frames_processed) == (bad + 1, bad)
    watch.check()


def test_a_far_jump_in_stream_time_never_stalls_the_stream(live_server):
    """Found by the frame fuzzing (DEADLINE_EXCEEDED after 30 s on a busy machine: pacing
    waited for the whole jump), made deterministic: contend the loop (8 streams of frames
    1.99 s apart, ~25x the work of a frame each), then a stream whose clock jumps to 2^62 us
    and sends one more frame. Pacing now counts a step as at most the restart gap."""
    server = live_server("--idle-timeout-s", "3", name="pacing")
    with grpc.insecure_channel(server.target) as channel:
        stub = pb_grpc.IbeatStub(channel)
        # One frame 1.99 s after the first: ~25x the engine work of a frame.
        contend = [pb.ClientMessage(config=pb.SessionConfig())] + [
            _frame(i * 1_990_000, _motion(pb.SKELETON_LAYOUT_COCO17, i), i) for i in range(2)]
        worst_lag_us = 0
        for _ in range(5):  # 8 such streams at once: the loop runs their frames in turn
            threads = [threading.Thread(target=_session, args=(channel, contend))
                       for _ in range(8)]
            for t in threads:
                t.start()
            while any(t.is_alive() for t in threads):
                lag = stub.GetInfo(pb.GetInfoRequest(), timeout=TIMEOUT_S).loop_lag_us
                worst_lag_us = max(worst_lag_us, lag)
                time.sleep(0.02)
            if worst_lag_us >= 25_000:  # contended: pacing is on for the next 10 s
                break
        else:
            pytest.skip(f"could not make the server's loop lag 25 ms ({worst_lag_us} us)")
        times = [0, 33_333, MAX_TIME_US - 33_333, MAX_TIME_US]
        t0 = time.monotonic()
        out, code, details = _session(channel, [pb.ClientMessage(config=pb.SessionConfig())] + [
            _frame(t, _motion(pb.SKELETON_LAYOUT_COCO17, i), i) for i, t in enumerate(times)],
            timeout_s=10)
        took_s = time.monotonic() - t0
    # Served (the jump restarts the engine: a fresh stream), or at worst ended by the server
    # within its idle timeout (3 s); not held until the client's own deadline (10 s).
    assert took_s < 8, f"{code.name} {details!r} after {took_s:.1f} s"
    assert code == OK and out[-1].stats.restarts == 1, (code, details)
    assert server.alive()


# -- raw bytes --------------------------------------------------------------------------------

def _valid_stream_bytes():
    config = pb.ClientMessage(config=pb.SessionConfig(genre="rock", lead_time_us=50_000))
    frames = [_frame(i * 33_333, _motion(pb.SKELETON_LAYOUT_COCO17, i), i) for i in range(3)]
    return [m.SerializeToString() for m in [config, *frames]]


@st.composite
def mutated_streams(draw):
    """A valid stream's bytes with one message flipped, cut, spliced or grown."""
    messages = _valid_stream_bytes()
    k = draw(st.integers(0, len(messages) - 1))
    data = bytearray(messages[k])
    for _ in range(draw(st.integers(1, 4))):
        how = draw(st.sampled_from(["flip", "cut", "insert", "delete", "byte"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if how == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif how == "cut":
            del data[at:]
        elif how == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=12))
        elif how == "delete" and data:
            del data[at:at + draw(st.integers(1, 8))]
        elif how == "byte" and data:
            data[at] = draw(st.integers(0, 255))
    messages[k] = bytes(data)
    return messages[:draw(st.integers(k + 1, len(messages)))]


def _nested_groups(depth: int) -> bytes:
    """An unknown field 15 of ``depth`` nested groups (start-group 0x7b, end-group 0x7c)."""
    return b"\x7b" * depth + b"\x7c" * depth


_RAW = st.one_of(
    st.lists(st.binary(max_size=300), max_size=5),
    mutated_streams(),
    st.lists(st.sampled_from([
        b"", b"\x00", b"\xff" * 10, b"\x0a", b"\x0a\xff\xff\xff\xff\x0f",   # a length past the end
        b"\x0a\x04\x2a\x02\xff\xfe",                                        # genre: invalid UTF-8
        b"\x12\x05\x12\x03\x00\x00\x80",                                    # keypoints cut short
        b"\x1a\x00", b"\x0a\x00", b"\x0a\x00\x0a\x00",                      # end; config; config x2
        _nested_groups(50), _nested_groups(101), _nested_groups(20_000),
        b"\x00" * (MAX_MESSAGE_BYTES - 8), b"\x00" * (MAX_MESSAGE_BYTES + 1),
        b"\x0a\x00" + b"\x12\x00" * 5000, b"\xf8\xff\xff\xff\x0f\x01",      # field 2^29-1
    ]), min_size=1, max_size=4))


#: What a refusal of raw bytes may name: the message, its parts, a field.
_RAW_NAMES = ["ClientMessage", "config", "frame", "end", "keypoint", "joint", "timestamp",
              "timestamps", "skeleton layout", "drum mode",
              *pb.SessionConfig.DESCRIPTOR.fields_by_name]


@settings(FUZZ, max_examples=400)
@given(messages=_RAW)
def test_fuzzed_bytes_are_refused_cleanly(server, channel, messages):
    watch = _Watch(server, channel)
    out, code, details = _session(channel, messages, raw=True)
    _check_status(code, details)
    if code in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION):
        assert _names(details, _RAW_NAMES), details
    if messages and code != grpc.StatusCode.RESOURCE_EXHAUSTED:
        try:
            first = pb.ClientMessage.FromString(messages[0])
        except Exception:  # DecodeError; the server must say so, not fail
            assert code == grpc.StatusCode.INVALID_ARGUMENT, (code, details)
            assert "ClientMessage" in details, details
        else:
            if first.WhichOneof("msg") != "config":
                assert code == grpc.StatusCode.FAILED_PRECONDITION, (code, details)
    if code == OK:
        assert out[0].HasField("accepted") and out[-1].stats.final
    watch.check()


# -- the WebSocket transport ------------------------------------------------------------------

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                max_size=4),
    max_leaves=12)
_CONFIG_KEYS = [*pb.SessionConfig.DESCRIPTOR.fields_by_name,
                *(f.json_name for f in pb.SessionConfig.DESCRIPTOR.fields)]
_FRAME_KEYS = ["timestampUs", "timestamp_us", "keypoints", "frameId", "frame_id"]
_JSON_VALUES = st.one_of(
    _JSON, st.sampled_from(["SKELETON_LAYOUT_HEAD_HANDS", "DRUM_MODE_MONO", "rock", "NaN",
                            "Infinity", "-1", "9223372036854775808", 1e400, -1, 2 ** 64, 0.5]),
    st.lists(st.floats(allow_nan=False, allow_infinity=False) | st.integers() | st.text(max_size=3),
             max_size=60))


def _shaped(kind: str, keys):
    return st.dictionaries(st.sampled_from(keys), _JSON_VALUES, max_size=4).map(
        lambda body: json.dumps({kind: body}))


_WS_MESSAGE = st.one_of(
    st.text(max_size=200),
    _JSON.map(json.dumps),
    _shaped("config", _CONFIG_KEYS),
    _shaped("frame", _FRAME_KEYS),
    st.sampled_from(['{"end": {}}', '{"config": {}}', '{"end": {}, "config": {}}', "{}", "null",
                     '{"frame": {"keypoints": [' + ",".join(["1"] * 51) + "]}}",
                     '{"config": {"genre": "' + "x" * 70_000 + '"}}', "[" * 10_000,
                     "x" * (4 * MAX_MESSAGE_BYTES + 1)]),
    st.binary(max_size=50))


@settings(FUZZ, max_examples=300)
@given(messages=st.lists(_WS_MESSAGE, min_size=1, max_size=4), end=st.booleans())
def test_fuzzed_websocket_text_is_refused_cleanly(server, channel, messages, end):
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    watch = _Watch(server, channel)
    url = f"ws://127.0.0.1:{server.ws_port}/ibeat.v1.Ibeat/Session"
    with connect(url, open_timeout=TIMEOUT_S, close_timeout=TIMEOUT_S, max_size=None) as ws:
        try:
            for m in messages + (['{"end": {}}'] if end else []):
                ws.send(m)
            if not end:
                ws.close()  # gone without "end": nothing to answer
        except ConnectionClosed:
            pass  # the server ended the stream early: its close code says why
        try:
            while True:
                ws.recv(timeout=TIMEOUT_S)
        except ConnectionClosed:
            pass
        code, reason = ws.close_code, ws.close_reason
    event(f"closed {code}")
    if end or code != 1000:
        assert code in (1000, 4003, 4008, 4009), (code, reason)
        if code != 1000:
            assert reason.split(":")[0] in ("INVALID_ARGUMENT", "RESOURCE_EXHAUSTED",
                                            "FAILED_PRECONDITION"), reason
            assert len(reason.encode()) <= 123
    watch.check()


# -- authentication ---------------------------------------------------------------------------

TOKEN = "fuzz-token-0123456789"


@pytest.fixture(scope="module")
def auth_server(live_server, tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz-auth") / "tokens"
    path.write_text(f"{TOKEN}\n")
    running = live_server("--ws-port", "0", "--auth-token-file", str(path), name="fuzz-auth")
    yield running
    assert running.stop(30) == 0
    _assert_clean_log(running.log())
    assert TOKEN not in running.log()


_HEADER = st.one_of(
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7e), max_size=60),
    st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7e), max_size=40).map(
        lambda s: "Bearer " + s),
    st.sampled_from(["Bearer " + TOKEN, "Bearer " + TOKEN, "Bearer  " + TOKEN,  # the token
                     "Bearer", "Bearer ", "bearer " + TOKEN, "Bearer  " + TOKEN + "x",
                     "Bearer " + TOKEN[:-1], "Basic " + TOKEN, TOKEN, "Bearer " + TOKEN * 2]))


@settings(FUZZ, max_examples=60)
@given(header=st.one_of(st.none(), _HEADER), rpc=st.sampled_from(["info", "session", "subscribe"]))
def test_fuzzed_tokens_are_unauthenticated(auth_server, header, rpc):
    server = auth_server
    watch = _Watch(server)
    metadata = [] if header is None else [("authorization", header)]
    expect_in = header is not None and header.startswith("Bearer ") and (
        header[len("Bearer "):].strip() == TOKEN)
    with grpc.insecure_channel(server.target) as ch:
        stub = pb_grpc.IbeatStub(ch)
        try:
            if rpc == "info":
                stub.GetInfo(pb.GetInfoRequest(), metadata=metadata, timeout=TIMEOUT_S)
            elif rpc == "session":
                list(stub.Session(iter([pb.ClientMessage(config=pb.SessionConfig())]),
                                  metadata=metadata, timeout=TIMEOUT_S))
            else:
                list(stub.Subscribe(pb.SubscribeRequest(), metadata=metadata, timeout=TIMEOUT_S))
            code, details = OK, ""
        except grpc.RpcError as e:
            code, details = e.code(), e.details() or ""
    event(f"ended {code.name}")
    if expect_in:
        # In: the RPC runs (Subscribe on a server without a source: FAILED_PRECONDITION).
        assert code == (grpc.StatusCode.FAILED_PRECONDITION if rpc == "subscribe" else OK), (
            code, details)
    else:
        assert code == grpc.StatusCode.UNAUTHENTICATED, (header, code, details)
        assert "token" in details and len(details) <= MAX_DETAILS and TOKEN not in details
    watch.check()


def test_the_websocket_refuses_a_wrong_token(auth_server):
    """A WebSocket without the token is closed at once with 4016 UNAUTHENTICATED."""
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect
    url = f"ws://127.0.0.1:{auth_server.ws_port}/ibeat.v1.Ibeat/Session"
    for header in ("", "Bearer nope", "Bearer " + TOKEN[:-1], "bearer " + TOKEN):
        with connect(url, open_timeout=TIMEOUT_S,
                     additional_headers={"Authorization": header} if header else None) as ws:
            with pytest.raises(ConnectionClosed):
                ws.send('{"config": {}}')
                ws.recv(timeout=TIMEOUT_S)
        assert ws.close_code == 4016, (header, ws.close_code, ws.close_reason)
        assert ws.close_reason.startswith("UNAUTHENTICATED") and TOKEN not in ws.close_reason
    assert auth_server.alive()


def test_sigterm_after_the_fuzzing_is_clean(server, channel):
    """Last: the fuzzed server still stops gracefully (exit 0, 'stopped', no traceback)."""
    _server_is_fine(server, channel)
    server.signal(signal.SIGTERM)
    assert server.proc.wait(30) == 0
    assert "stopped" in server.log().splitlines()[-1]
    _assert_clean_log(server.log())
