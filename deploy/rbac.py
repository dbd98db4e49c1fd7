"""The exporters' Kubernetes API permissions: read from ``deploy/permissions.yaml``, turned into RBAC.

One ClusterRole (and binding) per account for its cluster-wide rules, one Role
(and binding) per namespace for the rest. :func:`grants` flattens either side
(the declared list or rendered RBAC objects) into the same set, so the two can
be compared exactly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
PERMISSIONS = HERE / "permissions.yaml"
CLUSTER = "cluster"
RBAC_API = "rbac.authorization.k8s.io/v1"

Grant = tuple[str, str, str, str, str]
"""(``namespace/serviceaccount``, scope, API group, resource, verb); scope is ``cluster`` or a namespace."""


@dataclass(frozen=True, slots=True)
class Rule:
    scope: str
    api_group: str
    resources: tuple[str, ...]
    verbs: tuple[str, ...]
    why: str


@dataclass(frozen=True, slots=True)
class Account:
    name: str
    about: str
    rules: tuple[Rule, ...]


@dataclass(frozen=True, slots=True)
class Permissions:
    namespace: str
    """Where the exporters and their ServiceAccounts live."""
    accounts: tuple[Account, ...]

    def grants(self) -> set[Grant]:
        return {
            (f"{self.namespace}/{account.name}", rule.scope, rule.api_group, resource, verb)
            for account in self.accounts
            for rule in account.rules
            for resource in rule.resources
            for verb in rule.verbs
        }


def load_permissions(path: Path = PERMISSIONS) -> Permissions:
    doc = yaml.safe_load(path.read_text())
    accounts = tuple(
        Account(
            name=name,
            about=str(body["about"]),
            rules=tuple(
                Rule(
                    scope=str(rule["scope"]),
                    api_group=str(rule["apiGroup"]),
                    resources=tuple(rule["resources"]),
                    verbs=tuple(rule["verbs"]),
                    why=str(rule["why"]),
                )
                for rule in body["rules"]
            ),
        )
        for name, body in doc["accounts"].items()
    )
    return Permissions(namespace=str(doc["namespace"]), accounts=accounts)


def rbac_objects(permissions: Permissions) -> list[dict[str, Any]]:
    """ClusterRoles, Roles and their bindings, in a stable order."""
    objects: list[dict[str, Any]] = []
    for account in permissions.accounts:
        subject = {"kind": "ServiceAccount", "name": account.name, "namespace": permissions.namespace}
        for scope in dict.fromkeys(rule.scope for rule in account.rules):
            kind, namespace = ("ClusterRole", None) if scope == CLUSTER else ("Role", scope)
            role: dict[str, Any] = {
                "apiVersion": RBAC_API,
                "kind": kind,
                "metadata": _meta(account.name, namespace),
                "rules": [_rule(rule) for rule in account.rules if rule.scope == scope],
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


def _rule(rule: Rule) -> dict[str, Any]:
    return {"apiGroups": [rule.api_group], "resources": list(rule.resources), "verbs": list(rule.verbs)}


def rendered_grants(objects: Iterable[Mapping[str, Any]]) -> set[Grant]:
    """What rendered RBAC objects grant to ServiceAccounts, flattened like :meth:`Permissions.grants`.

    A role bound to no ServiceAccount grants nothing; every rule's group, resource
    and verb are crossed, as the API server reads them.
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
                    (account, scope, group, resource, verb)
                    for group in rule.get("apiGroups", [])
                    for resource in rule.get("resources", [])
                    for verb in rule.get("verbs", [])
                }
    return found
