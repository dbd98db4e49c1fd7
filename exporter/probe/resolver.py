"""The ``resolver`` path: one lookup as a glibc client in the pod makes it.

The search list and ``ndots`` decide which names are tried and in what order
(``__res_context_search``); each try goes to the nameservers in order, with
``attempts`` rounds (``__res_context_send``): a timeout or SERVFAIL/REFUSED
moves to the next server, a TC reply is retried over TCP. The search goes on
after NXDOMAIN, NODATA or SERVFAIL and stops at the first answer, a timeout or
REFUSED. The result counts every query the lookup cost: with ``ndots:5`` and
three search domains, an external name costs four queries before it resolves.

Differences from glibc, on purpose: nameservers are always tried from the
first (``rotate`` is ignored, so probes are repeatable) and each try waits at
most the probe timeout (a reply slower than that is a failure anyway).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from exporter.hops import Hop
from exporter.probe.classify import classify
from exporter.probe.direct import ask
from exporter.probe.result import ProbeResult, Reason
from exporter.probe.settings import Settings
from exporter.probe.transport import ExchangeError
from exporter.probe.wire import MalformedReply, Query, Reply
from exporter.resolvconf import ResolvConf
from exporter.targets.plan import PlannedProbe

_NEXT_SERVER_RCODES = frozenset({"SERVFAIL", "REFUSED", "NOTIMP"})
_CONTINUE_SEARCH_RCODES = frozenset({"NXDOMAIN", "SERVFAIL"})


@dataclass(slots=True)
class _Try:
    """The outcome of one name tried against the nameservers."""

    reply: Reply | None
    failure: Reason | None
    detail: str
    queries: int


async def probe(planned: PlannedProbe, settings: Settings) -> ProbeResult:
    """Resolve the planned name like glibc would and classify the final outcome. Never raises."""
    assert planned.resolver is not None
    resolver, conf = planned.resolver
    name, qtype, transport = planned.name, planned.qtype, planned.transport
    started = time.perf_counter()
    trail: list[str] = []
    queries = 0
    last = _Try(None, Reason.NETWORK_ERROR, "resolv.conf lists no nameserver", 0)
    try:
        async with asyncio.timeout(settings.budget):
            for candidate in planned.tries:
                query = settings.query(candidate, qtype)
                last = await _try_servers(conf, resolver.port, query, transport, settings.timeout)
                queries += last.queries
                trail.append(f"{candidate} {_outcome(last)}")
                if not _continue_search(last):
                    break
    except TimeoutError:
        last = _Try(None, Reason.TIMEOUT, f"lookup took longer than {settings.budget:g}s", 0)
        trail.append("gave up")
    elapsed = time.perf_counter() - started
    detail = f"{queries} {'query' if queries == 1 else 'queries'}: " + "; ".join(trail)
    if last.reply is None:
        return ProbeResult(
            path=Hop.RESOLVER,
            server=planned.label,
            name=name,
            qtype=qtype,
            transport=transport,
            reason=last.failure,
            rcode=None,
            latency=None,
            queries=queries,
            detail=f"{last.detail} ({detail})",
            timestamp=time.time(),
        )
    reply = last.reply
    reason, why = classify(reply, planned.expect, transport)
    return ProbeResult(
        path=Hop.RESOLVER,
        server=planned.label,
        name=name,
        qtype=qtype,
        transport=transport,
        reason=reason,
        rcode=reply.rcode,
        latency=elapsed,
        answers=reply.answers,
        answer_count=reply.answer_count,
        truncated=reply.truncated,
        queries=queries,
        detail=f"{why} ({detail})" if why else detail,
        timestamp=time.time(),
    )


def _continue_search(outcome: _Try) -> bool:
    if outcome.reply is None:
        return False  # a timeout or network error ends the search (glibc: "done")
    if outcome.reply.rcode == "NOERROR":
        return outcome.reply.answer_count == 0  # NODATA: glibc searches on
    return outcome.reply.rcode in _CONTINUE_SEARCH_RCODES


def _outcome(outcome: _Try) -> str:
    if outcome.reply is None:
        return str(outcome.failure)
    if outcome.reply.rcode == "NOERROR" and outcome.reply.answer_count == 0:
        return "NODATA"
    return outcome.reply.rcode


async def _try_servers(conf: ResolvConf, port: int, query: Query, transport: str, timeout: float) -> _Try:
    queries = 0
    kept: _Try = _Try(None, Reason.NETWORK_ERROR, "resolv.conf lists no nameserver", 0)
    for _attempt in range(conf.attempts):
        for host in conf.used_nameservers:
            queries += 1
            outcome = await _ask_one(host, port, query, transport, timeout)
            if outcome.reply is not None and outcome.reply.truncated and transport == "udp":
                queries += 1  # glibc retries a truncated reply over TCP, same server
                outcome = await _ask_one(host, port, query, "tcp", timeout)
            if outcome.reply is not None and outcome.reply.rcode not in _NEXT_SERVER_RCODES:
                outcome.queries = queries
                return outcome
            if outcome.reply is not None or kept.reply is None:
                kept = outcome
    kept.queries = queries
    return kept


async def _ask_one(host: str, port: int, query: Query, transport: str, timeout: float) -> _Try:
    try:
        reply, _latency = await ask(host, port, query, transport, timeout)
    except ExchangeError as exc:
        return _Try(None, Reason.TIMEOUT if exc.timed_out else Reason.NETWORK_ERROR, exc.detail, 1)
    except MalformedReply as exc:
        return _Try(None, Reason.MALFORMED, str(exc), 1)
    return _Try(reply, None, "", 1)
