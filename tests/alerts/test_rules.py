"""Alert and recording rules: generated files current, promtool-clean, every alert tested and complete."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from alerts.generate import DASHBOARDS, DEFAULT_RUNBOOK_BASE, alert_name, outputs
from alerts.settings import Settings, parse
from exporter.causes import CAUSES, SEVERITIES
from tests.conftest import REPO

ALERTS = REPO / "alerts"
RULE_FILES = sorted(ALERTS.glob("*.rules.yml")) + sorted((ALERTS / "companion").glob("*.rules.yml"))
TEST_FILES = sorted((ALERTS / "tests").glob("*.test.yml"))


def _promtool(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["promtool", *args], cwd=cwd, capture_output=True, text=True, check=False)


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


@pytest.mark.parametrize("base", [DEFAULT_RUNBOOK_BASE, "https://wiki.example.org/dns/runbooks/"])
def test_promtool_unit_tests_pass(base: str, tmp_path: Path) -> None:
    """The shipped tests, on rules generated with the default runbook base and with another one."""
    _write(outputs(Settings(runbook_base_url=base)), tmp_path)
    for path in TEST_FILES:
        if not (tmp_path / "tests" / path.name).exists():
            (tmp_path / "tests" / path.name).write_text(
                path.read_text().replace(DEFAULT_RUNBOOK_BASE + "/", base.rstrip("/") + "/")
            )
    result = subprocess.run(
        ["promtool", "test", "rules", *(p.name for p in TEST_FILES)],
        cwd=tmp_path / "tests",
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(TEST_FILES)
    if base != DEFAULT_RUNBOOK_BASE:
        assert DEFAULT_RUNBOOK_BASE not in "".join(p.read_text() for p in tmp_path.rglob("*.yml"))


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
        path = {"path": cause.path} if cause.path else {}
        assert rule["labels"] == {"severity": cause.severity, "k8s_dns_alert": "cause", **path}
        assert f'cause="{cause.id}"' in str(rule["expr"])
        assert rule["annotations"]["runbook_url"] == f"{DEFAULT_RUNBOOK_BASE}/{cause.id}.md"  # type: ignore[index]


def test_node_scoped_cause_alerts_keep_the_node_and_say_it() -> None:
    by_name = {alert_name(c.id): c for c in CAUSES.values()}
    for rule in _rules(ALERTS / "k8s-dns-causes.rules.yml"):
        cause = by_name[str(rule["alert"])]
        node = cause.scope == "node"
        assert ("node, instance)" in str(rule["expr"])) is node, rule["alert"]
        assert ("{{ $labels.node }}" in rule["annotations"]["summary"]) is node, rule["alert"]  # type: ignore[index]


def test_no_cause_alert_pages_and_only_a_wide_symptom_does() -> None:
    """The severity model: critical (a page) is a symptom on a path pods use, seen from a share of nodes."""
    critical = [rule for rule in _alerts() if rule["labels"]["severity"] == "critical"]  # type: ignore[index]
    assert [rule["alert"] for rule in critical] == ["K8sDNSProbeErrorBudgetFastBurn"]
    (page,) = critical
    assert 'path=~"service|nodelocal|resolver"' in str(page["expr"])
    assert "k8s_dns_probe_instances_failing" in str(page["expr"])
    assert "causes" in page["annotations"]  # type: ignore[operator]


def test_every_alert_has_severity_summary_description_and_runbook() -> None:
    for rule in _alerts():
        labels, annotations = rule["labels"], rule["annotations"]
        assert labels["severity"] in SEVERITIES, rule["alert"]  # type: ignore[index]
        kind = labels["k8s_dns_alert"]  # type: ignore[index]
        assert kind in ("cause", "symptom", "exporter", "companion"), rule["alert"]
        extra = {"causes"} if kind == "symptom" else set()
        assert set(annotations) == {"summary", "description", "runbook_url", *extra}, rule["alert"]  # type: ignore[arg-type]
        runbook = str(annotations["runbook_url"])  # type: ignore[index]
        assert re.fullmatch(re.escape(DEFAULT_RUNBOOK_BASE) + r"/[a-z0-9_]+\.md", runbook), runbook
        if labels["k8s_dns_alert"] == "companion":  # type: ignore[index]
            assert labels["cause"] in CAUSES  # type: ignore[index]


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        (["severity=critical", "k8s_dns_alert=symptom"], "pager"),
        (["severity=critical", "k8s_dns_alert=cause"], "tickets"),
        (["severity=warning", "k8s_dns_alert=symptom"], "tickets"),
        (["severity=warning", "k8s_dns_alert=exporter"], "tickets"),
        (["severity=info", "k8s_dns_alert=cause"], "tickets"),
    ],
)
def test_alertmanager_example_pages_only_on_critical_symptoms(labels: list[str], receiver: str) -> None:
    config = str(ALERTS / "alertmanager.example.yml")
    check = subprocess.run(["amtool", "check-config", config], capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "3 inhibit rules" in check.stdout
    routed = subprocess.run(
        ["amtool", "config", "routes", "test", f"--config.file={config}", *labels],
        capture_output=True,
        text=True,
        check=False,
    )
    assert routed.stdout.strip() == receiver


def test_a_dashboard_base_gives_every_symptom_and_cause_alert_its_dashboard(tmp_path: Path) -> None:
    """With --dashboard-base-url, an alert opens the overview on its cluster, or the node dashboard on
    its node for one instance's alert; the cause alerts' promtool tests still pass."""
    grafana = "https://grafana.example.org/"
    _write(outputs(Settings(dashboard_base_url=grafana)), tmp_path)
    rules = [
        rule
        for name in ("k8s-dns-symptoms.rules.yml", "k8s-dns-causes.rules.yml")
        for rule in _rules(tmp_path / name)
    ]
    urls = {str(rule["alert"]): rule["annotations"]["dashboard_url"] for rule in rules}  # type: ignore[index]
    overview = "https://grafana.example.org/d/k8s-dns-overview?var-cluster={{ $labels.cluster }}"
    node = "https://grafana.example.org/d/k8s-dns-node?var-cluster={{ $labels.cluster }}&var-node={{ $labels.node }}"
    assert urls["K8sDNSProbeErrorBudgetFastBurn"] == overview
    assert urls["K8sDNSNodePathFailing"] == node
    assert urls["K8sDNSConntrackTableFull"] == node
    assert urls["K8sDNSCoreDNSUnavailable"] == overview
    assert urls["K8sDNSExporterDown"] == node
    assert {json.loads(board.read_text())["uid"] for board in (REPO / "dashboards").glob("*.json")} >= set(
        DASHBOARDS.values()
    )
    result = _promtool("test", "rules", "causes.test.yml", cwd=tmp_path / "tests")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (
        "dashboard_url: https://grafana.example.org/d/k8s-dns-node?var-cluster=&var-node=node-a"
        in (tmp_path / "tests" / "causes.test.yml").read_text()
    )


def _write(files: dict[Path, str], into: Path) -> None:
    for path, text in files.items():
        (into / path.relative_to(ALERTS)).parent.mkdir(parents=True, exist_ok=True)
        (into / path.relative_to(ALERTS)).write_text(text)


def test_a_team_config_renames_jobs_severities_and_labels_without_editing_yaml(tmp_path: Path) -> None:
    team = parse(
        {
            "exporter_job": 'job="dns-probe"',
            "coredns_job": 'job="kube-dns-main"',
            "objective": 0.999,
            "latency_p99_seconds": {"service": 0.1},
            "page_node_share": 0.5,
            "severities": {"critical": "P1", "warning": "P3", "info": "P4"},
            "extra_labels": {"team": "platform"},
        },
        "team.yml",
    )
    _write(outputs(team), tmp_path)
    check = _promtool("check", "rules", *map(str, sorted(tmp_path.rglob("*.rules.yml"))))
    assert check.returncode == 0, check.stdout + check.stderr
    alerts = [
        rule for path in sorted(tmp_path.rglob("*.rules.yml")) for rule in _rules(path) if "alert" in rule
    ]
    assert {rule["labels"]["severity"] for rule in alerts} == {"P1", "P3", "P4"}  # type: ignore[index]
    assert all(rule["labels"]["team"] == "platform" for rule in alerts)  # type: ignore[index]
    by_name = {str(rule["alert"]): rule for rule in alerts}
    assert by_name["K8sDNSProbeErrorBudgetFastBurn"]["labels"]["severity"] == "P1"  # type: ignore[index]
    assert "> 0.0144" in str(by_name["K8sDNSProbeErrorBudgetFastBurn"]["expr"])  # 14.4 x 0.1%
    assert ">= 0.5" in str(by_name["K8sDNSProbeErrorBudgetFastBurn"]["expr"])
    assert by_name["K8sDNSExporterDown"]["expr"] == 'up{job="dns-probe"} == 0'
    assert 'job="kube-dns-main"' in str(by_name["CoreDNSPanics"]["expr"])
    assert 'path=~"service|nodelocal"} > 0.1' in str(by_name["K8sDNSLatencyHigh"]["expr"])
    tested = _promtool("test", "rules", "causes.test.yml", cwd=tmp_path / "tests")
    assert tested.returncode == 0, tested.stdout + tested.stderr


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"objectve": 0.99}, "unknown setting"),
        ({"objective": 1.5}, "objective: expected a number"),
        ({"objective": "high"}, "objective: expected a number"),
        ({"latency_p99_seconds": {"dns": 1}}, "latency_p99_seconds: expected positive seconds"),
        ({"severities": {"page": "P1"}}, "unknown severity page"),
        ({"extra_labels": {"team": 3}}, "extra_labels: expected text values"),
        ({"exporter_job": ""}, "exporter_job: expected text"),
        (["objective"], "expected a mapping"),
    ],
)
def test_a_bad_team_config_is_refused_naming_the_setting(raw: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse(raw, "team.yml")
