"""The CoreDNS pods behind the kube-dns Service, kept current by one EndpointSlice watch.

List once, then watch from the list's resourceVersion with bookmarks, scoped
by the label ``kubernetes.io/service-name=<service>``: that is the whole cost
to the API server of a node agent. A 410 Gone (the resourceVersion was
compacted away) lists again; any other failure keeps the last known endpoints,
records the error, and retries with backoff up to 30 s.

An endpoint that is terminating is left out: its pod is going away. Endpoints
not (yet) ready are kept, so a crash-looping CoreDNS pod is probed and seen
failing rather than silently dropped.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import structlog

from exporter.config import Server
from exporter.kube.lite import ApiError, Gone, LiteClient
from exporter.status import Status

log = structlog.get_logger(__name__)

STATUS = "endpointslices"
REMOVED_KEEP = 900.0
"""Seconds a removed endpoint is remembered (for the IPVS stale-UDP diagnosis)."""


class MalformedObject(ValueError):
    """An API object lacks a field every real API server sends."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    server: Server
    pod: str | None
    node: str | None
    ready: bool

    def as_dict(self) -> dict[str, Any]:
        return {"server": str(self.server), "pod": self.pod, "node": self.node, "ready": self.ready}


def parse_slice(obj: Mapping[str, Any]) -> tuple[str, tuple[Endpoint, ...]]:
    """An EndpointSlice's name and its serving endpoints, on the port named ``dns`` (else UDP, else 53)."""
    try:
        name = obj["metadata"]["name"]
        address_type = obj["addressType"]
        endpoints = obj.get("endpoints") or []
        ports = obj.get("ports") or []
        if not isinstance(name, str) or not isinstance(endpoints, list) or not isinstance(ports, list):
            raise TypeError("wrong field types")
        if address_type not in ("IPv4", "IPv6"):
            return name, ()
        port = _dns_port(ports)
        out = []
        for endpoint in endpoints:
            conditions = endpoint.get("conditions") or {}
            if conditions.get("terminating") is True:
                continue
            target = endpoint.get("targetRef") or {}
            out.append(
                Endpoint(
                    Server(str(endpoint["addresses"][0]), port),
                    pod=target.get("name"),
                    node=endpoint.get("nodeName"),
                    ready=conditions.get("ready") is not False,
                )
            )
    except (KeyError, IndexError, TypeError, AttributeError) as exc:
        raise MalformedObject(f"EndpointSlice {obj.get('metadata', {}).get('name', '?')}: {exc!r}") from None
    return name, tuple(out)


def _dns_port(ports: list[Any]) -> int:
    named = [p for p in ports if p.get("name") == "dns" and p.get("port")]
    udp = [p for p in ports if p.get("protocol", "TCP") == "UDP" and p.get("port")]
    chosen = (named or udp or [{"port": 53}])[0]
    port = chosen["port"]
    if not isinstance(port, int) or not 0 < port < 65536:
        raise TypeError(f"bad port {port!r}")
    return port


