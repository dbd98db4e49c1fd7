"""Figures for people, one way everywhere (doctor, /diagnose text, failure details)."""

from __future__ import annotations


def duration(seconds: float) -> str:
    """A latency for people: microseconds below a millisecond (``412 µs``), else ``1.3 ms``."""
    if seconds < 0.001:
        return f"{seconds * 1e6:.0f} µs"
    return f"{seconds * 1000:.1f} ms"
