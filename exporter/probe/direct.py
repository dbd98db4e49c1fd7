"""A direct probe: one name, one type, one transport, asked of one server."""

from __future__ import annotations

import os
import time

from exporter.probe.classify import classify
from exporter.probe.result import ProbeResult, Reason
from exporter.probe.settings import Settings
from exporter.probe.transport import ExchangeError, describe_os_error, exchange_tcp, exchange_udp
from exporter.probe.wire import MalformedReply, Query, Reply
from exporter.targets.plan import PlannedProbe


def new_id() -> int:
    """A fresh 16-bit query ID (from the OS, so concurrent probes do not collide by pattern)."""
    return int.from_bytes(os.urandom(2), "big")


async def ask(
    host: str, port: int, query: Query, transport: str, timeout: float
) -> tuple[Reply, float, float | None]:
    """Exchange one query and parse the reply: ``(reply, latency, connect)``, ``connect`` for TCP only.

    Raises :class:`ExchangeError` or :class:`MalformedReply`.
    """
    query_id = new_id()
    if transport == "tcp":
        data, latency, connect = await exchange_tcp(host, port, query.wire(query_id), timeout)
        try:
            return query.parse(data, query_id), latency, connect
        except MalformedReply as exc:
            exc.connect = connect  # connected, then bytes no client takes
            raise
    outcome = await exchange_udp(host, port, [(query_id, query.wire(query_id))], timeout)
    if query_id in outcome.replies:
        data, latency = outcome.replies[query_id]
        return query.parse(data, query_id), latency, None
    if outcome.stray is not None:
        query.parse(outcome.stray, query_id)  # raises MalformedReply naming what is wrong
        raise MalformedReply("unexpected datagram")
    if outcome.error is not None:
        raise ExchangeError(describe_os_error(outcome.error))
    raise ExchangeError(f"no reply within {timeout:g}s", timed_out=True)


async def probe(planned: PlannedProbe, settings: Settings) -> ProbeResult:
    """Ask the planned server directly and classify the outcome. Never raises for DNS or network faults."""
    assert planned.server is not None
    path, label, transport = planned.path, planned.label, planned.transport
    query = settings.query(planned.tries[0], planned.qtype)
    try:
        reply, latency, connect = await ask(
            planned.server.host, planned.server.port, query, transport, settings.timeout
        )
    except ExchangeError as exc:
        why = Reason.TIMEOUT if exc.timed_out else Reason.NETWORK_ERROR
        return failed_result(
            path, label, planned.name, query.qtype, transport, why, exc.detail, connect=exc.connect
        )
    except MalformedReply as exc:
        return failed_result(
            path, label, planned.name, query.qtype, transport, Reason.MALFORMED, str(exc), connect=exc.connect
        )
    reason, detail = classify(reply, planned.expect, transport)
    return ProbeResult(
        path=path,
        server=label,
        name=planned.name,
        qtype=query.qtype,
        transport=transport,
        reason=reason,
        rcode=reply.rcode,
        latency=latency,
        connect=connect,
        answers=reply.answers,
        answer_count=reply.answer_count,
        truncated=reply.truncated,
        detail=detail,
        timestamp=time.time(),
    )


def failed_result(  # noqa: PLR0917 - the probe key's five parts, then why
    path: str,
    server: str,
    name: str,
    qtype: str,
    transport: str,
    reason: Reason,
    detail: str,
    *,
    connect: float | None = None,
) -> ProbeResult:
    """A result for a probe that got no usable reply."""
    return ProbeResult(
        path=path,
        server=server,
        name=name,
        qtype=qtype,
        transport=transport,
        reason=reason,
        rcode=None,
        latency=None,
        detail=detail,
        timestamp=time.time(),
        connect=connect,
    )
