"""What a rule returns before the engine adds the catalog's severity, title and runbook."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Draft:
    cause: str
    summary: str
    evidence: tuple[str, ...]
    fix: str
    facts: dict[str, Any] = field(default_factory=dict)
