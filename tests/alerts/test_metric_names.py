"""Every metric the rules and dashboards read is one the exporter declares (or a recording rule).

Companion rules read CoreDNS's and node_exporter's metrics; those files are exempt and
their own tests carry their metric names.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from exporter import metrics
from tests.conftest import REPO

NAME = re.compile(r"(?<![\w:])(k8s_dns_[a-z0-9_]+|[a-z_]+:k8s_dns_[a-z0-9_:]+)\b")
SOURCES = [
    *sorted((REPO / "alerts").glob("*.rules.yml")),
    *sorted((REPO / "dashboards").glob("*.json")),
]
LABEL_NAMES = {"k8s_dns_alert"}


def exposed() -> set[str]:
    names: set[str] = set()
    for spec in metrics.SPECS.values():
        suffixes = {"histogram": ("_bucket", "_sum", "_count"), "summary": ("_sum", "_count")}.get(
            spec.kind, ("",)
        )
        names |= {spec.name + suffix for suffix in suffixes}
    return names


def recorded() -> set[str]:
    return {
        rule["record"]
        for path in (REPO / "alerts").glob("*.rules.yml")
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
        if "record" in rule
    }


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_every_metric_read_exists(source: Path) -> None:
    known = exposed() | recorded() | LABEL_NAMES
    unknown = sorted({name for name in NAME.findall(source.read_text()) if name not in known})
    assert unknown == [], f"{source.name} reads metrics the exporter does not declare: {unknown}"


def test_the_check_sees_both_kinds_of_names() -> None:
    text = "rate(k8s_dns_probes_total[5m]) / cluster_path:k8s_dns_probe_failures:ratio_rate5m k8s_dns_nope"
    assert NAME.findall(text) == [
        "k8s_dns_probes_total",
        "cluster_path:k8s_dns_probe_failures:ratio_rate5m",
        "k8s_dns_nope",
    ]
