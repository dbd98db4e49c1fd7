"""Scenarios: each documented cause the probes can see, made in the lab the way it happens in a cluster.

Each scenario breaks the lab (real DNS servers) like the cause breaks a cluster,
runs three probe rounds (the diagnosis window), and asserts that exactly that
cause is named, with its evidence. The healthy lab names nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from exporter.causes import CAUSES
from exporter.diagnosis.model import Finding
from exporter.runtime import Runtime
from lab import Lab
from lab.topology import DEAD, Upstream
from lab.zones import PUBLIC
from tests.integration.probing import run_round

pytestmark = pytest.mark.lab

NAMES = [
    {"name": "kubernetes.default.svc.cluster.local.", "type": "A"},
    {"name": "example.org.", "type": "A"},
    {"name": "db.corp.internal.", "type": "A", "kind": "external"},
]


@dataclass
class Scenario:
    lab: dict[str, Any] = field(default_factory=dict)
    kill: tuple[str, ...] = ()
    names: list[dict[str, Any]] = field(default_factory=lambda: NAMES)
    expected: list[str] = field(default_factory=list)
    evidence: Callable[[Lab], list[str]] = lambda lab: []
    resolv_conf: Callable[[Lab, Path], Path] | None = None
    """The pod resolv.conf the resolver path reads (default: none, the path is off)."""


def dead(net: int) -> str:
    return f"127.{net}.{DEAD}:5353"


def _long_search(lab: Lab, tmp: Path) -> Path:
    path = tmp / "resolv.conf"
    search = "default.svc.cluster.local svc.cluster.local cluster.local corp.internal example.net example.com"
    path.write_text(f"nameserver {lab.servers['service'].host}\nsearch {search}\noptions ndots:5\n")
    return path


SCENARIOS = {
    "healthy": Scenario(resolv_conf=lambda lab, tmp: lab.write_resolv_conf(tmp / "resolv.conf")),
    # dnsPolicy: Default: the pod asks the node's upstream directly, never cluster DNS.
    "pod_resolv_conf_wrong (dnsPolicy Default)": Scenario(
        names=[*NAMES, {"name": "example.org", "kind": "external"}],
        resolv_conf=lambda lab, tmp: lab.write_resolv_conf(
            tmp / "resolv.conf", nameservers=[lab.servers["upstream-1"].host]
        ),
        expected=["pod_resolv_conf_wrong"],
        evidence=lambda lab: [
            f"{{file}} lists {lab.servers['upstream-1'].host}: neither the kube-dns Service nor"
        ],
    ),
    # Pods pointed at a cluster DNS address the exporter was not told of (AKS LocalDNS's 169.254.10.11,
    # a cache of RKE2's): it answers cluster names, so it is cluster DNS. Here, a CoreDNS pod directly.
    "healthy (an unlisted cluster DNS address)": Scenario(
        resolv_conf=lambda lab, tmp: lab.write_resolv_conf(
            tmp / "resolv.conf", nameservers=[lab.servers["pod-1"].host]
        ),
    ),
    # ndots:5 with a long search list: every external lookup costs one query per search domain first.
    "pod_resolv_conf_wrong (search list)": Scenario(
        names=[*NAMES, {"name": "example.org", "kind": "external"}],
        resolv_conf=_long_search,
        expected=["pod_resolv_conf_wrong"],
        evidence=lambda lab: ["looking up example.org took 7 queries (search default.svc.cluster.local"],
    ),
    # kube-proxy lost the Service's rules: the VIP leads nowhere, the pods answer.
    "service_routing_broken": Scenario(
        kill=("service",),
        expected=["service_routing_broken"],
        evidence=lambda lab: [f"service {lab.address('service')}: 18/18 probes failed (network_error)"],
    ),
    "nodelocal_down": Scenario(
        kill=("nodelocal",),
        expected=["nodelocal_down"],
        evidence=lambda lab: [f"nodelocal {lab.address('nodelocal')}: 18/18 probes failed (network_error)"],
    ),
    # Every CoreDNS pod is gone: the Service and NodeLocal's cluster zone fail behind them.
    "coredns_unavailable": Scenario(
        kill=("pod-1", "pod-2"),
        expected=["coredns_unavailable"],
        evidence=lambda lab: [f"pod {lab.address('pod-1')}: 18/18 probes failed (network_error)"],
    ),
    # A Corefile whose forward block points at a server that is not there.
    "coredns_config_error": Scenario(
        lab={"pod_forward": "dead"},
        expected=["coredns_config_error"],
        evidence=lambda lab: [f"upstream {lab.address('upstream-1')}: external names answer"],
    ),
    # CoreDNS lost the API server: it cannot answer the cluster zone, forwarding still works.
    "coredns_api_unreachable": Scenario(
        lab={"pods_serve_cluster": False},
        expected=["coredns_api_unreachable"],
        evidence=lambda lab: [f"pod {lab.address('pod-1')}: internal 6/6 failed"],
    ),
    # The Azure case: two custom DNS servers serve the private zone, Azure DNS beside them does not.
    "upstream_mixed_resolvers": Scenario(
        lab={"upstreams": (Upstream(), Upstream(), Upstream(zones=PUBLIC))},
        expected=["upstream_mixed_resolvers"],
        evidence=lambda lab: [
            f"db.corp.internal. A: {lab.address('upstream-1')} -> NOERROR 10.20.0.5; "
            f"{lab.address('upstream-2')} -> NOERROR 10.20.0.5; {lab.address('upstream-3')} -> NXDOMAIN"
        ],
    ),
    "upstream_unreachable": Scenario(
        kill=("upstream-2",),
        names=[NAMES[1]],
        expected=["upstream_unreachable"],
        evidence=lambda lab: [f"upstream {lab.address('upstream-2')}: 6/6 probes failed (network_error)"],
    ),
    # Both upstreams refuse a zone: not a disagreement, an upstream error.
    "upstream_error": Scenario(
        lab={"upstreams": (Upstream(refuse=("example.com.",)), Upstream(refuse=("example.com.",)))},
        names=[NAMES[1], {"name": "example.com.", "type": "A"}],
        expected=["upstream_error"],
        evidence=lambda lab: [f"upstream {lab.address('upstream-1')}: example.com. A -> REFUSED"],
    ),
    # One upstream refuses beside a good one: it is broken, not in disagreement with the other.
    "upstream_error (one of two refuses)": Scenario(
        lab={"upstreams": (Upstream(refuse=("example.com.",)), Upstream())},
        names=[NAMES[1], {"name": "example.com.", "type": "A"}],
        expected=["upstream_error"],
        evidence=lambda lab: [f"upstream {lab.address('upstream-1')}: example.com. A -> REFUSED"],
    ),
    # Of three, one refuses and one is gone: each broken server is accounted for.
    "upstream_error (one refuses, one is gone)": Scenario(
        lab={"upstreams": (Upstream(refuse=("example.com.",)), Upstream(), Upstream())},
        kill=("upstream-3",),
        names=[NAMES[1], {"name": "example.com.", "type": "A"}],
        expected=["upstream_error", "upstream_unreachable"],
        evidence=lambda lab: [
            f"upstream {lab.address('upstream-1')}: example.com. A -> REFUSED",
            f"upstream {lab.address('upstream-3')}: ",
        ],
    ),
    # A private-zone style resolver that serves UDP only.
    "upstream_tcp_unsupported": Scenario(
        lab={"upstreams": (Upstream(tcp=False), Upstream(tcp=False))},
        names=[NAMES[1]],
        expected=["upstream_tcp_unsupported"],
        evidence=lambda lab: [
            f"upstream {lab.address('upstream-1')}: udp answers, tcp 3/3 failed (network_error)"
        ],
    ),
    # A headless Service with 40 endpoints: the UDP answer does not fit in 512 bytes.
    "response_truncated": Scenario(
        names=[{"name": "big-headless.default.svc.cluster.local.", "type": "A"}],
        expected=["response_truncated"],
        evidence=lambda lab: [
            f"pod {lab.address('pod-1')}: big-headless.default.svc.cluster.local. A truncated over UDP"
        ],
    ),
    # The node's pod network reaches nothing.
    "pod_network_broken": Scenario(
        kill=("service", "pod-1", "pod-2", "nodelocal", "upstream-1", "upstream-2"),
        expected=["pod_network_broken"],
        evidence=lambda lab: [f"upstream {lab.address('upstream-1')}: 12/12 probes failed (network_error)"],
    ),
}


def findings_for(scenario: Scenario, net: int, tmp: Path) -> tuple[Lab, Runtime, list[Finding]]:
    options = dict(scenario.lab)
    if options.get("pod_forward") == "dead":
        options["pod_forward"] = [dead(net)]
    with Lab(net=net, **options) as lab:
        for role in scenario.kill:
            lab.kill(role)
        resolv = scenario.resolv_conf(lab, tmp) if scenario.resolv_conf else None
        doc = lab.config(names=scenario.names, resolv_conf=resolv)
        runtime, _ = run_round(doc, rounds=3)
        return lab, runtime, list(runtime.findings.get())


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_scenario_names_exactly_its_cause(name: str, tmp_path: Path) -> None:
    scenario = SCENARIOS[name]
    lab, runtime, findings = findings_for(scenario, 100 + list(SCENARIOS).index(name), tmp_path)
    assert [f.cause for f in findings] == scenario.expected, [f.summary for f in findings]
    registry = runtime.registry()
    for cause in CAUSES:
        active = registry.get_sample_value(
            "k8s_dns_cause_active", {"cause": cause, "severity": CAUSES[cause].severity}
        )
        assert active == (1.0 if cause in scenario.expected else 0.0), cause
    for fact in (f.replace("{file}", str(tmp_path / "resolv.conf")) for f in scenario.evidence(lab)):
        assert any(line.startswith(fact) for f in findings for line in f.evidence), (
            fact,
            [f.evidence for f in findings],
        )
    for finding in findings:
        assert finding.fix
        assert finding.runbook == f"docs/runbooks/{finding.cause}.md"


def test_the_azure_case_is_graphed_per_name(tmp_path: Path) -> None:
    _, runtime, _ = findings_for(SCENARIOS["upstream_mixed_resolvers"], 150, tmp_path)
    registry = runtime.registry()
    assert (
        registry.get_sample_value(
            "k8s_dns_upstream_disagreement", {"name": "db.corp.internal.", "qtype": "A"}
        )
        == 1
    )
    assert (
        registry.get_sample_value("k8s_dns_upstream_disagreement", {"name": "example.org.", "qtype": "A"})
        == 0
    )


def test_the_resolver_conf_is_exported(tmp_path: Path) -> None:
    lab_, runtime, _ = findings_for(SCENARIOS["pod_resolv_conf_wrong (search list)"], 151, tmp_path)
    registry = runtime.registry()
    labels = {
        "file": str(tmp_path / "resolv.conf"),
        "nameservers": lab_.servers["service"].host,
        "search": "default.svc.cluster.local,svc.cluster.local,cluster.local,corp.internal,example.net,example.com",
        "ndots": "5",
        "options": "ndots:5",
    }
    assert registry.get_sample_value("k8s_dns_resolver_conf_info", labels) == 1
