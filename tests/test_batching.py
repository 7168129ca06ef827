"""Many streams' network steps in one call (ibeat_core.batching): same results as alone."""

import copy
import time
from dataclasses import replace

import numpy as np
import pytest

from ibeat_core.batching import NetworkCall, StepFailed, run_alone, run_together
from ibeat_core.directogram import DirectogramTracker, motion_bins
from ibeat_core.kinematic import FluxTracker, KinematicConfig, flux_step
from ibeat_core.session import Session, SessionConfig
from ibeat_core.stream import EngineStream


class Counting:
    """A network that adds one, recording the size of each call; without ``batched`` it
    offers no step_batch (the drivers then call step once per stream)."""

    def __init__(self, batched=True):
        self.calls = []
        if not batched:
            self.step_batch = None

    def step(self, x):
        self.calls.append(1)
        return x + 1

    def step_batch(self, calls):
        self.calls.append(len(calls))
        return [x + 1 for (x,) in calls]


def _frame(network, x, n_steps):
    for _ in range(n_steps):
        x = yield NetworkCall(network, (x,))
    return x


@pytest.mark.parametrize("batched", [True, False])
def test_together_gives_what_alone_gives_in_one_call_per_round(batched):
    net = Counting(batched)
    out = run_together([_frame(net, 0, 3), _frame(net, 10, 1), _frame(net, 20, 0)])
    assert out == [3, 11, 20] == [run_alone(_frame(Counting(), x, n))
                                  for x, n in ((0, 3), (10, 1), (20, 0))]
    # Round 1 has two streams' steps, rounds 2 and 3 one: three calls, or four one by one.
    assert net.calls == ([2, 1, 1] if batched else [1, 1, 1, 1])


def test_a_failing_stream_or_network_fails_only_its_own():
    net, broken = Counting(), Counting()
    broken.step_batch = None
    broken.step = lambda x: 1 / 0

    def fails_after_one_step():
        yield NetworkCall(net, (0,))
        raise ValueError("bad frame")

    out = run_together([fails_after_one_step(), _frame(net, 5, 2), _frame(broken, 0, 1)])
    assert isinstance(out[0], StepFailed) and str(out[0].error) == "bad frame"
    assert out[1] == 7
    assert isinstance(out[2], StepFailed) and isinstance(out[2].error, ZeroDivisionError)
    with pytest.raises(ValueError, match="bad frame"):
        run_alone(fails_after_one_step())


def test_sessions_batched_together_match_each_session_alone(networks, aist_clip):
    """The shipped networks compute every row of a batch as they would alone, so streams
    batched in changing company (as a server's are) give bit for bit the drums and beats
    they give alone."""
    t_s, kp = aist_clip.timestamps_s[:240], aist_clip.keypoints[:240]
    t_us = np.round(np.asarray(t_s) * 1e6).astype(np.int64)
    configs = [SessionConfig(seed=s, genre=g, mode=m)
               for s, g, m in ((0, "any", "poly"), (1, "rock", "poly"), (2, "jazz", "mono"),
                               (3, "any", "poly"), (4, "funk", "poly"))]
    sizes = []

    class CountedDrumGen:
        """The shipped DrumGenNet, recording the size of each batch of beats."""

        def __getattr__(self, name):
            return getattr(networks.drumgen, name)

        def logits_batch(self, calls):
            sizes.append(len(calls))
            return networks.drumgen.logits_batch(calls)

    nets = replace(networks, drumgen=CountedDrumGen())
    alone = [EngineStream(Session(nets, c)) for c in configs]
    together = [EngineStream(Session(nets, c)) for c in configs]
    rng = np.random.default_rng(0)
    expected, got = [[] for _ in configs], [[] for _ in configs]
    for i in range(len(t_us)):
        for k, stream in enumerate(alone):
            expected[k].append(stream.push(t_us[i] + 7_000 * k, kp[i], frame_id=i))
        # Batches of changing size and membership, as frames arrive at a server.
        order = rng.permutation(len(configs))
        cut = int(rng.integers(1, len(configs) + 1))
        for group in (order[:cut], order[cut:]):
            steps = [together[k].push_steps(t_us[i] + 7_000 * k, kp[i], frame_id=i)
                     for k in group]
            for k, step in zip(group, run_together(steps)):
                got[k].append(step)
    n_events = sum(len(s.events) for steps in expected for s in steps)
    assert n_events > 40
    assert max(sizes) > 1  # some beats' drums were generated together
    assert got == expected


