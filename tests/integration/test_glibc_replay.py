"""The ``resolver`` path against real glibc: the same lookups, the same queries on the wire.

For each resolv.conf of the table, glibc's ``getaddrinfo`` (one address family)
and the exporter's lookup ask the same recording servers, which pass every query
to a real unbound serving the lab's zones (faults are applied to its replies). The
queries each sent (server, transport, name, type, EDNS payload, in order, at what
moment) and the outcome must match.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import dns.rcode
import pytest

from exporter.probe import ProbeResult, Reason
from exporter.probe.resolver import GLIBC_VERSION
from lab.servers import Unbound, free_port
from lab.zones import CLUSTER, PUBLIC
from tests.integration.glibc import (
    Fault,
    Recorders,
    Seen,
    build_getaddrinfo,
    glibc_lookup,
    glibc_version,
    rcode,
    silent,
    slow,
    truncate_udp,
    truncate_udp_empty,
)
from tests.integration.probing import one, run_round

pytestmark = pytest.mark.lab

NS1, NS2, NS3 = "127.0.77.1", "127.0.77.2", "127.0.77.3"
DEAD = "127.0.77.9"
"""Nothing listens there: the kernel answers a query with ICMP port unreachable."""
BACKEND = "127.0.77.100"
AKS_SEARCH = "default.svc.cluster.local svc.cluster.local cluster.local vnet1.internal.cloudapp.net"
"""An AKS pod's search list (namespace ``default``; the last domain is the VNet's Azure DNS suffix)."""
MOMENT = 0.35
"""How far apart the same query may arrive from glibc and from the exporter (seconds)."""


@dataclass(frozen=True)
class Case:
    id: str
    name: str
    nameservers: tuple[str, ...]
    options: str
    queries: int
    """How many queries glibc sends (the servers see): checks the case still tests what it says."""
    search: str = AKS_SEARCH
    qtype: str = "A"
    faults: dict[str, Fault] = field(default_factory=dict)

    def resolv_conf(self) -> str:
        lines = [f"nameserver {host}" for host in self.nameservers]
        if self.search:
            lines.append(f"search {self.search}")
        lines.append(f"options {self.options}")
        return "\n".join(lines) + "\n"


SERVFAIL = rcode(dns.rcode.SERVFAIL)
REFUSED = rcode(dns.rcode.REFUSED)

CASES = [
    Case("aks-internal-short-name", "kubernetes.default", (NS1,), "ndots:5", 2),
    Case("aks-external-name", "example.org", (NS1,), "ndots:5", 5),
    Case("aks-absolute-name", "example.org.", (NS1,), "ndots:5", 1),
    Case("aks-missing-name", "no-such-name", (NS1,), "ndots:5", 5),
    Case("aks-no-tld-query", "no-such-name", (NS1,), "ndots:5 no-tld-query", 4),
    Case("ndots-1-external-name", "example.org", (NS1,), "ndots:1", 1),
    Case("ndots-1-missing-name", "no-such.example", (NS1,), "ndots:1", 5),
    Case("aaaa", "example.org", (NS1,), "ndots:1", 1, qtype="AAAA"),
    Case(
        "nodata-searches-on",
        "www.example.org",
        (NS1,),
        "ndots:5",
        3,
        "svc.cluster.local cluster.local",
        "AAAA",
    ),
    Case("large-answer", "big-headless.default", (NS1,), "ndots:5", 3),
    Case("large-answer-edns0", "big-headless.default", (NS1,), "ndots:5 edns0", 2),
    Case("use-vc", "kubernetes.default", (NS1, NS2), "ndots:5 use-vc", 2),
    Case("rotate", "example.org", (NS1, NS2, NS3), "ndots:5 rotate", 5),
    Case("single-request", "kubernetes.default", (NS1,), "ndots:5 single-request", 2),
    Case("single-request-reopen", "kubernetes.default", (NS1,), "ndots:5 single-request-reopen", 2),
    Case("dead-first-server", "kubernetes.default", (DEAD, NS1), "ndots:5", 2),
    Case("every-server-dead", "kubernetes.default", (DEAD,), "ndots:5", 0),
    Case(
        "silent-first-server",
        "kubernetes.default.svc.cluster.local",
        (NS1, NS2),
        "ndots:2 timeout:1 attempts:2",
        2,
        faults={NS1: silent},
    ),
    Case(
        "two-silent-of-three-timeout-2-attempts-1",
        "example.org.",
        (NS1, NS2, NS3),
        "timeout:2 attempts:1",
        3,
        faults={NS1: silent, NS2: silent},
    ),
    Case(
        "slow-server-1.5s-timeout-1-attempts-2",
        "example.org.",
        (NS1,),
        "timeout:1 attempts:2",
        2,
        faults={NS1: slow(1.5)},
    ),
    Case(
        "slow-server-2.5s-timeout-1-attempts-2",
        "example.org.",
        (NS1,),
        "timeout:1 attempts:2",
        2,
        faults={NS1: slow(2.5)},
    ),
    Case("truncated-udp", "example.org.", (NS1, NS2), "ndots:5", 2, faults={NS1: truncate_udp}),
    Case("truncated-empty-udp", "example.org.", (NS1,), "ndots:5", 2, faults={NS1: truncate_udp_empty}),
    Case("servfail-first-server", "example.org.", (NS1, NS2), "ndots:5", 2, faults={NS1: SERVFAIL}),
    Case("servfail-everywhere", "kubernetes.default", (NS1,), "ndots:5", 10, faults={NS1: SERVFAIL}),
    Case("refused-everywhere", "kubernetes.default", (NS1,), "ndots:5", 4, faults={NS1: REFUSED}),
]


@pytest.fixture(scope="module")
def recorders(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recorders]:
    workdir = tmp_path_factory.mktemp("glibc")
    backend = Unbound("glibc-backend", BACKEND, free_port(BACKEND), workdir, zones=[CLUSTER, *PUBLIC])
    backend.start()
    try:
        with Recorders([NS1, NS2, NS3], (BACKEND, backend.port)) as servers:
            yield servers
    finally:
        backend.stop()


@pytest.fixture(scope="module")
def getaddrinfo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_getaddrinfo(tmp_path_factory.mktemp("gai"))


def test_the_replayed_glibc_is_the_one_here() -> None:
    assert glibc_version() == GLIBC_VERSION


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_lookup_sends_what_glibc_sends(
    case: Case, recorders: Recorders, getaddrinfo: Path, tmp_path: Path
) -> None:
    conf = tmp_path / "resolv.conf"
    conf.write_text(case.resolv_conf())
    recorders.faults = case.faults
    recorders.take()
    glibc_outcome = glibc_lookup(getaddrinfo, conf, case.name, case.qtype)
    glibc_seen = recorders.take()
    result = _exporter_lookup(conf, case)
    exporter_seen = recorders.take()
    assert len(glibc_seen) == case.queries, glibc_seen
    assert _wire(exporter_seen, case) == _wire(glibc_seen, case), result.detail
    assert _outcome(result) == glibc_outcome, result
    assert result.queries >= len(exporter_seen)
    for ours, theirs in zip(_moments(exporter_seen), _moments(glibc_seen), strict=True):
        assert abs(ours - theirs) < MOMENT, (_moments(exporter_seen), _moments(glibc_seen))


def _exporter_lookup(conf: Path, case: Case) -> ProbeResult:
    doc = {
        "listen": "127.0.0.1:0",
        "interval": "20s",
        "timeout": "2s",
        "names": [{"name": case.name, "type": case.qtype}],
        "paths": {"resolver": {"file": str(conf), "port": 53}},
    }
    _, round_ = run_round(doc)
    return one(round_, path="resolver")


def _wire(seen: list[Seen], case: Case) -> list[tuple[object, ...]]:
    """The queries as keys; with ``rotate``, servers by their place after the first one asked
    (glibc starts at a random nameserver)."""
    keys = [s.key() for s in seen]
    if "rotate" not in case.options or not seen:
        return keys
    order = list(case.nameservers)
    first = order.index(seen[0].server)
    return [((order.index(k[0]) - first) % len(order), *k[1:]) for k in keys]


def _moments(seen: list[Seen]) -> list[float]:
    return [s.at - seen[0].at for s in seen]


def _outcome(result: ProbeResult) -> str:
    """The exporter's result as getaddrinfo would report it."""
    if result.ok or (result.reason is Reason.WRONG_ANSWER and result.answers):
        return " ".join(result.answers)
    if result.rcode == "NXDOMAIN" or (result.rcode == "NOERROR" and not result.answers):
        return "noname"
    if result.reason in (Reason.TIMEOUT, Reason.SERVFAIL, Reason.REFUSED, Reason.NETWORK_ERROR):
        return "again"
    if result.rcode is None and result.reason is Reason.TRUNCATED:
        return "again"  # every reply was empty, with TC and neither AA nor RA: glibc moved on
    return "fail"
