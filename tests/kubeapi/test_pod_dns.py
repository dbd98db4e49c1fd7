"""Sampled pods' DNS settings: NodeLocal bypassed in IPVS mode, pods pointed away from cluster DNS."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lab import Lab
from lab.kubeapi.cluster import fake_cluster, host
from lab.kubeapi.server import KubeAPI
from lab.kubeapi.workloads import kube_proxy_configmap
from tests.conftest import run_cli, write_config
from tests.kubeapi.pods import pod
from tests.kubeapi.serving import config

pytestmark = pytest.mark.lab


def doctor(lab: Lab, kubeconfig: Path, tmp_path: Path, **kubernetes: Any) -> dict[str, Any]:
    doc = config(lab, kubeconfig, mode="cluster", **kubernetes)
    result = run_cli("doctor", "--config", str(write_config(tmp_path / "c.yaml", doc)), "--format", "json")
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_sampled_pods_name_a_bypassed_nodelocal_and_pods_that_skip_cluster_dns(
    lab: Lab, kube_api: KubeAPI, kubeconfig: Path, tmp_path: Path
) -> None:
    cluster = fake_cluster(
        kube_api, lab
    )  # five ClusterFirst web pods, kube-proxy ipvs, node-local-dns present
    put = kube_api.store.put
    put(pod("cached-1", servers=[host(lab.address("nodelocal"))]))  # the NodeLocal address this config names
    put(pod("own-dns", policy="None", servers=["192.0.2.99"]))
    # AKS LocalDNS's address for pods, written by hand: a cache on the node, not a bypass.
    put(pod("localdns", policy="None", servers=["169.254.10.11"]))
    put(pod("host-agent", host_network=True))
    put(pod("system-agent", namespace="kube-system"))
    put(pod("finished", phase="Succeeded"))
    report = doctor(lab, kubeconfig, tmp_path, sample_pods=100)
    sample = report["cluster"]["pod_dns"]
    assert (
        sample["sampled"] == 8
    )  # 5 web, cached-1, own-dns, localdns; not host-network, kube-system, finished
    assert (sample["cluster_first"], sample["nodelocal"], sample["bypassing_total"]) == (6, 1, 5)
    assert sample["elsewhere"] == [{"pod": "default/own-dns", "nameservers": ["192.0.2.99"]}]
    causes = {c["cause"]: c for c in report["causes"]}
    bypassed = causes["nodelocal_bypassed"]
    assert bypassed["summary"].startswith("NodeLocal DNSCache runs, but 5 of 8 sampled pods")
    assert "NodeLocal DNSCache DaemonSet present; kube-proxy mode ipvs" in bypassed["evidence"]
    assert causes["pod_resolv_conf_wrong"]["evidence"] == [
        "default/own-dns: dnsPolicy None, nameservers 192.0.2.99"
    ]
    assert report["collectors"]["pod_dns"] == {"success": True, "error": None}
    assert cluster.pods  # the CoreDNS pods themselves are never sampled (their namespace is left out)


def test_iptables_mode_and_sampling_off_name_nothing(
    lab: Lab, kube_api: KubeAPI, kubeconfig: Path, tmp_path: Path
) -> None:
    fake_cluster(kube_api, lab)
    off = doctor(lab, kubeconfig, tmp_path)
    assert off["cluster"]["pod_dns"] is None
    assert "pod_dns" not in off["collectors"]  # not scheduled: no pod list, no failing collector
    assert "nodelocal_bypassed" not in {c["cause"] for c in off["causes"]}

    kube_api.store.put(kube_proxy_configmap("iptables"))
    iptables = doctor(lab, kubeconfig, tmp_path, sample_pods=100)
    assert iptables["cluster"]["pod_dns"]["bypassing_total"] == 5
    assert "nodelocal_bypassed" not in {c["cause"] for c in iptables["causes"]}
