"""The ``kubernetes:`` section: how to reach the API and where CoreDNS lives in it."""

from __future__ import annotations

import os
import re
from functools import partial
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
    namespace = r.given(doc, path, "namespace", _label, base.namespace)
    maps_path, local_path = r.join(path, "configmaps"), r.join(path, "nodelocal")
    maps = r.mapping(doc.get("configmaps"), maps_path, ("corefile", "custom", "kube_proxy", "kube_dns"))
    local = r.mapping(doc.get("nodelocal"), local_path, ("daemonset", "configmap", "address"))
    interval = r.given(doc, path, "interval", partial(r.duration, low=1, high=3600), base.interval)
    address = r.given(local, local_path, "address", _server, base.nodelocal_address)
    return KubernetesConfig(
        config=mode,  # type: ignore[arg-type]
        kubeconfig=_kubeconfig(doc, mode, path, here),
        context=r.given(doc, path, "context", _context, base.context),
        namespace=namespace,
        service=r.given(doc, path, "service", _name, base.service),
        pod_selector=r.given(doc, path, "pod_selector", _selector, base.pod_selector),
        corefile_configmap=r.given(maps, maps_path, "corefile", _name, base.corefile_configmap),
        custom_configmap=r.given(maps, maps_path, "custom", _name, base.custom_configmap),
        kube_proxy_configmap=r.given(maps, maps_path, "kube_proxy", _name, base.kube_proxy_configmap),
        kube_dns_configmap=r.given(maps, maps_path, "kube_dns", _name, base.kube_dns_configmap),
        nodelocal_daemonset=r.given(local, local_path, "daemonset", _name, base.nodelocal_daemonset),
        nodelocal_configmap=r.given(local, local_path, "configmap", _name, base.nodelocal_configmap),
        nodelocal_address=address,
        interval=interval,
        inventory_interval=_inventory_interval(doc, path, interval, base.inventory_interval),
        refresh=r.given(doc, path, "refresh", partial(r.duration, low=1, high=86400), base.refresh),
        timeout=r.given(doc, path, "timeout", partial(r.duration, low=0.1, high=300), base.timeout),
        qps=r.given(doc, path, "qps", partial(r.number, low=0.1, high=1000), base.qps),
        page_size=r.given(doc, path, "page_size", partial(r.integer, low=1, high=10000), base.page_size),
        sample_pods=r.given(doc, path, "sample_pods", partial(r.integer, low=0, high=5000), base.sample_pods),
        lease=_lease(doc.get("lease"), r.join(path, "lease"), namespace),
        capacity=_capacity(doc.get("capacity"), r.join(path, "capacity")),
    )


def _kubeconfig(doc: Any, mode: str, path: str, here: str) -> str | None:
    if "kubeconfig" in doc:
        if mode != "kubeconfig":
            raise ConfigError(r.join(path, "kubeconfig"), f"is only read with config: kubeconfig, not {mode}")
        file = os.path.join(here, os.path.expanduser(r.string(doc["kubeconfig"], r.join(path, "kubeconfig"))))
    elif mode == "kubeconfig":  # computed: $KUBECONFIG's first file, else ~/.kube/config, as kubectl does
        from_env = os.environ.get("KUBECONFIG", "").split(os.pathsep)[0]
        file = from_env or os.path.expanduser("~/.kube/config")
    else:
        return None
    if not os.path.isfile(file):
        raise ConfigError(r.join(path, "kubeconfig"), f"no such file: {file}")
    return file


def _context(raw: Any, path: str) -> str | None:
    return r.string(raw, path) if raw else None  # empty or null: the kubeconfig's current context


def _server(raw: Any, path: str) -> Server:
    host, port = r.host_port(raw, path, default_port=r.field_default(Server, "port"))
    return Server(host, port)


def _inventory_interval(doc: Any, path: str, interval: float, default: float) -> float:
    """Cluster-wide lists run no more often than the cluster readers: the lower bound follows
    ``interval`` and holds the default too (an interval over the default needs it written)."""
    low, high = interval, 86400.0
    seconds = r.given(doc, path, "inventory_interval", partial(r.duration, low=low, high=high), default)
    return r.within(seconds, r.join(path, "inventory_interval"), low=low, high=high)


def _lease(raw: Any, path: str, namespace: str) -> LeaseConfig:
    doc = r.mapping(
        raw, path, ("name", "namespace", "duration", "renew_deadline", "retry_period", "identity")
    )
    base = LeaseConfig()
    duration = r.given(doc, path, "duration", partial(r.duration, low=1, high=3600), base.duration)
    renew = r.given(doc, path, "renew_deadline", partial(r.duration, low=0.5, high=3600), base.renew_deadline)
    retry = r.given(doc, path, "retry_period", partial(r.duration, low=0.1, high=600), base.retry_period)
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
        name=r.given(doc, path, "name", _name, base.name),
        # Computed: the lease lives beside CoreDNS, in the kubernetes namespace, unless written.
        namespace=r.given(doc, path, "namespace", _label, namespace),
        duration=duration,
        renew_deadline=renew,
        retry_period=retry,
        identity=r.given(doc, path, "identity", r.string, base.identity),
    )


def _capacity(raw: Any, path: str) -> CapacityConfig:
    keys = (
        "cores_per_replica",
        "nodes_per_replica",
        "min_replicas",
        "max_replicas",
        "include_unschedulable_nodes",
        "target_utilisation",
        "peak_window",
        "autoscaler_configmaps",
    )
    doc = r.mapping(raw, path, keys)
    base = CapacityConfig()
    replicas = partial(r.integer, high=10000)
    low = r.given(doc, path, "min_replicas", partial(replicas, low=1), base.min_replicas)
    high = r.given(doc, path, "max_replicas", partial(replicas, low=0), base.max_replicas)
    if high and high < low:
        raise ConfigError(r.join(path, "max_replicas"), f"{high} is below min_replicas ({low})")
    per_replica = partial(r.number, low=1, high=1e6)
    return CapacityConfig(
        cores_per_replica=r.given(doc, path, "cores_per_replica", per_replica, base.cores_per_replica),
        nodes_per_replica=r.given(doc, path, "nodes_per_replica", per_replica, base.nodes_per_replica),
        min_replicas=low,
        max_replicas=high,
        include_unschedulable_nodes=r.given(
            doc, path, "include_unschedulable_nodes", r.boolean, base.include_unschedulable_nodes
        ),
        target_utilisation=r.given(
            doc, path, "target_utilisation", partial(r.number, low=0.05, high=1), base.target_utilisation
        ),
        peak_window=r.given(
            doc, path, "peak_window", partial(r.duration, low=60, high=7 * 86400), base.peak_window
        ),
        autoscaler_configmaps=r.given(doc, path, "autoscaler_configmaps", _names, base.autoscaler_configmaps),
    )


def _names(raw: Any, path: str) -> tuple[str, ...]:
    if not isinstance(raw, list):
        raise ConfigError(path, "must be a list of ConfigMap names")
    return tuple(_name(item, f"{path}[{index}]") for index, item in enumerate(raw))


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
