"""What every probe needs besides its entry in the plan: one signature for every kind of probe."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from exporter.probe.wire import Query


@dataclass(frozen=True, slots=True)
class Settings:
    timeout: float
    """Seconds one query waits for its reply."""
    budget: float
    """Seconds a whole lookup may take (bounded by the probe interval)."""
    query: Callable[[str, str], Query]
    """``(absolute name, qtype) -> Query``: templates are built once and reused."""
