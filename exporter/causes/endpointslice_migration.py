"""Services rely on the tolerate-unready-endpoints annotation, which CoreDNS 1.8.4 and later (reading
EndpointSlices) ignores."""

from __future__ import annotations

from exporter.causes._unit import AlertEvidence, Cause, Group
from exporter.cluster.version import text
from exporter.diagnosis.draft import Draft
from exporter.diagnosis.model import Observations
from exporter.diagnosis.read import cluster_of
from exporter.diagnosis.stats import Stats


def endpointslice_migration(obs: Observations, stats: Stats) -> Draft | None:
    cluster = cluster_of(obs)
    if cluster is None or cluster.services is None or not cluster.services.tolerate_unready:
        return None
    if cluster.version is None or cluster.version < (1, 8, 4):
        return None
    annotated = cluster.services.tolerate_unready
    return Draft(
        "endpointslice_migration",
        f"{len(annotated)} Service(s) rely on the tolerate-unready-endpoints annotation, which CoreDNS "
        f"{text(cluster.version)} ignores (it reads EndpointSlices).",
        tuple(
            f"Service {name}: service.alpha.kubernetes.io/tolerate-unready-endpoints=true"
            for name in annotated
        ),
        "Set `spec.publishNotReadyAddresses: true` on these Services (or upgrade the charts that "
        "create them); the annotation no longer has any effect.",
        {"services": list(annotated)},
    )


CAUSE = Cause(
    id="endpointslice_migration",
    severity="info",
    title="Services rely on an annotation CoreDNS >= 1.8.4 ignores",
    group=Group.API_OBJECTS,
    meaning=(
        "Services still use the `tolerate-unready-endpoints` annotation, which CoreDNS 1.8.4+ (reading "
        "EndpointSlices) no longer honours."
    ),
    probe="none",
    signals="api: `k8s_dns_tolerate_unready_services`, `k8s_dns_coredns_pod_info{version}`",
    alert=AlertEvidence(
        text="Services relying on tolerate-unready-endpoints: {v}.",
        query="max(k8s_dns_tolerate_unready_services)",
    ),
    rules=(endpointslice_migration,),
    standing=True,
)
