"""The node part in a runtime: each node file read once per round, scrapes render that reading,
``upstream: auto`` takes the node's servers from it, and a failing source is logged once."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import generate_latest
from structlog.testing import capture_logs

import exporter.node.part
from exporter.compose import build
from exporter.config import parse_config
from exporter.node import NodePaths
from exporter.node.part import host_resolver_part
from exporter.node.readers import SOURCES
from exporter.node.readers.resolv_conf import RESOLV_CONF, NodeResolvConf, read_node_resolv_conf
from exporter.node.source import Source
from exporter.runtime import Runtime
from tests.scenarios import node_files
from tests.unit.running import CLOSED, rounds


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """The healthy tree, whose node resolv.conf names a loopback server (``upstream: auto`` probes it)."""
    root = node_files.copy_tree("healthy", tmp_path / "node")
    node_files.nameservers(root, "127.0.0.1")
    return root


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """How often each node source is read."""
    counts: Counter[str] = Counter()

    def counting(name: str, reader: Callable[[Any], Any]) -> Callable[[Any], Any]:
        def read(paths: Any) -> Any:
            counts[name] += 1
            return reader(paths)

        return read

    for name, source in list(SOURCES.items()):
        monkeypatch.setitem(SOURCES, name, Source(name, counting(name, source.read)))
    return counts


def runtime_for(tree: Path) -> Runtime:
    doc = {
        "timeout": "200ms",
        "names": [{"name": "example.org.", "transports": ["udp"]}],
        "paths": {"service": [CLOSED], "upstream": "auto"},
        "node": node_files.node_paths(tree),
    }
    return build(parse_config(doc))


def test_each_node_file_is_read_once_per_round_and_scrapes_render_that_reading(
    tree: Path, reads: Counter[str]
) -> None:
    runtime = runtime_for(tree)
    registry = runtime.registry()
    assert registry.get_sample_value("k8s_dns_node_conntrack_entries_limit") is None  # no round yet
    rounds(runtime, 2)
    for _ in range(3):
        generate_latest(registry)
    assert reads == dict.fromkeys(SOURCES, 2)
    assert registry.get_sample_value("k8s_dns_node_conntrack_entries_limit") == 262144
    assert registry.get_sample_value("k8s_dns_collector_success", {"collector": "node_conntrack"}) == 1
    # upstream: auto probes the servers of the same reading of the node's resolv.conf.
    assert registry.get_sample_value("k8s_dns_probe_targets", {"path": "upstream"}) == 1
    upstream = {"path": "upstream", "server": "127.0.0.1:53", "name": "example.org.", "qtype": "A"}
    assert registry.get_sample_value("k8s_dns_probes_total", {**upstream, "transport": "udp"}) == 2


def test_a_broken_source_is_logged_once_renders_nothing_and_its_recovery_is_logged(tree: Path) -> None:
    stat = tree / node_files.CONNTRACK_STAT
    good = stat.read_text()
    runtime = runtime_for(tree)
    stat.write_text("garbage\n")
    with capture_logs() as logs:
        rounds(runtime, 2)
    failed = [e for e in logs if e["event"] == "collector_failed"]
    assert len(failed) == 1
    assert failed[0]["collector"] == "node_conntrack"
    assert failed[0]["log_level"] == "warning"
    assert "nf_conntrack" in failed[0]["error"]
    registry = runtime.registry()
    assert registry.get_sample_value("k8s_dns_collector_success", {"collector": "node_conntrack"}) == 0
    assert registry.get_sample_value("k8s_dns_node_conntrack_entries") is None
    assert registry.get_sample_value("k8s_dns_node_udp_in_errors_total") == 0  # the others still read
    stat.write_text(good)
    with capture_logs() as logs:
        rounds(runtime, 1)
    assert [(e["event"], e["collector"]) for e in logs if e["event"].startswith("collector_")] == [
        ("collector_recovered", "node_conntrack")
    ]
    assert registry.get_sample_value("k8s_dns_collector_success", {"collector": "node_conntrack"}) == 1


def test_an_absent_source_is_no_data_logged_once_at_debug(tree: Path) -> None:
    (tree / "proc" / "pressure" / "cpu").unlink()
    runtime = runtime_for(tree)
    with capture_logs() as logs:
        rounds(runtime, 2)
    absent = [e for e in logs if e["event"] == "collector_no_data"]
    assert [(e["collector"], e["log_level"]) for e in absent] == [("node_pressure", "debug")]
    assert runtime.report().collectors["node_pressure"].error.startswith("No such file or directory")


def test_rounds_log_a_failure_when_it_starts_or_changes_and_its_recovery(tree: Path) -> None:
    runtime = runtime_for(tree)
    with capture_logs() as logs:
        rounds(runtime, 2)
    failed = [e for e in logs if e["event"] == "probe_failed"]
    # Two probes fail (the closed Service port, the closed upstream port), each logged once in two rounds.
    assert sorted(e["server"] for e in failed) == ["127.0.0.1:53", CLOSED]
    assert {e["reason"] for e in failed} == {"network_error"}
    summaries = [e for e in logs if e["event"] == "probe_round"]
    assert [(e["probes"], e["failed"], e["queries"]) for e in summaries] == [(2, 2, 2), (2, 2, 2)]
    node_files.nameservers(tree, "127.0.0.2")  # the node's upstream changes: a new series, the old one ends
    with capture_logs() as logs:
        rounds(runtime, 1)
    assert [e["server"] for e in logs if e["event"] == "probe_failed"] == ["127.0.0.2:53"]
    assert not [e for e in logs if e["event"] == "probe_recovered"]  # the old upstream was not probed


def test_the_cluster_instance_reads_its_resolv_conf_again_only_when_it_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[str] = []

    def counting(paths: NodePaths) -> NodeResolvConf:
        reads.append(paths.rootfs)
        return read_node_resolv_conf(paths)

    monkeypatch.setattr(exporter.node.part, "RESOLV_CONF", dataclasses.replace(RESOLV_CONF, read=counting))
    (tmp_path / "etc").mkdir()
    resolv = tmp_path / "etc" / "resolv.conf"
    resolv.write_text("nameserver 127.0.0.1\n")
    config = parse_config(
        {
            "names": [{"name": "example.org."}],
            "paths": {"upstream": "auto"},
            "node": {"rootfs": str(tmp_path)},
        }
    )
    part = host_resolver_part(config)
    assert part.discover is not None
    for _ in range(3):
        assert [str(s) for s in part.discover("upstream")] == ["127.0.0.1:53"]
    assert len(reads) == 1
    resolv.write_text("nameserver 127.0.0.2\n")  # rewritten: read again
    assert [str(s) for s in part.discover("upstream")] == ["127.0.0.2:53"]
    assert len(reads) == 2
    resolv.unlink()
    with pytest.raises(FileNotFoundError):
        part.discover("upstream")
