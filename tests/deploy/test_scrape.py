"""The plain-Prometheus scrape job: a real Prometheus runs its relabelling on pod targets.

Debian's Prometheus is built without Kubernetes discovery, so the pods are given
as static targets carrying the ``__meta_kubernetes_pod_*`` labels that discovery
would attach; everything after discovery (keep rules, the `node` label) is the
snippet's own, run by Prometheus.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from lab import Lab
from lab.shipped import DEPLOY, NAMESPACE
from tests.conftest import write_config
from tests.integration.prometheus import Prometheus

SNIPPET = DEPLOY / "overlays" / "plain-prometheus" / "scrape-config.yaml"


def _pod(address: str, *, app: str, node: str, port_name: str = "metrics") -> dict[str, Any]:
    """A target as Kubernetes pod discovery describes it."""
    return {
        "targets": [address],
        "labels": {
            "__meta_kubernetes_namespace": NAMESPACE,
            "__meta_kubernetes_pod_name": f"{app}-{node}",
            "__meta_kubernetes_pod_node_name": node,
            "__meta_kubernetes_pod_label_app_kubernetes_io_name": app,
            "__meta_kubernetes_pod_label_app_kubernetes_io_component": "node-agent",
            "__meta_kubernetes_pod_annotation_prometheus_io_scrape": "true",
            "__meta_kubernetes_pod_annotation_prometheus_io_path": "/metrics",
            "__meta_kubernetes_pod_container_port_name": port_name,
        },
    }


def test_snippet_discovers_the_exporter_pods_of_its_namespace() -> None:
    (job,) = yaml.safe_load(SNIPPET.read_text())
    assert job["job_name"] == "k8s-dns-exporter", "the shipped alerts select job=~'.*k8s-dns-exporter.*'"
    assert job["kubernetes_sd_configs"] == [{"role": "pod", "namespaces": {"names": [NAMESPACE]}}]


@pytest.mark.lab
def test_snippet_scrapes_exporter_pods_only_and_labels_their_node(
    shared_lab: Lab, start_exporter: Any, tmp_path: Path
) -> None:
    exporter = start_exporter(shared_lab.config())
    address = exporter.url.removeprefix("http://")
    (job,) = yaml.safe_load(SNIPPET.read_text())
    del job["kubernetes_sd_configs"]
    job |= {"scrape_interval": "1s", "scrape_timeout": "1s"}
    job["static_configs"] = [
        _pod(address, app="k8s-dns-exporter", node="node-a"),
        _pod(address, app="something-else", node="node-b"),  # another pod of the namespace
        _pod(address, app="k8s-dns-exporter", node="node-c", port_name="debug"),  # another port
    ]
    write_config(tmp_path / "job.yaml", job)
    prometheus = Prometheus(tmp_path, [], [], scrape_configs=[job]).start()
    try:
        (up,) = prometheus.wait('up{job="k8s-dns-exporter"} == 1')
        assert {k: up["metric"][k] for k in ("node", "namespace", "pod", "component")} == {
            "node": "node-a",
            "namespace": NAMESPACE,
            "pod": "k8s-dns-exporter-node-a",
            "component": "node-agent",
        }
        assert prometheus.wait('count(k8s_dns_probe_success{node="node-a"})')
        targets = prometheus.api("targets")["data"]["activeTargets"]
        assert len(targets) == 1, "the other pod and the other port are dropped"
    finally:
        prometheus.stop()
