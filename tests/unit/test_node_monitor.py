"""The node history: one sample per round, increases over the window, race tallies, changes seen."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from exporter.node import NodePaths
from exporter.node.monitor import NodeMonitor
from exporter.probe.race import RaceResult
from exporter.status import Status
from tests.unit.results import round_of

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "node"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def node(tmp_path: Path) -> Path:
    """A writable copy of the busy tree."""
    shutil.copytree(FIXTURES / "busy", tmp_path / "busy", symlinks=True)
    return tmp_path / "busy"


def bump_conntrack(root: Path, column: int, by: int) -> None:
    """Add ``by`` to one hex column on the first CPU row."""
    stat = root / "proc/1/net/stat/nf_conntrack"
    lines = stat.read_text().splitlines()
    fields = lines[1].split()
    fields[column] = f"{int(fields[column], 16) + by:08x}"
    lines[1] = fields[0] + "  " + " ".join(fields[1:13]) + "  " + " ".join(fields[13:])
    stat.write_text("\n".join(lines) + "\n")


def set_snmp(root: Path, old: str, new: str) -> None:
    snmp = root / "proc/1/net/snmp"
    snmp.write_text(snmp.read_text().replace(old, new))


def monitor_for(root: Path, clock: Clock, status: Status | None = None) -> NodeMonitor:
    paths = NodePaths(str(root / "proc"), str(root / "root"))
    return NodeMonitor(lambda: paths, status or Status(), clock=clock)


def test_one_sample_has_values_but_no_increases(node: Path) -> None:
    readings = monitor_for(node, Clock()).sample()
    assert readings.samples == 1
    assert readings.increases is None
    assert readings.conntrack is not None
    assert readings.conntrack.insert_failed == 34
    assert readings.fill_ratio == pytest.approx(250000 / 262144)
    assert readings.errors == {}


def test_increases_over_the_window(node: Path) -> None:
    clock = Clock()
    monitor = monitor_for(node, clock)
    monitor.sample()
    clock.now += 15
    bump_conntrack(node, 9, 5)  # insert_failed
    bump_conntrack(node, 10, 2)  # drop
    set_snmp(
        node, "Udp: 411853119 479867 18422 412980551 18301", "Udp: 411853119 479867 18430 412980551 18308"
    )
    pressure = node / "proc/pressure/cpu"
    pressure.write_text(pressure.read_text().replace("total=9123884112", "total=9136884112"))
    stat = node / "proc/stat"
    stat.write_text(
        stat.read_text().replace("cpu  48211934 12 9120331 1822010", "cpu  48217934 12 9120331 1822010")
    )
    clock.now += 15
    readings = monitor.sample()
    grown = readings.increases
    assert grown is not None
    assert grown.seconds == 30
    assert (grown.conntrack_insert_failed, grown.conntrack_drop, grown.conntrack_early_drop) == (5, 2, 0)
    assert grown.conntrack_clash_resolve == 0
    assert (grown.udp_in_errors, grown.udp_receive_buffer_errors) == (8, 7)
    assert grown.cpu_pressure_ratio == pytest.approx(13.0 / 30)
    assert grown.cpu_busy_ratio == 1.0  # only busy time grew
    assert readings.as_dict()["increases"]["conntrack_insert_failed"] == 5


def test_a_counter_that_went_down_was_reset(node: Path) -> None:
    clock = Clock()
    monitor = monitor_for(node, clock)
    monitor.sample()
    set_snmp(node, "Udp: 411853119 479867 18422", "Udp: 411853119 479867 4")
    clock.now += 15
    grown = monitor.sample().increases
    assert grown is not None
    assert grown.udp_in_errors == 4


def test_the_window_forgets_old_samples(node: Path) -> None:
    clock = Clock()
    monitor = monitor_for(node, clock)
    monitor.sample()
    bump_conntrack(node, 10, 9)
    for _ in range(5):
        clock.now += 15
        readings = monitor.sample()
    assert readings.samples == 5
    assert readings.increases is not None
    assert readings.increases.conntrack_drop == 0


def race(server: str, lost: tuple[str, ...] = (), sequential: tuple[str, ...] = ()) -> RaceResult:
    return RaceResult("service", server, "kubernetes.default.svc.cluster.local.", lost, sequential)


def test_race_tallies_over_the_window(node: Path) -> None:
    clock = Clock()
    monitor = monitor_for(node, clock)
    monitor.sample(round_of(races=(race("10.96.0.10:53", ("AAAA",)), race("10.96.0.11:53"))))
    clock.now += 15
    readings = monitor.sample(
        round_of(races=(race("10.96.0.10:53", ("AAAA",)), race("10.96.0.11:53", (), ("A",))))
    )
    assert (readings.race.probes, readings.race.lost, readings.race.sequential_lost) == (4, 2, 1)
    first = readings.race.targets[0]
    assert (first.server, first.probes, first.lost, first.sequential_lost) == ("10.96.0.10:53", 2, 2, 0)


def test_a_change_of_nameservers_is_remembered(node: Path) -> None:
    clock = Clock()
    monitor = monitor_for(node, clock)
    monitor.sample()
    resolv = node / "root/run/systemd/resolve/resolv.conf"
    resolv.write_text(resolv.read_text().replace("nameserver 10.1.0.5\n", "nameserver 10.1.0.6\n"))
    clock.now += 15
    change = monitor.sample().resolv_conf_change
    assert change is not None
    assert change.before == ("10.1.0.4", "10.1.0.5", "168.63.129.16")
    assert change.after == ("10.1.0.4", "10.1.0.6", "168.63.129.16")
    assert change.seen_at == clock.now
    for _ in range(6):  # it outlives the sample window
        clock.now += 15
        assert monitor.sample().resolv_conf_change == change


def test_missing_and_corrupt_sources_are_errors_with_status(tmp_path: Path) -> None:
    (tmp_path / "1" / "net").mkdir(parents=True)
    (tmp_path / "1" / "net" / "snmp").write_text("Udp: InErrors\nUdp: 1 2\n")
    status = Status()
    paths = NodePaths(str(tmp_path), str(tmp_path))
    readings = NodeMonitor(lambda: paths, status).sample()
    assert readings.conntrack is None
    assert readings.net is None
    assert readings.resolv_conf is None
    assert readings.errors["node_conntrack"].startswith("No such file or directory: ")
    assert readings.errors["node_snmp"].endswith("Udp: line 2 has 2 values for 1 names")
    runs = status.runs()
    assert {name for name, run in runs.items() if not run.ok} == {
        "node_conntrack",
        "node_snmp",
        "node_cpu",
        "node_pressure",
        "node_resolv_conf",
        "node_snmp6",
    }


def test_another_root_starts_a_new_history(node: Path, tmp_path: Path) -> None:
    clock = Clock()
    current = [NodePaths(str(node / "proc"), str(node / "root"))]
    monitor = NodeMonitor(lambda: current[0], Status(), clock=clock)
    monitor.sample()
    monitor.sample()
    current[0] = NodePaths(str(FIXTURES / "healthy/proc"), str(FIXTURES / "healthy/root"))
    readings = monitor.sample()
    assert readings.samples == 1
    assert readings.resolv_conf_change is None
    assert readings.procfs == str(FIXTURES / "healthy/proc")
