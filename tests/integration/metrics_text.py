"""Read Prometheus text exposition in tests, and check it with promtool."""

from __future__ import annotations

import subprocess

from prometheus_client.parser import text_string_to_metric_families


def samples(text: str, metric: str, /, **labels: str) -> list[tuple[dict[str, str], float]]:
    """Every sample called ``metric`` whose labels include ``labels``."""
    found = []
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == metric and all(sample.labels.get(k) == v for k, v in labels.items()):
                found.append((dict(sample.labels), sample.value))
    return found


def value(text: str, metric: str, /, **labels: str) -> float:
    matches = samples(text, metric, **labels)
    assert len(matches) == 1, (metric, labels, matches)
    return matches[0][1]


def promtool_check(text: str) -> None:
    """``promtool check metrics`` accepts ``text`` (names, types, HELP, units), or the test fails."""
    check = subprocess.run(
        ["promtool", "check", "metrics"], input=text, capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr
