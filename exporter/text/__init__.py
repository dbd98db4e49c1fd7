"""The one room where the report becomes text: what ``doctor`` prints and ``/diagnose?format=text`` shows.

An on-call engineer reads it top down: the verdict and the causes with their
evidence and fix; then one line per server of every hop (how many probes
answered, the median latency); then the probes that failed, what discovery
found, the cluster and the node. ``verbose`` lists every probe.
"""

from __future__ import annotations

from exporter.report import Report
from exporter.text.capacity import capacity_lines
from exporter.text.cluster import cluster_lines, discovery_lines
from exporter.text.node import node_lines
from exporter.text.probes import plan_lines, probe_line, server_lines, split_lines, verdict_lines


def render_text(report: Report, *, verbose: bool = False) -> str:
    lines = verdict_lines(report)
    if report.splits:
        lines.append("")
        lines.extend(split_lines(report))
    lines.append("")
    lines.extend(server_lines(report.results))
    plan = plan_lines(report)
    if plan:
        lines.append("")
        lines.extend(plan)
    failed = report.failed
    shown = report.results if verbose else failed
    if shown or report.source_errors:
        lines.append("")
        title = "All probes" if verbose else "Failed probes"
        lines.append(f"{title} ({len(shown)} of {len(report.results)}):")
        lines.extend(probe_line(result) for result in shown)
        lines.extend(f"  ERROR         {s}: {e}" for s, e in sorted(report.source_errors.items()))
    if report.discovery is not None:
        lines.append("")
        lines.extend(discovery_lines(report.discovery))
    if report.cluster is not None:
        lines.append("")
        lines.extend(cluster_lines(report.cluster))
        capacity = capacity_lines(report.cluster)
        if capacity:
            lines.append("")
            lines.extend(capacity)
    if report.node is not None:
        lines.append("")
        lines.extend(node_lines(report.node))
    failed_collectors = {name: run for name, run in report.collectors.items() if not run.ok}
    if failed_collectors:
        lines.append("")
        lines.append("Collectors without data:")
        lines.extend(f"  {name}: {run.error}" for name, run in sorted(failed_collectors.items()))
    if not verbose:
        lines.append("")
        lines.append("Every probe: doctor --verbose, or --format json.")
    return "\n".join(lines) + "\n"
