"""A node source: its collector name and its reader; and how a failed read is told apart, absent or broken."""

from __future__ import annotations

import errno
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from exporter.node.paths import NodePaths

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Source(Generic[T]):
    """One source of node readings: ``name`` is its ``collector`` label, ``read`` its reader.

    Readers are pure: ``read(paths)`` reads the files under ``paths`` and returns a frozen
    value, or raises ``OSError`` (absent, unreadable) or ``CorruptFile``.
    """

    name: str
    read: Callable[[NodePaths], T]
    unchanged: Callable[[NodePaths, T], bool] | None = None
    """Whether the last value read still holds (a file's identity unchanged), checked instead of
    reading again; ``None``: read every time (procfs counters always change)."""

    def refresh(self, paths: NodePaths, previous: T | None) -> T:
        """Read the source again, or keep ``previous`` (read under the same ``paths``) while it holds."""
        if previous is not None and self.unchanged is not None and self.unchanged(paths, previous):
            return previous
        return self.read(paths)


_ABSENT = frozenset({errno.ENOENT, errno.ENOTDIR, errno.EOPNOTSUPP, errno.ENOTSUP})


def is_absent(exc: BaseException) -> bool:
    """The source does not exist on this node (no conntrack module, no PSI, no systemd-resolved).

    That is "no data", not a failure. PSI compiled in but disabled (``psi=0``)
    answers reads with EOPNOTSUPP, which counts as absent too.
    """
    return isinstance(exc, OSError) and exc.errno in _ABSENT


def describe(exc: BaseException) -> str:
    """``No such file or directory: /host/proc/1/net/stat/nf_conntrack``, or the parse error."""
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    return str(exc) or type(exc).__name__
