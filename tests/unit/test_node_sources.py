"""Node readers register themselves: a module under exporter/node/readers that declares ``SOURCES`` is
read every round, reported as a collector, and shown in the readings, with no registry to edit."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import exporter.node.monitor
import exporter.node.readers
from exporter.node import NodePaths
from exporter.node.monitor import NodeMonitor
from exporter.node.readers import SOURCES, discover
from exporter.node.source import Source
from exporter.status import Status
from tests.scenarios import node_files

ADDED = """
from dataclasses import dataclass

from exporter.node.paths import NodePaths, read_text
from exporter.node.source import Source


@dataclass(frozen=True)
class Entropy:
    bits: int


def read_entropy(paths: NodePaths) -> Entropy:
    return Entropy(int(read_text(paths.proc("sys", "kernel", "random", "entropy_avail"))))


ENTROPY = Source("node_entropy", read_entropy)
SOURCES = (ENTROPY,)
"""


ADDED_NAMES = ("entropy", "twice", "stray")


@pytest.fixture
def extra_readers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A directory that is part of the readers package for the test (its modules forgotten after)."""
    extra = tmp_path / "readers"
    extra.mkdir()
    monkeypatch.setattr(exporter.node.readers, "__path__", [*exporter.node.readers.__path__, str(extra)])
    yield extra
    for name in [
        n
        for n in sys.modules
        if n.startswith("exporter.node.readers.") and n.rsplit(".", 1)[1] in ADDED_NAMES
    ]:
        del sys.modules[name]


def test_the_readers_package_declares_the_known_sources() -> None:
    assert list(SOURCES) == [
        "node_conntrack",
        "node_cpu",
        "node_pressure",
        "node_pod_namespaces",
        "node_resolv_conf",
        "node_snmp",
        "node_snmp6",
    ]
    assert all(isinstance(source, Source) and source.name == name for name, source in SOURCES.items())


def test_a_reader_module_added_to_the_package_is_read_each_round_and_reported(
    extra_readers: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (extra_readers / "entropy.py").write_text(ADDED)
    found = discover()
    # By module name: conntrack, cpu (node_cpu, node_pressure), entropy, netns, resolv_conf, snmp.
    assert list(found) == [
        "node_conntrack",
        "node_cpu",
        "node_pressure",
        "node_entropy",
        "node_pod_namespaces",
        "node_resolv_conf",
        "node_snmp",
        "node_snmp6",
    ]
    tree = node_files.copy_tree("healthy", tmp_path / "node")
    (tree / "proc" / "sys" / "kernel" / "random").mkdir(parents=True)
    (tree / "proc" / "sys" / "kernel" / "random" / "entropy_avail").write_text("3000\n")
    monkeypatch.setattr(exporter.node.monitor, "SOURCES", found)
    status = Status()
    readings = NodeMonitor(lambda: NodePaths(str(tree / "proc"), str(tree / "root")), status).sample()
    assert readings.of(found["node_entropy"]) == found["node_entropy"].read(
        NodePaths(str(tree / "proc"), str(tree / "root"))
    )
    assert readings.as_dict()["node_entropy"] == {"bits": 3000}
    assert status.runs()["node_entropy"].ok
    assert readings.conntrack is not None  # the others are read as before


def test_two_sources_of_one_name_and_a_stray_value_are_refused(extra_readers: Path) -> None:
    (extra_readers / "twice.py").write_text(ADDED.replace('"node_entropy"', '"node_snmp"'))
    with pytest.raises(ValueError, match="two node sources are called 'node_snmp'"):
        discover()
    (extra_readers / "twice.py").unlink()
    (extra_readers / "stray.py").write_text("SOURCES = ('node_stray',)\n")
    with pytest.raises(TypeError, match=r"stray\.SOURCES holds 'node_stray', not a Source"):
        discover()
