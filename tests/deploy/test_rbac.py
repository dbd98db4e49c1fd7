"""RBAC: exactly the rules the code declares for the shipped configs, least privilege, no wildcard."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from deploy.rbac import ACCOUNTS, grants, rbac_objects, rendered_grants
from exporter.kube.rbac import NAMEABLE_VERBS
from lab.shipped import NAMESPACE
from tests.deploy.shipped import OVERLAYS, find, render

RBAC_KINDS = ("ClusterRole", "Role", "ClusterRoleBinding", "RoleBinding")
overlays = pytest.mark.parametrize("overlay", OVERLAYS, ids=lambda p: p.name)
CLUSTER = f"{NAMESPACE}/k8s-dns-exporter-cluster"
NODE = f"{NAMESPACE}/k8s-dns-exporter-node"


def _rbac(overlay: Path) -> list[dict[str, Any]]:
    return [o for o in render(overlay) if o["kind"] in RBAC_KINDS]


SCC_USE = {
    (account, NAMESPACE, "security.openshift.io", "securitycontextconstraints", "use", "k8s-dns-exporter")
    for account in (CLUSTER, NODE)
}
"""The OpenShift overlay adds one grant: both accounts may use its SCC (in their own namespace)."""


@overlays
def test_rendered_rbac_grants_exactly_the_declared_rules(overlay: Path) -> None:
    extra = SCC_USE if overlay.name == "openshift" else set()
    assert rendered_grants(_rbac(overlay)) == grants() | extra


@overlays
def test_no_rule_uses_a_wildcard_or_more_than_reads(overlay: Path) -> None:
    for role in _rbac(overlay):
        for rule in role.get("rules", []):
            where = f"{role['kind']}/{role['metadata']['name']}: {rule}"
            assert set(rule) <= {"apiGroups", "resources", "verbs", "resourceNames"}, where  # no URLs
            for field in ("apiGroups", "resources", "verbs", "resourceNames"):
                assert not any("*" in value for value in rule.get(field, [])), where
            if rule["resources"] == ["securitycontextconstraints"]:  # the OpenShift overlay's SCC, by name
                assert rule["verbs"] == ["use"], where
                assert rule["resourceNames"] == ["k8s-dns-exporter"], where
                continue
            assert set(rule["verbs"]) <= {"get", "list", "watch", "create", "update"}, where
            if {"create", "update"} & set(rule["verbs"]):
                assert rule["resources"] == ["leases"], f"only the leader Lease is written: {where}"
            if "update" in rule["verbs"]:
                assert rule["resourceNames"] == ["k8s-dns-exporter"], where
            if "resourceNames" in rule:
                assert set(rule["verbs"]) <= NAMEABLE_VERBS, f"names cannot narrow list/watch: {where}"
    assert not any("aggregationRule" in role for role in _rbac(overlay))


def test_node_agent_may_read_only_what_discovery_of_its_auto_paths_needs() -> None:
    node = {grant[1:] for grant in grants() if grant[0] == NODE}
    services = ("coredns", "dns-default", "kube-dns", "rke2-coredns-rke2-coredns")
    assert node == {
        *(("cluster", "", "services", "get", name) for name in services),
        ("cluster", "discovery.k8s.io", "endpointslices", "list", ""),
        ("cluster", "discovery.k8s.io", "endpointslices", "watch", ""),
        ("kube-system", "apps", "daemonsets", "get", "node-local-dns"),
        ("kube-system", "apps", "daemonsets", "get", "nodelocaldns"),
        ("kube-system", "", "pods", "list", ""),
        ("kube-system", "", "configmaps", "get", "node-local-dns"),
        ("kube-system", "", "configmaps", "get", "nodelocaldns"),
        # upstream: auto: the Corefile of whichever distribution's DNS is located
        *(("cluster", "", "configmaps", "get", name) for name in ("coredns", "dns-default", services[3])),
    }, "the located Service, its pods, NodeLocal on this node, and the Corefile for upstream: auto"


def test_cluster_instance_writes_only_its_lease_in_its_own_namespace() -> None:
    cluster = {grant[1:] for grant in grants() if grant[0] == CLUSTER}
    writes = {g for g in cluster if g[3] in ("create", "update")}
    assert writes == {
        (NAMESPACE, "coordination.k8s.io", "leases", "create", ""),
        (NAMESPACE, "coordination.k8s.io", "leases", "update", "k8s-dns-exporter"),
    }
    configmaps = {g[4] for g in cluster if g[2] == "configmaps"}
    assert configmaps == {
        "coredns",
        "coredns-custom",
        "dns-default",
        "kube-dns",
        "kube-proxy",
        "kube-proxy-config",
        "node-local-dns",
        "nodelocaldns",
        "rke2-coredns-rke2-coredns",
        "coredns-autoscaler",
        "kube-dns-autoscaler",
    }
    assert {g[0] for g in cluster} == {"cluster", "kube-system", NAMESPACE}


def test_comparison_sees_an_extra_grant_and_a_foreign_subject() -> None:
    """The equality above is not vacuous: a widened rule or another subject changes the grants."""
    objects = rbac_objects()
    wider = copy.deepcopy(objects)
    next(o for o in wider if o["kind"] == "ClusterRole")["rules"][0]["verbs"].append("delete")
    assert rendered_grants(wider) - grants() != set()
    unnamed = copy.deepcopy(objects)
    for role in unnamed:
        for rule in role.get("rules", []):
            rule.pop("resourceNames", None)
    assert rendered_grants(unnamed) - grants() != set(), "dropping resourceNames widens the grant"
    foreign = copy.deepcopy(objects)
    next(o for o in foreign if o["kind"] == "ClusterRoleBinding")["subjects"][0]["namespace"] = "default"
    assert rendered_grants(foreign) != grants()


@overlays
def test_each_workload_runs_as_its_own_declared_account(overlay: Path) -> None:
    objects = render(overlay)
    accounts = {o["metadata"]["name"] for o in find(objects, "ServiceAccount")}
    assert accounts == {account.name for account in ACCOUNTS}
    used = {
        (o["kind"], o["spec"]["template"]["spec"]["serviceAccountName"])
        for o in objects
        if o["kind"] in ("DaemonSet", "Deployment")
    }
    assert used == {("DaemonSet", "k8s-dns-exporter-node"), ("Deployment", "k8s-dns-exporter-cluster")}
    node_roles = [
        b["roleRef"]["name"]
        for b in find(objects, "ClusterRoleBinding")
        if any(s["name"] == "k8s-dns-exporter-node" for s in b["subjects"])
    ]
    assert node_roles == ["k8s-dns-exporter-node"], "one cluster-wide role: locating the DNS by name"
