"""A writable copy of a captured node tree, changed the way the kernel and the node change it.

Counters only grow, and each file keeps the exact layout the kernel writes (column
order, spacing, 8-digit hex in the conntrack stats), so the readers parse the
changed files as they parse real ones. Every write replaces the file at once, as
systemd-resolved does and as a procfs read sees it: a reader never meets half a file.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from tests.conftest import REPO

FIXTURES = REPO / "tests" / "fixtures" / "node"

CONNTRACK_STAT = "proc/1/net/stat/nf_conntrack"
SNMP = "proc/1/net/snmp"
STAT = "proc/stat"
RESOLV_CONF = "root/run/systemd/resolve/resolv.conf"
CPU_MODES = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal", "guest", "guest_nice")


def copy_tree(name: str, to: Path) -> Path:
    """``tests/fixtures/node/<name>`` copied to ``to`` (links kept: they point inside the root)."""
    shutil.copytree(FIXTURES / name, to, symlinks=True)
    return to


def node_paths(tree: Path) -> dict[str, str]:
    """The config's ``node`` section for a tree."""
    return {"procfs": str(tree / "proc"), "rootfs": str(tree / "root")}


def _replace(path: Path, text: str) -> None:
    new = path.with_name(path.name + ".new")
    new.write_text(text)
    os.replace(new, path)


def _grow_fields(line: str, columns: list[str], grow: dict[str, int], *, hex8: bool = False) -> str:
    """``line`` with each named column raised by its amount, every separator kept as it was."""
    parts = re.split(r"(\s+)", line)
    for name, by in grow.items():
        index = 2 * columns.index(name)
        value = int(parts[index], 16 if hex8 else 10) + by
        parts[index] = f"{value:08x}" if hex8 else str(value)
    return "".join(parts)


def conntrack(tree: Path, *, entries: int | None = None, **grow: int) -> None:
    """Set the tracked ``entries`` and raise per-CPU counters (``drop=46``), spread over the CPU rows."""
    path = tree / CONNTRACK_STAT
    header, *rows = path.read_text().splitlines()
    columns = header.split()
    lines = [header]
    for cpu, row in enumerate(rows):
        share = {name: by // len(rows) + (cpu < by % len(rows)) for name, by in grow.items()}
        if entries is not None:  # the namespace's total, repeated on every row
            share["entries"] = entries - int(row.split()[columns.index("entries")], 16)
        lines.append(_grow_fields(row, columns, share, hex8=True))
    _replace(path, "\n".join(lines) + "\n")


def snmp(tree: Path, protocol: str, **grow: int) -> None:
    """Raise counters of one protocol in ``/proc/net/snmp`` (``snmp(t, "Udp", InErrors=5)``)."""
    path = tree / SNMP
    lines = path.read_text().splitlines()
    for index, line in enumerate(lines):
        if line.startswith(f"{protocol}: ") and index + 1 < len(lines):
            columns = line.split()
            lines[index + 1] = _grow_fields(lines[index + 1], columns, grow)
            break
    else:
        raise AssertionError(f"{path} has no {protocol} lines")
    _replace(path, "\n".join(lines) + "\n")


def cpu(tree: Path, **ticks: int) -> None:
    """Add USER_HZ ticks per CPU to each ``cpuN`` line (``user=90, idle=2``), and their sum to ``cpu``."""
    path = tree / STAT
    lines = path.read_text().splitlines()
    cpus = sum(1 for line in lines if re.match(r"cpu\d+ ", line))
    columns = ["cpu", *CPU_MODES]
    for index, line in enumerate(lines):
        if line.startswith("cpu "):
            lines[index] = _grow_fields(line, columns, {m: t * cpus for m, t in ticks.items()})
        elif re.match(r"cpu\d+ ", line):
            lines[index] = _grow_fields(line, columns, ticks)
    _replace(path, "\n".join(lines) + "\n")


def nameservers(tree: Path, *servers: str) -> None:
    """Rewrite the node's resolv.conf with other nameservers, the rest of the file kept."""
    path = tree / RESOLV_CONF
    lines = path.read_text().splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("nameserver "))
    kept = [line for line in lines if not line.startswith("nameserver ")]
    kept[first:first] = [f"nameserver {server}" for server in servers]
    _replace(path, "\n".join(kept) + "\n")
