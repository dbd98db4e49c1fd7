"""UDP loss counters of the pods' network namespaces, each read once.

A datagram dropped because a socket's receive buffer was full is counted in the
namespace of that socket: a pod's drops (the agent's own among them) show in the
pod's ``net/snmp``, never in the host's ``<procfs>/1/net/snmp``. This reader walks
the processes of the host procfs and reads ``<procfs>/<pid>/net/snmp`` and
``snmp6`` once per network namespace, however many processes share it.

A namespace is told by the inode of its ``net/snmp`` entry: the kernel makes the
procfs entries of ``/proc/<pid>/net`` per namespace, each with an inode number of
its own, and anyone may stat them. ``/proc/<pid>/ns/net`` would say the same, but
reading that link of another user's process takes CAP_SYS_PTRACE, which the agent
does not have.

What it cannot see: processes procfs hides (``hidepid``), namespaces with no
process (held only by a bind mount; no pod has one), and namespaces beyond
:data:`MAX_NAMESPACES` in a round (counted as skipped). The cost is bounded: one
``stat`` per process (at most :data:`MAX_PROCESSES`) and two small reads per
namespace.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from exporter.node.paths import CorruptFile, NodePaths, read_text
from exporter.node.readers.snmp import UdpCounters, udp6_counters, udp_counters
from exporter.node.source import Source

MAX_PROCESSES = 65536
"""Processes looked at per round; a node has far fewer."""
MAX_NAMESPACES = 1024
"""Namespaces read per round; a node runs at most a few hundred pods."""


@dataclass(frozen=True, slots=True)
class NamespaceUdp:
    pid: int
    """A process in the namespace (the lowest PID seen in it)."""
    udp: UdpCounters
    udp6: UdpCounters | None
    """``None`` when the namespace has no IPv6."""


@dataclass(frozen=True, slots=True)
class PodNamespaces:
    namespaces: Mapping[int, NamespaceUdp]
    """Namespace (inode of its ``net/snmp``) -> its counters; the host's is not among them."""
    processes: int
    """Processes looked at."""
    failed: int
    """Namespaces whose files could not be read or did not parse (a process that exited
    meanwhile is not a failure)."""
    skipped: int
    """Namespaces beyond :data:`MAX_NAMESPACES`."""


def read_pod_namespaces(paths: NodePaths) -> PodNamespaces:
    """Every network namespace but the host's, once. Raises ``OSError`` when procfs cannot be listed."""
    host = os.stat(paths.proc("1", "net", "snmp")).st_ino
    first: dict[int, int] = {}
    processes = 0
    with os.scandir(paths.procfs) as entries:
        for entry in entries:
            name = entry.name
            if not name.isdigit():
                continue
            processes += 1
            if processes > MAX_PROCESSES:
                break
            try:
                inode = os.stat(os.path.join(entry.path, "net", "snmp")).st_ino
            except OSError:
                continue  # exited, or hidden from us
            if inode != host:
                pid = int(name)
                if pid < first.get(inode, pid + 1):
                    first[inode] = pid
    namespaces: dict[int, NamespaceUdp] = {}
    failed = 0
    chosen = sorted(first.items(), key=lambda item: item[1])
    for inode, pid in chosen[:MAX_NAMESPACES]:
        try:
            namespaces[inode] = _read(paths, pid, inode)
        except FileNotFoundError:
            continue  # the process exited between the stat and the read
        except (OSError, CorruptFile):
            failed += 1
    return PodNamespaces(
        namespaces=namespaces,
        processes=min(processes, MAX_PROCESSES),
        failed=failed,
        skipped=max(len(chosen) - MAX_NAMESPACES, 0),
    )


def _read(paths: NodePaths, pid: int, inode: int) -> NamespaceUdp:
    directory = str(pid)
    snmp = paths.proc(directory, "net", "snmp")
    text = read_text(snmp)
    if os.stat(snmp).st_ino != inode:
        raise FileNotFoundError(snmp)  # the PID went to another process meanwhile
    snmp6 = paths.proc(directory, "net", "snmp6")
    try:
        udp6: UdpCounters | None = udp6_counters(read_text(snmp6), snmp6)
    except FileNotFoundError:
        udp6 = None  # no IPv6 in this namespace
    return NamespaceUdp(pid, udp_counters(text, snmp), udp6)


POD_NAMESPACES: Source[PodNamespaces] = Source("node_pod_namespaces", read_pod_namespaces)
SOURCES = (POD_NAMESPACES,)
