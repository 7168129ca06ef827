"""Errors of the camera and video front-end."""

from ibeat_core.errors import IbeatError

__all__ = ["SourceError"]


class SourceError(IbeatError, RuntimeError):
    """A camera or video that cannot be used; the message says why and what to do."""
