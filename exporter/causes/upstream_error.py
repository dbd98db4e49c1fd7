"""An upstream DNS server answers external names with SERVFAIL, REFUSED or NXDOMAIN (names the
upstreams disagree on are upstream_mixed_resolvers instead), or with replies a client must reject
(malformed) or that are not the answer (wrong_answer); or a conditional forwarder answers so for the
zone it is forwarded (a stub domain it does not serve)."""

from __future__ import annotations

from exporter.causes._unit import AlertEvidence, Cause, Group
from exporter.diagnosis.agreement import compare_upstreams
from exporter.diagnosis.draft import Draft
from exporter.diagnosis.model import Observations
from exporter.diagnosis.stats import Stats
from exporter.probe.result import Reason
from exporter.targets.zones import ZONE_KIND

_ERROR_RCODES = frozenset({"SERVFAIL", "REFUSED", "NXDOMAIN"})
_BAD_REPLIES = frozenset({Reason.WRONG_ANSWER, Reason.MALFORMED})


def upstream_error(obs: Observations, stats: Stats) -> Draft | None:
    split = {(c.name, c.qtype) for c in compare_upstreams(stats, obs.names) if c.disagree}
    kinds = {spec.name: spec.kind for spec in obs.names}
    cases = []
    for upstream in stats.path("upstream"):
        for (name, qtype, _transport), result in sorted(upstream.latest.items()):
            if kinds.get(name, ZONE_KIND) not in ("external", ZONE_KIND) or (name, qtype) in split:
                continue
            if result.rcode in _ERROR_RCODES and result.reason is not None:
                cases.append((upstream.server, name, qtype, result.rcode))
            elif result.reason in _BAD_REPLIES:
                cases.append(
                    (upstream.server, name, qtype, f"{result.reason} ({result.detail or result.rcode})")
                )
    if not cases:
        return None
    unique = sorted(set(cases))
    return Draft(
        "upstream_error",
        f"Upstream servers answer external names with errors ({len(unique)} case(s)).",
        tuple(f"upstream {s}: {n} {t} -> {rcode}" for s, n, t, rcode in unique),
        "The upstream itself fails these names: check its configuration and its own upstreams, "
        "and give its operator the name, the rcode and the time.",
        {"cases": [{"server": s, "name": n, "qtype": t, "rcode": r} for s, n, t, r in unique]},
    )


CAUSE = Cause(
    id="upstream_error",
    severity="warning",
    title="An upstream DNS server answers with errors",
    group=Group.UPSTREAM,
    meaning=(
        "An upstream answers external names with SERVFAIL, REFUSED or NXDOMAIN, or with a malformed or "
        "wrong answer."
    ),
    probe="`upstream` rcodes in `k8s_dns_probe_failures_total{reason}`",
    signals="none",
    alert=AlertEvidence(
        text="Upstream error answers in the last 5m: {v}.",
        query=(
            'sum(increase(k8s_dns_probe_failures_total{path="upstream",'
            'reason=~"servfail|refused|nxdomain|wrong_answer|malformed"}[5m]))'
        ),
    ),
    rules=(upstream_error,),
    probed=True,
    path="upstream",
)