def _assert_same(a, b):
    """Equal bit for bit, through tuples of arrays and floats."""
    if isinstance(a, tuple):
        assert isinstance(b, tuple) and len(a) == len(b)
        for x, y in zip(a, b):
            _assert_same(x, y)
    else:
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("which", ["beat", "style"])
def test_each_row_of_a_network_batch_is_what_the_network_gives_alone(networks, which):
    """VisBeatNet and MuStyleNet, batches of 1 to 17 streams in any order, 30 frames of
    random input: bit for bit the single-stream result (an in-graph Log broke this once:
    onnxruntime rounds it differently by where a row falls in the batch)."""
    net = getattr(networks, which)
    assert net.step_batch([]) == []
    rng = np.random.default_rng(1)
    n = 17
    states = [net.initial_state() for _ in range(n)]
    for _ in range(30):
        if which == "beat":
            calls = [(rng.gamma(1.0, 2.0, 18), float(rng.random()), st) for st in states]
        else:
            calls = [(float(rng.random()), st) for st in states]
        alone = [net.step(*c) for c in calls]
        order = rng.permutation(n)
        size = int(rng.integers(1, n + 1))
        for group in (order[:size], order[size:]):
            for k, out in zip(group, net.step_batch([calls[k] for k in group])):
                _assert_same(out, alone[k])
        states = [out[-1] for out in alone]


def test_each_row_of_a_drumgen_batch_is_what_it_gives_alone(networks):
    """DrumGenNet (bar-aware and the paper's), batches of 1 to 17 beats in any order: bit for
    bit the logits of each beat alone; an empty batch is empty."""
    rng = np.random.default_rng(2)
    for net in (networks.drumgen, networks.drumgen_paper):
        assert net.logits_batch([]) == []
        bar = (lambda: (rng.random(8),)) if net.bar_aware else (lambda: ())
        calls = [(rng.random(12), (rng.random((12, 9)) < 0.2).astype(np.float32),
                  int(rng.integers(10))) + bar() for _ in range(17)]
        alone = [net.logits(*c) for c in calls]
        for _ in range(5):
            order = rng.permutation(len(calls))
            size = int(rng.integers(1, len(calls) + 1))
            for group in (order[:size], order[size:]):
                for k, out in zip(group, net.logits_batch([calls[k] for k in group])):
                    np.testing.assert_array_equal(out, alone[k])
        # A graph exported before the batch axis (batch fixed at 1) gets its beats one by one.
        one_at_a_time = copy.copy(net)
        one_at_a_time._any_batch = False
        sizes = []

        class Model:
            def run_float32(self, feed, outputs=None):
                sizes.append(len(feed["style"]))
                return net.model.run_float32(feed, outputs)

        one_at_a_time.model = Model()
        for out, expected in zip(one_at_a_time.logits_batch(calls), alone):
            np.testing.assert_array_equal(out, expected)
        assert sizes == [1] * len(calls)


