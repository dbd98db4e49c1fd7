"""UDP and TCP loss counters of the host network namespace, from ``<procfs>/1/net/snmp``
(IPv4, and TCP) and ``<procfs>/1/net/snmp6`` (IPv6).

Like conntrack, these counters belong to a network namespace: the file of PID 1
of the host's procfs is the host's, ``/proc/self/net/snmp`` would be the pod's.
The file comes in pairs of lines, names then values, per protocol::

    Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors ...
    Udp: 345 33 0 395 0 0 ...

Columns are found by name, so kernels that add columns still read. ``snmp6`` has one
counter a line, name then value (``Udp6InErrors 0``); it is absent when the kernel has
no IPv6.

Pods' namespaces have their own counters: ``exporter.node.readers.netns`` reads them.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

from exporter.node.paths import CorruptFile, NodePaths, read_text
from exporter.node.source import Source

SNMP_FILE = ("1", "net", "snmp")
SNMP6_FILE = ("1", "net", "snmp6")
_NUMBER = re.compile(r"-?[0-9]+")
_NUMBERS = re.compile(r"-?[0-9]+(?:\s+-?[0-9]+)*")
_BLANKS = re.compile(r"(?:[ \t]*\n)*")
_PAIR = re.compile(r"([A-Za-z0-9]+):([^\n]*)\n(?:[ \t]*\n)*\1:([^\n]*)\n(?:[ \t]*\n)*")
"""Two lines of one protocol, names then values (blank lines may follow each)."""
"""A line of values: decimal integers (some, like Tcp MaxConn, may be -1), checked in one match."""
_WANTED = {
    "Udp": ("InErrors", "RcvbufErrors", "SndbufErrors", "NoPorts"),
    "Tcp": ("RetransSegs",),
}


@dataclass(frozen=True, slots=True)
class NetStats:
    udp_in_errors: int
    """Datagrams the host could not deliver (buffer full, bad checksum), RcvbufErrors included."""
    udp_receive_buffer_errors: int
    udp_send_buffer_errors: int
    udp_no_ports: int
    """Datagrams to a port nobody listens on (answered with ICMP port unreachable)."""
    tcp_retransmitted_segments: int


def parse_snmp(
    text: str, path: str = "snmp", protocols: Collection[str] | None = None
) -> dict[str, dict[str, int]]:
    """Protocol -> column -> value, for every pair of lines in the file (or only ``protocols``:
    the others are checked for their shape, their values neither read nor checked).

    The file as the kernel writes it is read pair by pair (one match per pair); anything else
    goes line by line, which names what is wrong.
    """
    tables = parse_pairs(text, protocols) if protocols is not None else None
    return tables if tables is not None else parse_lines(text, path, protocols)


def parse_pairs(text: str, protocols: Collection[str]) -> dict[str, dict[str, int]] | None:
    """The tables of ``protocols`` when the whole file is pairs of well-formed lines, else ``None``."""
    blanks = _BLANKS.match(text)
    position = blanks.end() if blanks else 0
    tables: dict[str, dict[str, int]] = {}
    while position < len(text):
        pair = _PAIR.match(text, position)
        if pair is None:
            return None
        position = pair.end()
        proto, names_text, values_text = pair.groups()
        if proto not in protocols:
            continue
        names, words = names_text.split(), values_text.split()
        if len(names) != len(words) or not _NUMBERS.fullmatch(values_text.strip()):
            return None
        tables[proto] = dict(zip(names, map(int, words), strict=True))
    return tables


def parse_lines(text: str, path: str, protocols: Collection[str] | None) -> dict[str, dict[str, int]]:
    """Line by line: any file, and a message naming the line of what is wrong."""
    if text and not text.endswith("\n"):
        raise CorruptFile(path, "the last line is cut short (no newline)")
    tables: dict[str, dict[str, int]] = {}
    pending: tuple[str, list[str], int] | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        proto, sep, rest = line.partition(":")
        if not sep or not proto.isalnum():
            raise CorruptFile(path, f"line {number} has no 'Proto:' prefix: {line[:40]!r}")
        wanted = protocols is None or proto in protocols
        if pending is None or pending[0] != proto:
            if pending is not None:
                raise CorruptFile(path, f"{pending[0]}: line {pending[2]} has names but no values")
            pending = (proto, rest.split() if wanted else [], number)
            continue
        names = pending[1]
        pending = None
        if not wanted:
            continue
        words = rest.split()
        if len(words) != len(names):
            raise CorruptFile(path, f"{proto}: line {number} has {len(words)} values for {len(names)} names")
        if not _NUMBERS.fullmatch(rest.strip()):
            bad = next((word for word in words if not _NUMBER.fullmatch(word)), rest)
            raise CorruptFile(path, f"line {number}: {bad[:20]!r} is not a number")
        tables[proto] = dict(zip(names, map(int, words), strict=True))
    if pending is not None:
        raise CorruptFile(path, f"{pending[0]}: line {pending[2]} has names but no values (truncated?)")
    return tables


@dataclass(frozen=True, slots=True)
class UdpCounters:
    """The loss counters of UDP in one namespace, for one IP version."""

    in_errors: int
    """Datagrams that could not be delivered (buffer full, bad checksum), RcvbufErrors included."""
    receive_buffer_errors: int
    send_buffer_errors: int
    no_ports: int


_UDP6 = {
    "in_errors": "Udp6InErrors",
    "receive_buffer_errors": "Udp6RcvbufErrors",
    "send_buffer_errors": "Udp6SndbufErrors",
    "no_ports": "Udp6NoPorts",
}


def parse_snmp6(text: str, path: str = "snmp6") -> dict[str, int]:
    """Counter name -> value, one ``Name value`` pair a line."""
    if text and not text.endswith("\n"):
        raise CorruptFile(path, "the last line is cut short (no newline)")
    counters: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        words = line.split()
        if not words:
            continue
        if len(words) != 2 or not words[0].isalnum():
            raise CorruptFile(path, f"line {number} is not 'Name value': {line[:40]!r}")
        if not _NUMBER.fullmatch(words[1]):
            raise CorruptFile(path, f"line {number}: {words[1][:20]!r} is not a number")
        counters[words[0]] = int(words[1])
    return counters


def udp6_counters(text: str, path: str) -> UdpCounters:
    """The Udp6 counters of an ``snmp6`` file. Raises :class:`CorruptFile`."""
    counters = parse_snmp6(text, path)
    missing = [name for name in _UDP6.values() if name not in counters]
    if missing:
        raise CorruptFile(path, f"no {', '.join(missing)}")
    return UdpCounters(**{field: counters[name] for field, name in _UDP6.items()})


def udp_counters(text: str, path: str) -> UdpCounters:
    """The Udp counters of an ``snmp`` file. Raises :class:`CorruptFile`."""
    table = parse_snmp(text, path, ("Udp",)).get("Udp")
    if table is None:
        raise CorruptFile(path, "no Udp lines")
    missing = [name for name in _WANTED["Udp"] if name not in table]
    if missing:
        raise CorruptFile(path, f"Udp has no {', '.join(missing)}")
    return UdpCounters(table["InErrors"], table["RcvbufErrors"], table["SndbufErrors"], table["NoPorts"])


def read_net6(paths: NodePaths) -> UdpCounters:
    path = paths.proc(*SNMP6_FILE)
    return udp6_counters(read_text(path), path)


def read_net(paths: NodePaths) -> NetStats:
    path = paths.proc(*SNMP_FILE)
    tables = parse_snmp(read_text(path), path, _WANTED)
    values: dict[str, int] = {}
    for proto, columns in _WANTED.items():
        table = tables.get(proto)
        if table is None:
            raise CorruptFile(path, f"no {proto} lines")
        for column in columns:
            if column not in table:
                raise CorruptFile(path, f"{proto} has no {column} column")
            values[f"{proto}.{column}"] = table[column]
    return NetStats(
        udp_in_errors=values["Udp.InErrors"],
        udp_receive_buffer_errors=values["Udp.RcvbufErrors"],
        udp_send_buffer_errors=values["Udp.SndbufErrors"],
        udp_no_ports=values["Udp.NoPorts"],
        tcp_retransmitted_segments=values["Tcp.RetransSegs"],
    )


SNMP: Source[NetStats] = Source("node_snmp", read_net)
SNMP6: Source[UdpCounters] = Source("node_snmp6", read_net6)
SOURCES = (SNMP, SNMP6)
