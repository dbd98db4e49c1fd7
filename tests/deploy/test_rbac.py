"""RBAC: exactly the declared permissions (deploy/permissions.yaml), least privilege, no wildcard."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from deploy.rbac import load_permissions, rbac_objects, rendered_grants
from tests.deploy.shipped import NAMESPACE, OVERLAYS, find, render

RBAC_KINDS = ("ClusterRole", "Role", "ClusterRoleBinding", "RoleBinding")
overlays = pytest.mark.parametrize("overlay", OVERLAYS, ids=lambda p: p.name)


def _rbac(overlay: Path) -> list[dict[str, Any]]:
    return [o for o in render(overlay) if o["kind"] in RBAC_KINDS]


@overlays
def test_rendered_rbac_grants_exactly_the_declared_permissions(overlay: Path) -> None:
    assert rendered_grants(_rbac(overlay)) == load_permissions().grants()


@overlays
def test_no_rule_uses_a_wildcard_or_more_than_reads(overlay: Path) -> None:
    for role in _rbac(overlay):
        for rule in role.get("rules", []):
            where = f"{role['kind']}/{role['metadata']['name']}: {rule}"
            assert set(rule) == {"apiGroups", "resources", "verbs"}, where  # no resourceNames, URLs
            for field in ("apiGroups", "resources", "verbs"):
                assert not any("*" in value for value in rule[field]), where
            assert set(rule["verbs"]) <= {"get", "list", "watch", "create", "update"}, where
            if {"create", "update"} & set(rule["verbs"]):
                assert rule["resources"] == ["leases"], f"only the leader Lease is written: {where}"
    assert not any("aggregationRule" in role for role in _rbac(overlay))


def test_declared_permissions_are_the_ones_the_exporters_need() -> None:
    grants = load_permissions().grants()
    cluster, node = f"{NAMESPACE}/k8s-dns-exporter-cluster", f"{NAMESPACE}/k8s-dns-exporter-node"
    reads = {"get", "list", "watch"}
    expected = {
        (cluster, "cluster", group, resource, verb)
        for group, resources in {
            "": ("pods", "services", "endpoints", "nodes"),
            "apps": ("statefulsets", "daemonsets"),
            "discovery.k8s.io": ("endpointslices",),
            "networking.k8s.io": ("networkpolicies",),
        }.items()
        for resource in resources
        for verb in reads
    }
    expected |= {
        (cluster, "cluster", "metrics.k8s.io", r, v) for r in ("pods", "nodes") for v in ("get", "list")
    }
    expected |= {(cluster, "kube-system", "", "configmaps", verb) for verb in reads}
    expected |= {
        (cluster, NAMESPACE, "coordination.k8s.io", "leases", v) for v in ("get", "create", "update")
    }
    expected |= {
        (node, "kube-system", "discovery.k8s.io", "endpointslices", "list"),
        (node, "kube-system", "discovery.k8s.io", "endpointslices", "watch"),
        (node, "kube-system", "", "services", "get"),
        (node, "kube-system", "apps", "daemonsets", "get"),
    }
    assert grants == expected


def test_comparison_sees_an_extra_grant_and_a_foreign_subject() -> None:
    """The equality above is not vacuous: a widened rule or another subject changes the grants."""
    objects = rbac_objects(load_permissions())
    wider = copy.deepcopy(objects)
    next(o for o in wider if o["kind"] == "ClusterRole")["rules"][0]["verbs"].append("delete")
    assert rendered_grants(wider) - load_permissions().grants() != set()
    foreign = copy.deepcopy(objects)
    next(o for o in foreign if o["kind"] == "ClusterRoleBinding")["subjects"][0]["namespace"] = "default"
    assert rendered_grants(foreign) != load_permissions().grants()


@overlays
def test_each_workload_runs_as_its_own_declared_account(overlay: Path) -> None:
    objects = render(overlay)
    accounts = {o["metadata"]["name"] for o in find(objects, "ServiceAccount")}
    declared = {account.name for account in load_permissions().accounts}
    assert accounts == declared
    used = {
        (o["kind"], o["spec"]["template"]["spec"]["serviceAccountName"])
        for o in objects
        if o["kind"] in ("DaemonSet", "Deployment")
    }
    assert used == {("DaemonSet", "k8s-dns-exporter-node"), ("Deployment", "k8s-dns-exporter-cluster")}
    node_bindings = [
        b
        for b in find(objects, "ClusterRoleBinding")
        if any(s["name"] == "k8s-dns-exporter-node" for s in b["subjects"])
    ]
    assert node_bindings == [], "the node agent reads only kube-system: no cluster-wide role"
