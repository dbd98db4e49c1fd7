"""Real glibc as the reference for the ``resolver`` path.

A tiny C program calls ``getaddrinfo`` for one address family (one query type,
as the exporter's lookup asks), in a private mount namespace where the case's
resolv.conf is bind-mounted over ``/etc/resolv.conf``. Both glibc and the
exporter ask the same recording servers on port 53 of loopback addresses (glibc
has no other port), so the queries each sent can be compared on the wire:
server, transport, name, type, EDNS payload, and when they arrived.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype

from lab.responder import Action, Delayed, Request, Responder

GAI_SOURCE = r"""
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

int main(int argc, char **argv) {
    struct addrinfo hints, *res, *ai;
    char text[INET6_ADDRSTRLEN];
    memset(&hints, 0, sizeof hints);
    hints.ai_family = strcmp(argv[2], "AAAA") == 0 ? AF_INET6 : AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(argv[1], NULL, &hints, &res);
    if (rc == EAI_NONAME || rc == EAI_NODATA) { puts("noname"); return 0; }
    if (rc == EAI_AGAIN) { puts("again"); return 0; }
    if (rc == EAI_FAIL) { puts("fail"); return 0; }
    if (rc != 0) { printf("error %d\n", rc); return 0; }
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        const void *addr = ai->ai_family == AF_INET6
            ? (const void *) &((struct sockaddr_in6 *) ai->ai_addr)->sin6_addr
            : (const void *) &((struct sockaddr_in *) ai->ai_addr)->sin_addr;
        inet_ntop(ai->ai_family, addr, text, sizeof text);
        printf("%s\n", text);
    }
    freeaddrinfo(res);
    return 0;
}
"""


def glibc_version() -> str:
    out = subprocess.run(["ldd", "--version"], capture_output=True, text=True, check=True).stdout
    return out.splitlines()[0].rsplit(" ", 1)[-1]


def build_getaddrinfo(workdir: Path) -> Path:
    """Compile the getaddrinfo client with the system's gcc; returns the binary."""
    gcc = shutil.which("gcc")
    assert gcc is not None, "gcc is needed (Makefile APT_PACKAGES)"
    source = workdir / "gai.c"
    source.write_text(GAI_SOURCE)
    binary = workdir / "gai"
    subprocess.run([gcc, "-O1", "-o", str(binary), str(source)], check=True)
    return binary


def glibc_lookup(binary: Path, resolv_conf: Path, name: str, qtype: str) -> str:
    """Outcome of glibc's ``getaddrinfo``: sorted addresses, or noname / again / fail."""
    script = 'mount --bind "$1" /etc/resolv.conf && exec "$2" "$3" "$4"'
    done = subprocess.run(
        ["unshare", "-m", "sh", "-c", script, "sh", str(resolv_conf), str(binary), name, qtype],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    lines = done.stdout.split()
    if len(lines) == 1 and lines[0] in ("noname", "again", "fail"):
        return lines[0]
    return " ".join(sorted(set(lines)))


@dataclass(frozen=True)
class Seen:
    """One query as it arrived."""

    at: float
    server: str
    transport: str
    name: str
    qtype: str
    edns: int | None
    """The UDP payload the query offers; ``None`` without EDNS."""

    def key(self) -> tuple[str, str, str, str, int | None]:
        return (self.server, self.transport, self.name, self.qtype, self.edns)


Fault = Callable[[Request, bytes], Action]
"""Given the query and the real server's reply, what the recording server sends."""


def slow(seconds: float) -> Fault:
    return lambda _request, reply: Delayed(seconds, reply)


def silent(_request: Request, _reply: bytes) -> Action:
    return None


def rcode(code: dns.rcode.Rcode) -> Fault:
    def reply_with(request: Request, _reply: bytes) -> Action:
        assert request.message is not None
        message = dns.message.make_response(request.message)
        message.set_rcode(code)
        return message

    return reply_with


def truncate_udp(request: Request, reply: bytes) -> Action:
    """UDP answers come back with TC set (records kept); TCP gets the real one."""
    if request.transport == "tcp":
        return reply
    message = dns.message.from_wire(reply)
    message.flags |= dns.flags.TC
    return message


def truncate_udp_empty(request: Request, reply: bytes) -> Action:
    """UDP answers come back empty with TC set, and neither AA nor RA; TCP gets the real one."""
    if request.transport == "tcp":
        return reply
    assert request.message is not None
    message = dns.message.make_response(request.message)
    message.flags |= dns.flags.TC
    return message


class Recorders:
    """Recording servers on ``host:53`` that pass each query to a real server and log it.

    ``faults`` maps a recording host to how it misbehaves; the reply it starts
    from is always the real server's.
    """

    def __init__(self, hosts: list[str], backend: tuple[str, int]) -> None:
        self.backend = backend
        self.faults: dict[str, Fault] = {}
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        self._responders = [Responder(host, 53, self._handler(host)) for host in hosts]

    def __enter__(self) -> Recorders:
        for responder in self._responders:
            responder.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for responder in self._responders:
            responder.stop()

    def take(self) -> list[Seen]:
        with self._lock:
            seen, self.seen = self.seen, []
        return seen

    def _handler(self, host: str) -> Callable[[Request], Action]:
        def handle(request: Request) -> Action:
            message = request.message
            assert message is not None
            question = message.question[0]
            with self._lock:
                self.seen.append(
                    Seen(
                        time.monotonic(),
                        host,
                        request.transport,
                        question.name.to_text().lower(),
                        dns.rdatatype.to_text(question.rdtype),
                        message.payload if message.edns >= 0 else None,
                    )
                )
            reply = self._forward(request)
            fault = self.faults.get(host)
            return fault(request, reply) if fault is not None else reply

        return handle

    def _forward(self, request: Request) -> bytes:
        """The real server's reply to the same bytes, over the same transport."""
        if request.transport == "udp":
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                sock.settimeout(2)
                sock.sendto(request.wire, self.backend)
                return sock.recv(65535)
        with socket.create_connection(self.backend, timeout=2) as sock:
            sock.sendall(len(request.wire).to_bytes(2, "big") + request.wire)
            stream = sock.makefile("rb")
            length = int.from_bytes(stream.read(2), "big")
            return stream.read(length)
