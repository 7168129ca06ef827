"""Exceptions raised by ibeat.

Every check on caller input raises :class:`ParameterError` with the offending
shape or value in the message, never a bare ``assert``.
"""

__all__ = ["IbeatError", "ParameterError"]


class IbeatError(Exception):
    """Base class of every error ibeat raises on purpose."""


class ParameterError(IbeatError, ValueError):
    """An argument has the wrong shape, type, unit or value."""
