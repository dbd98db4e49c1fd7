"""A scripted DNS responder, for the faults real servers cannot be made to produce.

It listens on UDP and TCP and asks a handler what to do with each query:
reply with a message, send raw bytes (garbage, a wrong ID), stay silent
(black hole), or wait first (a slow server). It runs its own event loop on a
thread, so it serves while the code under test runs in the main thread.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.rrset


@dataclass(frozen=True)
class Request:
    wire: bytes
    message: dns.message.Message | None
    transport: str
    peer: tuple[str, int]
    index: int
    """How many queries arrived before this one."""


@dataclass(frozen=True)
class Delayed:
    seconds: float
    then: Action


@dataclass(frozen=True)
class Flood:
    """Send ``payload`` ``count`` times in reply to one UDP query (oversized junk, a reply storm)."""

    payload: bytes
    count: int


Action = dns.message.Message | bytes | Delayed | Flood | None
Handler = Callable[[Request], Action]


def answer(
    request: Request,
    records: dict[str, list[str]] | None = None,
    *,
    rcode: dns.rcode.Rcode = dns.rcode.NOERROR,
    truncate: bool = False,
) -> dns.message.Message:
    """A reply to ``request``: ``records`` maps a type (``A``) to rdata texts for the asked name."""
    assert request.message is not None
    reply = dns.message.make_response(request.message)
    reply.set_rcode(rcode)
    question = request.message.question[0]
    for rtype, values in (records or {}).items():
        reply.answer.append(dns.rrset.from_text_list(question.name, 30, "IN", rtype, values))
    if truncate:
        reply.flags |= dns.flags.TC
    return reply


def healthy(request: Request) -> Action:
    """A well-behaved server: an A or AAAA record for every name, NXDOMAIN for ``*.invalid.``."""
    assert request.message is not None
    question = request.message.question[0]
    if question.name.to_text().endswith(".invalid."):
        return answer(request, rcode=dns.rcode.NXDOMAIN)
    if question.rdtype == dns.rdatatype.AAAA:
        return answer(request, {"AAAA": ["2001:db8::53"]})
    return answer(request, {"A": ["192.0.2.53"]})


def unrelated_owner(request: Request) -> Action:
    """An A record for a name no CNAME chain from the question leads to: a reply with no answer
    (an off-path spoof, a broken middlebox); clients drop the record."""
    reply = answer(request)
    reply.answer.append(dns.rrset.from_text("unrelated.example.net.", 30, "IN", "A", "192.0.2.66"))
    return reply


def _pointer(target: int) -> bytes:
    return (0xC000 | target).to_bytes(2, "big")


def _bad_owner(request: Request, owner: Callable[[int, int], bytes]) -> bytes:
    """A healthy reply whose answer's owner name (a pointer to the question) is replaced by
    ``owner(offset of the owner, size of the message)``."""
    assert request.message is not None
    wire = healthy(request).to_wire()  # type: ignore[union-attr]
    at = 12 + len(request.message.question[0].name.to_wire() or b"") + 4
    assert wire[at : at + 2] == _pointer(12), "dnspython compresses the owner to the question"
    return wire[:at] + owner(at, len(wire)) + wire[at + 2 :]


def pointer_loop(request: Request) -> Action:
    """The answer's owner is a label and a pointer back to that label: a name without end."""
    return _bad_owner(request, lambda at, _size: b"\x01a" + _pointer(at))


def pointer_forward(request: Request) -> Action:
    """The answer's owner points forward, into the record's own type and class."""
    return _bad_owner(request, lambda at, _size: _pointer(at + 2))


def pointer_past_end(request: Request) -> Action:
    """The answer's owner points past the end of the message."""
    return _bad_owner(request, lambda _at, size: _pointer(size + 100))


BAD_REPLIES: dict[str, Handler] = {
    "unrelated owner": unrelated_owner,
    "pointer loop": pointer_loop,
    "pointer forward": pointer_forward,
    "pointer past end": pointer_past_end,
}
"""Replies a client must reject that no real server sends, by name."""


class DropSecondFromOnePort:
    """A server behind a conntrack insert race: of two queries that arrive from one source port
    within ``window`` seconds, the second is dropped; queries from separate ports all get answers.

    That is what a node does to glibc's parallel A and AAAA when the second datagram loses the
    race to insert its conntrack entry. ``dropped`` lists the query types it dropped.
    """

    def __init__(self, window: float = 0.25, then: Handler = healthy) -> None:
        self.window = window
        self.then = then
        self.dropped: list[str] = []
        self._last: dict[tuple[str, int], float] = {}

    def __call__(self, request: Request) -> Action:
        now = time.monotonic()
        last = self._last.get(request.peer)
        self._last[request.peer] = now
        if request.transport == "udp" and last is not None and now - last <= self.window:
            assert request.message is not None
            self.dropped.append(dns.rdatatype.to_text(request.message.question[0].rdtype))
            return None
        return self.then(request)


