"""The ``paths`` section: which servers each path probes, and the resolver's resolv.conf."""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import partial
from typing import Any

from exporter.config import _reader as r
from exporter.config._reader import ConfigError
from exporter.config.model import AUTO, PathsConfig, ResolvConfTargets, ResolverTarget, Server, TargetSpec
from exporter.hops import DIRECT, HOPS

_PORT = partial(r.integer, low=1, high=65535)


def parse_paths(raw: Any, path: str, here: str) -> PathsConfig:
    doc = r.mapping(raw, path, HOPS)
    direct = {hop: _targets(doc[hop], r.join(path, hop), here) for hop in DIRECT if hop in doc}
    resolver = r.given(doc, path, "resolver", partial(_resolver, here=here), PathsConfig().resolver)
    if not direct and resolver is None:
        raise ConfigError(path or "paths", f"configure at least one path ({', '.join(HOPS)})")
    return PathsConfig(targets=direct, resolver=resolver)


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
            port=r.given(doc, path, "port", _PORT, r.field_default(ResolvConfTargets, "port")),
        )
    items = r.sequence(raw, path)
    servers = []
    default_port = r.field_default(Server, "port")
    for index, item in enumerate(items):
        host, port = r.host_port(item, r.join(path, index), default_port=default_port)
        server = Server(host, port)
        if server in servers:
            raise ConfigError(r.join(path, index), f"{item!r} is listed twice")
        servers.append(server)
    return tuple(servers)


def _resolver(raw: Any, path: str, *, here: str) -> ResolverTarget:
    doc = r.mapping(raw, path, ("file", "port"))
    base = ResolverTarget()
    return ResolverTarget(
        file=os.path.join(here, r.given(doc, path, "file", r.string, base.file)),
        port=r.given(doc, path, "port", _PORT, base.port),
    )
