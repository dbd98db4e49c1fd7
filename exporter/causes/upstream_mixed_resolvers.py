"""The upstream servers answer the same name differently, or the node resolv.conf lists Azure DNS
beside other servers: CoreDNS picks one at random, so pods fail now and then."""

from __future__ import annotations

from exporter.causes._unit import AlertEvidence, Cause, Group
from exporter.diagnosis.agreement import compare_upstreams
from exporter.diagnosis.draft import Draft
from exporter.diagnosis.model import Observations
from exporter.diagnosis.read import host
from exporter.diagnosis.stats import Stats
from exporter.node.readers.resolv_conf import AZURE_DNS


def upstream_mixed_resolvers(obs: Observations, stats: Stats) -> Draft | None:
    """Upstreams that disagree, or the node resolv.conf listing Azure DNS beside other servers.

    Either is this cause; when both are seen they are one finding with both kinds of evidence.
    """
    split = [c for c in compare_upstreams(stats, obs.names) if c.disagree]
    node = obs.node.resolv_conf if obs.node is not None else None
    mixed = node is not None and node.azure_dns_mixed
    if not split and not mixed:
        return None
    servers = sorted({s for c in split for s in c.outcomes})
    azure = [s for s in servers if host(s) == AZURE_DNS]
    evidence = tuple(
        f"{c.name} {c.qtype}: " + "; ".join(f"{s} -> {o}" for s, o in sorted(c.outcomes.items()))
        for c in split
    )
    if azure:
        evidence += (f"Azure DNS ({AZURE_DNS}) is listed beside custom DNS servers",)
    if node is not None and mixed:
        evidence += (
            f"the node's {node.file} lists Azure DNS ({AZURE_DNS}) beside other servers: "
            + ", ".join(node.conf.nameservers),
        )
    summary = (
        f"The upstream servers disagree on {len(split)} name(s); CoreDNS picks one at random, so "
        "pods fail intermittently while the node (which asks the first server) does not."
        if split
        else "The node's DNS servers mix Azure DNS with other servers; CoreDNS forwards to one at "
        "random, so names only the custom servers know fail now and then from pods."
    )
    return Draft(
        "upstream_mixed_resolvers",
        summary,
        evidence,
        "List only servers that serve the same zones in the network's DNS settings (for Azure: "
        "custom DNS servers only, with Azure DNS configured as their forwarder), then restart the "
        "nodes' network service and the CoreDNS pods.",
        {
            "names": [{"name": c.name, "qtype": c.qtype, "outcomes": c.outcomes} for c in split],
            "node_nameservers": list(node.conf.nameservers) if node is not None else None,
            "node_azure_dns_mixed": mixed,
        },
    )


CAUSE = Cause(
    id="upstream_mixed_resolvers",
    severity="warning",
    title="Upstream DNS servers answer differently",
    group=Group.UPSTREAM,
    meaning=(
        "The upstream list mixes servers that answer differently (custom DNS beside Azure DNS "
        "168.63.129.16); CoreDNS picks at random, so pods fail now and then while the node does not."
    ),
    probe="`upstream` servers disagree on the same name",
    signals=(
        "node: `k8s_dns_node_resolv_conf_azure_dns_mixed`; api: `k8s_dns_corefile_forward_policy_info`, "
        "`k8s_dns_corefile_forward_targets`"
    ),
    alert=AlertEvidence(
        text="Upstream probes failing: {v}.",
        query='count(k8s_dns_probe_success{path="upstream"} == 0)',
    ),
    rules=(upstream_mixed_resolvers,),
    path="upstream",
)
