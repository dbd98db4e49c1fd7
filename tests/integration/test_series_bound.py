"""The series an agent exports stay bounded whatever the number of CoreDNS pods: the shipped node config
against the lab's Service and NodeLocal, and P pods answered by one real dnsmasq listening on P
loopback addresses. Each round probes ``pods_per_round`` of them, and a series lives only while its
server is probed, so P = 24 and P = 150 export what P = 3 does; the README's table says the numbers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import generate_latest

from exporter.config import load_config
from exporter.config.load import default_document
from lab import Lab
from lab.servers import Dnsmasq
from lab.shipped import NODE_CONFIG, on_lab
from lab.topology import HEALTHY_NODE
from lab.zones import CLUSTER
from tests.conftest import REPO
from tests.integration.metrics_text import samples, value
from tests.integration.probing import run_round

pytestmark = pytest.mark.lab

BOUND = 325
"""Series one agent exports at the default config, whatever P is (docs: README, Metrics)."""
MAX_BYTES = 50 * 1024
FLEET = 150


@pytest.fixture(scope="module")
def fleet_pods(shared_lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    """150 CoreDNS pods: one dnsmasq serving the cluster zone on 127.<net>.21.1 to .150."""
    hosts = [shared_lab.host(f"21.{i}") for i in range(1, FLEET + 1)]
    upstreams = [shared_lab.address(r) for r in shared_lab.roles("upstream")]
    pods = Dnsmasq(
        "fleet-pods",
        hosts[0],
        shared_lab.port,
        tmp_path_factory.mktemp("fleet"),
        zone=CLUSTER,
        forward=upstreams,
        all_servers=True,
        also=hosts[1:],
    )
    pods.start()
    try:
        yield [f"{h}:{shared_lab.port}" for h in hosts]
    finally:
        pods.stop()


def exported(lab: Lab, tmp_path: Path, pods: list[str], rounds: int = 3) -> str:
    """/metrics of the shipped node config (NodeLocal on) after ``rounds`` rounds against ``pods``."""
    doc = yaml.safe_load(on_lab(NODE_CONFIG, lab, tmp_path, nodelocal=True).read_text())
    doc["paths"]["pod"] = pods
    return scraped(doc, rounds)


def scraped(doc: dict[str, Any], rounds: int = 3) -> str:
    """/metrics after ``rounds`` rounds of the config ``doc``, reading a quiet node's files."""
    doc["node"] = {"procfs": str(HEALTHY_NODE / "proc"), "rootfs": str(HEALTHY_NODE / "root")}
    runtime, _ = run_round(doc, rounds)
    return generate_latest(runtime.registry()).decode()


def count(text: str) -> int:
    return sum(1 for line in text.splitlines() if line and not line.startswith("#"))


def readme_table() -> dict[int, tuple[int, float]]:
    """P -> (series, KB) from the README's series table."""
    pattern = r"^\| shipped node config \| (\d+) \| (\d+) \| ([\d.]+) KB \|$"
    rows = re.findall(pattern, readme_text(), re.MULTILINE)
    return {int(p): (int(series), float(kb)) for p, series, kb in rows}


def readme_text() -> str:
    return (REPO / "README.md").read_text()


@pytest.mark.parametrize("pods", [2, 24, FLEET])
def test_an_agent_exports_a_bounded_number_of_series_whatever_the_pods(
    shared_lab: Lab, fleet_pods: list[str], tmp_path: Path, pods: int
) -> None:
    text = exported(shared_lab, tmp_path, fleet_pods[:pods])
    budget = load_config(NODE_CONFIG).pods_per_round
    assert {v for _, v in samples(text, "k8s_dns_probe_success")} == {1.0}
    assert value(text, "k8s_dns_probe_targets", path="pod") == min(pods, budget)
    assert value(text, "k8s_dns_targets_known", path="pod") == pods
    probed = {labels["server"] for labels, _ in samples(text, "k8s_dns_probe_success", path="pod")}
    assert len(probed) == min(pods, budget), "only this round's pods have series"
    series, size = count(text), len(text.encode())
    assert series <= BOUND
    assert size < MAX_BYTES
    assert readme_table()[pods] == (series, pytest.approx(size / 1024, abs=0.5))


def test_the_readmes_counts_for_no_config_and_the_demo_config_are_measured(
    shared_lab: Lab, tmp_path: Path
) -> None:
    """No config in a pod (its one nameserver, one name and its race probe, the lookup) and the demo
    config (examples/lab.yaml, whose addresses are this lab's): every probe answered, series counted."""
    resolv = shared_lab.write_resolv_conf(tmp_path / "resolv.conf")
    default = scraped(default_document(str(resolv), port=shared_lab.port))
    demo_doc = yaml.safe_load((REPO / "examples" / "lab.yaml").read_text())
    demo_doc["paths"]["resolver"]["file"] = str(resolv)
    demo = scraped(demo_doc)
    for text in (default, demo):
        assert {v for _, v in samples(text, "k8s_dns_probe_success")} == {1.0}
    node = sum(1 for line in default.splitlines() if line.startswith("k8s_dns_node_"))
    pattern = (
        r"With no config in a pod \(one nameserver, one name, its race\s+probe, and the node readings\): "
        r"\*\*(\d+) series\*\*, of which (\d+) are node readings.*?transports, one race name\): (\d+)\."
    )
    match = re.search(pattern, readme_text(), re.DOTALL)
    assert match is not None, "the README's series paragraph"
    assert tuple(int(g) for g in match.groups()) == (count(default), node, count(demo))
