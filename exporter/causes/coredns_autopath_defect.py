"""The autopath plugin is in the Corefile: it can answer with wrong records now and then (wrong answers
the probes saw are added as evidence)."""

from __future__ import annotations

from exporter.causes._unit import AlertEvidence, Cause, Group
from exporter.diagnosis.draft import Draft
from exporter.diagnosis.model import Observations
from exporter.diagnosis.read import cluster_of
from exporter.diagnosis.stats import Stats
from exporter.probe.result import Reason


def coredns_autopath_defect(obs: Observations, stats: Stats) -> Draft | None:
    cluster = cluster_of(obs)
    if cluster is None or cluster.corefile is None or "autopath" not in cluster.corefile.plugins:
        return None
    evidence = [p.message for p in cluster.corefile.problems if p.kind == "autopath_enabled"]
    for s in stats.path("service") + stats.path("pod"):
        wrong = s.all.reasons.get(Reason.WRONG_ANSWER, 0)
        if wrong:
            evidence.append(f"{s.path} {s.server}: {wrong} wrong answer(s) in the window")
    return Draft(
        "coredns_autopath_defect",
        "The autopath plugin is enabled: it can answer with wrong records or fail now and then.",
        tuple(evidence),
        "Remove the `autopath` line from the Corefile (kubectl -n kube-system edit configmap coredns) "
        "and check that CoreDNS logs a reload.",
        {},
    )


CAUSE = Cause(
    id="coredns_autopath_defect",
    severity="info",
    title="The autopath plugin is enabled",
    group=Group.COREDNS,
    meaning=(
        "The autopath plugin is on; it sometimes expands names with the wrong namespace or answers wrongly."
    ),
    probe="`wrong_answer` where answers are pinned with `expect`",
    signals='api: `k8s_dns_corefile_plugin_enabled{plugin="autopath"}`',
    alert=AlertEvidence(
        text="Corefile has autopath enabled: {v}.",
        query='max(k8s_dns_corefile_plugin_enabled{plugin="autopath"})',
    ),
    rules=(coredns_autopath_defect,),
    standing=True,
)
