"""The heap creep the first soak showed: one ``read(1 MiB)`` per node file against ``read_text``.

Run from the repository root:

    .venv/bin/python -m bench.heap_creep

It reads ``/proc/sys/net/netfilter/nf_conntrack_max`` (what the conntrack reader reads every
round and every scrape) 10,000 times each way and prints the resident KiB of the ``[heap]``
mapping every 2,500 reads: ``read_text`` first, then ``one read``, the reader before the fix,
which asks for 1 MiB at once. That buffer is allocated and shrunk to the file's few bytes on
every read, and the heap's resident size climbs with no live allocation growing.
``read_text`` reads 8 KiB chunks and stays flat.
With ``MALLOC_MMAP_THRESHOLD_=131072`` (which fixes glibc's mmap threshold) the 1 MiB buffers are
mapped and unmapped instead, and both stay flat.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from exporter.node import readers  # noqa: F401 - the readers' imports, as in serve, before reading
from exporter.node.paths import read_text

MAX_FILE = "/proc/sys/net/netfilter/nf_conntrack_max"


def heap_kib() -> int:
    """Resident KiB of this process's ``[heap]`` (the brk heap: glibc's main arena)."""
    total, mapping = 0, ""
    with open("/proc/self/smaps") as smaps:  # line by line: no large buffer of its own
        lines = list(smaps)
    for line in lines:
        fields = line.split()
        if "-" in fields[0] and not fields[0].endswith(":"):
            mapping = fields[-1]
        elif fields[0] == "Rss:" and mapping == "[heap]":
            total += int(fields[1])
    return total


def one_read(path: str) -> str:
    """``read_text`` before the fix."""
    with open(path, encoding="ascii", errors="replace") as handle:
        return handle.read(1 << 20)


def creep(read: Callable[[str], str], path: str, reads: int, every: int) -> list[int]:
    readings = [heap_kib()]
    for done in range(1, reads + 1):
        read(path)
        if done % every == 0:
            readings.append(heap_kib())
    return readings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.heap_creep", description=__doc__.split("\n")[0])
    parser.add_argument("--reads", type=int, default=10_000)
    parser.add_argument("--every", type=int, default=2_500)
    parser.add_argument("--file", default=MAX_FILE)
    args = parser.parse_args(argv)
    for label, read in (("read_text", read_text), ("one read", one_read)):
        readings = creep(read, args.file, args.reads, args.every)
        growth = (readings[-1] - readings[0]) * 1024 / args.reads
        print(f"{label:>9}: heap KiB {' '.join(map(str, readings))} ({growth:+.0f} bytes a read)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
