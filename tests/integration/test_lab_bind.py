"""BIND 9 in the lab: each way it is configured answers as a real BIND 9 does, and starts quickly."""

from __future__ import annotations

import time
from pathlib import Path

import dns.message
import dns.query
import dns.rcode
import pytest

from lab.servers import Bind
from lab.zones import CHAINED, ELSEWHERE, PUBLIC

pytestmark = pytest.mark.lab

NET = "127.0.242"


def ask(server: Bind, name: str) -> tuple[str, list[str]]:
    reply = dns.query.udp(dns.message.make_query(name, "A"), server.host, port=server.port, timeout=2)
    return dns.rcode.to_text(reply.rcode()), sorted(r.to_text() for rrset in reply.answer for r in rrset)


def test_bind_serves_forwards_refuses_and_fails_as_configured(tmp_path: Path) -> None:
    auth = Bind("auth", f"{NET}.1", 5353, tmp_path, zones=PUBLIC)
    servers = [
        auth,
        Bind("forwarder", f"{NET}.2", 5353, tmp_path, forward=[auth.address]),
        Bind(
            "refusing", f"{NET}.3", 5353, tmp_path, zones=PUBLIC, refuse=(".",), ready_rcode=dns.rcode.REFUSED
        ),
        Bind(
            "one zone refused", f"{NET}.4", 5353, tmp_path, forward=[auth.address], refuse=("example.com.",)
        ),
        Bind(
            "servfail", f"{NET}.5", 5353, tmp_path, forward=[f"{NET}.99:5353"], ready_rcode=dns.rcode.SERVFAIL
        ),
        Bind("other data", f"{NET}.6", 5353, tmp_path, zones=ELSEWHERE),
        Bind("chained", f"{NET}.7", 5353, tmp_path, zones=CHAINED),
    ]
    started = []
    try:
        for server in servers:
            begin = time.monotonic()
            server.start()
            started.append(time.monotonic() - begin)
        got = {s.role: (ask(s, "example.org."), ask(s, "example.com.")) for s in servers}
        www = ask(servers[-1], "www.example.org.")
    finally:
        for server in servers:
            server.stop()
    org, com = ("NOERROR", ["192.0.2.10"]), ("NOERROR", ["198.51.100.20"])
    assert got == {
        "auth": (org, com),
        "forwarder": (org, com),
        "refusing": (("REFUSED", []), ("REFUSED", [])),
        "one zone refused": (org, ("REFUSED", [])),
        "servfail": (("SERVFAIL", []), ("SERVFAIL", [])),
        "other data": (("NOERROR", ["192.0.2.99"]), com),
        "chained": (org, com),
    }
    assert www == ("NOERROR", ["192.0.2.11", "edge.example.org."])
    assert max(started) < 2.0, started  # a tiny config: well under a second on an idle machine
