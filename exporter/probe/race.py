"""The A+AAAA race probe: A and AAAA for one name at the same moment, from one UDP socket.

glibc asks A and AAAA in parallel from one socket, so both queries share a source
port. On a node, conntrack makes one entry per (source, destination, ports): the
two datagrams race to create the same entry, and when the second loses
(``insert_failed``) it is dropped. The client then waits its whole timeout (5 s
by default) for the missing answer.

Each race probe sends the pair that way and records which answer never came.
Beside it, the same two queries go sequentially, each from a socket of its own
(a fresh source port, so no shared conntrack entry): when the pair loses answers
while the sequential queries do not, the loss comes from sending them together.
Both halves run at once, so a race probe takes at most two timeouts.

Only a missing reply counts as lost. Any reply (NXDOMAIN, SERVFAIL, NODATA)
means the datagram got through; an ICMP error or a stray datagram is an error,
counted neither way.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from exporter.probe.direct import new_id
from exporter.probe.settings import Settings
from exporter.probe.transport import ExchangeError, describe_os_error, exchange_udp
from exporter.probe.wire import Query
from exporter.targets.plan import RACE_TYPES, PlannedProbe


@dataclass(frozen=True, slots=True)
class RaceResult:
    path: str
    server: str
    name: str
    lost: tuple[str, ...]
    """Query types whose answer never came when the pair was sent together from one socket."""
    sequential_lost: tuple[str, ...]
    """Query types whose answer never came when sent one after the other from separate sockets."""
    error: str | None = None
    """Why the exchange ended without an outcome (port unreachable, a stray datagram)."""
    timestamp: float = 0.0

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.path, self.server, self.name)


async def probe(planned: PlannedProbe, settings: Settings) -> RaceResult:
    """Send the pair together and, at the same time, one after the other. Never raises."""
    assert planned.server is not None
    host, port, timeout = planned.server.host, planned.server.port, settings.timeout
    fqdn = planned.tries[0]
    queries = (settings.query(fqdn, RACE_TYPES[0]), settings.query(fqdn, RACE_TYPES[1]))
    (lost, error), (sequential_lost, sequential_error) = await asyncio.gather(
        _together(host, port, queries, timeout), _one_by_one(host, port, queries, timeout)
    )
    return RaceResult(
        path=planned.path,
        server=planned.label,
        name=planned.name,
        lost=lost,
        sequential_lost=sequential_lost,
        error=error or sequential_error,
        timestamp=time.time(),
    )


async def _together(
    host: str, port: int, queries: tuple[Query, Query], timeout: float
) -> tuple[tuple[str, ...], str | None]:
    first = new_id()
    second = new_id()
    while second == first:
        second = new_id()
    ids = (first, second)
    try:
        outcome = await exchange_udp(
            host,
            port,
            [(query_id, q.wire(query_id)) for query_id, q in zip(ids, queries, strict=True)],
            timeout,
        )
    except ExchangeError as exc:  # no socket to be had
        return (), exc.detail
    if outcome.error is not None:
        return (), describe_os_error(outcome.error)
    if outcome.stray is not None:
        return (), "a datagram that answers neither query"
    return tuple(
        q.qtype for query_id, q in zip(ids, queries, strict=True) if query_id not in outcome.replies
    ), None


async def _one_by_one(
    host: str, port: int, queries: tuple[Query, Query], timeout: float
) -> tuple[tuple[str, ...], str | None]:
    lost: list[str] = []
    for query in queries:
        query_id = new_id()
        try:
            outcome = await exchange_udp(host, port, [(query_id, query.wire(query_id))], timeout)
        except ExchangeError as exc:
            return (), exc.detail
        if outcome.error is not None:
            return (), describe_os_error(outcome.error)
        if outcome.stray is not None:
            return (), "a datagram that answers neither query"
        if query_id not in outcome.replies:
            lost.append(query.qtype)
    return tuple(lost), None
