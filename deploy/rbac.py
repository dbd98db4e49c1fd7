"""The exporters' RBAC, generated from the rules the code declares for the shipped configs.

Each workload's ServiceAccount gets exactly :func:`exporter.kube.rbac.for_config`
of the config it runs with (``deploy/base/config/node.yaml`` for the DaemonSet,
``cluster.yaml`` for the Deployment): one ClusterRole (and binding) for the rules
that hold in every namespace, one Role (and binding) per namespace for the rest,
with ``resourceNames`` where Kubernetes allows them. :func:`grants` flattens the
declared rules and :func:`rendered_grants` rendered RBAC objects into the same set,
so the two can be compared exactly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from exporter.config import load_config
from exporter.kube.rbac import Rule, for_config

HERE = Path(__file__).resolve().parent
NAMESPACE = "k8s-dns-exporter"
"""Where the exporters and their ServiceAccounts live (deploy/base/namespace.yaml)."""
CLUSTER = "cluster"
RBAC_API = "rbac.authorization.k8s.io/v1"

Grant = tuple[str, str, str, str, str, str]
"""(``namespace/serviceaccount``, scope, API group, resource, verb, resource name or ``""`` for any);
scope is ``cluster`` or a namespace."""


@dataclass(frozen=True, slots=True)
class Account:
    name: str
    config: Path
    """The exporter config the workload running as this account reads."""

    def rules(self) -> tuple[Rule, ...]:
        return for_config(load_config(self.config))


ACCOUNTS = (
    Account("k8s-dns-exporter-cluster", HERE / "base" / "config" / "cluster.yaml"),
    Account("k8s-dns-exporter-node", HERE / "base" / "config" / "node.yaml"),
)


def _flatten(account: str, rule: Rule) -> set[Grant]:
    scope = rule.namespace or CLUSTER
    names = rule.names or ("",)
    return {
        (account, scope, rule.api_group, rule.resource, verb, name) for verb in rule.verbs for name in names
    }


def grants(accounts: Iterable[Account] = ACCOUNTS) -> set[Grant]:
    """Every (account, scope, group, resource, verb, name) the declared rules allow."""
    return {
        grant
        for account in accounts
        for rule in account.rules()
        for grant in _flatten(f"{NAMESPACE}/{account.name}", rule)
    }


def rbac_objects(accounts: Iterable[Account] = ACCOUNTS) -> list[dict[str, Any]]:
    """ClusterRoles, Roles and their bindings, in a stable order."""
    objects: list[dict[str, Any]] = []
    for account in accounts:
        subject = {"kind": "ServiceAccount", "name": account.name, "namespace": NAMESPACE}
        declared = account.rules()
        for scope in dict.fromkeys(rule.namespace or CLUSTER for rule in declared):
            kind, namespace = ("ClusterRole", None) if scope == CLUSTER else ("Role", scope)
            role: dict[str, Any] = {
                "apiVersion": RBAC_API,
                "kind": kind,
                "metadata": _meta(account.name, namespace),
                "rules": [rule.entry() for rule in declared if (rule.namespace or CLUSTER) == scope],
            }
            binding: dict[str, Any] = {
                "apiVersion": RBAC_API,
                "kind": f"{kind}Binding",
                "metadata": _meta(account.name, namespace),
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": account.name},
                "subjects": [subject],
            }
            objects += [role, binding]
    return objects


def _meta(name: str, namespace: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    meta["labels"] = {"app.kubernetes.io/name": "k8s-dns-exporter"}
    return meta


def rendered_grants(objects: Iterable[Mapping[str, Any]]) -> set[Grant]:
    """What rendered RBAC objects grant to ServiceAccounts, flattened like :func:`grants`.

    A role bound to no ServiceAccount grants nothing; every rule's group, resource,
    verb and resource name are crossed, as the API server reads them.
    """
    roles: dict[tuple[str, str, str], list[Mapping[str, Any]]] = {}
    for obj in objects:
        if obj["kind"] in ("ClusterRole", "Role"):
            namespace = obj["metadata"].get("namespace", "") if obj["kind"] == "Role" else ""
            roles[(obj["kind"], namespace, obj["metadata"]["name"])] = obj.get("rules", [])
    found: set[Grant] = set()
    for obj in objects:
        if obj["kind"] not in ("ClusterRoleBinding", "RoleBinding"):
            continue
        namespace = obj["metadata"].get("namespace", "") if obj["kind"] == "RoleBinding" else ""
        ref = obj["roleRef"]
        role_namespace = namespace if ref["kind"] == "Role" else ""
        scope = namespace or CLUSTER
        for rule in roles.get((ref["kind"], role_namespace, ref["name"]), []):
            for subject in obj.get("subjects", []):
                if subject["kind"] != "ServiceAccount":
                    continue
                account = f"{subject.get('namespace', namespace)}/{subject['name']}"
                found |= {
                    (account, scope, group, resource, verb, name)
                    for group in rule.get("apiGroups", [])
                    for resource in rule.get("resources", [])
                    for verb in rule.get("verbs", [])
                    for name in rule.get("resourceNames") or [""]
                }
    return found
