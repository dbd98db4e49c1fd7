"""The shipped configs on the cluster shapes of real distributions (lab/kubeapi/distributions/).

Each shape runs ``doctor`` with deploy/base/config/node.yaml and cluster.yaml unchanged but for
the API endpoint, the lab's addresses, the host files and the schedule (``lab.shipped.on_shape``):
the node agent finds the cluster DNS Service, every DNS pod on its real port, and the node cache
where one serves this node; neither instance names a cause on the healthy shape; with the Service
VIP reaching nothing, the node agent still names ``service_routing_broken``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from typing import Any

import pytest

from exporter.compose import credentials
from exporter.config import load_config, parse_config
from exporter.kube.lite import LiteClient
from exporter.kube.rbac import for_config
from exporter.status import Status
from exporter.targets.discovery import KubernetesDiscovery
from lab import Lab
from lab.coredns_metrics import CorednsMetrics
from lab.kubeapi.distributions import HEALTHY, SHAPES, load
from lab.kubeapi.server import KubeAPI
from lab.shipped import CLUSTER_CONFIG, NODE_CONFIG, on_shape
from tests.conftest import run_cli, write_config
from tests.kubeapi.api_requests import uncovered

pytestmark = pytest.mark.lab


def doctor(
    shape: str, config: Path, lab: Lab, api: KubeAPI, kubeconfig: Path, *, work: Path, **kw: Any
) -> dict[str, Any]:
    loaded = load(api, lab, SHAPES[shape], **kw)
    doc = on_shape(config, kubeconfig, work, resolver=loaded.resolver, port=lab.port)
    result = run_cli(
        "doctor",
        "--format",
        "json",
        "--config",
        str(write_config(work / "c.yaml", doc)),
        env={"NODE_NAME": "node-1"},
    )
    report: dict[str, Any] = json.loads(result.stdout)
    report["_loaded"] = loaded
    return report


def causes(report: dict[str, Any]) -> list[str]:
    return [c["cause"] for c in report["causes"]]


def failing(report: dict[str, Any]) -> dict[str, str]:
    """Collectors that failed, with their errors."""
    return {name: run["error"] for name, run in report["collectors"].items() if not run["success"]}


@pytest.mark.parametrize("shape", HEALTHY)
def test_the_node_agent_finds_the_dns_of_each_distribution_and_names_nothing(
    shape: str, shared_lab: Lab, kube_api: KubeAPI, kubeconfig: Path, tmp_path: Path
) -> None:
    report = doctor(shape, NODE_CONFIG, shared_lab, kube_api, kubeconfig, work=tmp_path)
    loaded, discovery = report["_loaded"], report["discovery"]
    targets = discovery["targets"]
    namespace, service = SHAPES[shape].dns
    assert (discovery["service"]["namespace"], discovery["service"]["service"]) == (namespace, service)
    assert targets["service"] == [loaded.service]
    assert sorted(targets["pod"]) == sorted(loaded.pods)
    assert targets.get("nodelocal", []) == ([loaded.nodelocal] if loaded.nodelocal else [])
    assert discovery["errors"] == {}
    assert causes(report) == []
    # Without a Corefile (kube-dns), upstream: auto is the node's resolv.conf servers, which are asked
    # on port 53, where the lab cannot answer: the fake host root lists none, and says so.
    no_corefile = {"paths.upstream": "the node's /etc/resolv.conf lists no nameserver"}
    expected_errors = no_corefile if shape == "gke-kube-dns" else {}
    assert report["source_errors"] == expected_errors
    assert not [p for p in report["probes"] if p["result"] != "success"]
    unread = [f"paths.upstream: {error}" for error in expected_errors.values()]
    assert failing(report) == ({"targets": unread[0]} if unread else {})
    assert uncovered(kube_api.requests, "node", for_config(load_config(NODE_CONFIG))) == []


@pytest.mark.parametrize("shape", HEALTHY)
def test_the_cluster_instance_reads_the_located_dns_and_names_nothing(  # noqa: PLR0917 - pytest fixtures
    shape: str,
    shared_lab: Lab,
    kube_api: KubeAPI,
    kubeconfig: Path,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    with contextlib.ExitStack() as stack:
        for role in shared_lab.roles("pod"):  # the shapes' DNS pods are the lab's pod hosts
            stack.enter_context(CorednsMetrics(shared_lab.servers[role].host))  # CoreDNS's own metrics
        report = doctor(shape, CLUSTER_CONFIG, shared_lab, kube_api, kubeconfig, work=tmp_path)
    namespace, service = SHAPES[shape].dns
    assert report["cluster"]["service"]["name"] == service
    assert report["discovery"]["service"]["namespace"] == namespace
    assert len(report["cluster"]["coredns"]["pods"]) == len(report["_loaded"].pods)
    assert causes(report) == [], [(c["cause"], c["evidence"]) for c in report["causes"]]
    # OpenShift's CoreDNS serves its metrics on the pod's loopback only: no source, said so; else none.
    loopback = shape.startswith("openshift")
    assert set(failing(report)) == ({"coredns_metrics"} if loopback else set())
    if loopback:
        assert "listens on the pod's loopback (127.0.0.1:9153)" in failing(report)["coredns_metrics"]
    # What it asked of the API, the RBAC generated from the shipped config grants (on every shape,
    # wherever the DNS was located): a refused read would fail its collector on a real cluster.
    assert uncovered(kube_api.requests, "cluster", for_config(load_config(CLUSTER_CONFIG))) == []


@pytest.mark.parametrize("shape", HEALTHY)
def test_a_dead_service_vip_is_still_named_on_each_distribution(
    shape: str, shared_lab: Lab, kube_api: KubeAPI, kubeconfig: Path, tmp_path: Path
) -> None:
    report = doctor(shape, NODE_CONFIG, shared_lab, kube_api, kubeconfig, work=tmp_path, service_dead=True)
    assert "service_routing_broken" in causes(report)


def test_dual_stack_150_endpoints_one_per_pod_without_the_terminating(
    shared_lab: Lab, kube_api: KubeAPI, kubeconfig: Path
) -> None:
    loaded = load(kube_api, shared_lab, SHAPES["dual-stack"])
    config = parse_config(
        {
            "names": [{"name": "example.org."}],
            "paths": {"service": "auto", "pod": "auto"},
            "kubernetes": {"config": "kubeconfig", "kubeconfig": str(kubeconfig), "timeout": "2s"},
        }
    )
    client = LiteClient(lambda: credentials(config.kubernetes), timeout=2.0)
    discovery = KubernetesDiscovery(config, client, Status(), watch_slices=False)
    asyncio.run(discovery.refresh())
    slices = [
        o
        for o in loaded.objects
        if o["kind"] == "EndpointSlice" and o["metadata"]["name"].startswith("kube-dns-")
    ]
    assert len(slices) == 8
    assert {s["addressType"] for s in slices} == {"IPv4", "IPv6"}
    endpoints = discovery.readings().endpoints
    assert len(endpoints) == 150 - 9, "every pod once, by its IPv4 address; the 9 terminating left out"
    assert all(":" not in e.server.host for e in endpoints)
    assert sum(not e.ready for e in endpoints) == 10, "not-ready pods are kept, to be seen failing"
    assert {str(s) for s in discovery("service")} == {loaded.service, "[fd00:10:96::a]:5353"}


def test_nothing_found_is_one_line_naming_what_to_set(
    shared_lab: Lab, kube_api: KubeAPI, kubeconfig: Path, tmp_path: Path
) -> None:
    doc = on_shape(NODE_CONFIG, kubeconfig, tmp_path, resolver="127.0.10.10", port=shared_lab.port)
    result = run_cli("doctor", "--format", "json", "--config", str(write_config(tmp_path / "c.yaml", doc)))
    report = json.loads(result.stdout)
    assert causes(report) == []
    assert report["collectors"]["discovery"]["success"] is False
    error = report["discovery"]["errors"]["service"]
    assert error.startswith("no cluster DNS Service found (tried kube-system/kube-dns, ")
    assert error.endswith(
        "set kubernetes.namespace and kubernetes.service to the Service whose ClusterIP your pods' resolv.conf names"
    )
