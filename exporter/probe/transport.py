"""Sending queries: UDP datagrams and TCP streams on the asyncio loop, with one deadline each.

Latency is measured from just before ``send`` to the moment the reply reached
the socket. On Linux the receive time comes from the kernel
(``SO_TIMESTAMPNS``), so a busy event loop does not inflate it; elsewhere, or
when the kernel stamp is missing or implausible, the time the loop read the
datagram is used.
"""

from __future__ import annotations

import asyncio
import errno
import os
import socket
import struct
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from exporter.units import duration

_SO_TIMESTAMPNS = 35  # SO_TIMESTAMPNS_OLD on x86_64 and the asm-generic ABIs (arm64, riscv)
_TIMESPEC = struct.Struct("@qq")
_CMSG_SPACE = socket.CMSG_SPACE(_TIMESPEC.size)
_KERNEL_STAMPS = sys.platform == "linux"
_MAX_DATAGRAM = 65535


class ExchangeError(Exception):
    """The query could not be exchanged. ``timed_out`` tells a timeout from a network error."""

    def __init__(
        self, detail: str, *, timed_out: bool = False, connect: float | None = None, refused: bool = False
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.timed_out = timed_out
        self.refused = refused
        """The server's host refused the connection (a TCP reset, ICMP port unreachable)."""
        self.connect = connect
        """Over TCP: seconds the connect took when it was made before the failure, else ``None``."""


@dataclass(slots=True)
class UdpOutcome:
    """What came back on one UDP socket: replies by ID, and what ended the wait."""

    replies: dict[int, tuple[bytes, float]] = field(default_factory=dict)
    """Query ID -> (reply bytes, latency in seconds)."""
    stray: bytes | None = None
    """A datagram whose ID matched no query: the wait ends there."""
    error: OSError | None = None
    timed_out: bool = False


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def describe_os_error(exc: OSError) -> str:
    """``connection refused`` from ``ConnectionRefusedError(111, ...)``, and so on."""
    if exc.errno is not None and exc.errno in errno.errorcode:
        return os.strerror(exc.errno).lower()
    return str(exc) or type(exc).__name__


class _UdpWait:
    """Reads replies off one UDP socket until the exchange is complete or its deadline passes."""

    def __init__(self, sock: socket.socket, ids: set[int], kernel_stamps: bool) -> None:
        self.sock = sock
        self.pending = ids
        self.kernel_stamps = kernel_stamps
        self.outcome = UdpOutcome()
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.sent_wall = 0
        self.sent_mono = 0.0

    def mark_sent(self) -> None:
        self.sent_wall = time.time_ns()
        self.sent_mono = time.perf_counter()

    def finish(self) -> None:
        if not self.done.done():
            self.done.set_result(None)

    def on_timeout(self) -> None:
        self.outcome.timed_out = True
        self.finish()

    def on_readable(self) -> None:
        while not self.done.done():
            try:
                data, ancdata, _flags, _addr = self.sock.recvmsg(_MAX_DATAGRAM, _CMSG_SPACE)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                self.outcome.error = exc
                self.finish()
                return
            self._received(data, ancdata, time.perf_counter() - self.sent_mono)

    def _received(self, data: bytes, ancdata: list[tuple[int, int, bytes]], waited: float) -> None:
        latency = _kernel_latency(ancdata, self.sent_wall, waited) if self.kernel_stamps else waited
        query_id = int.from_bytes(data[:2], "big") if len(data) >= 2 else -1
        replies = self.outcome.replies
        if query_id in self.pending and query_id not in replies:
            replies[query_id] = (data, latency)
            if len(replies) == len(self.pending):
                self.finish()
        else:
            self.outcome.stray = data
            self.finish()


def _open(host: str, kind: socket.SocketKind) -> socket.socket:
    """A non-blocking socket for ``host``; no socket to be had (EMFILE, ENOBUFS) is an exchange error."""
    try:
        sock = socket.socket(_family(host), kind)
    except OSError as exc:
        raise ExchangeError(describe_os_error(exc)) from None
    sock.setblocking(False)
    return sock


def _udp_socket(host: str) -> tuple[socket.socket, bool]:
    sock = _open(host, socket.SOCK_DGRAM)
    if not _KERNEL_STAMPS:
        return sock, False
    try:
        sock.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)
    except OSError:
        return sock, False
    return sock, True


async def exchange_udp(
    host: str, port: int, messages: Sequence[tuple[int, bytes]], timeout: float
) -> UdpOutcome:
    """Send every ``(id, wire)`` back to back from one socket and collect the replies.

    One socket means one source port for all the queries, which is what a
    glibc client does when it sends A and AAAA at once. The wait ends when
    every ID has a reply, a datagram with an unknown ID arrives, the kernel
    reports an error (ICMP port unreachable), or ``timeout`` passes.
    """
    loop = asyncio.get_running_loop()
    sock, kernel_stamps = _udp_socket(host)
    wait = _UdpWait(sock, {query_id for query_id, _ in messages}, kernel_stamps)
    fd = sock.fileno()
    timer = None
    try:
        sock.connect((host, port))
        loop.add_reader(fd, wait.on_readable)
        timer = loop.call_later(timeout, wait.on_timeout)
        wait.mark_sent()
        for _query_id, wire in messages:
            sock.send(wire)
        await wait.done
    except OSError as exc:
        wait.outcome.error = exc
    finally:
        if timer is not None:
            timer.cancel()
        loop.remove_reader(fd)
        sock.close()
    return wait.outcome


