"""The ``resolver`` path: one lookup as a glibc client in the pod makes it.

It replays glibc 2.36's stub resolver (``resolv/res_query.c`` and
``resolv/res_send.c``) for ``getaddrinfo`` of one address family, that is one
query type per name:

- **Search** (``__res_context_search``): a name with at least ``ndots`` dots (or
  a trailing dot) is asked as is first; then the search list, in order; then the
  name as is, unless already asked (or ``no-tld-query`` and no dot). After any
  failure of the name as is, the search list is still tried. Within the list,
  NXDOMAIN and NODATA go on to the next domain, and so does a failed send whose
  last reply was SERVFAIL; any other failure (a timeout, REFUSED) ends the list
  but the name as is is still asked. When no server could be reached at all
  (every port closed), the lookup gives up at once.
- **Send** (``__res_context_send``): ``attempts`` rounds over the nameservers
  (the first three), starting at a rotating offset with ``rotate``. Try ``ns``
  waits ``timeout << ns`` seconds, divided by the number of nameservers when ``ns
  > 0`` (at least 1 s), on a socket kept per nameserver for the whole query, and
  every try carries the same ID, so a late reply to an earlier try still answers.
  SERVFAIL, NOTIMP, REFUSED, a NOERROR reply with no records and neither AA nor
  RA, and socket errors move to the next nameserver and close every socket. A TC
  reply is asked again over TCP of the same server, and from then on every
  server is asked once, over TCP (``use-vc`` does that from the start).
- **EDNS**: with ``options edns0`` the queries carry an OPT record offering
  1200 bytes (``RESOLV_EDNS_BUFFER_SIZE``), so an answer up to that size needs no
  TCP; without it they are plain DNS (512 bytes), whatever ``edns_payload`` the
  direct probes use.

``single-request`` and ``single-request-reopen`` change only how glibc sends the
A and AAAA queries of an unspecified family together; a lookup asks one type, so
they change nothing here (the ``race`` probe sends the pair). Where the exporter
differs from glibc: over TCP glibc sets no timeout of its own (the kernel's apply)
while the exporter waits the try's timeout; and the whole lookup is cut off at
the probe budget.

The result counts every query the lookup cost: with ``ndots:5`` and three search
domains, an external name costs four queries before it resolves.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from dataclasses import dataclass, field
from functools import lru_cache

from exporter.hops import Hop
from exporter.probe.classify import classify
from exporter.probe.direct import new_id
from exporter.probe.result import ProbeResult, Reason
from exporter.probe.settings import Settings
from exporter.probe.transport import ExchangeError, UdpChannel, exchange_tcp
from exporter.probe.wire import MalformedReply, Query, Reply
from exporter.resolvconf import ResolvConf
from exporter.targets.plan import PlannedProbe

GLIBC_VERSION = "2.36"
"""The glibc release whose stub resolver the lookup replays."""
EDNS_BUFFER_SIZE = 1200
"""The UDP payload glibc offers with ``options edns0`` (``RESOLV_EDNS_BUFFER_SIZE``)."""

_NEXT_SERVER_RCODES = frozenset({"SERVFAIL", "REFUSED", "NOTIMP"})
_HEADER_SIZE = 12
_FLAG_TC = 0x0200
_FLAG_AA = 0x0400
_FLAG_RA = 0x0080
_rotation = itertools.count(int.from_bytes(os.urandom(2), "big"))
"""glibc's process-wide ``rotate`` offset: a random start, one step per query sent."""


