"""The node's sources by collector name, and how a failed read is told apart: absent or broken."""

from __future__ import annotations

import errno
from collections.abc import Callable
from typing import Any

from exporter.node.conntrack import read_conntrack
from exporter.node.cpu import read_cpu_pressure, read_cpu_times
from exporter.node.paths import NodePaths
from exporter.node.resolv_conf import read_node_resolv_conf
from exporter.node.snmp import read_net

CONNTRACK = "node_conntrack"
SNMP = "node_snmp"
CPU = "node_cpu"
PRESSURE = "node_pressure"
RESOLV_CONF = "node_resolv_conf"

READERS: dict[str, Callable[[NodePaths], Any]] = {
    CONNTRACK: read_conntrack,
    SNMP: read_net,
    CPU: read_cpu_times,
    PRESSURE: read_cpu_pressure,
    RESOLV_CONF: read_node_resolv_conf,
}
"""Collector name (the ``collector`` label) -> its reader."""

_ABSENT = frozenset({errno.ENOENT, errno.ENOTDIR, errno.EOPNOTSUPP, errno.ENOTSUP})


def is_absent(exc: BaseException) -> bool:
    """The source does not exist on this node (no conntrack module, no PSI, no systemd-resolved).

    That is "no data", not a failure. PSI compiled in but disabled (``psi=0``)
    answers reads with EOPNOTSUPP, which counts as absent too.
    """
    return isinstance(exc, OSError) and exc.errno in _ABSENT


def describe(exc: BaseException) -> str:
    """``No such file or directory: /host/proc/1/net/stat/nf_conntrack``, or the parse error."""
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    return str(exc) or type(exc).__name__