class EndpointSliceWatch:
    def __init__(
        self,
        client: LiteClient,
        *,
        namespace: str,
        service: str,
        status: Status,
        page_size: int = 500,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._path = f"/apis/discovery.k8s.io/v1/namespaces/{namespace}/endpointslices"
        self._selector = f"kubernetes.io/service-name={service}"
        self._status = status
        self._page_size = page_size
        self._clock = clock
        self._slices: dict[str, tuple[Endpoint, ...]] = {}
        self._version: str | None = None
        self._removed: deque[tuple[Server, float]] = deque(maxlen=256)
        self.synced = False
        self.error: str | None = None
        self.watching = False
        self._down = False
        """The last watch or list failed to reach the API (not a bad object)."""

    def endpoints(self) -> tuple[Endpoint, ...]:
        """Every pod once (a dual-stack pod by its IPv4 address), in a stable order."""
        found: dict[Server, Endpoint] = {}
        for name in sorted(self._slices):
            for endpoint in self._slices[name]:
                found.setdefault(endpoint.server, endpoint)
        pods: dict[str, Endpoint] = {}
        for endpoint in sorted(found.values(), key=lambda e: (":" in e.server.host, e.server)):
            pods.setdefault(endpoint.pod or str(endpoint.server), endpoint)
        return tuple(sorted(pods.values(), key=lambda e: e.server))

    def removed_since(self, since: float) -> tuple[tuple[Server, float], ...]:
        """Endpoints that went away after ``since`` (address, when), oldest first."""
        current = {e.server for e in self.endpoints()}
        removed = tuple(self._removed)  # one copy: the watch appends from the event loop
        return tuple((s, t) for s, t in removed if t >= since and s not in current)

    async def list(self) -> None:
        """Replace what is known by a fresh list (paginated)."""
        started = time.perf_counter()
        slices: dict[str, tuple[Endpoint, ...]] = {}
        bad: list[str] = []
        params = {"labelSelector": self._selector, "limit": str(self._page_size)}
        while True:
            page = await self._client.get(self._path, params)
            for item in page.get("items") or []:
                try:
                    name, endpoints = parse_slice(item)
                except MalformedObject as exc:
                    bad.append(str(exc))
                    continue
                slices[name] = endpoints
            metadata = page.get("metadata") or {}
            if not metadata.get("continue"):
                break
            params = {**params, "continue": str(metadata["continue"])}
        version = metadata.get("resourceVersion")
        if not isinstance(version, str) or not version:
            raise MalformedObject("EndpointSliceList has no metadata.resourceVersion")
        self._replace(slices)
        self._version = version
        self.synced = True
        self.error = None
        took = time.perf_counter() - started
        if bad:
            self.failed(MalformedObject("; ".join(bad)), took)
        else:
            self._status.record(STATUS, ok=True, duration=took)

    async def run(self) -> None:
        """List, then watch forever; relist on 410 Gone; back off on errors."""
        self.watching = True
        backoff = 1.0
        while True:
            try:
                if self._version is None:
                    await self.list()
                await self._watch_once()
                backoff = 1.0
            except Gone as exc:
                log.info("endpointslice_watch_expired", reason=str(exc), action="list again")
                self._version = None
            except (ApiError, MalformedObject, OSError, TimeoutError, ValueError) as exc:
                self._down = not isinstance(exc, MalformedObject)
                self.failed(exc)
                await asyncio.sleep(backoff * (0.5 + random.random()))  # noqa: S311 - jitter, not security
                backoff = min(backoff * 2, 30.0)

    async def _watch_once(self) -> None:
        timeout = random.randint(300, 600)  # noqa: S311 - spreads re-watches of many agents
        params = {
            "labelSelector": self._selector,
            "resourceVersion": self._version or "",
            "allowWatchBookmarks": "true",
            "timeoutSeconds": str(timeout),
        }
        async for event in self._client.watch(
            self._path, params, idle=timeout + 30, opened=self._reconnected
        ):
            self._apply(event)

    def _reconnected(self) -> None:
        """A watch the API server accepted after losing it is a success, event or not: a quiet
        cluster may send none for hours after a control-plane restart."""
        if self._down:
            self._down = False
            self._recovered()

    def _recovered(self) -> None:
        if self.error is not None:
            log.info("endpointslice_watch_recovered", after=self.error)
            self.error = None
            self._status.record(STATUS, ok=True, duration=0.0)

    def _apply(self, event: Mapping[str, Any]) -> None:
        kind = event.get("type")
        obj = event.get("object")
        if not isinstance(obj, Mapping):
            raise MalformedObject(f"watch event {kind} has no object")
        version = (obj.get("metadata") or {}).get("resourceVersion")
        if kind == "BOOKMARK":
            self._version = version or self._version
            return
        try:
            name, endpoints = parse_slice(obj)
        except MalformedObject as exc:
            self._version = version or self._version  # skip it: watching again would replay it
            self.failed(exc)
            return
        slices = dict(self._slices)
        if kind == "DELETED":
            slices.pop(name, None)
        elif kind in ("ADDED", "MODIFIED"):
            slices[name] = endpoints
        else:
            raise MalformedObject(f"unknown watch event type {kind!r}")
        self._replace(slices)
        self._version = version or self._version
        self._recovered()

    def _replace(self, slices: dict[str, tuple[Endpoint, ...]]) -> None:
        before = {e.server for e in self.endpoints()}
        self._slices = slices
        after = {e.server for e in self.endpoints()}
        now = self._clock()
        for server in sorted(before - after):
            self._removed.append((server, now))
            log.info("coredns_endpoint_removed", server=str(server))
        for server in sorted(after - before):
            log.info("coredns_endpoint_added", server=str(server))
        while self._removed and now - self._removed[0][1] > REMOVED_KEEP:
            self._removed.popleft()

    def failed(self, exc: Exception, duration: float = 0.0) -> None:
        """Record a failure to list or watch (logged when the error changes)."""
        message = str(exc) or type(exc).__name__
        if message != self.error:
            log.warning("endpointslice_watch_failed", error=message, error_type=type(exc).__name__)
        self.error = message
        self._status.record(STATUS, ok=False, duration=duration, error=message)
