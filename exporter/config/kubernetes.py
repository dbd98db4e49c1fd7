"""The ``kubernetes:`` section: how to reach the API and where CoreDNS lives in it."""

from __future__ import annotations

import os
import re
from typing import Any

from exporter.config import _reader as r
from exporter.config._reader import ConfigError
from exporter.config.model import CapacityConfig, KubernetesConfig, LeaseConfig, Server

_KEYS = (
    "config",
    "kubeconfig",
    "context",
    "namespace",
    "service",
    "pod_selector",
    "configmaps",
    "nodelocal",
    "interval",
    "inventory_interval",
    "refresh",
    "timeout",
    "qps",
    "page_size",
    "sample_pods",
    "lease",
    "capacity",
)
_MODES = ("off", "in-cluster", "kubeconfig")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
_SELECTOR_PART = re.compile(r"^[A-Za-z0-9./_-]+(\s*(=|==|!=)\s*[A-Za-z0-9._-]*)?$")


def parse_kubernetes(raw: Any, path: str, here: str) -> KubernetesConfig:
    doc = r.mapping(raw, path, _KEYS)
    base = KubernetesConfig()
    raw_mode = doc.get("config", base.config)
    if raw_mode is False:  # YAML reads an unquoted `off` as false
        raw_mode = "off"
    mode = r.string(raw_mode, r.join(path, "config"), choices=_MODES)
    namespace = _label(doc.get("namespace", base.namespace), r.join(path, "namespace"))
    maps = r.mapping(doc.get("configmaps"), r.join(path, "configmaps"), ("corefile", "custom", "kube_proxy"))
    local = r.mapping(doc.get("nodelocal"), r.join(path, "nodelocal"), ("daemonset", "configmap", "address"))
    interval = r.duration(doc.get("interval", "30s"), r.join(path, "interval"), low=1, high=3600)
    address = base.nodelocal_address
    if "address" in local:
        host, port = r.host_port(local["address"], r.join(path, "nodelocal.address"), default_port=53)
        address = Server(host, port)
    return KubernetesConfig(
        config=mode,  # type: ignore[arg-type]
        kubeconfig=_kubeconfig(doc, mode, path, here),
        context=r.string(doc["context"], r.join(path, "context")) if doc.get("context") else None,
        namespace=namespace,
        service=_name(doc.get("service", base.service), r.join(path, "service")),
        pod_selector=_selector(doc.get("pod_selector", base.pod_selector), r.join(path, "pod_selector")),
        corefile_configmap=_name(
            maps.get("corefile", base.corefile_configmap), f"{path}.configmaps.corefile"
        ),
        custom_configmap=_name(maps.get("custom", base.custom_configmap), f"{path}.configmaps.custom"),
        kube_proxy_configmap=_name(
            maps.get("kube_proxy", base.kube_proxy_configmap), f"{path}.configmaps.kube_proxy"
        ),
        nodelocal_daemonset=_name(
            local.get("daemonset", base.nodelocal_daemonset), f"{path}.nodelocal.daemonset"
        ),
        nodelocal_configmap=_name(
            local.get("configmap", base.nodelocal_configmap), f"{path}.nodelocal.configmap"
        ),
        nodelocal_address=address,
        interval=interval,
        inventory_interval=r.duration(
            doc.get("inventory_interval", "5m"), r.join(path, "inventory_interval"), low=interval, high=86400
        ),
        refresh=r.duration(doc.get("refresh", "5m"), r.join(path, "refresh"), low=1, high=86400),
        timeout=r.duration(doc.get("timeout", "10s"), r.join(path, "timeout"), low=0.1, high=300),
        qps=r.number(doc.get("qps", base.qps), r.join(path, "qps"), low=0.1, high=1000),
        page_size=r.integer(
            doc.get("page_size", base.page_size), r.join(path, "page_size"), low=1, high=10000
        ),
        sample_pods=r.integer(
            doc.get("sample_pods", base.sample_pods), r.join(path, "sample_pods"), low=0, high=5000
        ),
        lease=_lease(doc.get("lease"), r.join(path, "lease"), namespace),
        capacity=_capacity(doc.get("capacity"), r.join(path, "capacity")),
    )


