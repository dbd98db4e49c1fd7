"""Cluster-wide lists: nodes and pod count (cluster size), Services, StatefulSets; NetworkPolicies."""

from __future__ import annotations

import math
from typing import Any

from exporter.cluster.model import DisruptionBudget, Inventory, Policy, ServiceInventory, StatefulSetMismatch
from exporter.cluster.readers.context import Context
from exporter.cluster.readers.pods import quantity

TOLERATE_UNREADY = "service.alpha.kubernetes.io/tolerate-unready-endpoints"
ZONE, OLD_ZONE = "topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone"
"""Where a node says its zone: the GA label, and the beta one older clusters still set."""


def read_inventory(ctx: Context) -> Inventory:
    api = ctx.api
    nodes = schedulable = counted = whole_schedulable = whole = 0
    cores = 0.0
    zones: dict[str, str] = {}
    for node in api.pages(api.core.list_node):
        nodes += 1
        labels = (node.metadata.labels if node.metadata else None) or {}
        zone = labels.get(ZONE) or labels.get(OLD_ZONE)
        allocatable = (node.status.allocatable if node.status else None) or {}
        node_cores = quantity(allocatable.get("cpu")) or 0.0
        whole += math.ceil(node_cores)
        if zone:
            zones[node.metadata.name] = zone
        unschedulable = bool(node.spec.unschedulable) if node.spec else False
        if not unschedulable:
            schedulable += 1
            whole_schedulable += math.ceil(node_cores)
        if unschedulable and not ctx.k8s.capacity.include_unschedulable_nodes:
            continue
        counted += 1
        cores += node_cores
    pods = api.count(api.core.list_pod_for_all_namespaces)
    return Inventory(
        nodes=nodes,
        schedulable_nodes=schedulable,
        cores=cores,
        counted_nodes=counted,
        pods=pods,
        zones=zones,
        schedulable_cores=whole_schedulable,
        all_cores=whole,
    )


def read_services(ctx: Context) -> ServiceInventory:
    api = ctx.api
    total = 0
    annotated: list[str] = []
    headless: set[tuple[str, str]] = set()
    names: set[tuple[str, str]] = set()
    for service in api.pages(api.core.list_service_for_all_namespaces):
        total += 1
        meta = service.metadata
        key = (meta.namespace, meta.name)
        names.add(key)
        # Only a Service that relies on the annotation alone: with publishNotReadyAddresses set too,
        # CoreDNS >= 1.8.4 publishes its unready endpoints and the annotation is harmless.
        publishes = bool(service.spec is not None and service.spec.publish_not_ready_addresses)
        if (meta.annotations or {}).get(TOLERATE_UNREADY, "").lower() == "true" and not publishes:
            annotated.append(f"{key[0]}/{key[1]}")
        if service.spec is not None and service.spec.cluster_ip == "None":
            headless.add(key)
    return ServiceInventory(total, tuple(sorted(annotated)), frozenset(headless), frozenset(names))


def read_statefulsets(ctx: Context) -> tuple[StatefulSetMismatch, ...]:
    services: ServiceInventory | None = ctx.state.get("services")
    if services is None:
        raise RuntimeError("needs the Services list, which is not read yet")
    api = ctx.api
    mismatches = []
    for statefulset in api.pages(api.apps.list_stateful_set_for_all_namespaces):
        meta = statefulset.metadata
        name = (statefulset.spec.service_name if statefulset.spec else None) or ""
        problem = None
        if not name:
            # The API allows it (serviceName is optional since Kubernetes 1.30): pods get no DNS
            # names, which is a choice, not a mismatch.
            continue
        if (meta.namespace, name) not in services.names:
            problem = f"Service {name} does not exist"
        elif (meta.namespace, name) not in services.headless:
            problem = f"Service {name} is not headless (it has a ClusterIP)"
        if problem:
            mismatches.append(StatefulSetMismatch(meta.namespace, meta.name, name, problem))
    return tuple(sorted(mismatches, key=lambda m: (m.namespace, m.name)))


def read_network_policies(ctx: Context) -> tuple[Policy, ...]:
    api = ctx.api
    listing = api.call(api.networking.list_namespaced_network_policy, ctx.k8s.namespace)
    return tuple(sorted((_policy(p) for p in listing.items or []), key=lambda p: p.name))


def _policy(policy: Any) -> Policy:
    spec = policy.spec
    labels, expressions = _selector(spec.pod_selector if spec else None)
    types = spec.policy_types if spec and spec.policy_types else ["Ingress"]
    rules = (spec.ingress if spec else None) or []
    ports: list[tuple[int | str, int | None]] = []
    for rule in rules:
        for port in rule.ports or [None]:
            ports.append(_port(port))
    return Policy(
        name=policy.metadata.name,
        match_labels=labels,
        match_expressions=expressions,
        ingress="Ingress" in types,
        ports=tuple(dict.fromkeys(ports)),
    )


def _selector(selector: Any) -> tuple[dict[str, str], tuple[tuple[str, str, tuple[str, ...]], ...]]:
    expressions = tuple(
        (e.key, e.operator, tuple(e.values or ()))
        for e in (selector.match_expressions or [] if selector else [])
    )
    return dict((selector.match_labels if selector else None) or {}), expressions


def read_disruption_budgets(ctx: Context) -> tuple[DisruptionBudget, ...]:
    """PodDisruptionBudgets in the CoreDNS namespace (which of them select CoreDNS: the readings say)."""
    api = ctx.api
    listing = api.call(api.policy.list_namespaced_pod_disruption_budget, ctx.k8s.namespace)
    budgets = []
    for budget in listing.items or []:
        spec, status = budget.spec, budget.status
        labels, expressions = _selector(spec.selector if spec else None)
        budgets.append(
            DisruptionBudget(
                name=budget.metadata.name,
                match_labels=labels,
                match_expressions=expressions,
                min_available=_text(spec.min_available if spec else None),
                max_unavailable=_text(spec.max_unavailable if spec else None),
                disruptions_allowed=(status.disruptions_allowed if status else None) or 0,
            )
        )
    return tuple(sorted(budgets, key=lambda b: b.name))


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _port(port: Any) -> tuple[int | str, int | None]:
    """A rule's port as (number or name, endPort); no ports, or a port entry without one: every port."""
    if port is None or port.port is None:
        return ("*", None)
    value = port.port
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    end = getattr(port, "end_port", None)
    return (value, end if isinstance(end, int) else None)
