"""Conntrack of the host network namespace: entries, the table's limit, and the drop counters.

Conntrack counters belong to a network namespace, and the agent runs in the pod
network. So the per-CPU statistics are read from ``<procfs>/1/net/stat/nf_conntrack``:
``/proc/<pid>/net`` shows the namespace of that process, and PID 1 of the host's
procfs lives in the host namespace. ``/proc/sys/net/netfilter/nf_conntrack_count``
would not do: ``/proc/sys/net`` always shows the namespace of the *reading*
process, whatever procfs it is reached through. The limit,
``nf_conntrack_max``, is one global value, so ``/proc/sys`` is right for it.

The stat file has a header line of column names, then one row of 8-digit hex
numbers per possible CPU::

    entries  clashres found new invalid ignore delete chainlength insert insert_failed drop ...
    00000031  00000002 00000000 00000000 00000004 00000000 00000000 00000000 ...

Columns are found by name, so kernels that add columns still read. ``entries``
is the namespace's total, repeated on every row; the other columns are per-CPU
and are summed. Kernels before 5.9 have ``searched`` where ``clashres`` now is:
their clash-resolution count is unknown (``None``), not zero.
"""

from __future__ import annotations

import operator
import re
import struct
from dataclasses import dataclass

from exporter.node.paths import CorruptFile, NodePaths, read_text
from exporter.node.source import Source

STAT_FILE = ("1", "net", "stat", "nf_conntrack")
MAX_FILES = (("sys", "net", "netfilter", "nf_conntrack_max"), ("sys", "net", "nf_conntrack_max"))
_REQUIRED = ("entries", "insert_failed", "drop", "early_drop")
_CLASH = "clashres"
_HEX = re.compile(r"[0-9a-fA-F]{8}")
"""A counter: exactly eight hex digits (``%08x`` of 32 bits). A row's counters are decoded together
(``bytes.fromhex`` refuses anything else), this only names the bad one."""


@dataclass(frozen=True, slots=True)
class ConntrackStats:
    entries: int
    """Connections tracked in the host namespace now."""
    limit: int | None
    """``nf_conntrack_max``; ``None`` when the file is absent."""
    insert_failed: int
    drop: int
    early_drop: int
    clash_resolve: int | None
    """Clashes the kernel resolved (two packets of one flow racing to insert); ``None`` before 5.9."""
    cpus: int

    @property
    def fill_ratio(self) -> float | None:
        if not self.limit:
            return None
        return self.entries / self.limit


def parse_conntrack_stat(text: str, path: str = "nf_conntrack") -> tuple[dict[str, int], int]:
    """The stat file as column -> value (``entries`` from the first row, every other column
    summed over the CPUs), and the number of CPU rows."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise CorruptFile(path, "empty")
    if not text.endswith("\n"):
        raise CorruptFile(path, "the last line is cut short (no newline)")
    header = lines[0].split()
    missing = [name for name in _REQUIRED if name not in header]
    if missing:
        raise CorruptFile(path, f"header lacks {', '.join(missing)}: {lines[0][:80]!r}")
    rows = lines[1:]
    if not rows:
        raise CorruptFile(path, "no per-CPU rows")
    totals = [0] * len(header)
    entries = 0
    for number, line in enumerate(rows, start=2):
        fields = line.split()
        if len(fields) != len(header):
            raise CorruptFile(path, f"line {number} has {len(fields)} fields, the header {len(header)}")
        try:
            if set(map(len, fields)) != {8}:
                raise ValueError("not 8 digits")
            values = struct.unpack(f">{len(fields)}I", bytes.fromhex("".join(fields)))
        except ValueError:
            bad = next((field for field in fields if not _HEX.fullmatch(field)), line)
            raise CorruptFile(path, f"line {number}: {bad[:20]!r} is not an 8-digit hex counter") from None
        if number == 2:
            entries = values[header.index("entries")]
        totals = list(map(operator.add, totals, values))  # same length: checked against the header
    columns = dict(zip(header, totals, strict=True))
    columns["entries"] = entries
    return columns, len(rows)


def parse_limit(text: str, path: str) -> int:
    value = text.strip()
    if not (value.isascii() and value.isdigit()):
        raise CorruptFile(path, f"{value[:20]!r} is not a number")
    return int(value)


def read_conntrack(paths: NodePaths) -> ConntrackStats:
    """Raises ``FileNotFoundError`` without conntrack stats (no module, or no procfs support)."""
    stat_path = paths.proc(*STAT_FILE)
    columns, cpus = parse_conntrack_stat(read_text(stat_path), stat_path)
    limit = None
    for parts in MAX_FILES:
        max_path = paths.proc(*parts)
        try:
            limit = parse_limit(read_text(max_path), max_path)
        except FileNotFoundError:
            continue
        break
    return ConntrackStats(
        entries=columns["entries"],
        limit=limit,
        insert_failed=columns["insert_failed"],
        drop=columns["drop"],
        early_drop=columns["early_drop"],
        clash_resolve=columns.get(_CLASH),
        cpus=cpus,
    )


CONNTRACK: Source[ConntrackStats] = Source("node_conntrack", read_conntrack)
SOURCES = (CONNTRACK,)
