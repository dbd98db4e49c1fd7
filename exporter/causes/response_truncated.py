"""UDP answers come back truncated (TC flag): clients must retry over TCP."""

from __future__ import annotations

from exporter.causes._unit import AlertEvidence, Cause, Group
from exporter.diagnosis.draft import Draft
from exporter.diagnosis.model import Observations
from exporter.diagnosis.stats import Stats
from exporter.probe.result import Reason


def response_truncated(obs: Observations, stats: Stats) -> Draft | None:
    cases = []
    for s in stats.servers.values():
        for (name, qtype, transport), result in s.latest.items():
            if transport != "udp" or result.reason is not Reason.TRUNCATED:
                continue
            over_tcp = s.latest.get((name, qtype, "tcp"))
            tcp = (
                f"{over_tcp.answer_count} records over TCP"
                if over_tcp and over_tcp.ok
                else "TCP not probed or failing"
            )
            cases.append(
                f"{s.path} {s.server}: {name} {qtype} truncated over UDP "
                f"({result.answer_count} records), {tcp}"
            )
    if not cases:
        return None
    return Draft(
        "response_truncated",
        f"{len(cases)} UDP answer(s) come back truncated (TC flag): clients must retry over TCP.",
        tuple(cases),
        "Let clients use TCP for these names (glibc: `options use-vc` in the pod dnsConfig; Go: a "
        "resolver that dials tcp), or reduce the number of endpoints behind the headless Service.",
        {},
    )


CAUSE = Cause(
    id="response_truncated",
    severity="warning",
    title="UDP answers are truncated; clients must retry over TCP",
    group=Group.CLIENT,
    meaning=(
        "UDP answers carry the TC flag (headless Service with many endpoints); clients must retry over TCP."
    ),
    probe=(
        '`k8s_dns_probe_failures_total{reason="truncated"}`, more records over TCP in '
        "`k8s_dns_probe_answer_records`"
    ),
    signals="none",
    alert=AlertEvidence(
        text="Truncated UDP answers in the last 5m: {v}.",
        query='sum(increase(k8s_dns_probe_failures_total{reason="truncated"}[5m]))',
    ),
    rules=(response_truncated,),
    probed=True,
)
