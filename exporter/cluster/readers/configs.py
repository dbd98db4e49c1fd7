"""ConfigMaps: the Corefile (with ``coredns-custom``), kube-dns's, NodeLocal DNSCache, kube-proxy's mode."""

from __future__ import annotations

import json
from typing import Any

import yaml
from kubernetes.client.exceptions import ApiException

from exporter.cluster.autoscaler import Autoscaler
from exporter.cluster.autoscaler import parse as parse_autoscaler
from exporter.cluster.model import NO_KUBE_PROXY, CorednsPod, CorefileSource, KubeDnsConfig, NodeLocal
from exporter.cluster.readers.context import Context, NoData
from exporter.corefile.lint import analyse
from exporter.corefile.parse import parse_corefile
from exporter.kube.rbac import KUBE_PROXY_DAEMONSET

CUSTOM_DIR = "custom/"
"""Where AKS mounts ``coredns-custom`` next to the Corefile; its imports name ``custom/*.override``."""


def read_corefile(ctx: Context) -> CorefileSource | None:
    """The Corefile; ``None`` where kube-dns serves instead of CoreDNS (it has none)."""
    k8s = ctx.k8s
    data = _configmap(ctx, k8s.corefile_configmap)
    if data is None:
        pods: tuple[CorednsPod, ...] = ctx.state.get("coredns_pods") or ()
        live = [p for p in pods if not p.deleting]
        if live and all(p.kube_dns for p in live):
            return None
        raise NoData(f"ConfigMap {k8s.namespace}/{k8s.corefile_configmap} not found")
    text = data.get("Corefile")
    if not isinstance(text, str):
        raise ValueError(f"ConfigMap {k8s.corefile_configmap} has no data.Corefile")
    custom = _configmap(ctx, k8s.custom_configmap) or {}
    files = {CUSTOM_DIR + key: value for key, value in custom.items() if isinstance(value, str)}
    return CorefileSource(parse_corefile(text, files), tuple(sorted(custom)))


def read_autoscaler(ctx: Context) -> Autoscaler:
    """The first of ``capacity.autoscaler_configmaps`` that exists; none: ``Autoscaler(None)`` (a finding)."""
    for name in ctx.k8s.capacity.autoscaler_configmaps:
        data = _configmap(ctx, name)
        if data is not None:
            return parse_autoscaler(name, data)
    return Autoscaler(None)


def read_kube_dns_config(ctx: Context) -> KubeDnsConfig:
    """kube-dns's ConfigMap; absent (CoreDNS clusters have none, kube-dns runs without it) is no error."""
    name = ctx.k8s.kube_dns_configmap
    data = _configmap(ctx, name)
    if data is None:
        return KubeDnsConfig(present=False)
    stubs = _json(data, "stubDomains", name, dict) or {}
    upstreams = _json(data, "upstreamNameservers", name, list) or []
    for domain, servers in stubs.items():
        if not isinstance(servers, list) or not all(isinstance(s, str) for s in servers):
            raise ValueError(f"ConfigMap {name} stubDomains[{domain!r}] is not a list of nameservers")
    if not all(isinstance(s, str) for s in upstreams):
        raise ValueError(f"ConfigMap {name} upstreamNameservers is not a list of nameservers")
    return KubeDnsConfig(
        present=True,
        stub_domains=tuple((str(domain), tuple(servers)) for domain, servers in sorted(stubs.items())),
        upstream_nameservers=tuple(upstreams),
    )


def _json(data: dict[str, Any], key: str, configmap: str, kind: type) -> Any:
    text = data.get(key)
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    try:
        value = json.loads(text)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"ConfigMap {configmap} {key} is not JSON: {exc}") from None
    if not isinstance(value, kind):
        raise ValueError(f"ConfigMap {configmap} {key} is not a JSON {kind.__name__}")
    return value


def read_nodelocal(ctx: Context) -> NodeLocal:
    k8s = ctx.k8s
    if not _daemonset_exists(ctx, k8s.nodelocal_daemonset, ctx.home):
        return NodeLocal(present=False)
    data = _configmap(ctx, k8s.nodelocal_configmap, ctx.home) or {}
    text = data.get("Corefile")
    if not isinstance(text, str):
        return NodeLocal(present=True)
    return NodeLocal(present=True, forwards=analyse(parse_corefile(text)).forwards)


def read_kube_proxy_mode(ctx: Context) -> str:
    """``iptables``, ``ipvs``, ``nftables``...: kube-proxy's ``mode`` (empty means iptables on Linux);
    :data:`NO_KUBE_PROXY` when neither its ConfigMap nor its DaemonSet exists."""
    k8s = ctx.k8s
    names = k8s.kube_proxy_configmaps
    first = None
    for name in names:  # the first ConfigMap that says a mode ends the reads
        data = _configmap(ctx, name, ctx.home)
        if data is None:
            continue
        first = first or name
        mode = _proxy_mode(data)
        if mode is not None:
            return mode
    if first is not None:
        raise NoData(f"ConfigMap {first} holds no KubeProxyConfiguration")
    if not _daemonset_exists(ctx, KUBE_PROXY_DAEMONSET, ctx.home):
        return NO_KUBE_PROXY
    raise NoData(
        f"DaemonSet {ctx.home}/{KUBE_PROXY_DAEMONSET} runs but none of the ConfigMaps "
        f"{', '.join(names)} exists (set kubernetes.configmaps.kube_proxy)"
    )


def _proxy_mode(data: dict[str, Any]) -> str | None:
    for key in sorted(data, key=lambda k: k not in ("config.conf", "config")):
        try:
            doc = yaml.safe_load(data[key])
        except yaml.YAMLError:
            continue
        if isinstance(doc, dict) and doc.get("kind") == "KubeProxyConfiguration":
            mode = doc.get("mode") or "iptables"
            if not isinstance(mode, str) or not mode.isalnum():
                raise ValueError(f"KubeProxyConfiguration mode {mode!r} is not a mode")
            return mode.lower()
    return None


def _daemonset_exists(ctx: Context, name: str, namespace: str) -> bool:
    api = ctx.api
    try:
        api.call(api.apps.read_namespaced_daemon_set, name, namespace)
    except ApiException as exc:
        if exc.status == 404:
            return False
        raise
    return True


def _configmap(ctx: Context, name: str, namespace: str | None = None) -> dict[str, Any] | None:
    """The ``data`` of a ConfigMap (default: in the CoreDNS namespace), or ``None`` when it does not exist."""
    api = ctx.api
    try:
        configmap = api.call(api.core.read_namespaced_config_map, name, namespace or ctx.k8s.namespace)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise
    return dict(configmap.data or {})
