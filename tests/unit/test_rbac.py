"""RBAC rules as data: docs/rbac.md shows exactly what policy_rules produces; allows() is strict."""

from __future__ import annotations

import re

import pytest
import yaml

from exporter.config import KubernetesConfig, LeaseConfig, parse_config
from exporter.kube.rbac import allows, for_config, policy_rules, rules
from tests.conftest import REPO


def documented() -> dict[str, dict[str, object]]:
    text = (REPO / "docs" / "rbac.md").read_text()
    blocks = re.findall(r"```yaml\n# (node|cluster): (Role in kube-system|ClusterRole)\n(.*?)```", text, re.S)
    out: dict[str, dict[str, object]] = {}
    for mode, kind, body in blocks:
        out.setdefault(mode, {})["" if kind == "ClusterRole" else "kube-system"] = yaml.safe_load(body)
    return out


@pytest.mark.parametrize("mode", ["node", "cluster"])
def test_docs_show_the_rules_in_code(mode: str) -> None:
    assert documented()[mode] == policy_rules(mode)


def test_node_mode_reads_by_name_cluster_wide_and_lists_only_in_the_coredns_namespace() -> None:
    node = rules("node")
    assert {r.namespace for r in node} == {None, "kube-system"}
    assert {v for r in node for v in r.verbs} == {"get", "list", "watch"}
    wide = {(r.resource, r.verbs, r.names) for r in node if r.namespace is None}
    assert wide == {
        ("services", ("get",), ("coredns", "dns-default", "kube-dns", "rke2-coredns-rke2-coredns")),
        ("configmaps", ("get",), ("coredns", "dns-default", "rke2-coredns-rke2-coredns")),
        ("endpointslices", ("list", "watch"), ()),
    }, "cluster-wide: the Services and Corefiles distributions ship, by name; EndpointSlices by label"
    cluster = rules("cluster")
    writes = {(r.resource, v) for r in cluster for v in r.verbs if v not in ("get", "list", "watch")}
    assert writes == {("leases", "update"), ("leases", "create")}


def test_allows_checks_group_verb_namespace_and_name() -> None:
    granted = rules("cluster")

    def check(group: str, resource: str, verb: str, namespace: str | None, name: str | None) -> bool:
        return allows(granted, api_group=group, resource=resource, verb=verb, namespace=namespace, name=name)

    assert check("", "configmaps", "get", "kube-system", "coredns")
    assert check("", "configmaps", "get", "openshift-dns", "dns-default")
    assert not check("", "configmaps", "get", "kube-system", "some-secret-config")
    assert not check("", "configmaps", "list", "kube-system", None)
    assert check("", "pods", "list", None, None)
    assert check("", "pods", "list", "kube-system", None)  # a ClusterRole covers every namespace
    assert not check("", "pods", "watch", None, None)
    assert not check("", "secrets", "get", "kube-system", "x")
    assert check("coordination.k8s.io", "leases", "update", "kube-system", "k8s-dns-exporter")
    assert not check("coordination.k8s.io", "leases", "update", "kube-system", "kube-scheduler")


def test_rules_follow_the_configured_names() -> None:
    k8s = KubernetesConfig(namespace="dns", service="my-dns", lease=LeaseConfig(namespace="monitoring"))
    by_key = {(r.resource, r.verbs): r for r in rules("cluster", k8s)}
    assert "my-dns" in by_key[("services", ("get",))].names
    assert by_key[("daemonsets", ("get",))].namespace == "dns"
    assert by_key[("leases", ("get", "update"))].namespace == "monitoring"
    with pytest.raises(ValueError, match="unknown mode 'daemon'"):
        rules("daemon")


def test_for_config_grants_a_node_agent_only_its_auto_paths_discovery() -> None:
    base = {"names": [{"name": "a.b.", "type": "A"}], "kubernetes": {"config": "in-cluster"}}
    static = parse_config({**base, "paths": {"service": ["127.0.0.1:53"]}})
    assert for_config(static) == ()
    pods = parse_config({**base, "paths": {"pod": "auto", "upstream": "auto"}})
    assert {(r.resource, r.verbs, r.namespace) for r in for_config(pods)} == {
        ("services", ("get",), None),  # locating the Service whose EndpointSlices and Corefile these are
        ("endpointslices", ("list", "watch"), None),
        ("configmaps", ("get",), None),
    }
    nodelocal = parse_config({**base, "paths": {"nodelocal": "auto"}})
    assert {(r.resource, r.namespace) for r in for_config(nodelocal)} == {
        ("services", None),
        ("daemonsets", "kube-system"),
        ("pods", "kube-system"),
        ("configmaps", "kube-system"),
    }
    written = parse_config(
        {
            **base,
            "paths": {"nodelocal": "auto"},
            "kubernetes": {"config": "in-cluster", "nodelocal": {"address": "169.254.25.10"}},
        }
    )
    assert for_config(written) == (), "a written NodeLocal address reads nothing"
    off = parse_config({"names": base["names"], "paths": {"upstream": "auto"}})
    assert for_config(off) == (), "no API, no RBAC"
    cluster = parse_config({**base, "mode": "cluster", "paths": {"upstream": "auto"}})
    assert for_config(cluster) == rules("cluster", cluster.kubernetes)