def _kernel_latency(ancdata: list[tuple[int, int, bytes]], sent_wall_ns: int, fallback: float) -> float:
    for level, kind, payload in ancdata:
        if level == socket.SOL_SOCKET and kind == _SO_TIMESTAMPNS and len(payload) >= _TIMESPEC.size:
            seconds, nanos = _TIMESPEC.unpack_from(payload)
            latency = float(seconds * 1_000_000_000 + nanos - sent_wall_ns) / 1e9
            # A clock step between send and receive makes the stamp useless: keep the fallback.
            if 0 <= latency <= fallback + 0.001:
                return latency
    return fallback


async def exchange_tcp(host: str, port: int, wire: bytes, timeout: float) -> tuple[bytes, float, float]:
    """Connect, send one length-prefixed query, read one reply: ``(reply, latency, connect)``.

    ``latency`` covers the connect and the exchange, what a client that falls back
    to TCP waits for; ``connect`` is the part of it the handshake took, so a slow
    or dropped SYN (conntrack, a full accept queue, a policy) is told from a slow
    answer. One deadline covers both. Raises :class:`ExchangeError`, whose
    ``connect`` says whether the connection was made before it failed.
    """
    loop = asyncio.get_running_loop()
    sock = _open(host, socket.SOCK_STREAM)
    started = time.perf_counter()
    connect: float | None = None
    try:
        async with asyncio.timeout(timeout):
            await loop.sock_connect(sock, (host, port))
            connect = time.perf_counter() - started
            await loop.sock_sendall(sock, len(wire).to_bytes(2, "big") + wire)
            length = int.from_bytes(await _read_exactly(loop, sock, 2), "big")
            data = await _read_exactly(loop, sock, length)
            return data, time.perf_counter() - started, connect
    except TimeoutError:
        detail = _after_connect(f"no reply within {timeout:g}s", connect)
        raise ExchangeError(detail, timed_out=True, connect=connect) from None
    except ExchangeError as exc:
        raise ExchangeError(_after_connect(exc.detail, connect), connect=connect) from None
    except OSError as exc:
        detail = describe_os_error(exc)
        raise ExchangeError(
            detail if connect is None else _after_connect(detail, connect),
            connect=connect,
            refused=isinstance(exc, ConnectionRefusedError),
        ) from None
    finally:
        sock.close()


def _after_connect(detail: str, connect: float | None) -> str:
    """Say whether a TCP failure came before the connection was made or after."""
    if connect is None:
        return f"{detail}, not connected"
    return f"{detail}, connected in {duration(connect)}"


async def _read_exactly(loop: asyncio.AbstractEventLoop, sock: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = await loop.sock_recv(sock, size - len(chunks))
        if not chunk:
            raise ExchangeError(f"connection closed after {len(chunks)} of {size} bytes")
        chunks += chunk
    return bytes(chunks)


class UdpChannel:
    """One connected UDP socket kept open across several sends to one server.

    glibc keeps a socket per nameserver for the whole of one query and sends every
    try of it with the same ID, so a reply that comes after its try gave up still
    answers a later try. A channel does the same: :meth:`send_and_wait` sends and
    waits for a datagram ``accept`` takes, reading past the ones it does not (glibc
    drops a reply with another ID or question and keeps waiting).
    """

    def __init__(self, host: str, port: int) -> None:
        self._sock = _open(host, socket.SOCK_DGRAM)
        try:
            self._sock.connect((host, port))
        except OSError as exc:
            self._sock.close()
            raise ExchangeError(describe_os_error(exc)) from None

    async def send_and_wait(self, wire: bytes, accept: Callable[[bytes], bool], timeout: float) -> bytes:
        """Send ``wire`` and return the first datagram ``accept`` takes within ``timeout``.

        Raises :class:`ExchangeError`: ``timed_out`` when nothing accepted came, else
        the socket's error (ICMP port unreachable).
        """
        loop = asyncio.get_running_loop()
        received: asyncio.Future[bytes] = loop.create_future()
        sock = self._sock

        def readable() -> None:
            while not received.done():
                try:
                    data = sock.recv(_MAX_DATAGRAM)
                except (BlockingIOError, InterruptedError):
                    return
                except OSError as exc:
                    received.set_exception(ExchangeError(describe_os_error(exc)))
                    return
                if accept(data):
                    received.set_result(data)

        fd = sock.fileno()
        loop.add_reader(fd, readable)
        try:
            sock.send(wire)
            async with asyncio.timeout(timeout):
                return await received
        except TimeoutError:
            raise ExchangeError(f"no reply within {timeout:g}s", timed_out=True) from None
        except OSError as exc:
            raise ExchangeError(describe_os_error(exc)) from None
        finally:
            loop.remove_reader(fd)

    def close(self) -> None:
        self._sock.close()
