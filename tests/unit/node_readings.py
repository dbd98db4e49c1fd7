"""A healthy node's readings for unit tests of the node rules, with any field changed."""

from __future__ import annotations

import dataclasses
from typing import Any

from exporter.node import NodeReadings
from exporter.node.conntrack import ConntrackStats
from exporter.node.readings import Increases, RaceSummary, RaceTarget
from exporter.node.resolv_conf import NodeResolvConf
from exporter.node.snmp import NetStats
from exporter.resolvconf import parse_resolv_conf
from tests.unit.results import SERVICE

NOW = 1_700_000_000.0


def readings(**changes: Any) -> NodeReadings:
    """Readings of a healthy node, with ``changes`` applied."""
    base = NodeReadings(
        procfs="/host/proc",
        rootfs="/host",
        taken_at=NOW,
        samples=5,
        conntrack=ConntrackStats(
            entries=1200, limit=262144, insert_failed=40, drop=0, early_drop=0, clash_resolve=12, cpus=4
        ),
        net=NetStats(
            udp_in_errors=7,
            udp_receive_buffer_errors=7,
            udp_send_buffer_errors=0,
            udp_no_ports=300,
            tcp_retransmitted_segments=9000,
        ),
        cpu=None,
        cpu_pressure_seconds=100.0,
        resolv_conf=NodeResolvConf(
            "/run/systemd/resolve/resolv.conf",
            parse_resolv_conf("nameserver 10.1.0.4\nnameserver 10.1.0.5\n"),
            NOW - 86400,
        ),
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
