"""The end-to-end proof: a real Prometheus scrapes the exporter in the lab with the shipped rules.

Every dashboard query and every rule expression parses and, where the lab has the
metrics behind it, returns data; a lab fault drives the matching cause alert.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from alerts.generate import DEFAULT_RUNBOOK_BASE
from lab import Lab
from tests.integration.metrics_text import samples
from tests.integration.prometheus import Prometheus
from tests.integration.queries import (
    LABELS,
    METRIC,
    RULE_FILES,
    dashboard_queries,
    exposed_names,
    rule_expressions,
)

pytestmark = pytest.mark.lab


@pytest.fixture
def stack(lab: Lab, tmp_path: Path, start_exporter) -> Iterator[tuple[Lab, Prometheus, str]]:
    exporter = start_exporter(lab.config(resolv_conf=lab.write_resolv_conf(tmp_path / "resolv.conf")))
    target = exporter.url.removeprefix("http://")
    prometheus = Prometheus(tmp_path, [{"targets": [target], "labels": LABELS}], RULE_FILES).start()
    try:
        yield lab, prometheus, exporter.metrics
    finally:
        prometheus.stop()


def test_queries_parse_return_data_and_a_fault_fires_its_alert(stack) -> None:
    lab, prometheus, exporter_metrics = stack
    lab.kill("nodelocal")  # a fault, so that failure series exist too
    prometheus.wait('cluster_path:k8s_dns_probe_failures:ratio_rate5m{path="nodelocal"} > 0')
    prometheus.wait("cluster_path:k8s_dns_probe_duration_seconds:p99_rate5m")
    exposed = exposed_names(exporter_metrics())
    prometheus.settle()  # what the exporter exposes now is scraped twice and every rule ran on it
    recorded = {name for name, _, is_recording in rule_expressions() if is_recording}
    problems = []
    for name, expr in dashboard_queries() + [(n, e) for n, e, _ in rule_expressions()]:
        result = prometheus.query(expr)
        if result.get("status") != "success":
            problems.append(f"{name}: does not parse: {result.get('error')}")
            continue
        used = set(METRIC.findall(expr))
        has_data = used <= exposed and not ({*re.findall(r"\b[a-z_]+:[a-z0-9_:]+\b", expr)} - recorded)
        is_alert = any(n == name and not rec for n, _, rec in rule_expressions())
        if has_data and not is_alert and not result["data"]["result"]:
            problems.append(f"{name}: no data although the lab exposes {sorted(used)}: {expr}")
    assert problems == []

    def alert_state(name: str) -> str | None:
        alerts = prometheus.api("alerts")["data"]["alerts"]
        states = [a["state"] for a in alerts if a["labels"]["alertname"] == name]
        return states[0] if states else None

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and alert_state("K8sDNSNodeLocalDown") is None:
        time.sleep(0.5)
    assert alert_state("K8sDNSNodeLocalDown") in ("pending", "firing")
    (alert,) = [
        a
        for a in prometheus.api("alerts")["data"]["alerts"]
        if a["labels"]["alertname"] == "K8sDNSNodeLocalDown"
    ]
    # One node's NodeLocal: a ticket that says which node, its evidence read on that node.
    assert alert["labels"] == {
        "alertname": "K8sDNSNodeLocalDown",
        "cause": "nodelocal_down",
        "severity": "warning",
        "k8s_dns_alert": "cause",
        "cluster": "lab",
        "node": "lab-node-1",
        "instance": alert["labels"]["instance"],
    }
    assert alert["annotations"]["runbook_url"] == f"{DEFAULT_RUNBOOK_BASE}/nodelocal_down.md"
    assert alert["annotations"]["summary"].startswith(
        f"NodeLocal DNSCache on this node does not answer: node lab-node-1 ({alert['labels']['instance']})"
    )
    assert "NodeLocal DNSCache probes failing on this node: 4." in alert["annotations"]["description"]
    # Nothing else is named: the pods, the Service and the upstreams still answer.
    assert {
        a["labels"]["alertname"]
        for a in prometheus.api("alerts")["data"]["alerts"]
        if a["labels"].get("k8s_dns_alert") == "cause"
    } == {"K8sDNSNodeLocalDown"}
    assert samples(exporter_metrics(), "k8s_dns_cause_active", cause="nodelocal_down")[0][1] == 1