@dataclass(slots=True)
class _Sent:
    """What one name cost against the nameservers (one ``__res_context_send``)."""

    reply: Reply | None = None
    """The reply the send returned; ``None`` when every try failed."""
    buffer: Reply | None = None
    """The last reply read, returned or not (what glibc's answer buffer holds)."""
    last_rcode: str | None = None
    """The rcode of the last datagram read, even one that could not be parsed."""
    failure: Reason = Reason.NETWORK_ERROR
    """Why no reply was returned, when none was and none was read."""
    detail: str = ""
    queries: list[str] = field(default_factory=list)
    in_flight: str | None = None
    """``host transport`` of the try awaiting its reply (a lookup cut off there still sent it)."""
    """``server transport outcome`` for every query sent."""
    reached: bool = False
    """A reply came or a try timed out (glibc's ``gotsomewhere``); else every server refused."""
    tcp_refused: bool = False
    """Over TCP, the last error was a refused connection (glibc's ``terrno``)."""
    garbled: bool = False
    """The reply returned could not be read past its header: the search ends there."""

    @property
    def found(self) -> bool:
        reply = self.reply
        return reply is not None and reply.rcode == "NOERROR" and reply.answer_count > 0

    @property
    def nodata(self) -> bool:
        return self.reply is not None and self.reply.rcode == "NOERROR" and self.reply.answer_count == 0

    @property
    def servfail(self) -> bool:
        """TRY_AGAIN with SERVFAIL in the answer buffer: the search goes on."""
        return self.last_rcode == "SERVFAIL" and (self.reply is None or self.reply.rcode == "SERVFAIL")

    @property
    def search_on(self) -> bool:
        """Whether the search list goes on after this name (the ``switch`` on ``h_errno``)."""
        if self.reply is None:
            return self.servfail
        return self.reply.rcode == "NXDOMAIN" or self.nodata or self.servfail

    @property
    def unreachable(self) -> bool:
        """glibc's ``ECONNREFUSED``: nothing answered and nothing timed out."""
        if self.reply is not None or self.garbled:
            return False
        return self.tcp_refused or not self.reached


@lru_cache(maxsize=4096)
def _query(fqdn: str, qtype: str, edns: bool) -> Query:
    return Query(fqdn, qtype, edns_payload=EDNS_BUFFER_SIZE if edns else None)


def try_timeout(timeout: int, ns: int, nscount: int) -> int:
    """Seconds glibc's ``send_dg`` waits on nameserver index ``ns`` (of ``nscount``)."""
    seconds = timeout << ns
    if ns > 0:
        seconds //= nscount
    return max(seconds, 1)


async def probe(planned: PlannedProbe, settings: Settings) -> ProbeResult:
    """Resolve the planned name like glibc would and classify the final outcome. Never raises."""
    assert planned.resolver is not None
    resolver, conf = planned.resolver
    lookup = _Lookup(conf, resolver.port, planned.qtype, planned.transport)
    started = time.perf_counter()
    try:
        async with asyncio.timeout(settings.budget):
            final = await lookup.search(planned.name)
    except TimeoutError:
        lookup.cut_off()  # the queries of the name in flight were sent: they count
        final = _Sent(failure=Reason.TIMEOUT, detail=f"lookup took longer than {settings.budget:g}s")
        lookup.trail.append("gave up")
    elapsed = time.perf_counter() - started
    queries = lookup.queries
    detail = f"{queries} {'query' if queries == 1 else 'queries'}: " + "; ".join(lookup.trail)
    name, qtype, transport = planned.name, planned.qtype, planned.transport
    reply = final.reply or (None if final.garbled else final.buffer)
    if reply is None:
        return ProbeResult(
            path=Hop.RESOLVER,
            server=planned.label,
            name=name,
            qtype=qtype,
            transport=transport,
            reason=final.failure,
            rcode=None,
            latency=None,
            queries=queries,
            detail=f"{final.detail} ({detail})",
            timestamp=time.time(),
        )
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


