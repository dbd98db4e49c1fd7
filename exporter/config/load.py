"""Load and validate the YAML config into :class:`~exporter.config.model.Config`."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dns.exception
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype

from exporter.config import _reader as r
from exporter.config._reader import ConfigError
from exporter.config._yaml import load_yaml
from exporter.config.diagnosis import parse_diagnosis
from exporter.config.kubernetes import parse_kubernetes
from exporter.config.model import (
    AUTO,
    KINDS,
    TRANSPORTS,
    Config,
    Expect,
    LogConfig,
    NameSpec,
    NodeConfig,
    PathsConfig,
    ResolvConfTargets,
    ResolverTarget,
    Server,
    TargetSpec,
)
from exporter.hops import DIRECT, HOPS, Hop

_TOP_KEYS = (
    "mode",
    "listen",
    "interval",
    "timeout",
    "jitter",
    "concurrency",
    "transports",
    "edns_payload",
    "cluster_domain",
    "names",
    "paths",
    "log",
    "node",
    "kubernetes",
    "diagnosis",
)
_NAME_KEYS = ("name", "type", "kind", "paths", "transports", "expect", "race")
_DEFAULT_PATHS = {
    "internal": frozenset({Hop.SERVICE, Hop.POD, Hop.NODELOCAL, Hop.RESOLVER}),
    "external": frozenset(HOPS),
}


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read, parse and validate a config file. Raises :class:`ConfigError` on any problem."""
    source = os.fspath(path)
    try:
        text = Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError("", f"cannot read config file: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError("", "config file is not UTF-8 text") from None
    return parse_config(load_yaml(text), source=source, base_dir=os.path.dirname(source))


def default_config(resolv_conf: str = "/etc/resolv.conf") -> Config:
    """The config used when no file is given: the pod's own DNS, as the pod sees it.

    Every nameserver of ``resolv_conf`` is probed directly (path ``service``: in a
    pod with ``dnsPolicy: ClusterFirst`` that is the kube-dns Service), with the
    A+AAAA race probe, and a full lookup goes through the file's search list
    (path ``resolver``).
    """
    return parse_config(
        {
            "names": [{"name": "kubernetes.default.svc.cluster.local.", "type": "A", "race": True}],
            "paths": {"service": {"resolv_conf": resolv_conf}, "resolver": {"file": resolv_conf}},
        },
        source="<defaults>",
    )


def parse_config(raw: Any, *, source: str = "<memory>", base_dir: str | None = None) -> Config:
    """Validate an already-parsed YAML document.

    Relative file paths in it are taken relative to ``base_dir`` (the config
    file's directory when loaded from a file), else to the working directory.
    """
    doc = r.mapping(raw, "", _TOP_KEYS)
    here = base_dir or ""
    base = Config()
    interval = r.duration(doc.get("interval", "15s"), "interval", low=0.1, high=3600)
    timeout = r.duration(doc.get("timeout", "2s"), "timeout", low=0.01, high=60)
    if timeout > interval:
        raise ConfigError("timeout", f"{timeout:g}s is longer than interval ({interval:g}s)")
    default_jitter = f"{interval * 0.1 * 1000:.0f}ms"
    jitter = r.duration(doc.get("jitter", default_jitter), "jitter", low=0, high=interval)
    cluster_domain = _cluster_domain(doc.get("cluster_domain", base.cluster_domain))
    transports = _transports(doc.get("transports", list(TRANSPORTS)), "transports")
    names = _names(doc.get("names"), cluster_domain, transports)
    mode = r.string(doc.get("mode", base.mode), "mode", choices=("node", "cluster"))
    paths = _paths(doc.get("paths"), "paths", here)
    kubernetes = parse_kubernetes(doc.get("kubernetes"), "kubernetes", here)
    _needs_api(mode, paths, kubernetes.enabled)
    return Config(
        mode=mode,  # type: ignore[arg-type]
        listen=r.listen_address(doc.get("listen", ":9958"), "listen"),
        interval=interval,
        timeout=timeout,
        jitter=jitter,
        concurrency=r.integer(doc.get("concurrency", base.concurrency), "concurrency", low=1, high=1024),
        transports=transports,
        edns_payload=_edns(doc.get("edns_payload")),
        cluster_domain=cluster_domain,
        names=names,
        paths=paths,
        log=_log(doc.get("log"), "log"),
        node=_node(doc.get("node"), "node"),
        diagnosis=parse_diagnosis(doc.get("diagnosis"), "diagnosis"),
        kubernetes=kubernetes,
        source=source,
    )


def _names(raw: Any, cluster_domain: str, transports: tuple[str, ...]) -> tuple[NameSpec, ...]:
    if raw is None:
        raise ConfigError("names", "at least one name to resolve is required")
    items = r.sequence(raw, "names")
    if not items:
        raise ConfigError("names", "at least one name to resolve is required")
    seen: dict[tuple[str, str], int] = {}
    specs = []
    for index, item in enumerate(items):
        path = r.join("names", index)
        spec = _name(item, path, cluster_domain, transports)
        key = (spec.name.lower(), spec.qtype)
        if key in seen:
            raise ConfigError(path, f"duplicate of names[{seen[key]}] ({spec.name} {spec.qtype})")
        seen[key] = index
        specs.append(spec)
    return tuple(specs)


def _name(raw: Any, path: str, cluster_domain: str, transports: tuple[str, ...]) -> NameSpec:
    doc = r.mapping(raw, path, _NAME_KEYS)
    if "name" not in doc:
        raise ConfigError(path, "'name' is required")
    name = r.string(doc["name"], r.join(path, "name"))
    try:
        dns.name.from_text(name)
    except dns.exception.DNSException as exc:
        raise ConfigError(r.join(path, "name"), f"{name!r} is not a valid DNS name: {exc}") from None
    qtype = _qtype(doc.get("type", "A"), r.join(path, "type"))
    absolute = name if name.endswith(".") else name + "."
    inferred = "internal" if absolute.lower().endswith("." + cluster_domain + ".") else "external"
    kind = r.string(doc.get("kind", inferred), r.join(path, "kind"), choices=KINDS)
    relative = not name.endswith(".")
    paths = frozenset({Hop.RESOLVER}) if relative else _DEFAULT_PATHS[kind]
    if "paths" in doc:
        entries = r.sequence(doc["paths"], r.join(path, "paths"))
        paths = frozenset(
            Hop(r.string(p, r.join(r.join(path, "paths"), i), choices=HOPS)) for i, p in enumerate(entries)
        )
        if not paths:
            raise ConfigError(r.join(path, "paths"), "list at least one path")
        if relative and paths - {"resolver"}:
            raise ConfigError(
                r.join(path, "paths"),
                f"{name!r} is relative (no trailing dot): only the resolver path applies a search "
                f"list; end it with a dot to probe it on {', '.join(sorted(paths - {'resolver'}))}",
            )
    own = _transports(doc["transports"], r.join(path, "transports")) if "transports" in doc else transports
    race = r.boolean(doc.get("race", False), r.join(path, "race"))
    if race and qtype not in ("A", "AAAA"):
        raise ConfigError(r.join(path, "race"), f"the A+AAAA race probe needs type A or AAAA, not {qtype}")
    return NameSpec(
        name=name,
        qtype=qtype,
        kind=kind,  # type: ignore[arg-type]
        paths=paths,
        transports=own,
        expect=_expect(doc.get("expect"), r.join(path, "expect"), qtype),
        race=race,
    )


def _qtype(raw: Any, path: str) -> str:
    text = r.string(raw, path).upper()
    try:
        rdtype = dns.rdatatype.from_text(text)
    except dns.exception.DNSException:
        raise ConfigError(path, f"{raw!r} is not a DNS type") from None
    if dns.rdatatype.is_metatype(rdtype) or rdtype == dns.rdatatype.ANY:
        raise ConfigError(path, f"{raw!r} is a meta type; probe a data type such as A or AAAA")
    return dns.rdatatype.to_text(rdtype)


def _expect(raw: Any, path: str, qtype: str) -> Expect:
    doc = r.mapping(raw, path, ("rcode", "answers", "min_answers"))
    rcode_text = r.string(doc.get("rcode", "NOERROR"), r.join(path, "rcode")).upper()
    try:
        rcode = dns.rcode.to_text(dns.rcode.from_text(rcode_text))
    except dns.exception.DNSException:
        raise ConfigError(r.join(path, "rcode"), f"{rcode_text!r} is not a DNS rcode") from None
    answers = None
    if "answers" in doc:
        items = r.sequence(doc["answers"], r.join(path, "answers"))
        answers = frozenset(
            _rdata(item, r.join(r.join(path, "answers"), i), qtype) for i, item in enumerate(items)
        )
    default_min = 1 if rcode == "NOERROR" and answers is None else 0
    min_answers = r.integer(
        doc.get("min_answers", default_min), r.join(path, "min_answers"), low=0, high=10000
    )
    return Expect(rcode=rcode, answers=answers, min_answers=min_answers)


def _rdata(raw: Any, path: str, qtype: str) -> str:
    text = r.string(raw, path)
    try:
        rdata = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.from_text(qtype), text)
    except (dns.exception.DNSException, ValueError) as exc:
        raise ConfigError(path, f"{text!r} is not a valid {qtype} record: {exc}") from None
    return rdata.to_text()