def test_each_row_of_a_front_end_batch_is_what_the_stream_gets_alone():
    """The directogram's binning and the flux filter, batches of 2 to 40 streams' frames with
    missing joints (NaN), first frames (no last filtered row) and two skeleton sizes: bit
    for bit what each frame gets alone."""
    rng = np.random.default_rng(4)
    bins, flux = motion_bins(18), flux_step(KinematicConfig())
    assert bins is motion_bins(18) and flux is flux_step(KinematicConfig())  # shared: they meet
    for _ in range(200):
        n = int(rng.integers(2, 41))
        deltas = [rng.normal(size=(int(rng.choice([17, 21])), 2)) * 3 for _ in range(n)]
        for d in deltas:
            d[rng.random(len(d)) < 0.15] = np.nan
        for row, d in zip(bins.step_batch([(d,) for d in deltas]), deltas):
            np.testing.assert_array_equal(row, bins.step(d))
        calls = [(rng.gamma(1.0, 2.0, 18), rng.normal(size=(flux.order, 18)),
                  None if rng.random() < 0.2 else rng.gamma(1.0, 2.0, 18)) for _ in range(n)]
        for got, c in zip(flux.step_batch(calls), calls):
            _assert_same(got[1:], flux.step(*c)[1:])
            assert got[0] == flux.step(*c)[0]


def test_front_end_trackers_batched_follow_each_alone():
    """DirectogramTracker and FluxTracker of several streams run together frame after frame
    (their binning and filtering batched) give each stream's rows and flux exactly."""
    rng = np.random.default_rng(5)
    n, frames = 6, 40
    xy = np.cumsum(rng.normal(size=(n, frames, 17, 2)), axis=1)
    alone = [(DirectogramTracker(fps=30.0), FluxTracker()) for _ in range(n)]
    together = [(DirectogramTracker(fps=30.0), FluxTracker()) for _ in range(n)]

    def frame(trackers, pose):
        row = yield from trackers[0].process_frame_steps(pose, 2.0)
        return row, (yield from trackers[1].process_frame_steps(row))

    for t in range(frames):
        got = run_together([frame(together[k], xy[k, t]) for k in range(n)])
        for k in range(n):
            row = alone[k][0].process_frame(xy[k, t], 2.0)
            expected = (row, alone[k][1].process_frame(row))
            np.testing.assert_array_equal(got[k][0], expected[0])
            assert got[k][1] == expected[1]


def test_the_servers_batcher_runs_one_turns_frames_together():
    """Frames handed over in one turn of the event loop run in one batch; each result is
    delivered (``then``) as soon as the batch is through, a failure only to its own stream."""
    import asyncio

    from ibeat_grpc.batcher import FrameBatcher

    net = Counting()

    def fails():
        yield NetworkCall(net, (0,))
        raise ValueError("bad frame")

    async def main():
        batcher, delivered = FrameBatcher(), []
        futures = [batcher.submit(_frame(net, 1, 2), then=lambda v: delivered.append(v) or v),
                   batcher.submit(fails()),
                   batcher.submit(_frame(net, 10, 1))]
        assert batcher.batches == 0  # nothing runs before this turn ends
        results = await asyncio.gather(*futures, return_exceptions=True)
        later = await batcher.submit(_frame(net, 5, 1))
        return batcher, delivered, results, later

    batcher, delivered, results, later = asyncio.run(main())
    assert delivered == [3] and results[0] == 3 and results[2] == 11 and later == 6
    assert isinstance(results[1], ValueError)
    assert (batcher.batches, batcher.frames) == (2, 4)
    assert net.calls == [3, 1, 1]  # rounds of the first batch: 3 streams, then 1; then the last


def _burn_cpu(seconds: float):
    """Spin until this thread has used ``seconds`` more of CPU time."""
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


class Burning:
    """A network that takes 10 ms of CPU time a call."""

    def step(self, x):
        _burn_cpu(0.01)
        return x


