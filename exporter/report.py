"""The diagnosis report, as JSON (``/diagnose``, ``doctor --format json``) and as text (``doctor``)."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from exporter.config import PATHS
from exporter.diagnosis import Finding
from exporter.probe.result import ProbeResult
from exporter.status import CollectorRun


def build_report(
    *,
    results: Sequence[ProbeResult],
    findings: Sequence[Finding],
    collectors: Mapping[str, CollectorRun],
    source_errors: Mapping[str, str],
    node: Mapping[str, Any] | None = None,
    cluster: Mapping[str, Any] | None = None,
    discovery: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One JSON-ready document: causes first, then the raw observations behind them."""
    failed = [r for r in results if not r.ok]
    return {
        "generated_at": time.time(),
        "healthy": not findings and not failed and not source_errors,
        "causes": [f.as_dict() for f in findings],
        "summary": {
            "probes": len(results),
            "failed": len(failed),
            "paths": sorted({r.path for r in results}, key=_path_order),
        },
        "probes": [_result(r) for r in sorted(results, key=_result_order)],
        "source_errors": dict(source_errors),
        "collectors": {
            name: {"success": run.ok, "error": run.error} for name, run in sorted(collectors.items())
        },
        "node": dict(node) if node is not None else None,
        "cluster": dict(cluster) if cluster is not None else None,
        "discovery": dict(discovery) if discovery is not None else None,
    }


def _path_order(path: str) -> int:
    return PATHS.index(path) if path in PATHS else len(PATHS)


def _result_order(result: ProbeResult) -> tuple[int, str, str, str, str]:
    return (_path_order(result.path), result.server, result.name, result.qtype, result.transport)


def _result(result: ProbeResult) -> dict[str, Any]:
    return {
        "path": result.path,
        "server": result.server,
        "name": result.name,
        "qtype": result.qtype,
        "transport": result.transport,
        "result": "success" if result.ok else str(result.reason),
        "rcode": result.rcode,
        "latency_seconds": None if result.latency is None else round(result.latency, 6),
        "answers": list(result.answers),
        "answer_count": result.answer_count,
        "truncated": result.truncated,
        "queries": result.queries,
        "detail": result.detail,
        "timestamp": result.timestamp,
    }


def render_text(report: Mapping[str, Any]) -> str:
    """The report as an on-call engineer reads it: the verdict, the causes, then every probe."""
    lines: list[str] = []
    causes = report["causes"]
    summary = report["summary"]
    if causes:
        lines.append(f"{len(causes)} cause(s) found, most severe first:")
        for index, cause in enumerate(causes, start=1):
            lines.append("")
            lines.append(f"{index}. [{cause['severity'].upper()}] {cause['title']} ({cause['cause']})")
            lines.append(f"   {cause['summary']}")
            lines.extend(f"   - {fact}" for fact in cause["evidence"])
            lines.append(f"   Fix: {cause['fix']}")
            lines.append(f"   Runbook: {cause['runbook']}")
    elif summary["failed"]:
        lines.append(f"No documented cause matches, but {summary['failed']} probe(s) failed (below).")
    elif report["source_errors"]:
        lines.append("Every probe answered, but some targets could not be read (below).")
    else:
        lines.append(f"Healthy: all {summary['probes']} probes answered as expected.")
    lines.append("")
    lines.append(f"Probes ({summary['probes']}, {summary['failed']} failed):")
    for probe in report["probes"]:
        latency = probe["latency_seconds"]
        took = f"{latency * 1000:.2f} ms" if latency is not None else "-"
        outcome = "ok" if probe["result"] == "success" else probe["result"].upper()
        extra = f"  {probe['detail']}" if probe["detail"] and probe["result"] != "success" else ""
        if probe["path"] == "resolver":
            extra += (
                "" if extra else f"  ({probe['queries']} {'query' if probe['queries'] == 1 else 'queries'})"
            )
        lines.append(
            f"  {outcome:<13} {probe['path']:<9} {probe['server']:<22} {probe['transport']:<3} "
            f"{probe['qtype']:<5} {probe['name']:<40} {took:>10}{extra}"
        )
    for source, error in sorted(report["source_errors"].items()):
        lines.append(f"  ERROR         {source}: {error}")
    failed_collectors = {n: c for n, c in report["collectors"].items() if not c["success"]}
    if failed_collectors:
        lines.append("")
        lines.append("Collectors without data:")
        lines.extend(f"  {name}: {c['error']}" for name, c in sorted(failed_collectors.items()))
    return "\n".join(lines) + "\n"
