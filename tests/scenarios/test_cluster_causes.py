"""Scenarios: each cause the cluster instance reads from the Kubernetes API, made the way it happens.

Each scenario (``tests/scenarios/cluster.py``) loads the healthy fake cluster into the
test API, breaks it one way (and the lab with it, where the probes see the cause too);
``doctor`` in cluster mode must name exactly that cause, with its evidence. A few run ``serve``
as well: ``k8s_dns_cause_active`` and ``/diagnose`` must name the same causes. The
healthy cluster names nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from exporter.causes import CAUSES
from lab import Lab, Responder
from lab.kubeapi.cluster import NODES, POD_NAMES, fake_cluster, host
from lab.kubeapi.nodes import pod_metrics
from lab.kubeapi.objects import NS, coredns_pod
from lab.kubeapi.server import KubeAPI
from lab.kubeapi.workloads import kube_proxy_configmap
from lab.responder import StaleUdpFlows
from lab.shipped import CLUSTER_CONFIG, on_test_api
from tests.conftest import Exporter, run_cli, write_config
from tests.integration.metrics_text import samples, value
from tests.kubeapi.pods import pod
from tests.kubeapi.serving import FAST_CLUSTER, READERS, capacity_ready, config, pod_servers
from tests.scenarios.cluster import SAMPLE_PODS, SCENARIOS, dead_forwarder, expected, staged

pytestmark = pytest.mark.lab


def check_findings(causes: list[dict[str, Any]], expected: list[str], evidence: list[str]) -> None:
    assert [c["cause"] for c in causes] == expected, [c["summary"] for c in causes]
    for fact in evidence:
        assert any(line.startswith(fact) for c in causes for line in c["evidence"]), (
            fact,
            [c["evidence"] for c in causes],
        )
    for cause in causes:
        assert cause["fix"]
        assert cause["runbook"] == f"docs/runbooks/{cause['cause']}.md"


@pytest.fixture
def stack() -> Iterator[ExitStack]:
    with ExitStack() as stack:
        yield stack


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_doctor_names_exactly_the_cause(
    name: str, *, lab: Lab, kube_api: KubeAPI, kubeconfig: Path, tmp_path: Path, stack: ExitStack
) -> None:
    scenario = staged(name, lab, kube_api, stack)
    doc = config(lab, kubeconfig, mode="cluster", sample_pods=SAMPLE_PODS)
    result = run_cli("doctor", "--config", str(write_config(tmp_path / "c.yaml", doc)), "--format", "json")
    report = json.loads(result.stdout)
    check_findings(report["causes"], expected(name), scenario.facts(lab))
    assert {name: run for name, run in report["collectors"].items() if not run["success"]} == {}
    assert result.returncode == (1 if expected(name) else 0), result.stderr
    assert report["healthy"] == (not expected(name))


def serve_config(lab: Lab, kubeconfig: Path) -> dict[str, Any]:
    """Cluster mode on a short schedule: readers every second, a Lease that is taken at once."""
    return config(lab, kubeconfig, mode="cluster", sample_pods=SAMPLE_PODS, **FAST_CLUSTER)


def diagnosed(exporter: Exporter) -> dict[str, Any]:
    """/diagnose after a probe round that ended once every cluster reader had its result."""
    exporter.wait_for(lambda: _all_read(exporter.metrics()), what="every cluster reader")
    rounds = value(exporter.metrics(), "k8s_dns_probe_rounds_total")
    exporter.wait_for(
        lambda: value(exporter.metrics(), "k8s_dns_probe_rounds_total") > rounds, what="one more round"
    )
    status, body = exporter.get("/diagnose")
    assert status == 200, body
    return json.loads(body)  # type: ignore[no-any-return]


def _all_read(text: str) -> bool:
    done = {labels["collector"] for labels, v in samples(text, "k8s_dns_collector_success") if v == 1}
    return done >= {*READERS, "pod_dns"}


def check_cause_active(exporter: Exporter, expected: list[str]) -> None:
    active = {labels["cause"]: v for labels, v in samples(exporter.metrics(), "k8s_dns_cause_active")}
    assert active == {cause: float(cause in expected) for cause in CAUSES}


@pytest.mark.parametrize("name", ["healthy", "coredns_node_overloaded", "dns_port_blocked"])
def test_serve_agrees_with_doctor(
    name: str, *, lab: Lab, kube_api: KubeAPI, kubeconfig: Path, start_exporter: Any, stack: ExitStack
) -> None:
    scenario = staged(name, lab, kube_api, stack)
    exporter = start_exporter(serve_config(lab, kubeconfig))
    report = diagnosed(exporter)
    check_findings(report["causes"], expected(name), scenario.facts(lab))
    check_cause_active(exporter, expected(name))


REPLACEMENT = "coredns-5d78c9869d-q4w8z"


@pytest.mark.parametrize("lab", [{"pods": 3}], indirect=True)
def test_ipvs_udp_stale_after_a_coredns_pod_is_replaced(
    lab: Lab, kube_api: KubeAPI, kubeconfig: Path, start_exporter: Any, stack: ExitStack
) -> None:
    """A CoreDNS pod is replaced (a rollout, a drained node); IPVS keeps sending UDP to the old one.

    ``doctor`` cannot see this cause: it lists the EndpointSlices once, so it never sees an
    endpoint leave. ``serve`` watches them.
    """
    cluster = fake_cluster(kube_api, lab, healthy=True)
    put = kube_api.store.put
    put(kube_proxy_configmap("ipvs"))
    nodelocal = host(lab.address("nodelocal"))
    for index in range(5):  # an IPVS cluster set up as NodeLocal DNSCache asks: pods are given its address
        put(pod(f"web-7c9f8d-{index}", servers=[nodelocal]))
    exporter = start_exporter(serve_config(lab, kubeconfig))
    before = diagnosed(exporter)
    assert before["causes"] == []

    # The Deployment replaces pod 2 (on node-2) by a new pod with a new IP.
    old, new = lab.servers["pod-2"], lab.servers["pod-3"]
    put(coredns_pod(REPLACEMENT, node=NODES[1], ip=new.host))
    put(pod_metrics(REPLACEMENT, cpu="2946532n", memory="17164Ki"))
    endpoints = [(cluster.pod_ips[0], POD_NAMES[0], NODES[0]), (new.host, REPLACEMENT, NODES[1])]
    put(cluster.slice(endpoints))
    kube_api.store.delete("v1", "pods", NS, POD_NAMES[1])
    kube_api.store.delete("metrics.k8s.io/v1beta1", "pods", NS, POD_NAMES[1])
    live = {lab.address("pod-1"), new.address}
    exporter.wait_for(lambda: pod_servers(exporter.metrics()) == live, what="the old pod replaced")
    # From then on, UDP to the Service VIP still goes to the removed pod; TCP reaches a live one.
    lab.kill("pod-2")
    service = lab.servers["service"]
    lab.kill("service")
    stack.enter_context(
        Responder(service.host, service.port, StaleUdpFlows((lab.servers["pod-1"].host, lab.port)))
    )

    seen: list[list[str]] = []

    def stale() -> dict[str, Any] | None:
        report = json.loads(exporter.get("/diagnose")[1])
        seen.append([c["cause"] for c in report["causes"]])
        return report if seen[-1] == ["ipvs_udp_stale"] else None

    report = exporter.wait_for(stale, what="ipvs_udp_stale alone")
    evidence = [
        f"endpoint {old.address} removed ",
        f"service {service.address}: udp ",
        "kube-proxy mode: ipvs",
    ]
    check_findings(report["causes"], ["ipvs_udp_stale"], evidence)
    assert all(causes in ([], ["ipvs_udp_stale"]) for causes in seen), seen
    check_cause_active(exporter, ["ipvs_udp_stale"])


@pytest.mark.parametrize("name", ["healthy", "dns_port_blocked"])
def test_the_shipped_cluster_config_names_what_needs_readings_and_probes_together(
    name: str,
    *,
    lab: Lab,
    kube_api: KubeAPI,
    kubeconfig: Path,
    tmp_path: Path,
    start_exporter: Any,
    stack: ExitStack,
) -> None:
    """dns_port_blocked needs a NetworkPolicy (the API) and Ready pods timing out (probes): the shipped
    cluster instance has both, with nothing changed but where the API and the lab are."""
    scenario = staged(name, lab, kube_api, stack)
    exporter = start_exporter(on_test_api(CLUSTER_CONFIG, lab, kubeconfig, tmp_path), ready=False)
    exporter.wait_for(lambda: capacity_ready(exporter.metrics()), timeout=60, what="every cluster reader")
    rounds = value(exporter.metrics(), "k8s_dns_probe_rounds_total")
    exporter.wait_for(
        lambda: value(exporter.metrics(), "k8s_dns_probe_rounds_total") >= rounds + 2, what="two more rounds"
    )
    status, body = exporter.get("/diagnose")
    assert status == 200, body
    report = json.loads(body)
    probed = {labels["path"] for labels, _ in samples(exporter.metrics(), "k8s_dns_probe_success")}
    assert {"service", "pod", "upstream"} <= probed
    check_findings(report["causes"], expected(name), scenario.facts(lab))


@pytest.mark.parametrize(
    ("name", "zone_results"),
    [
        ("healthy (stub domains)", {"upstream-1": "success"}),
        ("upstream_unreachable (on-premises forwarder)", {"dead": "network_error"}),
    ],
)
def test_each_conditional_forwarder_is_asked_for_its_zone(
    name: str,
    zone_results: dict[str, str],
    *,
    lab: Lab,
    kube_api: KubeAPI,
    kubeconfig: Path,
    tmp_path: Path,
    stack: ExitStack,
) -> None:
    """coredns-custom's corp.server block: its forwarder is asked corp.internal's SOA on the upstream
    path (the catch-all upstreams stay asked the names); a dead one is named with the zone it serves.
    forward.override's line, imported after `forward .`, is never reached by a query: it is reported
    as such and not probed, so it can name nothing."""
    staged(name, lab, kube_api, stack)
    doc = config(lab, kubeconfig, mode="cluster", sample_pods=SAMPLE_PODS)
    result = run_cli("doctor", "--config", str(write_config(tmp_path / "c.yaml", doc)), "--format", "json")
    report = json.loads(result.stdout)
    servers = {
        role: dead_forwarder(lab.address("upstream-1")) if role == "dead" else lab.address(role)
        for role in zone_results
    }
    soa = {
        p["server"]: p["result"]
        for p in report["probes"]
        if (p["path"], p["name"], p["qtype"]) == ("upstream", "corp.internal.", "SOA")
    }
    assert soa == {servers[role]: outcome for role, outcome in zone_results.items()}
    zones = report["discovery"]["upstream_zones"]
    assert sorted(z["server"] for z in zones) == sorted(servers.values())
    assert {z["zone"] for z in zones} == {"corp.internal."}
    upstream_names = {p["name"] for p in report["probes"] if p["path"] == "upstream" and p["qtype"] != "SOA"}
    assert upstream_names == {"example.org."}
    problems = report["cluster"]["corefile"]["problems"]
    assert [p["kind"] for p in problems] == ["forward_shadowed"]
    assert problems[0]["message"].startswith(
        "custom/forward.override:1: forward corp.internal. is never reached"
    )
    if "dead" in zone_results:
        (cause,) = report["causes"]
        assert cause["cause"] == "upstream_unreachable"
        assert cause["evidence"] == [
            f"upstream {servers['dead']}: 1/1 probes failed (network_error) (forwarder for corp.internal.)"
        ]
    else:
        assert report["causes"] == []