def test_the_servers_batcher_counts_the_engines_cpu_time_not_the_delivery():
    """``cpu_s`` (and each batch told to the observer) is the loop thread's CPU time in the
    engine; what ``then`` does with the result afterwards is not counted."""
    import asyncio

    from ibeat_grpc.batcher import FrameBatcher
    from ibeat_grpc.observer import StreamObserver

    class Told(StreamObserver):
        def __init__(self):
            self.batches = []

        def batch(self, frames, cpu_s):
            self.batches.append((frames, cpu_s))

    def frame():
        return (yield NetworkCall(Burning(), (1,)))

    async def main():
        told = Told()
        batcher = FrameBatcher(told)
        await asyncio.gather(*[batcher.submit(frame(), then=lambda v: _burn_cpu(0.05))
                               for _ in range(3)])
        return batcher, told

    batcher, told = asyncio.run(main())
    assert [frames for frames, _ in told.batches] == [3]
    assert batcher.cpu_s == told.batches[0][1]
    assert 0.03 <= batcher.cpu_s < 0.03 + 0.05  # three 10-ms steps; none of the 150-ms delivery


def test_the_servers_batcher_waits_its_window_for_more_frames():
    """With a window, frames handed over in later turns of the loop, within the window of the
    first, still run in one batch; none runs before the window is over."""
    import asyncio

    from ibeat_grpc.batcher import FrameBatcher

    net = Counting()

    async def main():
        loop = asyncio.get_running_loop()
        batcher = FrameBatcher(window_s=0.05)
        t0 = loop.time()
        first = batcher.submit(_frame(net, 1, 1))
        await asyncio.sleep(0.01)  # later turns, within the window
        assert batcher.batches == 0
        second = batcher.submit(_frame(net, 2, 1))
        results = await asyncio.gather(first, second)
        return batcher, results, loop.time() - t0

    batcher, results, waited_s = asyncio.run(main())
    assert results == [2, 3] and (batcher.batches, batcher.frames) == (1, 2)
    assert net.calls == [2] and waited_s >= 0.05
    with pytest.raises(ValueError, match="window_s"):
        FrameBatcher(window_s=-1.0)


def test_the_servers_batcher_waits_its_window_only_while_contended():
    """The server's batcher waits out its window only while its loop is contended; otherwise
    a frame runs with those of its turn."""
    import asyncio

    from ibeat_grpc.batcher import FrameBatcher

    net, contended = Counting(), [False]

    async def main():
        loop = asyncio.get_running_loop()
        batcher = FrameBatcher(window_s=0.05, contended=lambda: contended[0])
        t0 = loop.time()
        await batcher.submit(_frame(net, 1, 1))
        quiet_s = loop.time() - t0
        contended[0] = True
        t0 = loop.time()
        await batcher.submit(_frame(net, 1, 1))
        return quiet_s, loop.time() - t0

    quiet_s, busy_s = asyncio.run(main())
    assert quiet_s < 0.05 <= busy_s


def test_the_servers_batcher_waits_no_longer_once_every_stream_is_in():
    """Knowing how many streams may hand frames over, the batcher runs as soon as each has
    one in: three streams' frames in two turns run together at once, and a lone stream's
    frames never wait out the window."""
    import asyncio

    from ibeat_grpc.batcher import FrameBatcher

    net = Counting()

    async def main():
        loop = asyncio.get_running_loop()
        batcher = FrameBatcher(window_s=5.0, streams=lambda: 3)
        t0 = loop.time()
        first = [batcher.submit(_frame(net, x, 1)) for x in (1, 2)]
        await asyncio.sleep(0)
        results = await asyncio.gather(*first, batcher.submit(_frame(net, 3, 1)))
        lone = FrameBatcher(window_s=5.0, streams=lambda: 1)
        for x in range(20):  # a replay at full speed
            results.append(await lone.submit(_frame(net, x, 1)))
        return batcher, lone, results, loop.time() - t0

    batcher, lone, results, took_s = asyncio.run(main())
    assert results[:3] == [2, 3, 4] and (batcher.batches, batcher.frames) == (1, 3)
    assert results[3:] == list(range(1, 21)) and lone.batches == 20
    assert took_s < 1.0
