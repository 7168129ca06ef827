"""Many streams' network steps in one call.

A stream's work on one frame is written once, as a generator of *steps*: it yields each
network step it needs (a :class:`NetworkCall`), receives the step's result, and returns
what the frame produced. :func:`run_alone` drives one such generator, every step a call
of its own (offline rendering, evaluation, one stream). :func:`run_together` drives many
in lockstep: in each round every network gets all the steps asked of it at once, through
its ``step_batch`` (``<method>_batch`` for another method) if it has one, so a server
holding many streams pays one onnxruntime call per network and round instead of one per
stream. A network's batch method must give each call exactly what the single one gives it
alone; then a stream's results do not depend on which streams it was batched with.

Examples
--------
>>> class Double:
...     def step(self, x):
...         return 2 * x
...     def step_batch(self, calls):
...         return [2 * x for (x,) in calls]
>>> def frame(x):
...     y = yield NetworkCall(Double(), (x,))
...     z = yield NetworkCall(Double(), (y,))
...     return z + 1
>>> run_alone(frame(1)), run_together([frame(1), frame(10)])
(5, [5, 41])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generator, NamedTuple, TypeVar

__all__ = ["NetworkCall", "Steps", "StepFailed", "run_alone", "run_together"]

T = TypeVar("T")


class NetworkCall(NamedTuple):
    """One network step a stream asks for: ``network.<method>(*args)``.

    Many streams' calls of one network and method go as one ``<method>_batch(calls)``
    where the network has it (``step_batch`` for ``step``). A tuple: a stream makes
    several a frame.
    """

    network: Any
    args: tuple
    method: str = "step"


#: A frame's work: yields :class:`NetworkCall`, is sent each call's result, returns ``T``.
Steps = Generator[NetworkCall, Any, T]


@dataclass(frozen=True)
class StepFailed:
    """What :func:`run_together` gives for a generator that raised: the exception."""

    error: Exception


def _step(network, method: str, calls: list) -> list:
    """``network``'s results for ``calls`` (argument tuples) of ``method``: one
    ``<method>_batch`` call for two or more if it has one, else ``method`` call by call."""
    batch = getattr(network, method + "_batch", None) if len(calls) > 1 else None
    if batch is not None:
        return batch(calls)
    one = getattr(network, method)
    return [one(*a) for a in calls]


def run_alone(steps: Steps[T]) -> T:
    """Drive one generator of steps to its end, each step the network's single call
    (which its batch method equals row for row); exceptions propagate."""
    try:
        call = next(steps)
        while True:
            call = steps.send(_step(call.network, call.method, [call.args])[0])
    except StopIteration as stop:
        return stop.value


def run_together(all_steps: list[Steps]) -> list:
    """Drive generators of steps in lockstep, each network (and method) called once per round.

    Parameters
    ----------
    all_steps : list of generators
        One per stream; a stream must not appear twice (its steps follow one another).

    Returns
    -------
    list
        Each generator's return value, in order, or a :class:`StepFailed` with the
        exception it raised; one stream's failure does not stop the others.
    """
    results: list = [None] * len(all_steps)
    pending: dict[int, NetworkCall] = {}

    def advance(i: int, value=None, error: Exception | None = None):
        try:
            pending[i] = (all_steps[i].throw(error) if error is not None
                          else all_steps[i].send(value))
        except StopIteration as stop:
            results[i] = stop.value
            pending.pop(i, None)
        except Exception as e:
            results[i] = StepFailed(e)
            pending.pop(i, None)

    for i in range(len(all_steps)):
        advance(i)
    while pending:
        by_network: dict[tuple, list[int]] = {}
        for i, call in pending.items():
            by_network.setdefault((id(call.network), call.method), []).append(i)
        answers = {}
        for streams in by_network.values():
            first = pending[streams[0]]
            calls = [pending[i].args for i in streams]
            try:
                outs = _step(first.network, first.method, calls)
            except Exception as e:  # the network failed: each of its streams hears it
                answers.update((i, (None, e)) for i in streams)
            else:
                answers.update((i, (out, None)) for i, out in zip(streams, outs))
        for i, (out, error) in answers.items():
            advance(i, out, error)
    return results
