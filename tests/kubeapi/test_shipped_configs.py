"""The configs deploy/ ships, run as the DaemonSet and the two-replica Deployment would run them,
against the test Kubernetes API describing the lab: discovery finds every hop, one replica
reports, every API request each workload makes is granted by the RBAC deploy/ renders, and
each process's peak memory stays within its workload's request.

Only what a cluster would differ in is changed: the API endpoint (a kubeconfig instead of the
pod's ServiceAccount), the lab's addresses for the pod's resolv.conf, NodeLocal and the host's
files, and a faster schedule with the API budget it needs. Names, paths and the Lease are the
shipped ones.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from deploy.rbac import NAMESPACE, rendered_grants
from lab import Lab
from lab.kubeapi.cluster import fake_cluster
from lab.kubeapi.server import KubeAPI, Request
from lab.shipped import CLUSTER_CONFIG, NODE_CONFIG, on_test_api
from tests.conftest import REPO
from tests.deploy.footprint import GOAL_MIB, high_water_mib, mebibytes
from tests.deploy.shipped import one, render
from tests.integration.metrics_text import samples, value
from tests.kubeapi.api_requests import described, verb
from tests.kubeapi.serving import capacity_ready

pytestmark = pytest.mark.lab


def requested(kind: str, name: str) -> float:
    """The memory request of the workload in deploy/base, MiB."""
    (container,) = one(render(REPO / "deploy" / "base"), kind, name)["spec"]["template"]["spec"]["containers"]
    return mebibytes(container["resources"]["requests"]["memory"])


def ungranted(requests: list[Request], account: str) -> list[str]:
    """Requests the RBAC rendered from deploy/base does not grant to ``account``."""
    grants = {g[1:] for g in rendered_grants(render(REPO / "deploy" / "base")) if g[0] == account}
    missing = []
    for request in requests:
        group, namespace, resource, name = described(request)
        scopes = ("cluster", namespace) if namespace else ("cluster",)
        names = ("", name) if name else ("",)
        if not any((s, group, resource, verb(request), n) in grants for s in scopes for n in names):
            missing.append(f"{verb(request)} {request.path}")
    return missing


def test_shipped_configs_discover_the_lab_elect_one_reporter_and_stay_within_their_rbac(
    lab: Lab, kube_api: KubeAPI, kubeconfig: Path, tmp_path: Path, start_exporter: Any
) -> None:
    fake_cluster(kube_api, lab)
    node = start_exporter(on_test_api(NODE_CONFIG, lab, kubeconfig, tmp_path), name="node.yaml")
    servers = {
        "service": {lab.address("service")},
        "pod": {lab.address(r) for r in lab.roles("pod")},
        "nodelocal": {lab.address("nodelocal")},
    }
    upstreams = {lab.address(r) for r in lab.roles("upstream")}

    def probed(text: str, path: str) -> set[str]:
        return {labels["server"] for labels, _ in samples(text, "k8s_dns_probe_success", path=path)}

    node.wait_for(
        lambda: all(probed(node.metrics(), p) == want for p, want in servers.items()), what="every hop"
    )
    text = node.metrics()
    assert {v for _, v in samples(text, "k8s_dns_probe_success")} == {1.0}
    assert value(text, "k8s_dns_probe_success", path="resolver", name="kubernetes.default", qtype="A") == 1
    raced = {labels["server"] for labels, _ in samples(text, "k8s_dns_race_probes_total")}
    assert raced == set().union(*servers.values())
    # Every upstream from this node too (the Corefile's forward targets, read through the API), one a
    # round: each shows up in turn, never both at once.
    seen: set[str] = set()

    def turns() -> bool:
        now = probed(node.metrics(), "upstream")
        assert len(now) <= 1, now
        seen.update(now)
        return seen == upstreams

    node.wait_for(turns, what="every upstream in turn")
    assert value(node.metrics(), "k8s_dns_targets_known", path="upstream") == len(upstreams)
    assert ungranted(kube_api.requests, f"{NAMESPACE}/k8s-dns-exporter-node") == []
    assert high_water_mib(node.process.pid) <= min(GOAL_MIB, requested("DaemonSet", "k8s-dns-exporter-node"))
    node.stop()

    kube_api.requests.clear()
    doc = on_test_api(CLUSTER_CONFIG, lab, kubeconfig, tmp_path)
    replicas = [start_exporter(doc, name=f"cluster-{i}.yaml", ready=False) for i in (1, 2)]

    def leaders() -> list[float]:
        return sorted(value(r.metrics(), "k8s_dns_leader") for r in replicas)

    replicas[0].wait_for(lambda: leaders() == [0.0, 1.0], what="one leader, one standby")
    leader, standby = sorted(replicas, key=lambda r: -value(r.metrics(), "k8s_dns_leader"))
    upstreams = {lab.address(r) for r in lab.roles("upstream")}
    leader.wait_for(lambda: probed(leader.metrics(), "upstream") == upstreams, what="upstream probes")
    text = leader.wait_for(lambda: capacity_ready(leader.metrics()), what="every cluster reader")
    assert {v for _, v in samples(text, "k8s_dns_probe_success")} == {1.0}
    assert value(text, "k8s_dns_coredns_replicas") == 2
    rounds = value(standby.metrics(), "k8s_dns_probe_rounds_total")  # one more round, which probes nothing
    standby.wait_for(
        lambda: value(standby.metrics(), "k8s_dns_probe_rounds_total") > rounds, what="a round of the standby"
    )
    assert samples(standby.metrics(), "k8s_dns_probe_success") == []
    lease = kube_api.store.get("coordination.k8s.io/v1", "leases", NAMESPACE, "k8s-dns-exporter")
    assert lease is not None, "the Lease lives in the exporter's own namespace"
    assert ungranted(kube_api.requests, f"{NAMESPACE}/k8s-dns-exporter-cluster") == []
    assert any(verb(r) == "update" for r in kube_api.requests), "the leader renews its Lease"
    peak = high_water_mib(leader.process.pid)
    assert peak <= requested("Deployment", "k8s-dns-exporter-cluster"), f"cluster leader peak {peak:.1f} MiB"
