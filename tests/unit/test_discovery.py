"""``upstream: auto``: the node resolv.conf's nameservers, on port 53, through TargetSources."""

from __future__ import annotations

from pathlib import Path

import pytest

from exporter.config import Server, parse_config
from exporter.node import NodePaths
from exporter.node.readers.resolv_conf import read_node_resolv_conf
from exporter.targets import NotServed, TargetSources
from exporter.targets.node_upstreams import node_discovery, upstream_servers

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "node"


def tree(name: str) -> NodePaths:
    return NodePaths(str(FIXTURES / name / "proc"), str(FIXTURES / name / "root"))


def test_upstream_servers_are_the_node_nameservers_on_port_53() -> None:
    assert upstream_servers(read_node_resolv_conf(tree("busy"))) == (
        Server("10.1.0.4", 53),
        Server("10.1.0.5", 53),
        Server("168.63.129.16", 53),
    )
    assert upstream_servers(read_node_resolv_conf(tree("old-kernel"))) == (Server("192.0.2.10", 53),)


def test_only_the_first_three_count(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "resolv.conf").write_text("".join(f"nameserver 192.0.2.{i}\n" for i in range(1, 6)))
    assert [s.host for s in upstream_servers(read_node_resolv_conf(NodePaths("/proc", str(tmp_path))))] == [
        "192.0.2.1",
        "192.0.2.2",
        "192.0.2.3",
    ]


def test_a_file_without_nameservers_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "resolv.conf").write_text("search example.internal\n")
    with pytest.raises(ValueError, match=r"etc/resolv.conf lists no nameserver"):
        upstream_servers(read_node_resolv_conf(NodePaths("/proc", str(tmp_path))))


def test_target_sources_use_discovery_for_auto_and_keep_the_last_good_list(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    resolv = root / "etc" / "resolv.conf"
    resolv.write_text("nameserver 192.0.2.1\n")
    config = parse_config({"names": [{"name": "example.org."}], "paths": {"upstream": "auto"}})
    sources = TargetSources(
        config, discovery=node_discovery(lambda: read_node_resolv_conf(NodePaths("/proc", str(root))))
    )
    assert sources.current().servers == {"upstream": (Server("192.0.2.1", 53),)}
    resolv.unlink()
    broken = sources.current()
    assert broken.servers == {"upstream": (Server("192.0.2.1", 53),)}
    assert broken.errors["paths.upstream"].startswith("No such file or directory: ")
    with pytest.raises(NotServed):  # another part (the Kubernetes API) discovers the other paths
        node_discovery(lambda: read_node_resolv_conf(NodePaths()))("pod")
