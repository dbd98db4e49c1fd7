"""The verdict with its causes, one line per server of every hop, and one line per probe."""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from exporter.diagnosis.stats import Tally
from exporter.hops import Hop, order
from exporter.probe.result import ProbeResult
from exporter.report import Report
from exporter.units import duration


def verdict_lines(report: Report) -> list[str]:
    findings = report.findings
    if not findings:
        if report.splits:
            return [
                "No documented cause matches alone, but DNS fails from pods while the node resolves (below)."
            ]
        if report.failed:
            return [f"No documented cause matches, but {len(report.failed)} probe(s) failed (below)."]
        if report.source_errors:
            return ["Every probe answered, but some targets could not be read (below)."]
        return [f"Healthy: all {len(report.results)} probes answered as expected."]
    lines = [f"{len(findings)} cause(s) found, most severe first:"]
    for index, finding in enumerate(findings, start=1):
        lines.append("")
        lines.append(f"{index}. [{finding.severity.upper()}] {finding.title} ({finding.cause})")
        lines.append(f"   {finding.summary}")
        lines.extend(f"   - {fact}" for fact in finding.evidence)
        lines.append(f"   Fix: {finding.fix}")
        lines.append(f"   Runbook: {finding.runbook}")
    return lines


def server_lines(results: Sequence[ProbeResult]) -> list[str]:
    """One line per (hop, server): probes answered, median latency, how the others failed.

    FAILING is what diagnosis calls failing (more than half of the probes failed), so a server
    with one lost reply reads ``ok`` with the failure noted, as diagnosis names nothing for it.
    """
    groups: dict[tuple[str, str], list[ProbeResult]] = {}
    for result in results:
        groups.setdefault((result.path, result.server), []).append(result)
    if not groups:
        return ["No probe ran."]
    width = max(len(server) for _, server in groups)
    lines = ["Paths from this node (probes answered, median latency; FAILING: more than half failed):"]
    for (path, server), group in sorted(groups.items(), key=lambda item: (order(item[0][0]), item[0][1])):
        ok = [r for r in group if r.ok]
        tally = Tally()
        for r in group:
            tally.add(r)
        latencies = [_seconds(r.latency) for r in group if r.latency is not None]
        median = duration(statistics.median(latencies)) if latencies else "-"
        notes = []
        reasons: dict[str, int] = {}
        for r in group:
            if not r.ok:
                reasons[str(r.reason)] = reasons.get(str(r.reason), 0) + 1
        if reasons:
            notes.append("failing: " + ", ".join(f"{r} ({n})" for r, n in sorted(reasons.items())))
        if path == Hop.RESOLVER:
            most = max(group, key=lambda r: r.queries)
            notes.append(f"{most.name} costs {_queries(most.queries)}")
        verdict = "FAILING" if tally.failing else "ok"
        lines.append(
            f"  {path:<9} {server:<{width}}  {len(ok):>3}/{len(group):<3} {verdict:<7} {median:>9}"
            + (f"   {'; '.join(notes)}" if notes else "")
        )
    return lines


LISTED = 6
"""Targets of one hop the plan lines name; more are counted."""


def split_lines(report: Report) -> list[str]:
    """DNS fails from pods but works from the node: each name, both sides, and what to check."""
    active = {f.cause for f in report.findings}
    lines = [f"DNS fails from pods but works from the node ({len(report.splits)} name(s)):"]
    for split in report.splits:
        lines.append(f"  {split.name} {split.qtype}")
        lines.extend(f"    from pods: {side}" for side in split.pod_side)
        lines.append(f"    from the node: answered by {', '.join(split.node_side)}")
    lines.append("  The causes the guide gives for this, to check first:")
    for cause in report.splits[0].causes:
        seen = " (active: see above)" if cause in active else ""
        lines.append(f"    - {cause}: {SPLIT_CAUSES[cause]}{seen}")
    return lines


SPLIT_CAUSES = {
    "upstream_mixed_resolvers": "upstreams that answer differently; CoreDNS picks one at random, the node "
    "asks its first",
    "node_dns_config_stale": "the node's resolver changed and CoreDNS still forwards to the old servers "
    "(restart CoreDNS)",
    "dns_port_blocked": "pod traffic to port 53 blocked (NetworkPolicy, NSG, security group) while the "
    "node's is not",
}


def plan_lines(report: Report) -> list[str]:
    """The last round's plan: per hop, its targets (how many of those known), probes and queries."""
    if not report.plan:
        return []
    total = sum(share.queries for share in report.plan)
    lines = [f"Plan of the last round ({total} queries at most):"]
    for share in report.plan:
        known = report.known.get(share.path, len(share.targets))
        of = f" of {known}" if known != len(share.targets) else ""
        named = ", ".join(f"{server} ({reason})" for server, reason in share.targets[:LISTED])
        more = f", and {len(share.targets) - LISTED} more" if len(share.targets) > LISTED else ""
        lines.append(
            f"  {share.path:<9} {len(share.targets)}{of} target(s), {share.probes} probes, "
            f"{share.queries} queries: {named}{more}"
        )
    if any(report.known.get(s.path, len(s.targets)) > len(s.targets) for s in report.plan):
        lines.append("  Every CoreDNS pod and upstream at once: doctor --all-pods.")
    return lines


def probe_line(result: ProbeResult) -> str:
    took = duration(_seconds(result.latency)) if result.latency is not None else "-"
    if result.connect is not None and result.latency is not None:
        took += f" (connect {duration(_seconds(result.connect))})"
    outcome = "ok" if result.ok else str(result.reason).upper()
    extra = f"  {result.detail}" if result.detail and not result.ok else ""
    if result.path == Hop.RESOLVER and not extra:
        extra = f"  ({_queries(result.queries)})"
    return (
        f"  {outcome:<13} {result.path:<9} {result.server:<22} {result.transport:<3} "
        f"{result.qtype:<5} {result.name:<40} {took:>10}{extra}"
    )


def _seconds(latency: float) -> float:
    """A latency as the report's JSON gives it (to the microsecond), so text and JSON agree."""
    return round(latency, 6)


def _queries(count: int) -> str:
    return f"{count} {'query' if count == 1 else 'queries'}"
