"""``auto`` targets from the Kubernetes API, for :class:`~exporter.targets.TargetSources`.

=========  ==================================================================
path       discovered from
=========  ==================================================================
service    the kube-dns Service: its ClusterIP(s) and its ``dns`` port
pod        every CoreDNS pod IP in the Service's EndpointSlices (a watch)
nodelocal  the NodeLocal DNSCache address, when its DaemonSet exists
upstream   the IP targets of the Corefile's catch-all ``forward``; and its
           conditional forwarders (stub domains), each probed for its zone
=========  ==================================================================

The Service, the DaemonSet and the Corefile are read again every
``kubernetes.refresh`` (GETs of single objects); the EndpointSlices are
watched. A read that fails keeps the last good answer and is reported as
``k8s_dns_collector_success{collector="discovery"} 0``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog

from exporter.config import AUTO, Config, Server
from exporter.corefile.lint import analyse, corefile_forward_servers, corefile_forward_zones
from exporter.corefile.parse import parse_corefile
from exporter.kube.lite import ApiError, LiteClient
from exporter.status import Status
from exporter.targets.endpointslices import Endpoint, EndpointSliceWatch, MalformedObject
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
    zones: tuple[ZoneTarget, ...] = ()
    """Conditional forwarders ``upstream: auto`` probes for their zones."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "targets": {path: list(servers) for path, servers in sorted(self.targets.items())},
            "upstream_zones": [
                {"zone": z.zone, "server": str(z.server), "transport": z.transport} for z in self.zones
            ],
            "coredns_endpoints": [e.as_dict() for e in self.endpoints],
            "nodelocal_present": self.nodelocal_present,
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
        zones: Zones | None = None,
    ) -> None:
        """``upstream``, ``zones``: where ``upstream: auto`` takes the Corefile's forward targets and its
        conditional forwarders from when another part reads the Corefile already (the cluster
        readers); without them, the Corefile is fetched here."""
        k8s = config.kubernetes
        self._k8s = k8s
        self._client = client
        self._status = status
        self.auto = frozenset(p for p, spec in config.paths.direct().items() if spec == AUTO)
        self.slices = (
            EndpointSliceWatch(
                client, namespace=k8s.namespace, service=k8s.service, status=status, page_size=k8s.page_size
            )
            if watch_slices or "pod" in self.auto
            else None
        )
        self._found: dict[str, tuple[Server, ...]] = {}
        self._errors: dict[str, str] = {}
        self._nodelocal: bool | None = None
        self._refreshed = False
        self._upstream = upstream
        self._zone_source = zones
        self._zones: tuple[ZoneTarget, ...] = ()

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
                reason = self.slices.error if self.slices is not None else None
                raise RuntimeError(f"CoreDNS endpoints not listed yet: {reason or 'waiting for the API'}")
            return tuple(e.server for e in self.slices.endpoints())
        if path not in self._found:
            raise RuntimeError(f"not discovered yet: {self._errors.get(path, 'waiting for the API')}")
        return self._found[path]

    async def refresh(self) -> None:
        """Read the Service, the NodeLocal DaemonSet and the Corefile; list EndpointSlices unless watched."""
        started = time.perf_counter()
        readers = {"service": self._service, "nodelocal": self._nodelocal_address, "upstream": self._corefile}
        for path, read in readers.items():
            if path not in self.auto or (path == "upstream" and self._upstream is not None):
                continue
            try:
                self._found[path] = await read()
                self._errors.pop(path, None)
            except (ApiError, MalformedObject, OSError, ValueError) as exc:
                self._fail(path, exc)
        if self.slices is not None and not self.slices.watching:
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
        if self.slices is not None:
            await self.slices.run()

    async def wait_ready(self, timeout: float) -> None:
        """Before a round: wait (bounded) for the first refresh and the first EndpointSlice list."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            slices_done = self.slices is None or self.slices.synced or self.slices.error is not None
            if self._refreshed and slices_done:
                return
            await asyncio.sleep(0.05)

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
        return DiscoveryReadings(targets, endpoints, errors, self._nodelocal, zones)

    def _fail(self, path: str, exc: Exception) -> None:
        message = str(exc) or type(exc).__name__
        if self._errors.get(path) != message:
            log.warning("discovery_failed", path=path, error=message)
        self._errors[path] = message

    async def _service(self) -> tuple[Server, ...]:
        k8s = self._k8s
        obj = await self._client.get(f"/api/v1/namespaces/{k8s.namespace}/services/{k8s.service}")
        return service_servers(obj)

    async def _nodelocal_address(self) -> tuple[Server, ...]:
        k8s = self._k8s
        try:
            await self._client.get(
                f"/apis/apps/v1/namespaces/{k8s.namespace}/daemonsets/{k8s.nodelocal_daemonset}"
            )
        except ApiError as exc:
            if exc.status != 404:
                raise
            self._nodelocal = False
            return ()
        self._nodelocal = True
        return (k8s.nodelocal_address,)

    async def _corefile(self) -> tuple[Server, ...]:
        k8s = self._k8s
        obj = await self._client.get(
            f"/api/v1/namespaces/{k8s.namespace}/configmaps/{k8s.corefile_configmap}"
        )
        corefile = (obj.get("data") or {}).get("Corefile")
        if not isinstance(corefile, str):
            raise MalformedObject(f"ConfigMap {k8s.corefile_configmap} has no data.Corefile")
        report = analyse(parse_corefile(corefile))
        self._zones = bounded(corefile_forward_zones(report))
        return corefile_forward_servers(report)


def service_servers(obj: dict[str, Any]) -> tuple[Server, ...]:
    """The ClusterIP(s) of a Service on its DNS port (named ``dns``, else the first UDP port, else 53)."""
    try:
        spec = obj["spec"]
        ips = spec.get("clusterIPs") or [spec["clusterIP"]]
        ports = spec.get("ports") or []
        named = [p for p in ports if p.get("name") == "dns"]
        udp = [p for p in ports if p.get("protocol", "TCP") == "UDP"]
        port = int((named or udp or [{"port": 53}])[0]["port"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise MalformedObject(f"Service {obj.get('metadata', {}).get('name', '?')}: {exc!r}") from None
    if not 0 < port < 65536:
        raise MalformedObject(f"Service port {port} is out of range")
    return tuple(Server(str(ip), port) for ip in ips if ip and ip != "None")