class _Lookup:
    """One lookup's state: the resolv.conf, and what every name asked cost."""

    def __init__(self, conf: ResolvConf, port: int, qtype: str, transport: str) -> None:
        self.conf = conf
        self.port = port
        self.qtype = qtype
        self.use_vc = transport == "tcp" or "use-vc" in conf.flags
        self.edns = "edns0" in conf.flags
        self.trail: list[str] = []
        self.queries = 0
        self._sending: tuple[str, _Sent] | None = None
        """The name being sent and what it sent so far (``cut_off`` counts it)."""

    async def search(self, name: str) -> _Sent:
        """``__res_context_search``: the names tried, in order, and the outcome glibc returns."""
        conf = self.conf
        trailing = name.endswith(".")
        bare = name.rstrip(".")
        dots = bare.count(".")
        as_is: _Sent | None = None
        if dots >= conf.ndots or trailing:
            as_is = await self.send(bare + ".")
            if as_is.found or as_is.garbled or trailing:
                return as_is
        last: _Sent | None = None
        nodata: _Sent | None = None
        servfail: _Sent | None = None
        for domain in conf.search:
            last = await self.send(f"{bare}.{domain}.")
            if last.found or last.garbled or last.unreachable:
                return last
            if last.nodata:
                nodata = nodata or last
            elif last.servfail:
                servfail = servfail or last
            if not last.search_on:
                break
        if as_is is None and (dots or not conf.search or "no-tld-query" not in conf.flags):
            last = await self.send(bare + ".")
            if last.found or last.garbled:
                return last
        # Nothing found: glibc reports the name as is, else NODATA, else SERVFAIL, else the last try.
        final = as_is or nodata or servfail or last
        return final if final is not None else _Sent(failure=Reason.NXDOMAIN, detail="no name to try")

    async def send(self, fqdn: str) -> _Sent:
        """``__res_context_send`` of one name: attempts x nameservers, UDP then TCP on TC."""
        conf = self.conf
        servers = conf.used_nameservers
        sent = _Sent()
        self._sending = (fqdn, sent)
        if not servers:
            sent.detail = "resolv.conf lists no nameserver"
            return self._done(fqdn, sent)
        query = _query(fqdn.lower(), self.qtype, self.edns)
        query_id = new_id()
        wire = query.wire(query_id)
        offset = next(_rotation) % len(servers) if "rotate" in conf.flags and len(servers) > 1 else 0
        channels: dict[str, UdpChannel] = {}
        vc = self.use_vc
        try:
            attempt, attempts = 0, conf.attempts
            while attempt < attempts:
                for shift in range(len(servers)):
                    ns = (shift + offset) % len(servers)
                    if not vc:
                        seconds = try_timeout(conf.timeout, ns, len(servers))
                        verdict = await self._udp(sent, channels, servers[ns], query, query_id, wire, seconds)
                        if verdict == "done":
                            return self._done(fqdn, sent)
                        if verdict == "next":
                            continue
                        vc = True  # a TC reply: the same server again, over TCP
                    attempts = 0  # over TCP: one try per server
                    if await self._tcp(sent, servers[ns], query, query_id, wire):
                        return self._done(fqdn, sent)
                attempt += 1
        finally:
            for channel in channels.values():
                channel.close()
        return self._done(fqdn, sent)

    def cut_off(self) -> None:
        """The budget ran out while a name was being sent: account for what it sent so far."""
        if self._sending is not None:
            fqdn, sent = self._sending
            if sent.in_flight is not None:
                sent.queries.append(f"{sent.in_flight} cut off")
            self._done(fqdn, sent)

    def _done(self, fqdn: str, sent: _Sent) -> _Sent:
        self._sending = None
        self.queries += len(sent.queries)
        if sent.reply is None:
            outcome = "malformed" if sent.garbled else "failed"
        elif sent.nodata:
            outcome = "NODATA"
        else:
            outcome = sent.reply.rcode
        self.trail.append(f"{fqdn} {outcome} [{', '.join(sent.queries)}]")
        return sent

    async def _udp(  # noqa: PLR0917 - one try of send_dg
        self,
        sent: _Sent,
        channels: dict[str, UdpChannel],
        host: str,
        query: Query,
        query_id: int,
        wire: bytes,
        seconds: float,
    ) -> str:
        """One try over UDP: ``done`` (a reply to return), ``tc`` (ask over TCP) or ``next``."""
        question = wire[_HEADER_SIZE : _question_end(wire)].lower()

        def accept(data: bytes) -> bool:
            if len(data) < _HEADER_SIZE:
                return True  # glibc fails the try on an undersized datagram
            return (
                int.from_bytes(data[:2], "big") == query_id
                and data[_HEADER_SIZE : _HEADER_SIZE + len(question)].lower() == question
            )

        sent.in_flight = f"{host} udp"
        try:
            channel = channels.get(host)
            if channel is None:
                channel = channels[host] = UdpChannel(host, self.port)
            data = await channel.send_and_wait(wire, accept, seconds)
        except ExchangeError as exc:
            sent.in_flight = None
            if exc.timed_out:
                sent.queries.append(f"{host} udp timeout")
                sent.reached = True
                sent.failure = Reason.TIMEOUT
            else:
                sent.queries.append(f"{host} udp error")
                self._close(channels)
                if sent.failure is not Reason.TIMEOUT:
                    sent.failure = Reason.NETWORK_ERROR
            sent.detail = f"{host}: {exc.detail}"
            return "next"
        sent.in_flight = None
        sent.reached = True
        if len(data) < _HEADER_SIZE:
            sent.queries.append(f"{host} udp undersized")
            sent.failure, sent.detail = Reason.MALFORMED, f"{len(data)} bytes is shorter than a DNS header"
            self._close(channels)
            return "next"
        flags = int.from_bytes(data[2:4], "big")
        rcode = _RCODES.get(flags & 0x000F, f"RCODE{flags & 0x000F}")
        sent.last_rcode = rcode
        sent.queries.append(f"{host} udp {rcode}{' TC' if flags & _FLAG_TC else ''}")
        ancount = int.from_bytes(data[6:8], "big")
        arcount = int.from_bytes(data[10:12], "big")
        lame = rcode == "NOERROR" and ancount == 0 and not flags & (_FLAG_AA | _FLAG_RA) and arcount == 0
        if rcode in _NEXT_SERVER_RCODES:
            self._read(sent, query, query_id, data, keep=False)
            self._close(channels)
            return "next"
        if lame:
            sent.buffer = None
            sent.failure = Reason.TRUNCATED if flags & _FLAG_TC else Reason.WRONG_ANSWER
            sent.detail = f"{host} answered NOERROR with no records, neither AA nor RA"
            self._close(channels)
            return "next"
        if flags & _FLAG_TC:
            self._close(channels)
            return "tc"
        self._read(sent, query, query_id, data, keep=True)
        return "done"

    async def _tcp(self, sent: _Sent, host: str, query: Query, query_id: int, wire: bytes) -> bool:
        """One try over TCP (``send_vc``): True when it read a reply, whatever its rcode."""
        sent.in_flight = f"{host} tcp"
        try:
            data, _latency, _connect = await exchange_tcp(host, self.port, wire, float(self.conf.timeout))
        except ExchangeError as exc:
            sent.in_flight = None
            sent.queries.append(f"{host} tcp {'timeout' if exc.timed_out else 'error'}")
            sent.tcp_refused = exc.refused
            sent.failure = Reason.TIMEOUT if exc.timed_out else Reason.NETWORK_ERROR
            sent.detail = f"{host}: {exc.detail}"
            return False
        sent.in_flight = None
        sent.reached = True
        rcode = "?" if len(data) < 4 else _RCODES.get(data[3] & 0x0F, f"RCODE{data[3] & 0x0F}")
        sent.last_rcode = rcode
        sent.queries.append(f"{host} tcp {rcode}")
        self._read(sent, query, query_id, data, keep=True)
        return True

    @staticmethod
    def _read(sent: _Sent, query: Query, query_id: int, data: bytes, *, keep: bool) -> None:
        """Parse ``data`` into the answer buffer; ``keep``: it is the reply the send returns."""
        try:
            reply = query.parse(data, query_id)
        except MalformedReply as exc:
            sent.buffer = None
            sent.failure, sent.detail = Reason.MALFORMED, str(exc)
            sent.garbled = keep
            return
        sent.buffer = reply
        if keep:
            sent.reply = reply

    @staticmethod
    def _close(channels: dict[str, UdpChannel]) -> None:
        """glibc's ``__res_iclose``: every nameserver's socket goes, and with it late replies."""
        for channel in channels.values():
            channel.close()
        channels.clear()


_RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}


def _rcode_failure(rcode: str) -> Reason:
    return {"SERVFAIL": Reason.SERVFAIL, "REFUSED": Reason.REFUSED}.get(rcode, Reason.WRONG_ANSWER)


def _question_end(wire: bytes) -> int:
    """The end of the (uncompressed) question of a query we built."""
    offset = _HEADER_SIZE
    while wire[offset]:
        offset += 1 + wire[offset]
    return offset + 5
