"""A StatefulSet's serviceName names no headless Service, so its pods' names do not resolve."""

from __future__ import annotations

from exporter.causes._unit import AlertEvidence, Cause, Group
from exporter.diagnosis.draft import Draft
from exporter.diagnosis.model import Observations
from exporter.diagnosis.read import cluster_of
from exporter.diagnosis.stats import Stats


def statefulset_service_mismatch(obs: Observations, stats: Stats) -> Draft | None:
    cluster = cluster_of(obs)
    if cluster is None or not cluster.statefulsets:
        return None
    return Draft(
        "statefulset_service_mismatch",
        f"{len(cluster.statefulsets)} StatefulSet(s) have no headless Service behind serviceName: "
        "their pods' names do not resolve.",
        tuple(f"StatefulSet {m.namespace}/{m.name}: {m.problem}" for m in cluster.statefulsets),
        "Set each StatefulSet's spec.serviceName to a headless Service (clusterIP: None) in its "
        "namespace that selects its pods.",
        {"statefulsets": [m.as_dict() for m in cluster.statefulsets]},
    )


CAUSE = Cause(
    id="statefulset_service_mismatch",
    severity="info",
    title="A StatefulSet's serviceName is not a headless Service",
    group=Group.API_OBJECTS,
    meaning=(
        "A StatefulSet's `serviceName` names a Service that is missing or not headless, so its pod names "
        "do not resolve (an empty `serviceName` is allowed and asks for no names)."
    ),
    probe="none",
    signals="api: `k8s_dns_statefulsets_service_mismatch`",
    alert=AlertEvidence(
        text="StatefulSets without a matching headless Service: {v}.",
        query="max(k8s_dns_statefulsets_service_mismatch)",
    ),
    rules=(statefulset_service_mismatch,),
    standing=True,
)
