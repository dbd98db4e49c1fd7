"""``serve`` and ``doctor`` as real processes, discovering the loopback lab through the test API."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from lab import Lab
from lab.kubeapi.cluster import POD_NAMES, fake_cluster, host
from lab.kubeapi.server import KubeAPI
from tests.conftest import run_cli, write_config
from tests.integration.metrics_text import samples, value
from tests.kubeapi.api_requests import standby_lease_reads
from tests.kubeapi.serving import FAST_CLUSTER, capacity_ready, config, pod_servers

pytestmark = pytest.mark.lab


def test_a_deleted_coredns_pod_leaves_metrics_within_one_round(
    lab: Lab, kube_api: KubeAPI, kubeconfig: Path, start_exporter: Any
) -> None:
    cluster = fake_cluster(kube_api, lab)
    exporter = start_exporter(config(lab, kubeconfig))
    pod1, pod2 = lab.address("pod-1"), lab.address("pod-2")
    exporter.wait_for(lambda: pod_servers(exporter.metrics()) == {pod1, pod2}, what="both pods probed")
    text = exporter.metrics()
    assert value(text, "k8s_dns_discovery_targets", path="pod") == 2
    assert value(text, "k8s_dns_discovery_targets", path="service") == 1
    assert value(text, "k8s_dns_discovery_targets", path="nodelocal") == 1
    assert value(text, "k8s_dns_discovery_targets", path="upstream") == 2
    assert {labels["server"] for labels, _ in samples(text, "k8s_dns_probe_success", path="upstream")} == {
        lab.address("upstream-1"),
        lab.address("upstream-2"),
    }
    assert {v for _, v in samples(text, "k8s_dns_probe_success")} == {1.0}
    assert value(text, "k8s_dns_collector_success", collector="endpointslices") == 1
    assert samples(text, "k8s_dns_leader") == []  # node mode has no election

    rounds_before = value(text, "k8s_dns_probe_rounds_total")
    deleted = time.monotonic()
    cluster.remove_pod(1)
    exporter.wait_for(
        lambda: pod_servers(exporter.metrics()) == {pod1}, what="the deleted pod to leave /metrics"
    )
    took = time.monotonic() - deleted
    text = exporter.metrics()
    # The round running when the watch event came may still have probed it; the next one does not.
    assert value(text, "k8s_dns_probe_rounds_total") - rounds_before <= 2
    assert took < 2 * 1.0 + 1.5  # two intervals plus jitter and margin
    assert all(labels["server"] != pod2 for labels, _ in samples(text, "k8s_dns_probes_total"))
    assert value(text, "k8s_dns_discovery_targets", path="pod") == 1

    # What the API server paid: one selector-scoped watch, nothing cluster-wide.
    watches = [r for r in kube_api.requests if r.params.get("watch") == "true"]
    assert [(w.path, w.params["labelSelector"]) for w in watches] == [
        (
            "/apis/discovery.k8s.io/v1/namespaces/kube-system/endpointslices",
            "kubernetes.io/service-name=kube-dns",
        )
    ]
    assert all("/namespaces/kube-system/" in r.path for r in kube_api.requests)

    # Memory: the node agent never loads the kubernetes client (nor pydantic under it).
    pid = exporter.process.pid
    maps = Path(f"/proc/{pid}/maps").read_text()
    assert "pydantic_core" not in maps
    status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    high_water_kib = int(status["VmHWM"].split()[0])
    assert high_water_kib < 45 * 1024, f"node agent peak RSS {high_water_kib} KiB"


def test_two_cluster_instances_elect_one_reporter_and_hand_over(
    lab: Lab, kube_api: KubeAPI, kubeconfig: Path, start_exporter: Any
) -> None:
    fake_cluster(kube_api, lab)
    capacity = {"cores_per_replica": 4, "nodes_per_replica": 2}
    doc = config(lab, kubeconfig, mode="cluster", capacity=capacity, **FAST_CLUSTER)
    first = start_exporter(doc, name="first.yaml")
    first.wait_for(lambda: samples(first.metrics(), "k8s_dns_leader") == [({}, 1.0)], what="first to lead")
    seen = len(kube_api.requests)
    second = start_exporter(doc, name="second.yaml")
    rounds = value(second.metrics(), "k8s_dns_probe_rounds_total")
    # Five retry periods as a standby (five Lease reads without a write) and a probe round since start.
    second.wait_for(
        lambda: (
            standby_lease_reads(kube_api.requests[seen:]) >= 5
            and value(second.metrics(), "k8s_dns_probe_rounds_total") > rounds
        ),
        what="five retry periods and a probe round of the second instance",
    )
    assert samples(second.metrics(), "k8s_dns_leader") == [({}, 0.0)]
    standby = second.metrics()
    assert samples(standby, "k8s_dns_coredns_pod_info") == []
    assert samples(standby, "k8s_dns_probe_success") == []  # a standby probes nothing

    leader = first.wait_for(lambda: capacity_ready(first.metrics()), what="cluster readings")
    check = subprocess.run(
        ["promtool", "check", "metrics"], input=leader, capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert value(leader, "k8s_dns_coredns_replicas") == 2
    assert value(leader, "k8s_dns_coredns_recommended_replicas", formula="linear") == 4
    assert value(leader, "k8s_dns_cluster_nodes") == 3
    assert value(leader, "k8s_dns_cluster_cpu_cores") == pytest.approx(15.74)
    assert value(leader, "k8s_dns_cluster_pods") == 7
    assert value(leader, "k8s_dns_cluster_services") == 6
    assert value(leader, "k8s_dns_coredns_memory_recommended_bytes") == pytest.approx(56636735.488)
    assert value(leader, "k8s_dns_kube_proxy_mode_info", mode="ipvs") == 1
    assert value(leader, "k8s_dns_corefile_forward_targets") == 2
    assert value(leader, "k8s_dns_statefulsets_service_mismatch") == 2
    assert value(leader, "k8s_dns_tolerate_unready_services") == 1
    assert value(leader, "k8s_dns_coredns_network_policies") == 2
    assert (
        value(
            leader,
            "k8s_dns_coredns_pod_info",
            coredns_pod=POD_NAMES[0],
            coredns_node="node-1",
            ip=host(lab.address("pod-1")),
            version="1.11.1",
        )
        == 1
    )
    assert value(leader, "k8s_dns_coredns_node_cpu_usage_ratio", coredns_node="node-1") == pytest.approx(0.5)
    assert (
        value(
            leader,
            "k8s_dns_probe_success",
            path="upstream",
            server=lab.address("upstream-1"),
            name="example.org.",
            qtype="A",
            transport="udp",
        )
        == 1
    )

    assert first.stop() == 0  # releases the Lease on the way out
    second.wait_for(
        lambda: samples(second.metrics(), "k8s_dns_leader") == [({}, 1.0)], timeout=10, what="handover"
    )
    second.wait_for(lambda: capacity_ready(second.metrics()), what="the new leader's readings")
    events = [json.loads(line)["event"] for line in second.output().splitlines() if line.startswith("{")]
    assert "leader_elected" in events
    second.signal(signal.SIGTERM)


def test_doctor_lists_discovered_targets_and_cluster_readings(
    lab: Lab, kube_api: KubeAPI, kubeconfig: Path, tmp_path: Path
) -> None:
    fake_cluster(kube_api, lab)
    path = write_config(tmp_path / "c.yaml", config(lab, kubeconfig, mode="cluster"))
    result = run_cli("doctor", "--config", str(path), "--format", "json")
    report = json.loads(result.stdout)
    assert report["discovery"]["targets"] == {
        "service": [lab.address("service")],
        "pod": [lab.address("pod-1"), lab.address("pod-2")],
        "nodelocal": [lab.address("nodelocal")],
        "upstream": [lab.address("upstream-1"), lab.address("upstream-2")],
    }
    cluster = report["cluster"]
    assert cluster["leader"] is True
    assert cluster["coredns"]["replicas"] == 2
    assert cluster["coredns"]["version"] == "1.11.1"
    assert cluster["kube_proxy_mode"] == "ipvs"
    assert cluster["corefile"]["forwards"][0]["targets"] == [
        lab.address("upstream-1"),
        lab.address("upstream-2"),
    ]
    assert cluster["capacity"]["inputs"] == {
        "nodes": 3,
        "cpu_cores": 15.74,
        "pods": 7,
        "services": 6,
        "autopath": False,
    }
    assert cluster["statefulsets_service_mismatch"][0]["statefulset"] == "data/kafka"
    assert report["collectors"]["coredns_pods"] == {"success": True, "error": None}
    assert {p["path"] for p in report["probes"]} == {"service", "pod", "nodelocal", "upstream"}
    # The fake cluster carries real problems (node-2 at 95% CPU among them): the report names them.
    assert {c["cause"] for c in report["causes"]} == {
        "coredns_node_overloaded",
        "endpointslice_migration",
        "statefulset_service_mismatch",
    }
    assert result.returncode == 1


def test_doctor_reports_an_unreachable_api_as_data(
    lab: Lab, kube_api: KubeAPI, kubeconfig: Path, tmp_path: Path
) -> None:
    kube_api.stop()
    doc = config(lab, kubeconfig, mode="cluster")
    doc["paths"]["service"] = [lab.address("service")]
    result = run_cli("doctor", "--config", str(write_config(tmp_path / "c.yaml", doc)), "--format", "json")
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["collectors"]["coredns_pods"]["success"] is False
    assert report["collectors"]["coredns_pods"]["error"].startswith("API server unreachable:")
    assert report["source_errors"]["paths.pod"].startswith("DNS pod endpoints not listed yet: 0 unreachable")
    # The static path still probes, and so does the NodeLocal address written in the config.
    assert {p["path"] for p in report["probes"]} == {"service", "nodelocal"}
    assert all(p["result"] == "success" for p in report["probes"])
