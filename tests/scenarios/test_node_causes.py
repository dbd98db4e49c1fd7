"""Scenarios: each cause read on the node, made the way it happens on a real node.

Each scenario copies a captured node tree (procfs and root file system), probes
the healthy lab for the three rounds of the diagnosis window and, where the cause
is a change, changes the node after the first round: counters rise, the node's
nameservers are rewritten. Where a cause shows in what the node does to DNS
traffic, a scripted kube-dns Service plays it (the conntrack race, lost replies).

Every scenario is run in-process (findings and ``k8s_dns_cause_active``) and by
``doctor``; each must name exactly the expected causes with the scenario's
evidence. Scenarios whose state holds still are also served: ``/metrics`` and
``/diagnose`` must agree with ``doctor``. The healthy node names nothing.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from exporter.causes import CAUSES
from exporter.compose import build
from exporter.config import parse_config
from exporter.runtime import Runtime
from lab import Lab, Responder
from lab.responder import DropSecondFromOnePort, Handler, LoseUdpReplies
from tests.conftest import REPO, write_config
from tests.integration.metrics_text import samples
from tests.scenarios import node_files

pytestmark = pytest.mark.lab

ROUNDS = 3
"""The diagnosis window: the growth between the first and a later round is what rules read."""
CLUSTER_NAME = "kubernetes.default.svc.cluster.local."


@dataclass(frozen=True)
class NodeScenario:
    expected: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()
    """Each is found in one evidence line of the findings; ``{service}`` is the Service probed."""
    tree: str = "healthy"
    """The captured tree under tests/fixtures/node the node starts as."""
    later: Callable[[Path], None] | None = None
    """What happens on the node after the first round (given the tree's copy)."""
    service: Callable[[], Handler] | None = None
    """A scripted kube-dns Service in place of the lab's."""
    race: bool = False
    """Race A and AAAA of the cluster name (``race: true``)."""
    serve: bool = False
    """Also run ``serve``: only for state that holds still (a file, a change held for an hour)."""


SCENARIOS = {
    "healthy": NodeScenario(serve=True),
    # Lost replies alone are not the node's fault: an idle node with no UDP errors names nothing.
    "healthy (replies lost, idle node)": NodeScenario(service=LoseUdpReplies),
    "conntrack_table_full (95% full)": NodeScenario(
        tree="conntrack-full",
        expected=("conntrack_table_full",),
        evidence=("conntrack entries 249037 of 262144 limit (95.0% full; named from 90.0%)",),
        serve=True,
    ),
    # A peak filled the table between two readings: packets were dropped, the table is below the line now.
    "conntrack_table_full (drops rising)": NodeScenario(
        later=lambda tree: node_files.conntrack(tree, entries=209715, drop=46, early_drop=12),
        expected=("conntrack_table_full",),
        evidence=("conntrack entries 209715 of 262144 limit (80.0% full", "drop +46, early_drop +12"),
    ),
    # The second query of each A+AAAA pair from one socket loses the insert race and is dropped.
    "conntrack_race_a_aaaa (race probe)": NodeScenario(
        service=DropSecondFromOnePort,
        race=True,
        expected=("conntrack_race_a_aaaa",),
        evidence=(
            "race probes (A and AAAA together from one socket): 3 answer(s) lost in 12 probe(s); "
            "the same queries sent one by one: 0 lost",
            f"service {{service}} {CLUSTER_NAME}: 3 lost together, 0 one by one",
        ),
    ),
    # Applications' parallel queries race on the node: insert_failed rises beside resolved clashes.
    "conntrack_race_a_aaaa (insert_failed rising)": NodeScenario(
        later=lambda tree: node_files.conntrack(tree, insert_failed=7, clashres=31),
        expected=("conntrack_race_a_aaaa",),
        evidence=("conntrack insert_failed +7, clash_resolve +31",),
    ),
    # Receive buffers overflow: the kernel counts each lost datagram in RcvbufErrors and InErrors.
    "client_overloaded (UDP receive errors)": NodeScenario(
        later=lambda tree: node_files.snmp(
            tree, "Udp", InDatagrams=1630, InErrors=214, OutDatagrams=1702, RcvbufErrors=214
        ),
        expected=("client_overloaded",),
        evidence=("Udp InErrors +214, RcvbufErrors +214, SndbufErrors +0, Tcp RetransSegs +0",),
    ),
    # Every CPU busy while servers that answer the rest lose a reply now and then.
    "client_overloaded (CPU saturated, replies lost)": NodeScenario(
        later=lambda tree: node_files.cpu(tree, user=90, system=8, idle=2),
        service=LoseUdpReplies,
        expected=("client_overloaded",),
        evidence=(
            "CPU busy: 98.0% of all CPUs",
            "2 probe(s) of answering servers got no reply in the diagnosis window",
        ),
    ),
    # The network's DNS servers changed (DHCP options, a VNet setting) while the exporter watched.
    "node_dns_config_stale": NodeScenario(
        later=lambda tree: node_files.nameservers(tree, "192.0.2.63", "192.0.2.64"),
        expected=("node_dns_config_stale",),
        evidence=("nameservers before: 192.0.2.53, 192.0.2.54", "nameservers now: 192.0.2.63, 192.0.2.64"),
        serve=True,
    ),
    # Azure DNS beside a custom server in the node's resolv.conf; the upstreams probed all agree.
    "upstream_mixed_resolvers (node resolv.conf)": NodeScenario(
        tree="azure-mixed",
        expected=("upstream_mixed_resolvers",),
        evidence=(
            "the node's /run/systemd/resolve/resolv.conf lists Azure DNS (168.63.129.16) beside other "
            "servers: 10.20.0.4, 168.63.129.16",
        ),
        serve=True,
    ),
}


@contextmanager
def scripted_service(scenario: NodeScenario, index: int) -> Iterator[str | None]:
    """A fresh scripted Service per run (its handler counts queries), or ``None`` for the lab's."""
    if scenario.service is None:
        yield None
        return
    with Responder(f"127.0.84.{index + 1}", 5300, scenario.service()) as server:
        yield server.address


def config_doc(lab: Lab, tree: Path, service: str | None, race: bool) -> dict[str, Any]:
    """Every path of the lab (never an address the node resolv.conf lists), reading ``tree``."""
    cluster: dict[str, Any] = {"name": CLUSTER_NAME, "type": "A"}
    if race:
        cluster["race"] = True
    doc = lab.config(names=[cluster, {"name": "example.org.", "type": "A"}], node=node_files.node_paths(tree))
    if service is not None:
        doc["paths"]["service"] = [service]
    return doc


def in_process(doc: dict[str, Any], later: Callable[[], None] | None) -> Runtime:
    runtime = build(parse_config(doc))

    async def rounds() -> None:
        for index in range(ROUNDS):
            if index == 1 and later is not None:
                later()
            await runtime.probe_round()

    asyncio.run(rounds())
    return runtime


def doctor(config: Path, later: Callable[[], None] | None) -> tuple[int, dict[str, Any]]:
    """``doctor --rounds 3``; ``later`` runs once the first round is logged, while doctor waits
    out its interval (1 s) before the second: a change that came later still precedes the third."""
    command = [sys.executable, "-m", "exporter", "doctor", "--config", str(config)]
    command += ["--format", "json", "--rounds", str(ROUNDS), "--log-level", "info"]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO
    ) as process:
        assert process.stderr is not None
        if later is not None:
            rounds = (line for line in process.stderr if "probe_round" in line)
            assert next(rounds, None), "doctor logged no round"
            later()
        out, err = process.communicate(timeout=60)
    assert out, err
    return process.returncode, json.loads(out)


