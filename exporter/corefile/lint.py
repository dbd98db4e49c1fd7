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
                       (``forward`` may appear several times from CoreDNS 1.9.4 on)
duplicate_zone         two server blocks serve the same zone on the same port and
                       address (``bind``; a block without ``bind`` takes them all)
forward_no_targets     a ``forward`` with no upstream to send to
forward_shadowed       a ``forward`` that no query reaches: an earlier one in its
                       block takes all its names (see ``exporter.corefile.forwards``)
autopath_enabled       the ``autopath`` plugin is on (a known source of wrong answers)
=====================  ============================================================

The kinds in :data:`BREAKING` stop CoreDNS from loading the file or from
resolving as intended. ``forward_shadowed`` is not one of them (CoreDNS loads the
file and resolves the names through the earlier forward), nor ``unknown_plugin``: vendors compile
their own plugins in (OpenShift's ``ocp_dnsnameresolver``, ACK's ``kubeapi``), so
a plugin this exporter does not know may well be in the running build; a typo
shows in the probes (CoreDNS keeps the last file it could load).

Rules that depend on the CoreDNS version run only when the version is known
(read from the image tag; an image pinned by digest, as OpenShift does, has none):
a rule that would guess does not fire.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from exporter.cluster.version import Version, text
from exporter.config import Server
from exporter.corefile.forwards import (
    ForwardRule,
    catch_all_servers,
    forward_from,
    forward_servers,
    forward_zones,
    parse_target,
    with_reach,
)
from exporter.corefile.parse import Corefile, Directive, ServerBlock
from exporter.targets.zones import ZoneTarget

__all__ = [
    "ForwardRule",
    "corefile_forward_servers",
    "corefile_forward_zones",
    "forward_servers",
    "parse_target",
]

PROBLEM_KINDS: tuple[str, ...] = (
    "parse_error",
    "unknown_plugin",
    "plugin_unsupported",
    "option_unsupported",
    "duplicate_plugin",
    "duplicate_zone",
    "forward_no_targets",
    "forward_shadowed",
    "autopath_enabled",
)
BREAKING: frozenset[str] = frozenset(PROBLEM_KINDS) - {
    "autopath_enabled",
    "unknown_plugin",
    "forward_shadowed",
}

KNOWN_PLUGINS: frozenset[str] = frozenset({
    "acl", "any", "auto", "autopath", "azure", "bind", "bufsize", "cache", "cancel", "chaos", "clouddns",
    "debug", "dns64", "dnssec", "dnstap", "erratic", "errors", "etcd", "federation", "file", "forward",
    "geoip", "grpc", "grpc_server", "header", "health", "hosts", "https", "k8s_external", "kubernetes",
    "loadbalance", "local", "log", "loop", "metadata", "minimal", "multisocket", "nomad", "nsid", "on",
    "pprof", "prometheus", "proxy", "quic", "ready", "reload", "rewrite", "root", "route53", "secondary",
    "sign", "template", "timeouts", "tls", "trace", "transfer", "tsig", "view", "whoami",
    "kubeapi", "k8s_event",  # compiled into Alibaba Cloud ACK's CoreDNS build
    "ocp_dnsnameresolver",  # compiled into OpenShift's CoreDNS build (cluster-dns-operator)
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
    "autopath", "cache", "errors", "health", "hosts", "k8s_external", "kubernetes", "loadbalance",
    "loop", "prometheus", "ready", "reload",
})  # fmt: skip
"""Plugins whose setup refuses a second instance in a block (``plugin.ErrOnce``), in every version."""
ONCE_UNTIL: dict[str, Version] = {"forward": (1, 9, 4)}
"""Plugins allowed once per block before a version (several ``forward`` from 1.9.4, coredns#5127)."""


@dataclass(frozen=True, slots=True)
class Problem:
    kind: str
    message: str


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
        return next((f for f in self.forwards if f.catch_all and f.shadowed_by is None), None)

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
    seen_zones: Listeners = {}
    for server in corefile.servers:
        problems += _server_problems(server, seen_zones, version)
        block: list[ForwardRule] = []
        for directive in server.directives:
            problems += _plugin_problems(directive, version)
            if directive.name in KNOWN_PLUGINS:
                plugins.add(directive.name)
            if directive.name == "forward":
                block.append(forward_from(server, directive))
            if directive.name == "autopath":
                problems.append(Problem("autopath_enabled", f"{directive.where}: autopath is enabled"))
        for rule in with_reach(block):
            forwards.append(rule)
            problems += _forward_problems(rule)
    return CorefileReport(frozenset(plugins), tuple(forwards), tuple(problems), servers=len(corefile.servers))


def _forward_problems(rule: ForwardRule) -> list[Problem]:
    problems = []
    if not rule.targets:
        problems.append(Problem("forward_no_targets", f"{rule.where}: forward {rule.source} has no targets"))
    if rule.shadowed_by is not None:
        problems.append(
            Problem(
                "forward_shadowed",
                f"{rule.where}: forward {rule.source} is never reached: the forward at {rule.shadowed_by} "
                "comes first in the block and takes all its names",
            )
        )
    return problems


Listeners = dict[tuple[str, str], list[tuple[frozenset[str], str]]]
"""(zone, port) -> the ``bind`` addresses of each block serving it so far, and where that block is."""


def _server_problems(server: ServerBlock, seen: Listeners, version: Version | None) -> list[Problem]:
    problems = []
    where = f"{server.file}:{server.line}"
    binds = _binds(server)
    for zone in server.zones:
        earlier = seen.setdefault((zone, server.port), [])
        clash = next((at for other, at in earlier if _overlap(binds, other)), None)
        if clash is not None:
            problems.append(
                Problem(
                    "duplicate_zone",
                    f"{where}: zone {zone} port {server.port}{_bind_text(binds)} "
                    f"is already served at {clash}",
                )
            )
        earlier.append((binds, where))
    counts = Counter(d.name for d in server.directives)
    for name, count in sorted(counts.items()):
        if count > 1 and (name in ONCE_PER_BLOCK or _once_in(name, version)):
            problems.append(
                Problem("duplicate_plugin", f"{where}: {name} appears {count} times in one server block")
            )
    return problems


def _once_in(name: str, version: Version | None) -> bool:
    """Whether ``name`` may appear only once per block in ``version``; unknown version: not judged."""
    until = ONCE_UNTIL.get(name)
    return until is not None and version is not None and version < until


def _binds(server: ServerBlock) -> frozenset[str]:
    """The addresses a block listens on (``bind``); empty for every address."""
    return frozenset(arg.lower() for bind in server.plugins("bind") for arg in bind.args)


def _overlap(one: frozenset[str], other: frozenset[str]) -> bool:
    """Two blocks' listeners meet: either takes every address, or they share one (as CoreDNS checks)."""
    return not one or not other or bool(one & other)


def _bind_text(binds: frozenset[str]) -> str:
    return f" on {', '.join(sorted(binds))}" if binds else ""


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


def corefile_forward_servers(report: CorefileReport) -> tuple[Server, ...]:
    """The Corefile part of ``upstream: auto``: IP targets of the catch-all forward."""
    return catch_all_servers(report.root_forward)


def corefile_forward_zones(report: CorefileReport) -> tuple[ZoneTarget, ...]:
    """The Corefile's conditional forwarders that queries reach, each with its zone."""
    return forward_zones(report.forwards)
