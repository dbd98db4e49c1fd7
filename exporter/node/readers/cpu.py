"""Node CPU: time per mode from ``<procfs>/stat``, and CPU pressure (PSI) from ``<procfs>/pressure/cpu``.

Both files are system-wide, not per namespace. ``/proc/stat``'s first line sums
every CPU, in USER_HZ ticks (100 per second on every Linux ABI)::

    cpu  26411 0 5720 306133 575 0 230 95 0 0

PSI (kernels 4.20+, when enabled) says how long runnable tasks waited for a CPU;
the ``some`` line's ``total`` is microseconds during which at least one did::

    some avg10=3.07 avg60=0.90 avg300=0.56 total=13779973
"""

from __future__ import annotations

from dataclasses import dataclass

from exporter.node.paths import CorruptFile, NodePaths, read_text
from exporter.node.source import Source

STAT_FILE = ("stat",)
PRESSURE_FILE = ("pressure", "cpu")
USER_HZ = 100
CPU_MODES = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")
"""The columns of the ``cpu`` line that are disjoint (guest time is already inside ``user``)."""
_IDLE_MODES = frozenset({"idle", "iowait"})


@dataclass(frozen=True, slots=True)
class CpuTimes:
    seconds: dict[str, float]
    """Mode -> CPU seconds since boot, summed over all CPUs (only the modes the kernel reports)."""

    @property
    def busy(self) -> float:
        return sum(v for mode, v in self.seconds.items() if mode not in _IDLE_MODES)

    @property
    def total(self) -> float:
        return sum(self.seconds.values())


def parse_stat(text: str, path: str = "stat") -> CpuTimes:
    lines = text.splitlines()
    for number, line in enumerate(lines, start=1):
        words = line.split()
        if not words or words[0] != "cpu":
            continue
        values = words[1:]
        if len(values) < 4:
            raise CorruptFile(path, f"line {number}: the cpu line has {len(values)} columns, expected 4+")
        if not all(v.isascii() and v.isdigit() for v in values):
            raise CorruptFile(path, f"line {number}: the cpu line holds a non-number: {line[:60]!r}")
        if number == len(lines) and not text.endswith("\n"):
            raise CorruptFile(path, "the cpu line is cut short (no newline)")
        return CpuTimes(
            {mode: int(v) / USER_HZ for mode, v in zip(CPU_MODES, values, strict=False)},
        )
    raise CorruptFile(path, "no 'cpu' line")


def read_cpu_times(paths: NodePaths) -> CpuTimes:
    path = paths.proc(*STAT_FILE)
    return parse_stat(read_text(path), path)


def parse_pressure(text: str, path: str = "pressure/cpu") -> float:
    """Seconds during which some runnable task waited for a CPU, since boot."""
    for line in text.splitlines():
        kind, _, rest = line.partition(" ")
        if kind != "some":
            continue
        fields = dict(part.partition("=")[::2] for part in rest.split())
        total = fields.get("total", "")
        if not (total.isascii() and total.isdigit()):
            raise CorruptFile(path, f"the 'some' line has no total=<microseconds>: {line[:80]!r}")
        if not text.endswith("\n"):
            raise CorruptFile(path, "the last line is cut short (no newline)")
        return int(total) / 1e6
    raise CorruptFile(path, "no 'some' line")


def read_cpu_pressure(paths: NodePaths) -> float:
    """Raises ``FileNotFoundError`` (no PSI in this kernel) or ``OSError`` EOPNOTSUPP (PSI disabled)."""
    path = paths.proc(*PRESSURE_FILE)
    return parse_pressure(read_text(path), path)


CPU: Source[CpuTimes] = Source("node_cpu", read_cpu_times)
PRESSURE: Source[float] = Source("node_pressure", read_cpu_pressure)
SOURCES = (CPU, PRESSURE)
