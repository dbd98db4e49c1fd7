"""Build probe results and rounds for unit tests of state, metrics and diagnosis: one result, a
healthy node's results on every path, and faults applied to some of them."""

from __future__ import annotations

from exporter.config import parse_config
from exporter.probe import ProbeResult, Reason, Round
from exporter.probe.race import RaceResult

INTERNAL = "kubernetes.default.svc.cluster.local."
EXTERNAL = "example.org."
NAMES = parse_config(
    {"names": [{"name": INTERNAL}, {"name": EXTERNAL}], "paths": {"service": ["10.96.0.10:53"]}}
).names
SERVICE, POD1, POD2, NODELOCAL, UP1, UP2 = (
    "10.96.0.10:53", "10.244.0.5:53", "10.244.1.7:53", "169.254.20.10:53", "10.0.0.2:53", "10.0.0.3:53",
)  # fmt: skip


def result(
    path: str,
    server: str,
    name: str = EXTERNAL,
    *,
    transport: str = "udp",
    reason: Reason | None = None,
    rcode: str | None = "NOERROR",
    answers: tuple[str, ...] = ("192.0.2.10",),
    latency: float | None = 0.002,
    qtype: str = "A",
    truncated: bool = False,
) -> ProbeResult:
    no_reply = reason in (Reason.TIMEOUT, Reason.NETWORK_ERROR, Reason.MALFORMED)
    return ProbeResult(
        path=path,
        server=server,
        name=name,
        qtype=qtype,
        transport=transport,
        reason=reason,
        rcode=None if no_reply else rcode,
        latency=None if no_reply else latency,
        answers=() if no_reply else answers,
        answer_count=0 if no_reply else len(answers),
        truncated=truncated,
    )


def round_of(*results: ProbeResult, started: float = 1000.0, races: tuple[RaceResult, ...] = ()) -> Round:
    return Round(started=started, duration=0.01, results=tuple(results), source_errors={}, races=races)


def healthy_results() -> list[ProbeResult]:
    """One healthy round: both names over UDP and TCP from the Service, both pods and NodeLocal, the
    external name from both upstreams."""
    out = []
    for path, server in (("service", SERVICE), ("pod", POD1), ("pod", POD2), ("nodelocal", NODELOCAL)):
        for name in (INTERNAL, EXTERNAL):
            for transport in ("udp", "tcp"):
                out.append(result(path, server, name, transport=transport))
    for server in (UP1, UP2):
        for transport in ("udp", "tcp"):
            out.append(result("upstream", server, EXTERNAL, transport=transport))
    return out


def broken(results: list[ProbeResult], fault: object) -> list[ProbeResult]:
    """``results`` with ``fault`` (from :func:`fail`) applied."""
    return [fault(r) or r for r in results]  # type: ignore[operator]


def fail(reason: Reason, rcode: str | None = None, **match: str) -> object:
    """A fault: the results whose fields equal ``match`` fail with ``reason`` (and ``rcode``)."""

    def apply(r: ProbeResult) -> ProbeResult | None:
        if all(getattr(r, k) == v for k, v in match.items()):
            return result(
                r.path, r.server, r.name, transport=r.transport, reason=reason, rcode=rcode, answers=()
            )
        return None

    return apply