def _transports(raw: Any, path: str) -> tuple[str, ...]:
    items = r.sequence(raw, path)
    if not items:
        raise ConfigError(path, "at least one of udp, tcp is required")
    chosen = [r.string(t, r.join(path, i), choices=TRANSPORTS) for i, t in enumerate(items)]
    return tuple(t for t in TRANSPORTS if t in chosen)


def _paths(raw: Any, path: str, here: str) -> PathsConfig:
    doc = r.mapping(raw, path, HOPS)
    direct = {p.value: _targets(doc[p], r.join(path, p), here) for p in DIRECT if p in doc}
    resolver = _resolver(doc["resolver"], r.join(path, "resolver"), here) if "resolver" in doc else None
    if not direct and resolver is None:
        raise ConfigError(path or "paths", f"configure at least one path ({', '.join(HOPS)})")
    return PathsConfig(resolver=resolver, **direct)


def _needs_api(mode: str, paths: PathsConfig, api: bool) -> None:
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


def _edns(raw: Any) -> int | None:
    if raw is None:
        return None
    return r.integer(raw, "edns_payload", low=512, high=65535)


def _cluster_domain(raw: Any) -> str:
    text = r.string(raw, "cluster_domain").strip(".").lower()
    try:
        dns.name.from_text(text)
    except dns.exception.DNSException as exc:
        raise ConfigError("cluster_domain", f"{raw!r} is not a valid DNS name: {exc}") from None
    return text


def _log(raw: Any, path: str) -> LogConfig:
    doc = r.mapping(raw, path, ("level", "format"))
    return LogConfig(
        level=r.string(
            doc.get("level", "info"),
            r.join(path, "level"),  # type: ignore[arg-type]
            choices=("debug", "info", "warning", "error"),
        ),
        format=r.string(
            doc.get("format", "auto"),
            r.join(path, "format"),  # type: ignore[arg-type]
            choices=("auto", "json", "console"),
        ),
    )


def _node(raw: Any, path: str) -> NodeConfig:
    doc = r.mapping(raw, path, ("procfs", "rootfs"))
    return NodeConfig(
        procfs=r.string(doc.get("procfs", "/proc"), r.join(path, "procfs")),
        rootfs=r.string(doc.get("rootfs", "/"), r.join(path, "rootfs")),
    )
