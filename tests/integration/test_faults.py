"""Faults real servers cannot be made to produce, from the scripted responder: each has its reason."""

from __future__ import annotations

import asyncio
import os
import struct
import subprocess

import dns.exception
import dns.message
import dns.query
import dns.rcode
import pytest

from exporter.compose import build
from exporter.config import parse_config
from exporter.probe import Reason
from lab import Responder
from lab.responder import BAD_REPLIES, Action, Delayed, Flood, Request, answer, healthy
from lab.servers import require
from tests.integration.probing import run_round

HOST = "127.0.77.1"


def silent(request: Request) -> Action:
    return None


def garbage(request: Request) -> Action:
    return b"\x13\x37 this is not DNS"


def wrong_id(request: Request) -> Action:
    wire = healthy(request).to_wire()  # type: ignore[union-attr]
    return struct.pack("!H", (int.from_bytes(wire[:2], "big") + 1) % 65536) + wire[2:]


def wrong_question(request: Request) -> Action:
    assert request.message is not None
    query = dns.message.make_query("other.example.org.", "A")
    query.id = request.message.id
    return dns.message.make_response(query)


def forced_tc(request: Request) -> Action:
    if request.transport == "udp":
        return answer(request, truncate=True)
    return answer(request, {"A": ["192.0.2.1", "192.0.2.2"]})


def rcode(code: int) -> object:
    return lambda request: answer(request, rcode=code)


def empty(request: Request) -> Action:
    return answer(request)


def slow(request: Request) -> Action:
    return Delayed(0.3, healthy(request))


def udp_only(request: Request) -> Action:
    return healthy(request) if request.transport == "udp" else None


def tcp_framing(request: Request) -> Action:
    return b"" if request.transport == "tcp" else healthy(request)


CASES = [
    ("silent", silent, {"udp": Reason.TIMEOUT, "tcp": Reason.TIMEOUT}),
    ("garbage", garbage, {"udp": Reason.MALFORMED, "tcp": Reason.MALFORMED}),
    ("wrong id", wrong_id, {"udp": Reason.MALFORMED, "tcp": Reason.MALFORMED}),
    ("wrong question", wrong_question, {"udp": Reason.MALFORMED, "tcp": Reason.MALFORMED}),
    ("forced tc", forced_tc, {"udp": Reason.TRUNCATED, "tcp": None}),
    ("servfail", rcode(dns.rcode.SERVFAIL), {"udp": Reason.SERVFAIL, "tcp": Reason.SERVFAIL}),
    ("refused", rcode(dns.rcode.REFUSED), {"udp": Reason.REFUSED, "tcp": Reason.REFUSED}),
    ("nxdomain", rcode(dns.rcode.NXDOMAIN), {"udp": Reason.NXDOMAIN, "tcp": Reason.NXDOMAIN}),
    ("notimp", rcode(dns.rcode.NOTIMP), {"udp": Reason.WRONG_ANSWER, "tcp": Reason.WRONG_ANSWER}),
    ("nodata", empty, {"udp": Reason.WRONG_ANSWER, "tcp": Reason.WRONG_ANSWER}),
    ("slow but in time", slow, {"udp": None, "tcp": None}),
    ("udp only", udp_only, {"udp": None, "tcp": Reason.TIMEOUT}),
    ("empty tcp reply", tcp_framing, {"udp": None, "tcp": Reason.MALFORMED}),
]


def config(port: int, timeout: str = "1s") -> dict[str, object]:
    return {
        "interval": "5s",
        "timeout": timeout,
        "names": [{"name": "probe.example.org.", "type": "A"}],
        "paths": {"upstream": [f"{HOST}:{port}"]},
    }


@pytest.mark.parametrize(("case", "handler", "expected"), CASES, ids=[c[0] for c in CASES])
def test_fault_has_its_reason(case: str, handler: object, expected: dict[str, Reason | None]) -> None:
    with Responder(HOST, 5400 + CASES.index(next(c for c in CASES if c[0] == case)), handler) as server:  # type: ignore[arg-type]
        _, round_ = run_round(config(server.port))
    got = {r.transport: r.reason for r in round_.results}
    assert got == expected
    for result in round_.results:
        assert result.detail or result.ok
        if result.reason in (Reason.TIMEOUT, Reason.NETWORK_ERROR, Reason.MALFORMED):
            assert result.latency is None
            assert result.rcode is None


def test_slow_reply_latency_is_measured() -> None:
    with Responder(HOST, 5450, slow) as server:
        _, round_ = run_round(config(server.port))
    for result in round_.results:
        assert result.latency is not None
        assert 0.3 <= result.latency < 0.6, result


