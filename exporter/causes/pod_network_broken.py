"""The pod network of this node reaches no DNS server: every direct path is silent, TCP included (a CNI
failure, inferred from the silence)."""

from __future__ import annotations

from exporter.causes._unit import AlertEvidence, Cause, Group
from exporter.diagnosis.draft import Draft
from exporter.diagnosis.model import Observations
from exporter.diagnosis.read import server_state
from exporter.diagnosis.stats import Stats


def pod_network_broken(obs: Observations, stats: Stats) -> Draft | None:
    direct = [s for s in stats.servers.values() if s.path != "resolver"]
    paths = {s.path for s in direct}
    if len(direct) < 2 or len(paths) < 2 or not all(s.all.silent for s in direct):
        return None
    return Draft(
        "pod_network_broken",
        f"No DNS server answers from this node: all {len(direct)} servers on {len(paths)} paths "
        "time out or refuse the connection, TCP included.",
        tuple(server_state(s) for s in direct),
        "Check the CNI on this node (its pods, logs and routes); test from a debug pod on the "
        "node with `dig @<CoreDNS pod IP>` and `ping`; restart the CNI agent or drain the node.",
        {"servers": [s.server for s in direct]},
    )


CAUSE = Cause(
    id="pod_network_broken",
    severity="warning",
    title="The pod network of this node reaches no DNS server",
    group=Group.NETWORK,
    meaning="The pod network of this node reaches no DNS server at all (CNI failure).",
    probe="every direct path silent from this node, TCP included",
    signals="none: CNI state is inferred, not read",
    alert=AlertEvidence(
        text="Failing probes from this node: {v}.",
        query="count(k8s_dns_probe_success == 0)",
    ),
    rules=(pod_network_broken,),
    # When the pod network is down no probe can tell the hops apart; the node's own readings still can.
    explains_probed=True,
    scope="node",
)
