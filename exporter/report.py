"""The diagnosis report, as JSON (``/diagnose``, ``doctor --format json``) and as text (``doctor``)."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from exporter.config import PATHS
from exporter.diagnosis.model import Finding
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
