"""Build probe results and rounds for unit tests of state, metrics and diagnosis."""

from __future__ import annotations

from exporter.probe import ProbeResult, Reason, Round
from exporter.probe.race import RaceResult

INTERNAL = "kubernetes.default.svc.cluster.local."
EXTERNAL = "example.org."


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
