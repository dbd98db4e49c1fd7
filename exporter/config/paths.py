"""The ``paths`` section: which servers each path probes, and the resolver's resolv.conf."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from exporter.config import _reader as r
from exporter.config._reader import ConfigError
from exporter.config.model import AUTO, PathsConfig, ResolvConfTargets, ResolverTarget, Server, TargetSpec
from exporter.hops import DIRECT, HOPS


def parse_paths(raw: Any, path: str, here: str) -> PathsConfig:
    doc = r.mapping(raw, path, HOPS)
    direct = {p.value: _targets(doc[p], r.join(path, p), here) for p in DIRECT if p in doc}
    resolver = _resolver(doc["resolver"], r.join(path, "resolver"), here) if "resolver" in doc else None
    if not direct and resolver is None:
        raise ConfigError(path or "paths", f"configure at least one path ({', '.join(HOPS)})")
    return PathsConfig(resolver=resolver, **direct)


def needs_api(mode: str, paths: PathsConfig, api: bool) -> None:
    """``auto`` paths and cluster mode read the Kubernetes API: it must be configured."""
    if api:
        return
    hint = "set kubernetes.config to in-cluster or kubeconfig"
    for name, spec in paths.direct().items():
        if spec == AUTO and name != "upstream":  # upstream: auto can be the node resolv.conf alone
            raise ConfigError(f"paths.{name}", f"'auto' discovery reads the Kubernetes API: {hint}")
    if mode == "cluster":
        raise ConfigError("mode", f"cluster mode reads the Kubernetes API: {hint}")


def _targets(raw: Any, path: str, here: str) -> TargetSpec:
    if raw == AUTO:
        return AUTO
    if isinstance(raw, Mapping):
        doc = r.mapping(raw, path, ("resolv_conf", "port"))
        if "resolv_conf" not in doc:
            raise ConfigError(path, "'resolv_conf' is required in this form")
        return ResolvConfTargets(
            file=os.path.join(here, r.string(doc["resolv_conf"], r.join(path, "resolv_conf"))),
            port=r.integer(doc.get("port", 53), r.join(path, "port"), low=1, high=65535),
        )
    items = r.sequence(raw, path)
    servers = []
    for index, item in enumerate(items):
        host, port = r.host_port(item, r.join(path, index), default_port=53)
        server = Server(host, port)
        if server in servers:
            raise ConfigError(r.join(path, index), f"{item!r} is listed twice")
        servers.append(server)
    return tuple(servers)


def _resolver(raw: Any, path: str, here: str) -> ResolverTarget:
    doc = r.mapping(raw, path, ("file", "port"))
    return ResolverTarget(
        file=os.path.join(here, r.string(doc.get("file", "/etc/resolv.conf"), r.join(path, "file"))),
        port=r.integer(doc.get("port", 53), r.join(path, "port"), low=1, high=65535),
    )
