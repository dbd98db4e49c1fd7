"""An upstream DNS server, asked directly, does not answer: timeouts or refused connections."""

from __future__ import annotations

from exporter.causes._unit import AlertEvidence, Cause, Group
from exporter.diagnosis.draft import Draft
from exporter.diagnosis.model import Observations
from exporter.diagnosis.read import server_list, server_state
from exporter.diagnosis.stats import Stats


def upstream_unreachable(obs: Observations, stats: Stats) -> Draft | None:
    silent = [s for s in stats.path("upstream") if s.all.silent]
    if not silent:
        return None
    where = f" from node {obs.node_name}" if obs.node_name else ""
    return Draft(
        "upstream_unreachable",
        f"{len(silent)} upstream server(s) do not answer{where}: {server_list(silent)}.",
        tuple(server_state(s) for s in silent),
        "Test the upstream from a CoreDNS pod's network namespace (`dig @<upstream>`); check "
        "routes, firewalls and security groups to it, and that it still runs. When only some nodes "
        "fail, compare their subnets, route tables and DNS settings with a node that answers.",
        {"upstreams": [s.server for s in silent], **({"node": obs.node_name} if obs.node_name else {})},
    )


CAUSE = Cause(
    id="upstream_unreachable",
    severity="critical",
    title="An upstream DNS server does not answer",
    group=Group.UPSTREAM,
    meaning="An upstream server does not answer at all.",
    probe="`upstream` timeouts or refused connections",
    signals="api: `k8s_dns_corefile_forward_targets`",
    alert=AlertEvidence(
        text="Upstream probes timing out in the last 5m: {v}.",
        query=(
            'sum(increase(k8s_dns_probe_failures_total{path="upstream",reason=~"timeout|network_error"}[5m]))'
        ),
    ),
    rules=(upstream_unreachable,),
    # An unreachable upstream explains errors seen through it.
    explains=frozenset({"upstream_error", "coredns_config_error"}),
    probed=True,
)
