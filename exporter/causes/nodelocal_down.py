"""NodeLocal DNSCache on this node does not answer while cluster DNS behind it does."""

from __future__ import annotations

from exporter.causes._unit import AlertEvidence, Cause, Group
from exporter.diagnosis.draft import Draft
from exporter.diagnosis.model import Observations
from exporter.diagnosis.read import server_list, server_state
from exporter.diagnosis.stats import Stats


def nodelocal_down(obs: Observations, stats: Stats) -> Draft | None:
    nodelocal = [s for s in stats.path("nodelocal") if s.down]
    behind = stats.path("service") or stats.path("pod")
    if not nodelocal or not behind or not any(s.all.answering for s in behind):
        return None
    return Draft(
        "nodelocal_down",
        f"NodeLocal DNSCache ({server_list(nodelocal)}) fails on this node while cluster DNS answers.",
        tuple(server_state(s) for s in nodelocal + behind),
        "Check the node-local-dns pod on this node (`kubectl -n kube-system get pods -l "
        "k8s-app=node-local-dns -o wide`), its logs and its Corefile; restart it.",
        {"nodelocal": [s.server for s in nodelocal]},
    )


CAUSE = Cause(
    id="nodelocal_down",
    severity="warning",
    title="NodeLocal DNSCache on this node does not answer",
    group=Group.NODELOCAL,
    meaning="NodeLocal DNSCache on this node does not answer while cluster DNS does.",
    probe="`nodelocal` down, `service` or `pod` answers",
    signals="none",
    alert=AlertEvidence(
        text="NodeLocal DNSCache probes failing on this node: {v}.",
        query='count(k8s_dns_probe_success{path="nodelocal"} == 0)',
    ),
    rules=(nodelocal_down,),
    probed=True,
    scope="node",
)
