"""Alert and recording rules: generated files current, promtool-clean, every alert tested and complete."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from alerts.generate import alert_name, outputs
from exporter.causes import CAUSES
from tests.conftest import REPO

ALERTS = REPO / "alerts"
RULE_FILES = sorted(ALERTS.glob("*.rules.yml")) + sorted((ALERTS / "companion").glob("*.rules.yml"))
TEST_FILES = sorted((ALERTS / "tests").glob("*.test.yml"))


def _rules(path: Path) -> list[dict[str, object]]:
    return [rule for group in yaml.safe_load(path.read_text())["groups"] for rule in group["rules"]]


def _alerts() -> list[dict[str, object]]:
    return [rule for path in RULE_FILES for rule in _rules(path) if "alert" in rule]


def test_generated_files_are_current() -> None:
    for path, text in outputs().items():
        assert path.read_text() == text, f"{path} is stale: run `python -m alerts.generate`"


def test_promtool_check_rules() -> None:
    result = subprocess.run(
        ["promtool", "check", "rules", *map(str, RULE_FILES)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(RULE_FILES)


def test_promtool_unit_tests_pass() -> None:
    result = subprocess.run(
        ["promtool", "test", "rules", *(p.name for p in TEST_FILES)],
        cwd=ALERTS / "tests",
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(TEST_FILES)


def test_every_alert_is_tested_firing_and_not_firing() -> None:
    firing: set[str] = set()
    silent: set[str] = set()
    for path in TEST_FILES:
        for group in yaml.safe_load(path.read_text())["tests"]:
            for case in group.get("alert_rule_test", []):
                (firing if case["exp_alerts"] else silent).add(case["alertname"])
    names = {str(rule["alert"]) for rule in _alerts()}
    assert names - firing == set(), "alerts never shown firing"
    assert names - silent == set(), "alerts never shown silent"


def test_every_cause_has_exactly_one_alert_with_its_severity() -> None:
    causes = [rule for rule in _rules(ALERTS / "k8s-dns-causes.rules.yml")]
    assert [rule["alert"] for rule in causes] == [alert_name(c) for c in CAUSES]
    for rule, cause in zip(causes, CAUSES.values(), strict=True):
        assert rule["labels"] == {"severity": cause.severity, "k8s_dns_alert": "cause"}
        assert f'cause="{cause.id}"' in str(rule["expr"])
        assert rule["annotations"]["runbook_url"] == f"docs/runbooks/{cause.id}.md"  # type: ignore[index]


def test_every_alert_has_severity_summary_description_and_runbook() -> None:
    for rule in _alerts():
        labels, annotations = rule["labels"], rule["annotations"]
        assert labels["severity"] in ("critical", "warning"), rule["alert"]  # type: ignore[index]
        assert labels["k8s_dns_alert"] in ("cause", "symptom", "companion"), rule["alert"]  # type: ignore[index]
        assert set(annotations) == {"summary", "description", "runbook_url"}, rule["alert"]  # type: ignore[arg-type]
        runbook = str(annotations["runbook_url"])  # type: ignore[index]
        assert re.fullmatch(r"docs/runbooks/[a-z0-9_]+\.md", runbook), runbook
        if labels["k8s_dns_alert"] == "companion":  # type: ignore[index]
            assert labels["cause"] in CAUSES  # type: ignore[index]


@pytest.mark.parametrize(
    ("labels", "receiver"), [(["severity=critical"], "pager"), (["severity=warning"], "tickets")]
)
def test_alertmanager_example_routes_by_severity(labels: list[str], receiver: str) -> None:
    config = str(ALERTS / "alertmanager.example.yml")
    check = subprocess.run(["amtool", "check-config", config], capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "2 inhibit rules" in check.stdout
    routed = subprocess.run(
        ["amtool", "config", "routes", "test", f"--config.file={config}", *labels],
        capture_output=True,
        text=True,
        check=False,
    )
    assert routed.stdout.strip() == receiver