def _kubeconfig(doc: Any, mode: str, path: str, here: str) -> str | None:
    if "kubeconfig" in doc:
        if mode != "kubeconfig":
            raise ConfigError(r.join(path, "kubeconfig"), f"is only read with config: kubeconfig, not {mode}")
        file = os.path.join(here, os.path.expanduser(r.string(doc["kubeconfig"], r.join(path, "kubeconfig"))))
    elif mode == "kubeconfig":
        from_env = os.environ.get("KUBECONFIG", "").split(os.pathsep)[0]
        file = from_env or os.path.expanduser("~/.kube/config")
    else:
        return None
    if not os.path.isfile(file):
        raise ConfigError(r.join(path, "kubeconfig"), f"no such file: {file}")
    return file


def _lease(raw: Any, path: str, namespace: str) -> LeaseConfig:
    doc = r.mapping(
        raw, path, ("name", "namespace", "duration", "renew_deadline", "retry_period", "identity")
    )
    duration = r.duration(doc.get("duration", "15s"), r.join(path, "duration"), low=1, high=3600)
    renew = r.duration(doc.get("renew_deadline", "10s"), r.join(path, "renew_deadline"), low=0.5, high=3600)
    retry = r.duration(doc.get("retry_period", "2s"), r.join(path, "retry_period"), low=0.1, high=600)
    if renew >= duration:
        raise ConfigError(
            r.join(path, "renew_deadline"), f"must be shorter than duration ({renew:g}s >= {duration:g}s)"
        )
    if retry * 1.2 >= renew:
        raise ConfigError(
            r.join(path, "retry_period"),
            f"x 1.2 must be shorter than renew_deadline ({retry:g}s, {renew:g}s)",
        )
    return LeaseConfig(
        name=_name(doc.get("name", "k8s-dns-exporter"), r.join(path, "name")),
        namespace=_label(doc.get("namespace", namespace), r.join(path, "namespace")),
        duration=duration,
        renew_deadline=renew,
        retry_period=retry,
        identity=r.string(doc["identity"], r.join(path, "identity")) if "identity" in doc else None,
    )


def _capacity(raw: Any, path: str) -> CapacityConfig:
    keys = (
        "cores_per_replica",
        "nodes_per_replica",
        "min_replicas",
        "max_replicas",
        "include_unschedulable_nodes",
    )
    doc = r.mapping(raw, path, keys)
    base = CapacityConfig()
    low = r.integer(
        doc.get("min_replicas", base.min_replicas), r.join(path, "min_replicas"), low=1, high=10000
    )
    high = r.integer(
        doc.get("max_replicas", base.max_replicas), r.join(path, "max_replicas"), low=0, high=10000
    )
    if high and high < low:
        raise ConfigError(r.join(path, "max_replicas"), f"{high} is below min_replicas ({low})")
    return CapacityConfig(
        cores_per_replica=r.number(
            doc.get("cores_per_replica", base.cores_per_replica),
            r.join(path, "cores_per_replica"),
            low=1,
            high=1e6,
        ),
        nodes_per_replica=r.number(
            doc.get("nodes_per_replica", base.nodes_per_replica),
            r.join(path, "nodes_per_replica"),
            low=1,
            high=1e6,
        ),
        min_replicas=low,
        max_replicas=high,
        include_unschedulable_nodes=r.boolean(
            doc.get("include_unschedulable_nodes", False), r.join(path, "include_unschedulable_nodes")
        ),
    )


def _label(raw: Any, path: str) -> str:
    text = r.string(raw, path)
    if not _DNS_LABEL.match(text):
        raise ConfigError(path, f"{text!r} is not a valid namespace name")
    return text


def _name(raw: Any, path: str) -> str:
    text = r.string(raw, path)
    if not _DNS_SUBDOMAIN.match(text):
        raise ConfigError(path, f"{text!r} is not a valid object name")
    return text


def _selector(raw: Any, path: str) -> str:
    text = r.string(raw, path)
    if not all(_SELECTOR_PART.match(part.strip()) for part in text.split(",")):
        raise ConfigError(path, f"{text!r} is not a label selector like 'k8s-app=kube-dns'")
    return text
