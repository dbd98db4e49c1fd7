"""The one path helper every node file is read through.

The agent runs in a pod: the node's procfs is mounted at ``/host/proc`` and its
root file system at ``/host``; in tests both point at fixture trees. Readers
name files relative to these roots and never open an absolute path of their own.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass

MAX_FILE_BYTES = 1 << 20
"""No node file the readers use is near this size; a bigger one is read only this far."""
_MAX_LINKS = 8


@dataclass(frozen=True, slots=True)
class NodePaths:
    """Where the node's procfs and root file system are mounted in this process."""

    procfs: str = "/proc"
    rootfs: str = "/"

    def proc(self, *parts: str) -> str:
        """``proc("1", "net", "snmp")`` is ``<procfs>/1/net/snmp``."""
        return _joined(self.procfs, parts)

    def host(self, path: str) -> str:
        """A host path (``/etc/resolv.conf``) under the root, with symlinks kept inside the root.

        ``/etc/resolv.conf`` is often a symlink; an absolute target such as
        ``/run/systemd/resolve/stub-resolv.conf`` names a host path, so it is
        followed under ``rootfs`` too, never in this container's own tree.
        """
        current = path
        for _ in range(_MAX_LINKS):
            mounted = self._under_root(current)
            if not os.path.islink(mounted):  # an lstat: no exception for the common case
                return mounted  # not a link (or absent: the caller's open says so)
            try:
                target = os.readlink(mounted)
            except OSError:
                return mounted  # replaced meanwhile
            current = target if target.startswith("/") else os.path.join(os.path.dirname(current), target)
            current = os.path.normpath(current)
        return self._under_root(current)

    def _under_root(self, path: str) -> str:
        return _under(self.rootfs, path)


@functools.lru_cache(maxsize=256)
def _joined(root: str, parts: tuple[str, ...]) -> str:
    """Pure string work, the same every round for the same files: made once."""
    return os.path.join(root, *parts)


@functools.lru_cache(maxsize=256)
def _under(root: str, path: str) -> str:
    return os.path.join(root, os.path.normpath(path).lstrip("/"))


_CHUNK = 8192
"""Read this much at a time: node files are a few KiB."""


def read_text(path: str) -> str:
    """A node file's text. Raises ``OSError`` naming the file (``FileNotFoundError`` when it is absent).

    Read as bytes, in small chunks up to :data:`MAX_FILE_BYTES`, with plain ``os.read``: no
    text-mode file object per read (node files are read every round), and never one
    ``read(MAX_FILE_BYTES)``: that allocates a 1 MiB buffer per read and shrinks it to the
    file's size. Once glibc's dynamic mmap threshold has risen above 1 MiB, those buffers
    come from the heap, and a reader called every round grew the resident size by about 90
    bytes a call (bench/results/soak.md). Bytes that are not ASCII read as U+FFFD.
    """
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        data = os.read(fd, min(_CHUNK, MAX_FILE_BYTES))
        if len(data) == _CHUNK:  # a short read is the end: these files are read in one go
            parts = [data]
            size = len(data)
            while size < MAX_FILE_BYTES and (part := os.read(fd, min(_CHUNK, MAX_FILE_BYTES - size))):
                parts.append(part)
                size += len(part)
            data = b"".join(parts)
    except OSError as exc:  # e.g. EOPNOTSUPP from PSI turned off: say which file
        raise OSError(exc.errno, exc.strerror, path) from None
    finally:
        os.close(fd)
    return data.decode("ascii", "replace")


class CorruptFile(ValueError):
    """A node file does not read the way the kernel writes it (truncated, garbage)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason
