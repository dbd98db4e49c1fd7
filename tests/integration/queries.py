"""Every PromQL expression the project ships: the dashboards' panel queries and the rules'
expressions, and the metric names an exporter's /metrics exposes to them."""

from __future__ import annotations

import json
import re

import yaml

from tests.conftest import REPO

RULE_FILES = sorted((REPO / "alerts").glob("*.rules.yml"))
DASHBOARDS = sorted((REPO / "dashboards").glob("*.json"))
LABELS = {"node": "lab-node-1", "cluster": "lab"}
METRIC = re.compile(r"\b(k8s_dns_[a-z0-9_]+)\b")


def dashboard_queries() -> list[tuple[str, str]]:
    """(``uid: panel title``, expr) for every panel target, the dashboard variables set to ``LABELS``."""
    found = []
    for path in DASHBOARDS:
        board = json.loads(path.read_text())
        for panel in board["panels"]:
            for target in panel.get("targets", []):
                expr = (
                    target["expr"]
                    .replace("$__rate_interval", "1m")
                    .replace("$cluster", LABELS["cluster"])
                    .replace("$node", LABELS["node"])
                )
                found.append((f"{board['uid']}: {panel['title']}", expr))
    return found


def rule_expressions() -> list[tuple[str, str, bool]]:
    """(name, expr, is_recording)."""
    found = []
    for path in RULE_FILES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                name = rule.get("record") or rule["alert"]
                found.append((name, rule["expr"], "record" in rule))
    return found


def exposed_names(text: str) -> set[str]:
    """The ``k8s_dns_`` metric names with samples in an exporter's /metrics ``text``."""
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    return {m for line in lines for m in METRIC.findall(line.split("{")[0].split(" ")[0])}
