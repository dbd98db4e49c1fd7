"""An upstream DNS server, asked directly, does not answer: timeouts or refused connections. A
conditional forwarder (a stub domain's server) counts as an upstream; its evidence names its zone."""

from __future__ import annotations

from exporter.causes._unit import AlertEvidence, Cause, Group
from exporter.diagnosis.draft import Draft
from exporter.diagnosis.model import Observations
from exporter.diagnosis.read import server_list, server_state
from exporter.diagnosis.stats import ServerStats, Stats


def upstream_unreachable(obs: Observations, stats: Stats) -> Draft | None:
    silent = [s for s in stats.path("upstream") if s.all.silent]
    if not silent:
        return None
    configured = {spec.name for spec in obs.names}
    where = f" from node {obs.node_name}" if obs.node_name else ""
    return Draft(
        "upstream_unreachable",
        f"{len(silent)} upstream server(s) do not answer{where}: {server_list(silent)}.",
        tuple(server_state(s) + _zones(s, configured) for s in silent),
        "Test the upstream from a CoreDNS pod's network namespace (`dig @<upstream>`); check "
        "routes, firewalls and security groups to it, and that it still runs. When only some nodes "
        "fail, compare their subnets, route tables and DNS settings with a node that answers.",
        {"upstreams": [s.server for s in silent], **({"node": obs.node_name} if obs.node_name else {})},
    )


def _zones(server: ServerStats, configured: set[str]) -> str:
    """`` (forwarder for corp.internal.)`` when it was asked for the zones it is forwarded."""
    zones = sorted({name for name, _, _ in server.latest if name not in configured})
    return f" (forwarder for {', '.join(zones)})" if zones else ""


CAUSE = Cause(
    id="upstream_unreachable",
    severity="warning",
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
    # An unreachable upstream explains external names failing through CoreDNS. It does not
    # explain another upstream's error rcodes: each broken server is named for what it does.
    explains=frozenset({"coredns_config_error"}),
    probed=True,
    path="upstream",
)
