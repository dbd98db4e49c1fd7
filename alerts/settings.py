"""What a team may change in the generated rules without editing YAML: ``--config FILE``.

    runbook_base_url: https://wiki.example.org/dns/runbooks
    dashboard_base_url: https://grafana.example.org
    exporter_job: 'job="k8s-dns"'
    coredns_job: 'job="coredns"'
    objective: 0.999
    latency_p99_seconds: {service: 0.1}
    page_node_share: 0.5
    severities: {critical: P1, warning: P3, info: P4}
    extra_labels: {team: platform}

Every key is optional; an unknown key, or a value of the wrong kind, is an error that names it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml

from exporter.causes import SEVERITIES

PATHS = ("service", "pod", "nodelocal", "upstream", "resolver")


@dataclass(frozen=True, slots=True)
class Settings:
    runbook_base_url: str = "https://github.com/k8s-dns-exporter/k8s-dns-exporter/blob/main/docs/runbooks"
    """The runbooks as the project publishes them (``<base>/<cause>.md``): a link that opens from
    Alertmanager, Slack or a pager."""
    dashboard_base_url: str | None = None
    """Your Grafana: symptom and cause alerts then get a ``dashboard_url``."""
    exporter_job: str = 'job=~".*k8s-dns-exporter.*"'
    """The matcher that selects the exporter's scrape job."""
    coredns_job: str = 'job=~"coredns|kube-dns"'
    """The matcher that selects CoreDNS's scrape job (not NodeLocal DNSCache's, which exports
    ``coredns_*`` too)."""
    objective: float = 0.995
    """Probe success objective per path, cluster-wide."""
    latency_p99_seconds: dict[str, float] = field(
        default_factory=lambda: {
            "service": 0.25,
            "pod": 0.25,
            "nodelocal": 0.1,
            "upstream": 1.0,
            "resolver": 1.0,
        }
    )
    page_node_share: float = 0.3
    """A fast burn pages only when at least this share of the cluster's probing nodes (and two of them,
    unless the cluster has one) fail beyond the fast-burn rate themselves: one bad node is a ticket."""
    severities: dict[str, str] = field(default_factory=lambda: {name: name for name in SEVERITIES})
    """The ``severity`` label value written for each severity of the model."""
    extra_labels: dict[str, str] = field(default_factory=dict)
    """Labels added to every alert."""


def load(path: Path) -> Settings:
    """The settings in the YAML file at ``path``, over the defaults."""
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: {exc}") from exc
    return parse(raw, str(path))


def parse(raw: Any, where: str) -> Settings:
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: expected a mapping of settings")
    known = {f.name for f in fields(Settings)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ValueError(
            f"{where}: unknown setting(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})"
        )
    base = Settings()
    values: dict[str, Any] = {}
    for name, value in raw.items():
        values[name] = _check(name, value, getattr(base, name), where)
    return replace(base, **values)


def _check(name: str, value: Any, default: Any, where: str) -> Any:
    what = f"{where}: {name}"
    if isinstance(default, dict):
        if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
            raise ValueError(f"{what}: expected a mapping")
        if name == "latency_p99_seconds":
            bad = sorted(set(value) - set(PATHS))
            if bad or not all(_positive(v) for v in value.values()):
                raise ValueError(f"{what}: expected positive seconds for paths among {', '.join(PATHS)}")
            return {**default, **{k: float(v) for k, v in value.items()}}
        if not all(isinstance(v, str) and v for v in value.values()):
            raise ValueError(f"{what}: expected text values")
        if name == "severities":
            bad = sorted(set(value) - set(default))
            if bad:
                raise ValueError(f"{what}: unknown severity {', '.join(bad)} (known: {', '.join(default)})")
            return {**default, **value}
        return dict(value)
    if isinstance(default, float):
        highest = 1.0 if name == "page_node_share" else 0.9999
        if not _positive(value) or value > highest:
            raise ValueError(f"{what}: expected a number above 0 and at most {highest:g}")
        return float(value)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what}: expected text")
    return value


def _positive(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0
