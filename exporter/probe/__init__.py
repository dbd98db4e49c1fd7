"""The DNS probe engine: pre-built queries, UDP and TCP exchanges, the glibc resolver path."""

from __future__ import annotations

from exporter.probe.engine import Prober, Round
from exporter.probe.result import ProbeResult, Reason

__all__ = ["ProbeResult", "Prober", "Reason", "Round"]