class LoseUdpReplies:
    """A server whose replies a saturated client loses now and then: of every ``every`` UDP
    queries, the first gets no reply; TCP and the other queries are answered."""

    def __init__(self, every: int = 4, then: Handler = healthy) -> None:
        self.every = every
        self.then = then
        self.lost = 0
        self._udp = 0

    def __call__(self, request: Request) -> Action:
        if request.transport == "udp":
            self._udp += 1
            if (self._udp - 1) % self.every == 0:
                self.lost += 1
                return None
        return self.then(request)


class StaleUdpFlows:
    """The kube-dns VIP under kube-proxy IPVS just after a CoreDNS pod went away.

    IPVS keeps its UDP connection entries to the removed pod until they time out, so
    datagrams that match one are sent to an address where nothing answers; TCP opens
    new connections, which reach a live pod (``live``: host, port). On a real node only
    flows whose source port matches a stale entry are lost, so the busier the node the
    more are; here every UDP query is one of them.
    """

    def __init__(self, live: tuple[str, int]) -> None:
        self.live = live

    def __call__(self, request: Request) -> Action:
        if request.transport == "udp" or request.message is None:
            return None
        host, port = self.live
        return dns.query.tcp(request.message, host, port=port, timeout=2)


class Responder:
    def __init__(self, host: str, port: int, handler: Handler = healthy) -> None:
        self.host = host
        self.port = port
        self.handler = handler
        self.requests: list[Request] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="responder", daemon=True)
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None
        self._lock = threading.Lock()

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> Responder:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._open(), self._loop).result(timeout=5)
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(timeout=5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    def __enter__(self) -> Responder:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def _open(self) -> None:
        loop = asyncio.get_running_loop()
        self._udp, _ = await loop.create_datagram_endpoint(
            lambda: _Udp(self), local_addr=(self.host, self.port)
        )
        self._tcp = await asyncio.start_server(self._serve_tcp, self.host, self.port)

    async def _close(self) -> None:
        if self._udp is not None:
            self._udp.close()
        if self._tcp is not None:
            self._tcp.close()
        current = asyncio.current_task()
        pending = [task for task in asyncio.all_tasks() if task is not current]
        for task in pending:  # held black-hole connections, delayed replies
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        if self._tcp is not None:
            await self._tcp.wait_closed()

    def _request(self, wire: bytes, transport: str, peer: tuple[str, int]) -> Request:
        try:
            message: dns.message.Message | None = dns.message.from_wire(wire)
        except Exception:  # noqa: BLE001 - a responder for fault tests accepts anything
            message = None
        with self._lock:
            request = Request(wire, message, transport, peer, len(self.requests))
            self.requests.append(request)
        return request

    async def _resolve(self, action: Action) -> bytes | None:
        while isinstance(action, Delayed):
            await asyncio.sleep(action.seconds)
            action = action.then
        if isinstance(action, Flood):
            return action.payload
        if action is None:
            return None
        if isinstance(action, bytes):
            return action
        return action.to_wire()

    async def _serve_udp(self, wire: bytes, peer: tuple[str, int]) -> None:
        action = self.handler(self._request(wire, "udp", peer))
        if isinstance(action, Flood):
            for _ in range(action.count):
                if self._udp is not None:
                    self._udp.sendto(action.payload, peer)
            return
        data = await self._resolve(action)
        if data is not None and self._udp is not None:
            self._udp.sendto(data, peer)

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        try:
            while True:
                length = int.from_bytes(await reader.readexactly(2), "big")
                wire = await reader.readexactly(length)
                data = await self._resolve(self.handler(self._request(wire, "tcp", peer)))
                if data is None:
                    await asyncio.sleep(3600)  # black hole: hold the connection open
                    return
                writer.write(len(data).to_bytes(2, "big") + data)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, responder: Responder) -> None:
        self._responder = responder
        self._tasks: set[asyncio.Future[None]] = set()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        task = asyncio.ensure_future(self._responder._serve_udp(data, addr))
        self._tasks.add(task)  # held until done, so the loop cannot drop it
        task.add_done_callback(self._tasks.discard)
