"""The documented causes of DNS failure, one module each, found here rather than listed.

``exporter/causes/<id>.py`` holds ``CAUSE``: the id, severity and title, its
section and columns of docs/causes.md, the evidence its alert prints, and the
rules that name it. Adding a cause is that module and its runbook
(docs/runbooks/<id>.md); ``python -m alerts.generate`` and ``python -m
docs.generate`` then write its alert, its rows and its index entry.
"""

from __future__ import annotations

import importlib
import pkgutil

from exporter.causes._unit import SEVERITIES, SEVERITY_ORDER, AlertEvidence, Cause, Group, Scope, Severity

__all__ = [
    "CAUSES",
    "SEVERITIES",
    "SEVERITY_ORDER",
    "AlertEvidence",
    "Cause",
    "Group",
    "Scope",
    "Severity",
    "discover",
]


def discover() -> dict[str, Cause]:
    """Every module of this package not starting with ``_``, as its ``CAUSE``, by id.

    Ordered by docs section, then severity (critical, warning, info), then id.
    """
    names = sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))
    causes = sorted((_load(name) for name in names), key=lambda cause: cause.order)
    return {cause.id: cause for cause in causes}


def _load(name: str) -> Cause:
    cause = getattr(importlib.import_module(f"{__name__}.{name}"), "CAUSE", None)
    if not isinstance(cause, Cause):
        raise TypeError(f"exporter/causes/{name}.py defines no CAUSE = Cause(...)")
    if cause.id != name:
        raise ValueError(f"exporter/causes/{name}.py: CAUSE.id is {cause.id!r}, not its module name")
    return cause


CAUSES: dict[str, Cause] = discover()
