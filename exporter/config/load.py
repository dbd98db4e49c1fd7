"""Load and validate the YAML config into :class:`~exporter.config.model.Config`."""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path
from typing import Any

import dns.exception
import dns.name

from exporter.config import _reader as r
from exporter.config._reader import ConfigError
from exporter.config._yaml import load_yaml
from exporter.config.diagnosis import parse_diagnosis
from exporter.config.kubernetes import parse_kubernetes
from exporter.config.log import parse_log
from exporter.config.model import Config
from exporter.config.names import parse_names, parse_transports
from exporter.config.node import parse_node
from exporter.config.paths import needs_api, parse_paths

_TOP_KEYS = (
    "mode",
    "vantage",
    "listen",
    "interval",
    "timeout",
    "jitter",
    "concurrency",
    "pods_per_round",
    "upstreams_per_round",
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
    return parse_config(default_document(resolv_conf), source="<defaults>")


def default_document(resolv_conf: str, port: int | None = None) -> dict[str, Any]:
    """The document of :func:`default_config`; ``port`` other than 53 only to stand in for it (the lab)."""
    at = {} if port is None else {"port": port}
    return {
        "names": [{"name": "kubernetes.default.svc.cluster.local.", "type": "A", "race": True}],
        "paths": {"service": {"resolv_conf": resolv_conf, **at}, "resolver": {"file": resolv_conf, **at}},
    }


def parse_config(raw: Any, *, source: str = "<memory>", base_dir: str | None = None) -> Config:
    """Validate an already-parsed YAML document.

    Relative file paths in it are taken relative to ``base_dir`` (the config
    file's directory when loaded from a file), else to the working directory.
    """
    doc = r.mapping(raw, "", _TOP_KEYS)
    here = base_dir or ""
    base = Config()
    interval = r.given(doc, "", "interval", partial(r.duration, low=0.1, high=3600), base.interval)
    timeout = r.given(doc, "", "timeout", partial(r.duration, low=0.01, high=60), base.timeout)
    if timeout > interval:
        raise ConfigError("timeout", f"{timeout:g}s is longer than interval ({interval:g}s)")
    # Computed, not base.jitter: it follows interval, a tenth of it in whole milliseconds
    # (base.jitter is that of base.interval).
    default_jitter = round(interval * 0.1 * 1000) * 0.001
    jitter = r.given(doc, "", "jitter", partial(r.duration, low=0, high=interval), default_jitter)
    cluster_domain = r.given(doc, "", "cluster_domain", _cluster_domain, base.cluster_domain)
    transports = r.given(doc, "", "transports", parse_transports, base.transports)
    names = parse_names(doc.get("names"), cluster_domain, transports)
    mode = r.given(doc, "", "mode", partial(r.string, choices=("node", "cluster")), base.mode)
    paths = parse_paths(doc.get("paths"), "paths", here)
    kubernetes = parse_kubernetes(doc.get("kubernetes"), "kubernetes", here)
    needs_api(mode, paths, kubernetes.enabled)
    return Config(
        mode=mode,  # type: ignore[arg-type]
        vantage=r.given(doc, "", "vantage", partial(r.string, choices=("pod", "node")), base.vantage),  # type: ignore[arg-type]
        listen=r.given(doc, "", "listen", r.listen_address, base.listen),
        interval=interval,
        timeout=timeout,
        jitter=jitter,
        concurrency=r.given(doc, "", "concurrency", partial(r.integer, low=1, high=1024), base.concurrency),
        pods_per_round=r.given(doc, "", "pods_per_round", _pods_per_round, base.pods_per_round),
        upstreams_per_round=r.given(
            doc, "", "upstreams_per_round", partial(r.integer, low=0, high=1000), base.upstreams_per_round
        ),
        transports=transports,
        edns_payload=r.given(doc, "", "edns_payload", _edns, base.edns_payload),
        cluster_domain=cluster_domain,
        names=names,
        paths=paths,
        log=parse_log(doc.get("log"), "log"),
        node=parse_node(doc.get("node"), "node"),
        diagnosis=parse_diagnosis(doc.get("diagnosis"), "diagnosis"),
        kubernetes=kubernetes,
        source=source,
    )


def _pods_per_round(raw: Any, path: str) -> int:
    budget = r.integer(raw, path, low=0, high=100_000)
    if budget == 1:
        raise ConfigError(path, "1 leaves no slot for the rotation: use 0 (every pod) or at least 2")
    return budget


def _edns(raw: Any, path: str) -> int | None:
    if raw is None:  # written as null: plain DNS, no EDNS
        return None
    return r.integer(raw, path, low=512, high=65535)


def _cluster_domain(raw: Any, path: str) -> str:
    text = r.string(raw, path).strip(".").lower()
    try:
        dns.name.from_text(text)
    except dns.exception.DNSException as exc:
        raise ConfigError(path, f"{raw!r} is not a valid DNS name: {exc}") from None
    return text
