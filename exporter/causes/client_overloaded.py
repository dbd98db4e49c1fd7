"""The node sending the queries drops UDP it receives, or runs with its CPUs saturated while answering
servers' replies go missing."""

from __future__ import annotations

from exporter.causes._unit import AlertEvidence, Cause, Group
from exporter.diagnosis.draft import Draft
from exporter.diagnosis.model import Observations
from exporter.diagnosis.read import pct
from exporter.diagnosis.stats import NO_REPLY, Stats

UDP_ERRORS_RISING = 1
"""Udp InErrors (or RcvbufErrors) growth over the window that names an overloaded client."""

CPU_PRESSURE_HIGH = 0.8
"""PSI cpu 'some' share of the window: tasks waited for a CPU most of the time."""

CPU_BUSY_HIGH = 0.95


def client_overloaded(obs: Observations, stats: Stats) -> Draft | None:
    node = obs.node
    grown = node.increases if node is not None else None
    if node is None or grown is None:
        return None
    pressure, busy = grown.cpu_pressure_ratio, grown.cpu_busy_ratio
    cpu_high = (pressure is not None and pressure >= CPU_PRESSURE_HIGH) or (
        busy is not None and busy >= CPU_BUSY_HIGH
    )
    # Lost replies from servers that otherwise answer: a dead server has causes of its own.
    timeouts = sum(s.all.reasons[r] for s in stats.servers.values() if s.all.answering for r in NO_REPLY)
    # Host IPv4 and IPv6 count alone. The pods' namespaces (the agent's own sockets among every
    # application's) count only beside lost replies: any pod's UDP drops would do otherwise.
    udp = max(
        grown.udp_in_errors or 0,
        grown.udp_receive_buffer_errors or 0,
        grown.udp6_in_errors or 0,
        grown.udp6_receive_buffer_errors or 0,
        *((grown.pod_udp_in_errors or 0, grown.pod_udp_receive_buffer_errors or 0) if timeouts else ()),
    )
    if udp < UDP_ERRORS_RISING and not (cpu_high and timeouts):
        return None
    evidence = [
        f"over the last {grown.seconds:.0f}s: Udp InErrors +{grown.udp_in_errors}, RcvbufErrors "
        f"+{grown.udp_receive_buffer_errors}, SndbufErrors +{grown.udp_send_buffer_errors}, "
        f"Tcp RetransSegs +{grown.tcp_retransmitted_segments}"
    ]
    if grown.udp6_in_errors is not None:
        evidence.append(
            f"IPv6: Udp6InErrors +{grown.udp6_in_errors}, "
            f"Udp6RcvbufErrors +{grown.udp6_receive_buffer_errors}"
        )
    if grown.pod_udp_in_errors and timeouts:
        evidence.append(
            f"pods' network namespaces: Udp InErrors +{grown.pod_udp_in_errors}, RcvbufErrors "
            f"+{grown.pod_udp_receive_buffer_errors}"
        )
    if pressure is not None:
        evidence.append(f"CPU pressure: some task waited for a CPU {pct(pressure)} of the time")
    if busy is not None:
        evidence.append(f"CPU busy: {pct(busy)} of all CPUs")
    if timeouts:
        evidence.append(f"{timeouts} probe(s) of answering servers got no reply in the diagnosis window")
    # Say only what the counters show: saturated CPUs with lost replies need no UDP error.
    seen = ["drops UDP it receives"] if udp >= UDP_ERRORS_RISING else []
    seen += ["runs with its CPUs saturated"] if cpu_high else []
    return Draft(
        "client_overloaded",
        f"This node {' and '.join(seen)}: DNS answers are lost before the client reads them.",
        tuple(evidence),
        "Find what saturates the node (`top`, `kubectl top pods -A --sort-by=cpu` for its pods) and "
        "move or limit it; enable NodeLocal DNSCache to cut per-node DNS traffic; raise "
        "net.core.rmem_default if receive buffers overflow.",
        {"udp_errors": udp, "cpu_pressure_ratio": pressure, "cpu_busy_ratio": busy},
    )


CAUSE = Cause(
    id="client_overloaded",
    severity="warning",
    title="The node sending the queries is overloaded and drops UDP",
    group=Group.NETWORK,
    meaning="The node that sends the queries is saturated and loses UDP replies.",
    probe="scattered timeouts on every path from this node only",
    signals=(
        "node: `k8s_dns_node_udp_receive_buffer_errors_total`, `k8s_dns_node_udp_in_errors_total`, "
        "their `udp6` counterparts (`pod_udp`: the pods' namespaces, beside lost replies), "
        "`k8s_dns_node_tcp_retransmitted_segments_total`, `k8s_dns_node_cpu_pressure_seconds_total`"
    ),
    alert=AlertEvidence(
        text="UDP receive errors per second on this node: {v}.",
        query="max(rate(k8s_dns_node_udp_in_errors_total[5m]))",
    ),
    rules=(client_overloaded,),
    scope="node",
)
