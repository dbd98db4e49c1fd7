"""A healthy node's readings for unit tests of the node rules, with any field changed."""

from __future__ import annotations

import dataclasses
from typing import Any

from exporter.node import NodeReadings
from exporter.node.readers.conntrack import CONNTRACK, ConntrackStats
from exporter.node.readers.cpu import CPU, PRESSURE
from exporter.node.readers.resolv_conf import RESOLV_CONF, NodeResolvConf
from exporter.node.readers.snmp import SNMP, NetStats
from exporter.node.readings import Increases, RaceSummary, RaceTarget
from exporter.resolvconf import parse_resolv_conf
from tests.unit.results import SERVICE

NOW = 1_700_000_000.0


SOURCE_OF = {
    "conntrack": CONNTRACK,
    "net": SNMP,
    "cpu": CPU,
    "cpu_pressure_seconds": PRESSURE,
    "resolv_conf": RESOLV_CONF,
}
"""The readings' properties and the sources they read: ``readings(conntrack=...)`` sets that source."""


def readings(**changes: Any) -> NodeReadings:
    """Readings of a healthy node, with ``changes`` applied (``None`` for a source: it was not read)."""
    values: dict[str, object] = {
        CONNTRACK.name: ConntrackStats(
            entries=1200, limit=262144, insert_failed=40, drop=0, early_drop=0, clash_resolve=12, cpus=4
        ),
        SNMP.name: NetStats(
            udp_in_errors=7,
            udp_receive_buffer_errors=7,
            udp_send_buffer_errors=0,
            udp_no_ports=300,
            tcp_retransmitted_segments=9000,
        ),
        PRESSURE.name: 100.0,
        RESOLV_CONF.name: NodeResolvConf(
            "/run/systemd/resolve/resolv.conf",
            parse_resolv_conf("nameserver 10.1.0.4\nnameserver 10.1.0.5\n"),
            NOW - 86400,
        ),
    }
    for field, source in SOURCE_OF.items():
        if field in changes:
            value = changes.pop(field)
            if value is None:
                values.pop(source.name, None)
            else:
                values[source.name] = value
    base = NodeReadings(
        procfs="/host/proc",
        rootfs="/host",
        taken_at=NOW,
        samples=5,
        values=values,
        increases=Increases(
            seconds=60,
            conntrack_insert_failed=0,
            conntrack_drop=0,
            conntrack_early_drop=0,
            conntrack_clash_resolve=0,
            udp_in_errors=0,
            udp_receive_buffer_errors=0,
            udp_send_buffer_errors=0,
            tcp_retransmitted_segments=40,
            cpu_busy_ratio=0.35,
            cpu_pressure_ratio=0.05,
        ),
        race=RaceSummary(
            probes=5,
            targets=(RaceTarget("service", SERVICE, "kubernetes.default.svc.cluster.local.", 5, 0, 0),),
        ),
        resolv_conf_change=None,
        errors={},
    )
    return dataclasses.replace(base, **changes)
