"""``auto`` targets from the Kubernetes API, for :class:`~exporter.targets.TargetSources`.

First the cluster DNS Service is located (``locate.py``: the configured name, then
the names distributions ship, the one pods' resolv.conf names first); then:

=========  ==================================================================
path       discovered from
=========  ==================================================================
service    that Service: its ClusterIP(s) and its DNS port
pod        every pod IP in that Service's EndpointSlices, on their DNS port,
           whatever the pods' labels (a watch; one address per pod)
nodelocal  the node cache serving this node (``nodelocal.py``: NODE_NAME,
           ``-localip``, ``bind``, LocalDNS, Cilium's local redirect)
upstream   the IP targets of the Corefile's catch-all ``forward``; and its
           conditional forwarders (stub domains), each probed for its zone
=========  ==================================================================

The Service, the DaemonSet and the Corefile are read again every
``kubernetes.refresh`` (GETs of single objects); the EndpointSlices are
watched. A read that fails keeps the last good answer and is reported as
``k8s_dns_collector_success{collector="discovery"} 0``; so is a cluster DNS
Service found under no name, with one line saying what to set.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog

from exporter.config import AUTO, Config, Server
from exporter.corefile.lint import analyse, corefile_forward_servers, corefile_forward_zones
from exporter.corefile.parse import parse_corefile
from exporter.kube.lite import ApiError, LiteClient
from exporter.resolvconf import read_resolv_conf
from exporter.status import Status
from exporter.targets.endpointslices import Endpoint, EndpointSliceWatch, MalformedObject
from exporter.targets.locate import DnsLocation, NotLocated, locate
from exporter.targets.nodelocal import NodeCache, find_node_cache
from exporter.targets.sources import NotServed, Zones
from exporter.targets.zones import ZoneTarget, bounded

log = structlog.get_logger(__name__)

STATUS = "discovery"


@dataclass(frozen=True, slots=True)
class DiscoveryReadings:
    """What discovery found, for ``doctor --format json`` and /diagnose."""

    targets: dict[str, tuple[str, ...]]
    endpoints: tuple[Endpoint, ...]
    errors: dict[str, str] = field(default_factory=dict)
    nodelocal_present: bool | None = None
    location: DnsLocation | None = None
    node_cache: NodeCache | None = None
    zones: tuple[ZoneTarget, ...] = ()
    """Conditional forwarders ``upstream: auto`` probes for their zones."""

    def as_dict(self) -> dict[str, Any]:
        cache = self.node_cache
        return {
            "targets": {path: list(servers) for path, servers in sorted(self.targets.items())},
            "upstream_zones": [
                {"zone": z.zone, "server": str(z.server), "transport": z.transport} for z in self.zones
            ],
            "coredns_endpoints": [e.as_dict() for e in self.endpoints],
            "nodelocal_present": self.nodelocal_present,
            "service": self.location.as_dict() if self.location is not None else None,
            "node_cache": {"kind": cache.kind, "daemonset": cache.daemonset, "reason": cache.reason}
            if cache is not None
            else None,
            "errors": dict(sorted(self.errors.items())),
        }


class KubernetesDiscovery:
    def __init__(
        self,
        config: Config,
        client: LiteClient,
        status: Status,
        *,
        watch_slices: bool,
        upstream: Callable[[], tuple[Server, ...]] | None = None,
        node: str | None = None,
        on_location: Callable[[DnsLocation | None], None] | None = None,
        zones: Zones | None = None,
    ) -> None:
        """``upstream``, ``zones``: where ``upstream: auto`` takes the Corefile's forward targets and its
        conditional forwarders from when another part reads the Corefile already (the cluster
        readers); without them, the Corefile is fetched here.
        ``node``: this node's name (``NODE_NAME``), for the node cache serving it. ``on_location``:
        told each time the cluster DNS Service is located anew (the cluster readers follow it)."""
        k8s = config.kubernetes
        self._k8s = k8s
        self._client = client
        self._status = status
        self._resolver = config.paths.resolver
        self._node = node
        self.auto = frozenset(p for p, spec in config.paths.direct().items() if spec == AUTO)
        self._wants_slices = watch_slices or "pod" in self.auto
        self.slices: EndpointSliceWatch | None = None
        """The watch of the located Service's EndpointSlices (None until located)."""
        self.location: DnsLocation | None = None
        self._no_corefile = False
        self._relocated = asyncio.Event()
        self._on_location = on_location
        self._found: dict[str, tuple[Server, ...]] = {}
        self._errors: dict[str, str] = {}
        self._nodelocal: bool | None = None
        self._node_cache: NodeCache | None = None
        self._refreshed = False
        self._watched = False
        """A watch task runs: it lists and watches; refresh leaves the EndpointSlices to it."""
        self._upstream = upstream
        self._zone_source = zones
        self._zones: tuple[ZoneTarget, ...] = ()

    @property
    def watches_slices(self) -> bool:
        """Whether it watches the located Service's EndpointSlices (one watch, opened once located)."""
        return self._wants_slices

    def zones(self) -> tuple[ZoneTarget, ...]:
        """The Corefile's conditional forwarders (from the cluster readers, or the last fetch here)."""
        if self._zone_source is not None:
            return self._zone_source()
        if "upstream" not in self._found:
            raise RuntimeError(f"not discovered yet: {self._errors.get('upstream', 'waiting for the API')}")
        return self._zones

    def __call__(self, path: str) -> tuple[Server, ...]:
        if path not in self.auto:
            raise NotServed(path)
        if path == "upstream" and self._upstream is not None:
            return self._upstream()
        if path == "pod":
            if self.slices is None or not self.slices.synced:
                reason = self.slices.error if self.slices is not None else self._errors.get("service")
                raise RuntimeError(f"DNS pod endpoints not listed yet: {reason or 'waiting for the API'}")
            return tuple(e.server for e in self.slices.endpoints())
        if path not in self._found:
            raise RuntimeError(f"not discovered yet: {self._errors.get(path, 'waiting for the API')}")
        return self._found[path]

    async def refresh(self) -> None:
        """Locate the Service; read the node cache and the Corefile; list EndpointSlices unless watched."""
        started = time.perf_counter()
        await self._locate()
        readers = {
            "service": self._service,
            "nodelocal": self._node_cache_servers,
            "upstream": self._corefile,
        }
        for path, read in readers.items():
            if path not in self.auto or (path == "upstream" and self._upstream is not None):
                continue
            if path != "nodelocal" and self.location is None:
                continue  # the Service's error says why
            try:
                self._found[path] = await read()
                if path != "service":
                    self._errors.pop(path, None)
            except (ApiError, MalformedObject, OSError, ValueError) as exc:
                self._fail(path, exc)
        if self.slices is not None and not self._watched:
            try:
                await self.slices.list()
            except (ApiError, MalformedObject, OSError, ValueError) as exc:
                self.slices.failed(exc)
        self._refreshed = True
        errors = {p: e for p, e in self._errors.items() if p != "pod"}
        self._status.record(
            STATUS,
            ok=not errors,
            duration=time.perf_counter() - started,
            error="; ".join(f"{p}: {e}" for p, e in sorted(errors.items())) or None,
        )

    async def watch(self) -> None:
        """Watch the located Service's EndpointSlices; start again on another when it is located anew."""
        self._watched = True
        if self.location is None:  # a new leader's readers need it before the first refresh job
            await self._locate()
        while True:
            await self._relocated.wait()
            self._relocated.clear()
            slices = self.slices
            if slices is None:
                continue
            running = asyncio.ensure_future(slices.run())
            moved = asyncio.ensure_future(self._relocated.wait())
            await asyncio.wait({running, moved}, return_when=asyncio.FIRST_COMPLETED)
            for task in (running, moved):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def wait_ready(self, timeout: float) -> None:
        """Before a round: wait (bounded) for the first refresh and the first EndpointSlice list."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            slices = self.slices
            slices_done = (
                not self._wants_slices
                or "service" in self._errors
                or (slices is not None and (slices.synced or slices.error is not None))
            )
            if self._refreshed and slices_done:
                return
            await asyncio.sleep(0.05)

    @property
    def watches(self) -> bool:
        """Whether the located Service's EndpointSlices are to be watched."""
        return self._wants_slices

    def removed_since(self, since: float) -> tuple[tuple[Server, float], ...]:
        """DNS pod endpoints that left the EndpointSlices after ``since`` (for the IPVS diagnosis)."""
        return self.slices.removed_since(since) if self.slices is not None else ()

    def readings(self) -> DiscoveryReadings:
        """A copy of what was found (read from the scrape thread while the event loop updates it)."""
        targets = {p: tuple(str(s) for s in servers) for p, servers in dict(self._found).items()}
        errors = dict(self._errors)
        zones: tuple[ZoneTarget, ...] = ()
        if "upstream" in self.auto:
            try:
                if self._upstream is not None:
                    targets["upstream"] = tuple(str(s) for s in self._upstream())
                zones = self.zones()
            except RuntimeError as exc:
                errors["upstream"] = str(exc)
        endpoints: tuple[Endpoint, ...] = ()
        if self.slices is not None:
            endpoints = self.slices.endpoints()
            if "pod" in self.auto and self.slices.synced:
                targets["pod"] = tuple(str(e.server) for e in endpoints)
            if self.slices.error:
                errors["pod"] = self.slices.error
        return DiscoveryReadings(
            targets, endpoints, errors, self._nodelocal, self.location, self._node_cache, zones
        )

    def _fail(self, path: str, exc: Exception) -> None:
        message = str(exc) or type(exc).__name__
        if self._errors.get(path) != message:
            log.warning("discovery_failed", path=path, error=message)
        self._errors[path] = message

    async def _locate(self) -> None:
        try:
            location = await locate(self._client, self._k8s, self._nameservers(), known=self.location)
        except NotLocated as exc:
            self._fail("service", exc)
            return
        except (ApiError, MalformedObject, OSError, ValueError) as exc:
            self._fail("service", exc)
            if self.location is None and self._on_location is not None:
                self._on_location(None)  # the API fails: readers read as configured, and fail as data
            return
        self._errors.pop("service", None)
        self._located(location)

    def _located(self, location: DnsLocation) -> None:
        if location == self.location:
            return
        if self.location is None or (location.namespace, location.service) != (
            self.location.namespace,
            self.location.service,
        ):
            log.info(
                "cluster_dns_located",
                namespace=location.namespace,
                service=location.service,
                reason=location.reason,
            )
            if self._wants_slices:
                self.slices = EndpointSliceWatch(
                    self._client,
                    namespace=location.namespace,
                    service=location.service,
                    status=self._status,
                    page_size=self._k8s.page_size,
                )
                self._relocated.set()
        self.location = location
        if self._on_location is not None:
            self._on_location(location)

    def _nameservers(self) -> tuple[str, ...]:
        """This pod's resolv.conf nameservers (node mode: what pods use), to tell the cluster DNS by."""
        if self._resolver is None:
            return ()
        try:
            return read_resolv_conf(self._resolver.file).nameservers
        except OSError:
            return ()

    async def _service(self) -> tuple[Server, ...]:
        assert self.location is not None
        return self.location.servers

    async def _node_cache_servers(self) -> tuple[Server, ...]:
        cache = await find_node_cache(
            self._client,
            self._k8s,
            node=self._node,
            nameservers=self._nameservers(),
            resolver_port=self._resolver.port if self._resolver is not None else 53,
            cluster_ips=tuple(s.host for s in self.location.servers) if self.location is not None else (),
        )
        self._node_cache = cache
        self._nodelocal = None if cache.kind == "configured" else cache.daemonset is not None
        return cache.servers

    async def _corefile(self) -> tuple[Server, ...]:
        assert self.location is not None
        namespace, name = self.location.namespace, self.location.corefile_configmap
        try:
            obj = await self._client.get(f"/api/v1/namespaces/{namespace}/configmaps/{name}")
        except ApiError as exc:
            if exc.status != 404:
                raise
            # No Corefile: kube-dns (GKE) forwards to the node's resolv.conf unless told otherwise,
            # and those servers are probed anyway; nothing to add, and nothing failed.
            if not self._no_corefile:
                log.info("no_corefile", configmap=f"{namespace}/{name}", upstreams="the node's resolv.conf")
            self._no_corefile = True
            self._zones = ()
            return ()
        self._no_corefile = False
        corefile = (obj.get("data") or {}).get("Corefile")
        if not isinstance(corefile, str):
            raise MalformedObject(f"ConfigMap {namespace}/{name} has no data.Corefile")
        report = analyse(parse_corefile(corefile))
        self._zones = bounded(corefile_forward_zones(report))
        return corefile_forward_servers(report)
