"""What a rule returns before the engine adds the cause's severity, title and runbook."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from exporter.diagnosis.model import Observations
from exporter.diagnosis.stats import Stats


@dataclass(frozen=True, slots=True)
class Draft:
    cause: str
    summary: str
    evidence: tuple[str, ...]
    fix: str
    facts: dict[str, Any] = field(default_factory=dict)


Rule = Callable[[Observations, Stats], Draft | None]
"""Reads one snapshot and its window statistics; returns a draft when it sees its cause."""