def test_reply_slower_than_the_timeout_is_a_timeout() -> None:
    with Responder(HOST, 5451, slow) as server:
        _, round_ = run_round(config(server.port, timeout="100ms"))
    assert {r.reason for r in round_.results} == {Reason.TIMEOUT}


def test_many_rounds_leak_no_sockets_and_no_tasks() -> None:
    """Black holes, garbage and refused ports, round after round: fds and tasks stay flat.

    File descriptors are counted outside the responders' lifetime: a black hole
    holds its side of each TCP connection open until it stops.
    """
    runtime = build(parse_config(config(5452, timeout="50ms")))
    before = len(os.listdir("/proc/self/fd"))
    with Responder(HOST, 5452, silent) as hole, Responder(HOST, 5453, garbage) as junk:
        doc = config(hole.port, timeout="50ms")
        doc["paths"] = {"upstream": [hole.address, junk.address, f"{HOST}:5454"]}
        runtime = build(parse_config(doc))

        async def rounds(count: int) -> int:
            for _ in range(count):
                await runtime.probe_round()
            return len(asyncio.all_tasks())

        tasks_left = asyncio.run(rounds(40))
    after = len(os.listdir("/proc/self/fd"))
    assert tasks_left == 1  # only the runner's own task
    assert after <= before
    view = runtime.probes.view()
    assert view.rounds_total == 40
    assert {key[1] for key in view.series} == {hole.address, junk.address, f"{HOST}:5454"}


def flood(request: Request) -> Action:
    """60 KiB of junk, 30 times, carrying the query's own ID so it is read as a reply."""
    return Flood(request.wire[:2] + os.urandom(61_438), 30)


def test_a_flood_of_oversized_replies_is_malformed_and_costs_nothing_after() -> None:
    before = len(os.listdir("/proc/self/fd"))
    with Responder(HOST, 5455, flood) as server:
        runtime = build(parse_config(config(server.port)))

        async def rounds() -> list[object]:
            results = []
            for _ in range(5):
                results.extend((await runtime.probe_round()).results)
            return results

        results = asyncio.run(rounds())
    after = len(os.listdir("/proc/self/fd"))
    udp = [r for r in results if r.transport == "udp"]
    assert {r.reason for r in udp} == {Reason.MALFORMED}
    assert all(r.detail for r in udp)
    assert {r.reason for r in results if r.transport == "tcp"} == {Reason.MALFORMED}
    assert after <= before
    assert runtime.probes.view().last_round_duration is not None
    assert runtime.probes.view().last_round_duration < 0.5  # the first datagram ends the wait


REJECTED = {
    "unrelated owner": (Reason.WRONG_ANSWER, "no answer: A records for unrelated.example.net."),
    "pointer loop": (Reason.MALFORMED, "loops back into the name"),
    "pointer forward": (Reason.MALFORMED, "points forward"),
    "pointer past end": (Reason.MALFORMED, "points past the end"),
}


@pytest.mark.parametrize("case", list(REJECTED))
def test_replies_a_client_rejects_fail_the_probe_as_dnspython_and_dig_reject_them(case: str) -> None:
    reason, detail = REJECTED[case]
    port = 5470 + list(REJECTED).index(case)
    with Responder(HOST, port, BAD_REPLIES[case]) as server:
        _, round_ = run_round(config(server.port))
        query = dns.message.make_query("probe.example.org.", "A")
        try:
            chained = dns.query.udp(query, HOST, port=port, timeout=1).resolve_chaining()
            theirs = "no answer" if chained.answer is None else "answer"
        except dns.exception.FormError as exc:
            theirs = type(exc).__name__
        dig = subprocess.run(
            [
                require("dig"),
                "+tries=1",
                "+time=1",
                "+noedns",
                f"@{HOST}",
                "-p",
                str(port),
                "probe.example.org.",
                "A",
            ],
            capture_output=True,
            text=True,
            check=False,
        ).stdout
    assert {r.transport: r.reason for r in round_.results} == {"udp": reason, "tcp": reason}
    assert all(detail in r.detail for r in round_.results), [r.detail for r in round_.results]
    connects = {r.transport: r.connect for r in round_.results}
    assert connects["udp"] is None
    assert connects["tcp"] is not None  # connected, then bytes no client takes: still a connect
    if reason is Reason.WRONG_ANSWER:
        # dnspython finds no answer to the question; dig, a debugging tool, prints the record as sent
        assert theirs == "no answer"
        assert "unrelated.example.net." in dig
    else:
        assert theirs == "BadPointer"
        assert "bad compression pointer" in dig
