"""The end-to-end proof in cluster mode: a real Prometheus scrapes a node agent and the cluster
instance, both discovering the lab through the test Kubernetes API, with the shipped rules.

Every dashboard query and rule expression returns data where the two exporters expose the
metrics behind it (the capacity dashboard included), and the fake cluster's real problems
drive their cause alerts.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
import yaml

from lab import Lab
from lab.kubeapi.cluster import NODES, POD_NAMES, fake_cluster
from lab.kubeapi.server import KubeAPI
from tests.conftest import REPO
from tests.integration.metrics_text import samples
from tests.integration.prometheus import Prometheus
from tests.integration.queries import METRIC, RULE_FILES, dashboard_queries, exposed_names, rule_expressions
from tests.kubeapi.serving import FAST_CLUSTER, capacity_ready, config

pytestmark = pytest.mark.lab

OVERLAYS = REPO / "deploy" / "overlays"
OPERATOR_TARGET_LABELS = ("namespace", "pod", "container", "endpoint")
"""What the Prometheus Operator adds to every PodMonitor target before the monitor's own relabelings."""


def shipped_target_labels(pod: str) -> dict[str, str]:
    """The labels the shipped scrape config and PodMonitor put on an exporter pod's target."""
    scrape = yaml.safe_load((OVERLAYS / "plain-prometheus" / "scrape-config.yaml").read_text())
    monitor = yaml.safe_load((OVERLAYS / "prometheus-operator" / "podmonitor.yaml").read_text())
    names = {r["target_label"] for job in scrape for r in job["relabel_configs"] if "target_label" in r}
    names |= {r["targetLabel"] for e in monitor["spec"]["podMetricsEndpoints"] for r in e["relabelings"]}
    names = {name for name in names | set(OPERATOR_TARGET_LABELS) if not name.startswith("__")}
    assert {"pod", "node"} <= names
    return {name: f"{pod}-{name}" for name in sorted(names)} | {"pod": pod, "node": "exporter-node"}


def capacity_panels() -> list[tuple[str, str, str]]:
    """(title, expr, legend) of every query of the capacity dashboard, for cluster "lab"."""
    board = json.loads((REPO / "dashboards" / "k8s-dns-coredns-capacity.json").read_text())
    return [
        (panel["title"], target["expr"].replace("$cluster", "lab"), target.get("legendFormat", ""))
        for panel in board["panels"]
        for target in panel.get("targets", [])
    ]


def test_cluster_and_node_metrics_feed_every_panel_and_the_cause_alerts(
    lab: Lab, kube_api: KubeAPI, kubeconfig: Path, tmp_path: Path, start_exporter
) -> None:
    fake_cluster(kube_api, lab)
    node = start_exporter(config(lab, kubeconfig), name="node.yaml")
    cluster = start_exporter(config(lab, kubeconfig, mode="cluster", **FAST_CLUSTER), name="cluster.yaml")
    cluster.wait_for(lambda: capacity_ready(cluster.metrics()), what="every cluster reader")
    lab.kill("nodelocal")  # a fault too, so that the failure panels have data
    # Both targets carry what the shipped scrape configs add: the exporter's own pod and node.
    targets = [
        {
            "targets": [node.url.removeprefix("http://")],
            "labels": {
                "cluster": "lab",
                **shipped_target_labels("k8s-dns-exporter-agent-x1"),
                "node": "lab-node-1",
            },
        },
        {
            "targets": [cluster.url.removeprefix("http://")],
            "labels": {"cluster": "lab", **shipped_target_labels("k8s-dns-exporter-cluster-7c9f")},
        },
    ]
    prometheus = Prometheus(tmp_path, targets, RULE_FILES).start()
    try:
        prometheus.wait("cluster:k8s_dns_coredns_replicas_recommended:max")
        prometheus.wait("cluster_path:k8s_dns_probe_duration_seconds:p99_rate5m")
        prometheus.wait('instance_path:k8s_dns_probe_success:ratio_rate5m{path="nodelocal"} < 0.5')
        exposed = exposed_names(node.metrics()) | exposed_names(cluster.metrics())
        prometheus.settle()  # what both expose now is scraped twice and every rule ran on it
        recorded = {name for name, _, is_recording in rule_expressions() if is_recording}
        alerts = {name for name, _, is_recording in rule_expressions() if not is_recording}
        problems, with_data = [], 0
        for name, expr in dashboard_queries() + [(n, e) for n, e, _ in rule_expressions()]:
            result = prometheus.query(expr)
            if result.get("status") != "success":
                problems.append(f"{name}: does not parse: {result.get('error')}")
                continue
            used = set(METRIC.findall(expr))
            rules_used = set(re.findall(r"\b[a-z_]+:[a-z0-9_:]+\b", expr))
            if used <= exposed and rules_used <= recorded and name not in alerts:
                if result["data"]["result"]:
                    with_data += 1
                else:
                    problems.append(f"{name}: no data although both exporters expose {sorted(used)}")
        assert problems == []
        assert with_data >= 40  # node, probe and cluster panels alike

        deadline = time.monotonic() + 30
        wanted = {
            "K8sDNSCoreDNSNodeOverloaded",
            "K8sDNSEndpointsliceMigration",
            "K8sDNSStatefulsetServiceMismatch",
        }
        seen: dict[str, dict[str, object]] = {}
        while time.monotonic() < deadline and not wanted <= seen.keys():
            seen = {a["labels"]["alertname"]: a for a in prometheus.api("alerts")["data"]["alerts"]}
            time.sleep(0.5)
        assert wanted <= seen.keys(), sorted(seen)
        overloaded = seen["K8sDNSCoreDNSNodeOverloaded"]
        assert overloaded["labels"]["severity"] == "warning"
        assert "Busiest node hosting CoreDNS is at 95% CPU." in overloaded["annotations"]["description"]
        causes = {
            a["labels"].get("cause") for a in seen.values() if a["labels"].get("k8s_dns_alert") == "cause"
        }
        assert causes == {
            "coredns_node_overloaded",
            "endpointslice_migration",
            "statefulset_service_mismatch",
            "nodelocal_down",
        }
        cause_samples = samples(cluster.metrics(), "k8s_dns_cause_active", cause="coredns_node_overloaded")
        assert cause_samples[0][1] == 1

        # The capacity dashboard names CoreDNS's pods and nodes, not the exporter's own.
        legends: dict[str, set[str]] = {}
        for title, expr, legend in capacity_panels():
            for result in prometheus.query(expr)["data"]["result"]:
                labels = result["metric"]
                assert not {"exported_pod", "exported_node"} & labels.keys(), (title, labels)
                for name in re.findall(r"\{\{(\w+)\}\}", legend):
                    legends.setdefault(title, set()).add(labels.get(name, ""))
                if title == "CoreDNS pods":
                    legends.setdefault(title, set()).add(
                        f"{labels['coredns_pod']} on {labels['coredns_node']}"
                    )
        # No CPU limit on the lab's CoreDNS (the kubeadm default): that panel has no series here.
        assert "CPU usage / limit by pod" not in legends
        pods = set(POD_NAMES)
        assert legends["Memory usage / limit by pod"] == pods
        assert legends["Restarts per hour by pod"] == pods
        assert legends["Nodes hosting CoreDNS: CPU and memory"] <= set(NODES)
        assert legends["Nodes hosting CoreDNS: CPU and memory"]
        assert legends["CoreDNS pods"] == {
            f"{pod} on {node}" for pod, node in zip(POD_NAMES, NODES, strict=False)
        }
    finally:
        prometheus.stop()
