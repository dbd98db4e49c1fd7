"""What a parsed Corefile configures (plugins, forward rules) and what is wrong with it.

Problems are a closed set of kinds (the ``problem`` label of
``k8s_dns_corefile_problems``), each with a message naming the file and line:

=====================  ============================================================
kind                   meaning
=====================  ============================================================
parse_error            the text cannot be read (an unclosed brace, a bad import)
unknown_plugin         a directive that no CoreDNS build this exporter knows has
plugin_unsupported     a plugin the running CoreDNS version does not have (``ready``
                       before 1.5.0, ``proxy`` from 1.5.0 on)
option_unsupported     an option the running version removed (``resyncperiod``)
duplicate_plugin       a plugin that may appear once per server block appears twice
duplicate_zone         two server blocks serve the same zone on the same port
forward_no_targets     a ``forward`` with no upstream to send to
autopath_enabled       the ``autopath`` plugin is on (a known source of wrong answers)
=====================  ============================================================

Every kind but ``autopath_enabled`` stops CoreDNS from loading the file or
from resolving as intended.
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from dataclasses import dataclass
from typing import Any

from exporter.cluster.version import Version, text
from exporter.config import Server
from exporter.corefile.parse import Corefile, Directive, ServerBlock

PROBLEM_KINDS: tuple[str, ...] = (
    "parse_error",
    "unknown_plugin",
    "plugin_unsupported",
    "option_unsupported",
    "duplicate_plugin",
    "duplicate_zone",
    "forward_no_targets",
    "autopath_enabled",
)
BREAKING: frozenset[str] = frozenset(PROBLEM_KINDS) - {"autopath_enabled"}

KNOWN_PLUGINS: frozenset[str] = frozenset({
    "acl", "any", "auto", "autopath", "azure", "bind", "bufsize", "cache", "cancel", "chaos", "clouddns",
    "debug", "dns64", "dnssec", "dnstap", "erratic", "errors", "etcd", "federation", "file", "forward",
    "geoip", "grpc", "grpc_server", "header", "health", "hosts", "https", "k8s_external", "kubernetes",
    "loadbalance", "local", "log", "loop", "metadata", "minimal", "multisocket", "nomad", "nsid", "on",
    "pprof", "prometheus", "proxy", "quic", "ready", "reload", "rewrite", "root", "route53", "secondary",
    "sign", "template", "timeouts", "tls", "trace", "transfer", "tsig", "view", "whoami",
    "kubeapi", "k8s_event",  # compiled into Alibaba Cloud ACK's CoreDNS build
})  # fmt: skip
WATCHED: tuple[str, ...] = (
    "autopath",
    "cache",
    "errors",
    "forward",
    "health",
    "kubernetes",
    "loadbalance",
    "log",
    "loop",
    "prometheus",
    "ready",
    "reload",
)
"""Plugins always rendered in ``k8s_dns_corefile_plugin_enabled`` (1 or 0)."""

ADDED_IN: dict[str, Version] = {"ready": (1, 5, 0), "k8s_external": (1, 3, 0)}
REMOVED_IN: dict[str, Version] = {"proxy": (1, 5, 0), "federation": (1, 7, 0)}
OPTION_REMOVED_IN: dict[tuple[str, str], Version] = {("kubernetes", "resyncperiod"): (1, 6, 0)}
ONCE_PER_BLOCK: frozenset[str] = frozenset({
    "autopath", "cache", "errors", "forward", "health", "k8s_external", "kubernetes", "loadbalance",
    "loop", "prometheus", "ready", "reload",
})  # fmt: skip


@dataclass(frozen=True, slots=True)
class Problem:
    kind: str
    message: str


@dataclass(frozen=True, slots=True)
class ForwardRule:
    """One ``forward FROM TO...`` directive and its options."""

    zones: tuple[str, ...]
    """The zones of the server block it sits in."""
    source: str
    """FROM: the domain it forwards (``.`` for everything)."""
    targets: tuple[str, ...]
    policy: str
    prefer_udp: bool
    force_tcp: bool
    where: str

    @property
    def catch_all(self) -> bool:
        return self.source == "." and "." in self.zones

    def as_dict(self) -> dict[str, Any]:
        return {
            "zones": list(self.zones),
            "from": self.source,
            "targets": list(self.targets),
            "policy": self.policy,
            "prefer_udp": self.prefer_udp,
            "force_tcp": self.force_tcp,
            "where": self.where,
        }


@dataclass(frozen=True, slots=True)
class CorefileReport:
    plugins: frozenset[str]
    """Known plugins present in any server block."""
    forwards: tuple[ForwardRule, ...]
    problems: tuple[Problem, ...]
    servers: int = 0

    @property
    def root_forward(self) -> ForwardRule | None:
        """The forward that sends every external name upstream (``forward .`` in the ``.`` block)."""
        return next((f for f in self.forwards if f.catch_all), None)

    @property
    def breaking(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.kind in BREAKING)

    def count(self, kind: str) -> int:
        return sum(1 for p in self.problems if p.kind == kind)

    def as_dict(self) -> dict[str, Any]:
        return {
            "servers": self.servers,
            "plugins": sorted(self.plugins),
            "forwards": [f.as_dict() for f in self.forwards],
            "problems": [{"kind": p.kind, "message": p.message} for p in self.problems],
        }


def analyse(corefile: Corefile, version: Version | None = None) -> CorefileReport:
    """What ``corefile`` configures, linted for the running CoreDNS ``version`` (if known)."""
    problems = [Problem("parse_error", error) for error in corefile.errors]
    plugins: set[str] = set()
    forwards: list[ForwardRule] = []
    seen_zones: dict[tuple[str, str], str] = {}
    for server in corefile.servers:
        problems += _server_problems(server, seen_zones)
        for directive in server.directives:
            problems += _plugin_problems(directive, version)
            if directive.name in KNOWN_PLUGINS:
                plugins.add(directive.name)
            if directive.name == "forward":
                rule = _forward(server, directive)
                forwards.append(rule)
                if not rule.targets:
                    problems.append(
                        Problem(
                            "forward_no_targets", f"{directive.where}: forward {rule.source} has no targets"
                        )
                    )
            if directive.name == "autopath":
                problems.append(Problem("autopath_enabled", f"{directive.where}: autopath is enabled"))
    return CorefileReport(frozenset(plugins), tuple(forwards), tuple(problems), servers=len(corefile.servers))


def _server_problems(server: ServerBlock, seen: dict[tuple[str, str], str]) -> list[Problem]:
    problems = []
    where = f"{server.file}:{server.line}"
    for zone in server.zones:
        key = (zone, server.port)
        if key in seen:
            problems.append(
                Problem(
                    "duplicate_zone",
                    f"{where}: zone {zone} port {server.port} is already served at {seen[key]}",
                )
            )
        else:
            seen[key] = where
    counts = Counter(d.name for d in server.directives)
    for name, count in sorted(counts.items()):
        if name in ONCE_PER_BLOCK and count > 1:
            problems.append(
                Problem("duplicate_plugin", f"{where}: {name} appears {count} times in one server block")
            )
    return problems


def _plugin_problems(directive: Directive, version: Version | None) -> list[Problem]:
    name, where = directive.name, directive.where
    if name not in KNOWN_PLUGINS:
        return [Problem("unknown_plugin", f"{where}: unknown plugin {name!r}")]
    if version is None:
        return []
    if name in ADDED_IN and version < ADDED_IN[name]:
        added = text(ADDED_IN[name])
        return [
            Problem("plugin_unsupported", f"{where}: {name} needs CoreDNS {added}, running {text(version)}")
        ]
    if name in REMOVED_IN and version >= REMOVED_IN[name]:
        removed = text(REMOVED_IN[name])
        return [
            Problem(
                "plugin_unsupported",
                f"{where}: {name} was removed in CoreDNS {removed}, running {text(version)}",
            )
        ]
    problems = []
    for option in directive.block:
        removed_in = OPTION_REMOVED_IN.get((name, option.name))
        if removed_in is not None and version >= removed_in:
            problems.append(
                Problem(
                    "option_unsupported",
                    f"{option.where}: {name} option {option.name} was removed in CoreDNS {text(removed_in)}",
                )
            )
    return problems


def _forward(server: ServerBlock, directive: Directive) -> ForwardRule:
    source = directive.args[0].lower() if directive.args else "."
    if not source.endswith("."):
        source += "."
    policies = directive.options("policy")
    policy = policies[-1].args[0] if policies and policies[-1].args else "random"
    return ForwardRule(
        zones=server.zones,
        source=source,
        targets=directive.args[1:],
        policy=policy,
        prefer_udp=bool(directive.options("prefer_udp")),
        force_tcp=bool(directive.options("force_tcp")),
        where=directive.where,
    )


def forward_servers(rule: ForwardRule) -> tuple[Server, ...]:
    """The plain-DNS IP targets of a forward rule, as servers to probe.

    Files (``/etc/resolv.conf``: the node's nameservers, read by the node side of
    discovery), TLS/gRPC targets, host names and template placeholders are skipped.
    """
    servers: list[Server] = []
    for target in rule.targets:
        server = parse_target(target)
        if server is not None and server not in servers:
            servers.append(server)
    return tuple(servers)


def parse_target(target: str) -> Server | None:
    scheme, _, rest = target.rpartition("://")
    if scheme not in ("", "dns"):
        return None
    host, port = rest, 53
    if rest.startswith("["):
        host, _, tail = rest[1:].partition("]")
        if tail.startswith(":") and tail[1:].isascii() and tail[1:].isdigit():
            port = int(tail[1:])
    elif rest.count(":") == 1:
        host, _, port_text = rest.partition(":")
        if not (port_text.isascii() and port_text.isdigit()):
            return None
        port = int(port_text)
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    return Server(str(address), port) if 0 < port < 65536 else None


def corefile_forward_servers(report: CorefileReport) -> tuple[Server, ...]:
    """The Corefile part of ``upstream: auto``: IP targets of the catch-all forward.

    ``forward . /etc/resolv.conf`` contributes nothing here: those servers are
    the node's resolv.conf nameservers, which the node side of discovery adds.
    """
    rule = report.root_forward
    return forward_servers(rule) if rule is not None else ()
