"""The kubernetes: section: defaults, values, and one broken document per rule with its message."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from exporter.config import AUTO, ConfigError, KubernetesConfig, Server, parse_config

NAME = {"name": "example.org.", "type": "A"}


def doc(kubeconfig: Path | None = None, **kubernetes: Any) -> dict[str, Any]:
    section = dict(kubernetes)
    if kubeconfig is not None:
        section.setdefault("config", "kubeconfig")
        section.setdefault("kubeconfig", str(kubeconfig))
    return {"names": [NAME], "paths": {"service": "auto", "pod": "auto"}, "kubernetes": section}


@pytest.fixture
def kubeconfig(tmp_path: Path) -> Path:
    path = tmp_path / "kubeconfig"
    path.write_text("apiVersion: v1\nkind: Config\n")
    return path


def test_off_by_default_and_auto_needs_it() -> None:
    plain = parse_config({"names": [NAME], "paths": {"service": ["10.96.0.10:53"]}})
    assert plain.kubernetes == KubernetesConfig()
    assert plain.kubernetes.enabled is False
    with pytest.raises(ConfigError) as caught:
        parse_config({"names": [NAME], "paths": {"pod": "auto"}})
    assert str(caught.value) == (
        "paths.pod: 'auto' discovery reads the Kubernetes API: set kubernetes.config to in-cluster or kubeconfig"
    )
    with pytest.raises(ConfigError) as caught:
        parse_config({"mode": "cluster", "names": [NAME], "paths": {"service": ["10.96.0.10:53"]}})
    assert str(caught.value).startswith("mode: cluster mode reads the Kubernetes API")


def test_values_and_defaults(kubeconfig: Path) -> None:
    config = parse_config(
        doc(
            kubeconfig,
            namespace="dns",
            service="coredns",
            nodelocal={"address": "169.254.25.10"},
            interval="20s",
            lease={"duration": "6s", "renew_deadline": "4s", "retry_period": "1s"},
            capacity={"cores_per_replica": 128, "min_replicas": 3},
        )
    )
    k8s = config.kubernetes
    assert config.paths["service"] == AUTO
    assert (k8s.config, k8s.kubeconfig, k8s.namespace, k8s.service) == (
        "kubeconfig",
        str(kubeconfig),
        "dns",
        "coredns",
    )
    assert k8s.nodelocal_address == Server("169.254.25.10", 53)
    assert (k8s.interval, k8s.inventory_interval, k8s.refresh, k8s.timeout) == (20.0, 300.0, 300.0, 10.0)
    assert (k8s.lease.namespace, k8s.lease.duration, k8s.lease.renew_deadline) == ("dns", 6.0, 4.0)
    assert (k8s.capacity.cores_per_replica, k8s.capacity.nodes_per_replica, k8s.capacity.min_replicas) == (
        128,
        16,
        3,
    )


def test_kubeconfig_defaults_to_the_environment(kubeconfig: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECONFIG", f"{kubeconfig}:/elsewhere")
    config = parse_config(doc(config="kubeconfig"))
    assert config.kubernetes.kubeconfig == str(kubeconfig)


BROKEN = [
    (dict(config="yes"), "kubernetes.config: 'yes' is not one of: off, in-cluster, kubeconfig"),
    (
        dict(config="in-cluster", kubeconfig="/x"),
        "kubernetes.kubeconfig: is only read with config: kubeconfig, not in-cluster",
    ),
    (
        dict(config="kubeconfig", kubeconfig="/nonexistent/kubeconfig"),
        "kubernetes.kubeconfig: no such file: /nonexistent/kubeconfig",
    ),
    (
        dict(config="in-cluster", namespace="Kube_System"),
        "kubernetes.namespace: 'Kube_System' is not a valid namespace name",
    ),
    (
        dict(config="in-cluster", service="kube dns"),
        "kubernetes.service: 'kube dns' is not a valid object name",
    ),
    (
        dict(config="in-cluster", pod_selector="k8s-app in (a)"),
        "kubernetes.pod_selector: 'k8s-app in (a)' is not a label selector like",
    ),
    (
        dict(config="in-cluster", nodelocal={"address": "node-local"}),
        "kubernetes.nodelocal.address: 'node-local' is not an IP address",
    ),
    (dict(config="in-cluster", nodelocal={"ip": "1.2.3.4"}), "kubernetes.nodelocal.ip: unknown key"),
    (
        dict(config="in-cluster", configmaps={"corefile": "Core File"}),
        "kubernetes.configmaps.corefile: 'Core File' is not a valid object name",
    ),
    (dict(config="in-cluster", interval="30"), "kubernetes.interval: '30' is not a duration"),
    (
        dict(config="in-cluster", interval="1m", inventory_interval="30s"),
        "kubernetes.inventory_interval: '30s' is out of range [60s, 86400s]",
    ),
    (dict(config="in-cluster", qps=0), "kubernetes.qps: 0 is out of range [0.1, 1000]"),
    (dict(config="in-cluster", page_size=0), "kubernetes.page_size: 0 is out of range [1, 10000]"),
    (
        dict(config="in-cluster", lease={"duration": "10s", "renew_deadline": "10s"}),
        "kubernetes.lease.renew_deadline: must be shorter than duration (10s >= 10s)",
    ),
    (
        dict(config="in-cluster", lease={"renew_deadline": "2s", "retry_period": "2s"}),
        "kubernetes.lease.retry_period: x 1.2 must be shorter than renew_deadline (2s, 2s)",
    ),
    (
        dict(config="in-cluster", capacity={"min_replicas": 0}),
        "kubernetes.capacity.min_replicas: 0 is out of range [1, 10000]",
    ),
    (
        dict(config="in-cluster", capacity={"min_replicas": 4, "max_replicas": 3}),
        "kubernetes.capacity.max_replicas: 3 is below min_replicas (4)",
    ),
    (
        dict(config="in-cluster", capacity={"target_utilisation": 1.5}),
        "kubernetes.capacity.target_utilisation: 1.5 is out of range [0.05, 1]",
    ),
    (
        dict(config="in-cluster", capacity={"peak_window": "10s"}),
        "kubernetes.capacity.peak_window: ",
    ),
    (
        dict(config="in-cluster", capacity={"autoscaler_configmaps": "coredns-autoscaler"}),
        "kubernetes.capacity.autoscaler_configmaps: must be a list of ConfigMap names",
    ),
    (
        dict(config="in-cluster", capacity={"autoscaler_configmaps": ["ok", "Not_A_Name"]}),
        "kubernetes.capacity.autoscaler_configmaps[1]: 'Not_A_Name' is not a valid object name",
    ),
    (dict(config="in-cluster", capacity={"cores": 1}), "kubernetes.capacity.cores: unknown key"),
    (dict(config="in-cluster", watch=True), "kubernetes.watch: unknown key"),
]


@pytest.mark.parametrize(("section", "message"), BROKEN, ids=[m.split(":")[0] for _, m in BROKEN])
def test_broken_kubernetes_section(section: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(doc(**section))
    assert str(caught.value).startswith(message), str(caught.value)
