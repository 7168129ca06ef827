"""Input checks shared across the core; each raises ParameterError naming the offence."""

from __future__ import annotations

import numpy as np

from .errors import ParameterError

__all__ = ["as_1d", "valid_events"]


def as_1d(values, name: str) -> np.ndarray:
    """``values`` as a 1-D float64 array, or ParameterError.

    Examples
    --------
    >>> as_1d([1, 2], "onsets_s")
    array([1., 2.])
    """
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"{name} must be numeric, got {values!r}") from exc
    if arr.ndim != 1:
        raise ParameterError(f"{name} must be 1-D, got shape {arr.shape}")
    return arr


def valid_events(onsets_s, values, velocities, *, values_name: str):
    """Check a list of note events: three 1-D arrays of one length, finite onsets [s].

    Returns
    -------
    (onsets_s, values, velocities) : three float64 arrays of shape (n,)
    """
    onsets = as_1d(onsets_s, "onsets_s")
    vals = as_1d(values, values_name)
    vel = as_1d(velocities, "velocities")
    if not (onsets.shape == vals.shape == vel.shape):
        raise ParameterError(
            f"onsets_s, {values_name} and velocities must have one length, got "
            f"{onsets.shape}, {vals.shape}, {vel.shape}")
    if not np.all(np.isfinite(onsets)):
        raise ParameterError("onsets_s must be finite")
    return onsets, vals, vel
