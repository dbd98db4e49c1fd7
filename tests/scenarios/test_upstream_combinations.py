"""Upstream judging on real servers: every combination of two and three upstreams over good, REFUSED,
SERVFAIL, dead and wrong-answer servers names exactly its causes, for exactly the servers showing them.

The servers are BIND 9, unbound and dnsmasq, started once for the module; a combination is which of
them the config lists as upstreams. What each combination must name follows from the definitions:
a server that REFUSES or SERVFAILs is upstream_error; a server that does not answer is
upstream_unreachable; a server giving other data (here: another address for a pinned name) disagrees
with good servers beside it (upstream_mixed_resolvers, naming the servers that answered), and with no
good server to disagree with its wrong answer is upstream_error.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dns.rcode
import pytest

from exporter.diagnosis.model import Finding
from exporter.runtime import Runtime
from lab.responder import BAD_REPLIES, Responder
from lab.servers import Server, Unbound
from lab.topology import Upstream
from lab.zones import CHAINED, ELSEWHERE, PUBLIC
from tests.integration.probing import run_round

pytestmark = pytest.mark.lab

PORT = 5353
NET = "127.0.241"
DEAD_AT = f"{NET}.250:{PORT}"
"""Where nothing listens (a BIND 9 forwarding there answers SERVFAIL)."""
EXAMPLE = {"name": "example.org.", "type": "A", "expect": {"answers": ["192.0.2.10"]}}
"""The name asked, pinned to the data the good servers serve (the wrong ones give 192.0.2.99)."""
KINDS = ("good", "refused", "servfail", "dead", "wrong")


@dataclass(frozen=True)
class Played:
    kind: str
    spec: Upstream | None
    """How the lab builds it; ``None``: built here (dead, or forwarding to a refusing server)."""


POOL: dict[str, tuple[Played, ...]] = {
    "good": (
        Played("good", Upstream(software="unbound")),
        Played("good", Upstream(software="bind")),
        Played("good", Upstream(software="dnsmasq")),
    ),
    "refused": (
        Played("refused", Upstream(software="bind", refuse=(".",))),
        Played("refused", Upstream(software="unbound", refuse=("example.org.",))),
        Played("refused", Upstream(software="dnsmasq", refuse=(".",))),
    ),
    "servfail": (
        Played("servfail", Upstream(software="bind", servfail=True)),
        Played("servfail", None),  # forwards to the refusing BIND 9
        Played("servfail", Upstream(software="bind", servfail=True)),
    ),
    "dead": tuple(Played("dead", None) for _ in range(3)),
    "wrong": (
        Played("wrong", Upstream(software="bind", zones=ELSEWHERE)),
        Played("wrong", Upstream(software="unbound", zones=ELSEWHERE)),
        Played("wrong", Upstream(software="dnsmasq", zones=ELSEWHERE)),
    ),
}
CHAIN = {
    "unbound": Upstream(software="unbound", zones=PUBLIC),
    "dnsmasq": Upstream(software="dnsmasq", zones=PUBLIC),
    "bind, through a CNAME": Upstream(software="bind", zones=CHAINED),
}
"""Healthy upstreams that differ in CNAME detail: www.example.org. directly, or through a CNAME."""


def address(kind: str, index: int) -> str:
    return f"{NET}.{KINDS.index(kind) * 10 + index + 1}:{PORT}"


@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, set[str]]]:
    """Starts every server of :data:`POOL`; yields kind -> the software (server classes) playing it."""
    workdir = tmp_path_factory.mktemp("upstreams")
    servers: list[Server] = []
    try:
        for kind, played in POOL.items():
            for index, one in enumerate(played):
                host, port = address(kind, index).rsplit(":", 1)
                if one.spec is not None:
                    servers.append(one.spec.server(f"{kind}-{index}", host, int(port), workdir, DEAD_AT))
                elif kind == "servfail":
                    unbound = Unbound(
                        f"{kind}-{index}",
                        host,
                        int(port),
                        workdir,
                        forward={".": [address("refused", 0)]},
                    )
                    unbound.ready_rcode = dns.rcode.SERVFAIL
                    servers.append(unbound)
        for index, spec in enumerate(CHAIN.values()):
            servers.append(spec.server(f"chain-{index}", f"{NET}.{200 + index}", PORT, workdir, DEAD_AT))
        for server in servers:  # the refusing BIND 9 first: an unbound forwards to it
            server.start()
        played: dict[str, set[str]] = {}
        for server in servers:
            played.setdefault(server.role.split("-")[0], set()).add(type(server).__name__)
        yield played
    finally:
        for server in reversed(servers):
            server.stop()


def combinations() -> list[tuple[str, ...]]:
    return [combo for size in (2, 3) for combo in itertools.combinations_with_replacement(KINDS, size)]


def listed(combo: tuple[str, ...]) -> list[tuple[str, str]]:
    """(kind, address) of each upstream of ``combo``: the n-th of a kind is the kind's n-th server."""
    seen: dict[str, int] = {}
    out = []
    for kind in combo:
        index = seen.get(kind, 0)
        seen[kind] = index + 1
        out.append((kind, address(kind, index)))
    return out


