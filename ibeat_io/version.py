"""The installed ibeat's version, for ``--version`` and the server's ``GetInfo``."""

from __future__ import annotations

__all__ = ["package_version", "add_version_argument"]


def package_version() -> str:
    """The version of the installed ``ibeat`` distribution ("unknown" outside one)."""
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("ibeat")
    except PackageNotFoundError:
        return "unknown"


def add_version_argument(parser) -> None:
    """``--version``: print ``PROG VERSION`` and exit 0."""
    parser.add_argument("--version", action="version",
                        version=f"%(prog)s {package_version()}")
