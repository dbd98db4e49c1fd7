"""Turn each path's :data:`~exporter.config.TargetSpec` into the servers to probe now.

Static lists are what they are. A ``{resolv_conf: FILE}`` source is re-read
every round, so an edited file changes the targets (and their series) at the
next round. A source that fails keeps its last good servers and reports the
error, so a passing read error does not make series flap.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from exporter.config import AUTO, Config, ResolvConfTargets, ResolverTarget, Server, TargetSpec
from exporter.resolvconf import ResolvConf, read_resolv_conf
from exporter.targets.zones import ZoneTarget

Discovery = Callable[[str], tuple[Server, ...]]
"""``path -> servers`` for paths configured as ``auto``; raises ``Exception`` on failure."""
Zones = Callable[[], tuple[ZoneTarget, ...]]
"""The conditional forwarders ``upstream: auto`` also probes, each for its zone; raises on failure."""


class NotServed(LookupError):
    """Raised by a discovery part for a path it does not discover (another part may)."""


def compose(*parts: Discovery) -> Discovery:
    """One discovery from several: a path gets the servers every part finds for it, in order.

    ``upstream: auto`` is the Corefile's forward targets (from the API) plus the
    node's resolv.conf nameservers (from the host files): two parts joined here.
    A part that fails is left out while another answers; if all fail, the first
    error is raised (and the path keeps its last good servers).
    """

    def discover(path: str) -> tuple[Server, ...]:
        found: list[Server] = []
        errors: list[Exception] = []
        served = False
        for part in parts:
            try:
                servers = part(path)
            except NotServed:
                continue
            except Exception as exc:  # noqa: BLE001 - reported below when no part answers
                served = True
                errors.append(exc)
                continue
            served = True
            found.extend(s for s in servers if s not in found)
        if not served:
            raise RuntimeError(f"no discovery serves path {path!r}")
        if errors and not found:
            raise errors[0]
        return tuple(found)

    return discover


@dataclass(frozen=True, slots=True)
class TargetSet:
    """The servers of every direct path, and the resolv.conf of the ``resolver`` path, now."""

    servers: Mapping[str, tuple[Server, ...]]
    resolver: tuple[ResolverTarget, ResolvConf] | None = None
    errors: Mapping[str, str] = field(default_factory=dict)
    """Source name (``paths.<path>``) -> what went wrong reading it this round."""
    zones: tuple[ZoneTarget, ...] = ()
    """Conditional forwarders of ``upstream: auto``, each probed for its zone on the upstream hop."""
    reasons: Mapping[tuple[str, Server], str] = field(default_factory=dict)
    """(path, server) -> why the server is probed: ``configured``, ``resolv.conf FILE``, ``discovered``,
    or for CoreDNS pods the selection's reason (``exporter.targets.selection``)."""
    known: Mapping[str, int] = field(default_factory=dict)
    """Path -> servers known before this round's selection, where a selection left some out."""


class TargetSources:
    def __init__(
        self, config: Config, discovery: Discovery | None = None, zones: Zones | None = None
    ) -> None:
        self._specs: dict[str, TargetSpec] = {
            path: spec for path, spec in config.paths.direct().items() if spec != ()
        }
        self._resolver = config.paths.resolver
        self._discovery = discovery
        self._zones = zones if self._specs.get("upstream") == AUTO else None
        self._last: dict[str, tuple[Server, ...]] = {}
        self._last_conf: ResolvConf | None = None
        self._last_zones: tuple[ZoneTarget, ...] = ()

    def current(self) -> TargetSet:
        servers: dict[str, tuple[Server, ...]] = {}
        errors: dict[str, str] = {}
        reasons: dict[tuple[str, Server], str] = {}
        for path, spec in self._specs.items():
            try:
                servers[path] = self._read(path, spec)
                self._last[path] = servers[path]
            except Exception as exc:  # noqa: BLE001 - a failing source is data, not a crash
                errors[f"paths.{path}"] = _describe(exc)
                servers[path] = self._last.get(path, ())
            why = _reason(spec)
            reasons.update(((path, server), why) for server in servers[path])
        resolver = None
        if self._resolver is not None:
            try:
                self._last_conf = read_resolv_conf(self._resolver.file)
            except OSError as exc:
                errors["paths.resolver"] = _describe(exc)
            if self._last_conf is not None:
                resolver = (self._resolver, self._last_conf)
        if self._zones is not None:
            try:
                self._last_zones = self._zones()
            except Exception as exc:  # noqa: BLE001 - the last good forwarders stay probed
                errors.setdefault("paths.upstream", _describe(exc))
        return TargetSet(
            servers=servers, resolver=resolver, errors=errors, zones=self._last_zones, reasons=reasons
        )

    def _read(self, path: str, spec: TargetSpec) -> tuple[Server, ...]:
        if isinstance(spec, ResolvConfTargets):
            conf = read_resolv_conf(spec.file)
            return tuple(Server(host, spec.port) for host in conf.used_nameservers)
        if spec == AUTO:
            if self._discovery is None:
                raise RuntimeError("discovery is not configured")
            return self._discovery(path)
        assert isinstance(spec, tuple)
        return spec


def _reason(spec: TargetSpec) -> str:
    if isinstance(spec, ResolvConfTargets):
        return f"resolv.conf {spec.file}"
    return "discovered" if spec == AUTO else "configured"


def _describe(exc: Exception) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    return str(exc) or type(exc).__name__
