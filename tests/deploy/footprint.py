"""Memory footprint: the node agent's goal, a process's peak RSS and Kubernetes memory quantities, in MiB."""

from __future__ import annotations

from pathlib import Path

GOAL_MIB = 45
UNITS = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024}


def mebibytes(quantity: str) -> float:
    """A Kubernetes memory quantity (``64Mi``) in MiB."""
    number, unit = quantity[:-2], quantity[-2:]
    return float(number) * UNITS[unit]


def high_water_mib(pid: int) -> float:
    """Peak RSS of the process since its exec (``VmHWM``). Not ``ru_maxrss`` from wait4: that also
    counts the forking parent's memory, which the child shares until it execs."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM in /proc/PID/status")