def only_active(expected: Sequence[str]) -> dict[str, float]:
    return {cause: 1.0 if cause in expected else 0.0 for cause in CAUSES}


def check_evidence(scenario: NodeScenario, service: str | None, causes: list[dict[str, Any]]) -> None:
    lines = [line for cause in causes for line in cause["evidence"]]
    for fragment in scenario.evidence:
        fact = fragment.replace("{service}", service or "")
        assert any(fact in line for line in lines), (fact, lines)


def check_loopback_only(report: dict[str, Any]) -> None:
    """Nothing was asked of the servers the node's resolv.conf lists: only the lab was probed."""
    servers = {p["server"] for p in report["probes"]}
    assert servers
    assert all(server.startswith("127.") for server in servers), servers


def serve_and_compare(
    scenario: NodeScenario,
    doc: dict[str, Any],
    later: Callable[[], None] | None,
    start_exporter: Any,
    doctor_causes: list[str],
) -> None:
    exporter = start_exporter(doc)  # ready: the first round's sample is taken
    if later is not None:
        later()

    def diagnosed() -> dict[str, Any] | None:
        """A report once the round that took the window's last sample was diagnosed: the next
        round's sample is taken only after it."""
        report: dict[str, Any] = json.loads(exporter.get("/diagnose")[1])
        return report if report["node"]["samples"] > ROUNDS else None

    report = exporter.wait_for(diagnosed, what=f"{ROUNDS} rounds diagnosed")
    assert [c["cause"] for c in report["causes"]] == doctor_causes, report["causes"]
    gauges = {labels["cause"]: v for labels, v in samples(exporter.metrics(), "k8s_dns_cause_active")}
    assert gauges == only_active(scenario.expected)
    check_evidence(scenario, None, report["causes"])
    check_loopback_only(report)


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_node_scenario_names_exactly_its_cause(
    name: str, shared_lab: Lab, tmp_path: Path, start_exporter: Any
) -> None:
    scenario = SCENARIOS[name]
    index = list(SCENARIOS).index(name)

    def run_in(where: str) -> tuple[Path, Callable[[], None] | None]:
        tree = node_files.copy_tree(scenario.tree, tmp_path / where)
        later = scenario.later
        return tree, (lambda: later(tree)) if later is not None else None

    tree, later = run_in("in-process")
    with scripted_service(scenario, index) as service:
        runtime = in_process(config_doc(shared_lab, tree, service, scenario.race), later)
        report = runtime.report().as_dict()
    assert [c["cause"] for c in report["causes"]] == list(scenario.expected), report["causes"]
    check_evidence(scenario, service, report["causes"])
    check_loopback_only(report)
    for finding in runtime.findings.get():
        assert finding.fix
        assert finding.runbook == f"docs/runbooks/{finding.cause}.md"
    registry = runtime.registry()
    gauges = {
        cause: registry.get_sample_value(
            "k8s_dns_cause_active", {"cause": cause, "severity": CAUSES[cause].severity}
        )
        for cause in CAUSES
    }
    assert gauges == only_active(scenario.expected)

    tree, later = run_in("doctor")
    with scripted_service(scenario, index) as service:
        config = write_config(tmp_path / "doctor.yaml", config_doc(shared_lab, tree, service, scenario.race))
        code, report = doctor(config, later)
    causes = [c["cause"] for c in report["causes"]]
    assert causes == list(scenario.expected), report["causes"]
    assert code == (0 if report["healthy"] else 1)
    assert report["node"]["samples"] == ROUNDS
    check_evidence(scenario, service, report["causes"])
    check_loopback_only(report)

    if scenario.serve:
        assert scenario.service is None, "serve probes the lab's own Service"
        tree, later = run_in("serve")
        doc = config_doc(shared_lab, tree, None, scenario.race)
        serve_and_compare(scenario, doc, later, start_exporter, causes)
