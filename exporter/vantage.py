"""The node's own view of DNS, read from the node-vantage agent beside this one.

The node agent probes from the pod network, as pods resolve. A second, optional
DaemonSet (``deploy/overlays/node-vantage``) runs the exporter with
``vantage: node`` in the node's network namespace (``hostNetwork: true``,
``dnsPolicy: Default``): it resolves the same names through the node's own
resolv.conf and asks the node's upstreams directly. Each round the pod agent reads
that agent's ``/diagnose`` JSON on its node (``$K8S_DNS_NODE_VANTAGE``, e.g.
``http://$(HOST_IP):9959/diagnose``), so it can say what the first troubleshooting
guide starts from: *DNS fails from pods but works from the node* (see
:func:`splits`). A peer that cannot be read is a failed collector, never a cause.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import time
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from exporter.diagnosis.stats import FAILING_RATIO
from exporter.probe.engine import Round
from exporter.status import Status

STATUS = "node_vantage"
VANTAGES = ("pod", "node")
CAUSES = ("upstream_mixed_resolvers", "node_dns_config_stale", "dns_port_blocked")
"""What the troubleshooting guide names when pods fail and the node does not: upstreams that answer
differently (CoreDNS picks at random, the node asks its first), a node resolver changed since CoreDNS
read it, and pod traffic to DNS blocked (NetworkPolicy, NSG, security group)."""


@dataclass(frozen=True, slots=True)
class PeerProbe:
    path: str
    server: str
    name: str
    qtype: str
    transport: str
    ok: bool
    result: str


@dataclass(frozen=True, slots=True)
class VantageReadings:
    """The node-vantage agent's last round, as its /diagnose reported it."""

    url: str
    vantage: str | None = None
    probes: tuple[PeerProbe, ...] = ()
    error: str | None = None
    read_at: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "vantage": self.vantage,
            "probes": len(self.probes),
            "answered": sum(p.ok for p in self.probes),
            "error": self.error,
            "read_at": self.read_at,
        }


def parse_peer(document: Any) -> tuple[str | None, tuple[PeerProbe, ...]]:
    """The vantage and the probes of a /diagnose document; ``ValueError`` if it is not one."""
    if not isinstance(document, dict) or not isinstance(document.get("probes"), list):
        raise ValueError("not a /diagnose document: no probes list")
    probes = []
    for index, item in enumerate(document["probes"]):
        try:
            probes.append(
                PeerProbe(
                    str(item["path"]),
                    str(item["server"]),
                    str(item["name"]),
                    str(item["qtype"]),
                    str(item["transport"]),
                    item["result"] == "success",
                    str(item["result"]),
                )
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"probes[{index}]: {exc!r}") from None
    vantage = document.get("vantage")
    return (vantage if vantage in VANTAGES else None), tuple(probes)


class NodeVantage:
    """Reads the node-vantage agent's /diagnose once a round (bounded by ``timeout``)."""

    def __init__(self, url: str, status: Status, timeout: float = 2.0) -> None:
        self.url = url
        self._status = status
        self._timeout = timeout
        self._last = VantageReadings(url)

    async def refresh(self) -> None:
        started = time.perf_counter()
        try:
            body = await asyncio.to_thread(self._get)
            vantage, probes = parse_peer(json.loads(body))
        except (OSError, ValueError, http.client.HTTPException) as exc:  # no HTTP there, a reply cut short
            error = str(exc) or type(exc).__name__
            self._last = VantageReadings(self.url, error=error, read_at=self._last.read_at)
            self._status.record(STATUS, ok=False, duration=time.perf_counter() - started, error=error)
            return
        self._last = VantageReadings(self.url, vantage, probes, read_at=time.time())
        self._status.record(STATUS, ok=True, duration=time.perf_counter() - started)

    def _get(self) -> bytes:
        with urllib.request.urlopen(self.url, timeout=self._timeout) as response:  # noqa: S310 - a configured URL
            body: bytes = response.read(4 * 1024 * 1024)
        return body

    def readings(self) -> VantageReadings:
        return self._last


@dataclass(frozen=True, slots=True)
class Split:
    """A name that fails from the pod network while the node resolves it."""

    name: str
    qtype: str
    pod_side: tuple[str, ...]
    """``path server: failed/total (reason)`` of each pod-side probe target that fails."""
    node_side: tuple[str, ...]
    """``path server`` of each node-side probe that answered."""
    causes: tuple[str, ...] = field(default=CAUSES)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "qtype": self.qtype,
            "fails_from_pods": list(self.pod_side),
            "works_from_node": list(self.node_side),
            "causes_to_check": list(self.causes),
        }


def splits(rounds: Sequence[Round], peer: VantageReadings | None) -> tuple[Split, ...]:
    """Names failing from here (over the window: more than half their probes on one target) that the
    node-vantage agent resolved in its last round."""
    if peer is None or peer.error is not None or not peer.probes:
        return ()
    answered: dict[tuple[str, str], list[str]] = {}
    for probe in peer.probes:
        if probe.ok:
            answered.setdefault((probe.name, probe.qtype), []).append(f"{probe.path} {probe.server}")
    found = []
    for (name, qtype), targets in sorted(_tallies(r for round_ in rounds for r in round_.results).items()):
        node_side = answered.get((name, qtype))
        failing = [
            f"{path} {server}: {failed}/{total} failed ({reason})"
            for (path, server), (failed, total, reason) in sorted(targets.items())
            if failed / total > FAILING_RATIO
        ]
        if failing and node_side:
            found.append(Split(name, qtype, tuple(failing), tuple(sorted(set(node_side)))))
    return tuple(found)


def _tallies(results: Iterable[Any]) -> dict[tuple[str, str], dict[tuple[str, str], tuple[int, int, str]]]:
    out: dict[tuple[str, str], dict[tuple[str, str], tuple[int, int, str]]] = {}
    for r in results:
        per = out.setdefault((r.name, r.qtype), {})
        failed, total, reason = per.get((r.path, r.server), (0, 0, ""))
        per[(r.path, r.server)] = (
            failed + (not r.ok),
            total + 1,
            reason if r.ok else str(r.reason),
        )
    return out