def expected(servers: list[tuple[str, str]]) -> dict[str, set[str]]:
    """Each cause the combination must name -> the servers it must name."""
    of = {kind: {a for k, a in servers if k == kind} for kind in KINDS}
    disagree = bool(of["wrong"] and of["good"])
    causes = {
        "upstream_error": of["refused"] | of["servfail"] | (set() if disagree else of["wrong"]),
        "upstream_unreachable": of["dead"],
        "upstream_mixed_resolvers": of["wrong"] | of["good"] if disagree else set(),
    }
    return {cause: named for cause, named in causes.items() if named}


def named(finding: Finding) -> set[str]:
    details: dict[str, Any] = finding.facts
    if finding.cause == "upstream_error":
        return {case["server"] for case in details["cases"]}
    if finding.cause == "upstream_unreachable":
        return set(details["upstreams"])
    if finding.cause == "upstream_mixed_resolvers":
        return {server for name in details["names"] for server in name["outcomes"]}
    return set()


def diagnose(upstreams: list[str], names: list[dict[str, Any]]) -> tuple[Runtime, list[Finding]]:
    doc = {
        "listen": "127.0.0.1:0",
        "interval": "1s",
        "timeout": "500ms",
        "names": names,
        "paths": {"upstream": upstreams},
        "node": {"procfs": str(HEALTHY / "proc"), "rootfs": str(HEALTHY / "root")},
    }
    runtime, _ = run_round(doc, rounds=3)
    return runtime, list(runtime.findings.get())


HEALTHY = Path(__file__).resolve().parent.parent / "fixtures" / "node" / "healthy"


@pytest.mark.parametrize("combo", combinations(), ids="+".join)
def test_each_upstream_combination_names_exactly_its_causes(
    pool: dict[str, set[str]], combo: tuple[str, ...]
) -> None:
    servers = listed(combo)
    runtime, findings = diagnose([a for _, a in servers], [EXAMPLE])
    got = {f.cause: named(f) for f in findings}
    assert got == expected(servers), [(f.cause, f.evidence) for f in findings]
    disagreement = runtime.registry().get_sample_value(
        "k8s_dns_upstream_disagreement", {"name": "example.org.", "qtype": "A"}
    )
    answered = sum(1 for kind, _ in servers if kind in ("good", "wrong"))
    if answered < 2:
        assert disagreement is None  # fewer than two answers: nothing to compare
    else:
        assert disagreement == (1.0 if "upstream_mixed_resolvers" in got else 0.0)


def test_every_fault_is_played_by_more_than_one_server_software(pool: dict[str, set[str]]) -> None:
    """The pool is what the combinations claim: each kind by more than one of BIND 9, unbound, dnsmasq
    (told by the servers started), and a dead upstream by nothing at all."""
    for kind in KINDS:
        software = pool.get(kind, set())
        assert software <= {"Bind", "Unbound", "Dnsmasq"}
        if kind == "dead":
            assert software == set()
        else:
            assert len(software) >= 2, (kind, software)


@pytest.mark.parametrize(
    "chosen",
    [combo for size in (2, 3) for combo in itertools.combinations(CHAIN, size)],
    ids=" + ".join,
)
def test_healthy_upstreams_differing_only_in_cname_detail_name_nothing(
    pool: dict[str, set[str]], chosen: tuple[str, ...]
) -> None:
    upstreams = [f"{NET}.{200 + list(CHAIN).index(c)}:{PORT}" for c in chosen]
    www = {"name": "www.example.org.", "type": "A", "expect": {"answers": ["192.0.2.11"]}}
    runtime, findings = diagnose(upstreams, [www])
    assert findings == []
    registry = runtime.registry()
    assert (
        registry.get_sample_value("k8s_dns_upstream_disagreement", {"name": "www.example.org.", "qtype": "A"})
        == 0.0
    )
    for upstream in upstreams:
        assert (
            registry.get_sample_value(
                "k8s_dns_probe_success",
                {
                    "path": "upstream",
                    "server": upstream,
                    "name": "www.example.org.",
                    "qtype": "A",
                    "transport": "udp",
                },
            )
            == 1.0
        )


@pytest.mark.parametrize(
    ("bad", "expected"),
    [
        # bytes no client takes: nothing to compare, the server is broken
        ("pointer loop", {"upstream_error": {"bad"}}),
        ("pointer forward", {"upstream_error": {"bad"}}),
        # a record for an unrelated name is no answer (NOERROR, no records) where the others give records
        ("unrelated owner", {"upstream_mixed_resolvers": {"bad", "good"}}),
    ],
)
def test_an_upstream_sending_replies_a_client_rejects_is_named(
    pool: dict[str, set[str]], bad: str, expected: dict[str, set[str]]
) -> None:
    """The scripted responder plays what no real server sends, beside a good unbound."""
    port = 5480 + list(BAD_REPLIES).index(bad)
    with Responder(f"{NET}.230", port, BAD_REPLIES[bad]) as responder:
        servers = {"good": address("good", 0), "bad": responder.address}
        _, findings = diagnose(list(servers.values()), [EXAMPLE])
    role = {a: r for r, a in servers.items()}
    assert {f.cause: {role[s] for s in named(f)} for f in findings} == expected
