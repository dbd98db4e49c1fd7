"""The lab: every hop of a cluster's DNS path as real servers on loopback.

=============  ==================  ============================================================
role           address (net 0)     played by
=============  ==================  ============================================================
service        127.0.10.10:5353    dnsmasq forwarding to the pods (the kube-dns Service VIP)
pod-1, pod-2   127.0.20.{1,2}:5353 dnsmasq serving cluster.local, forwarding the rest to all upstreams
nodelocal      127.0.30.1:5353     unbound caching forwarder (NodeLocal DNSCache)
upstream-1, 2  127.0.40.{1,2}:5353 unbound serving example.org, example.com, corp.internal
               (or BIND 9 or dnsmasq, serving, refusing, failing or giving other data)
cluster-gone   127.0.50.1:5353     BIND 9 answering SERVFAIL for the cluster zone pods lost (optional)
=============  ==================  ============================================================

``net`` moves the whole lab to ``127.<net>.x.y`` so tests can run several labs at once.
Scenarios change it the way a cluster breaks: upstreams that serve different zones,
refuse a zone or do not serve TCP; pods that forward to the wrong place or cannot
answer the cluster zone (as CoreDNS does when it loses the API server).
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dns.rcode

from lab.servers import Bind, Dnsmasq, Server, Unbound
from lab.zones import CLUSTER, PRIVATE, PUBLIC, Zone

DEFAULT_PORT = 5353
HEALTHY_NODE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "node" / "healthy"
"""A quiet node's files, captured from a real kernel: lab configs read these, not this machine's,
so a busy test machine never looks like an overloaded node."""
DEAD = "99.99"
"""Host suffix where nothing listens: a forward target that is gone."""


SOFTWARE = ("unbound", "bind", "dnsmasq")


@dataclass(frozen=True)
class Upstream:
    zones: tuple[Zone, ...] = (*PUBLIC, PRIVATE)
    tcp: bool = True
    refuse: tuple[str, ...] = ()
    """Zones it answers REFUSED for (a resolver that will not serve them); ``.``: every name."""
    software: str = "unbound"
    """The server that plays it: ``unbound``, ``bind`` (BIND 9) or ``dnsmasq``."""
    servfail: bool = False
    """It forwards every name to a server that is gone (``forward only``), so it answers SERVFAIL
    (BIND 9 only: unbound and dnsmasq wait seconds before giving up on a dead forwarder)."""

    def __post_init__(self) -> None:
        if self.software not in SOFTWARE:
            raise ValueError(f"upstream software {self.software!r} is not one of {', '.join(SOFTWARE)}")
        if self.servfail and self.software != "bind":
            raise ValueError("only BIND 9 plays an upstream that answers SERVFAIL")
        if not self.tcp and self.software != "unbound":
            raise ValueError("only unbound plays an upstream without TCP")

    def server(self, role: str, host: str, port: int, workdir: Path, dead: str) -> Server:
        """The server playing this upstream on ``host:port``; ``dead``: an address where nothing listens."""
        server: Server
        if self.software == "bind":
            server = Bind(
                role,
                host,
                port,
                workdir,
                zones=() if self.servfail else self.zones,
                forward=(dead,) if self.servfail else (),
                refuse=self.refuse,
            )
        elif self.software == "dnsmasq":
            # dnsmasq with no server to forward to answers REFUSED for what it does not serve.
            served = [z for z in self.zones if "." not in self.refuse and z.name not in self.refuse]
            server = Dnsmasq(role, host, port, workdir, zones=served, probe_name=PROBE)
        else:
            server = Unbound(role, host, port, workdir, zones=self.zones, tcp=self.tcp, refuse=self.refuse)
        server.ready_rcode = self.ready_rcode()
        return server

    def ready_rcode(self) -> dns.rcode.Rcode:
        """What it answers for :data:`PROBE` once up."""
        if self.servfail:
            return dns.rcode.SERVFAIL
        if "." in self.refuse or PROBE in self.refuse:
            return dns.rcode.REFUSED
        if not any(zone.name == PROBE for zone in self.zones):
            return dns.rcode.REFUSED if self.software == "dnsmasq" else dns.rcode.NXDOMAIN
        return dns.rcode.NOERROR


PROBE = "example.org."
"""The name an upstream is asked until it answers, when the lab starts."""


class Lab:
    def __init__(
        self,
        workdir: Path | None = None,
        *,
        net: int = 0,
        port: int = DEFAULT_PORT,
        pods: int = 2,
        upstreams: Sequence[Upstream] = (Upstream(), Upstream()),
        pod_forward: Sequence[str] | None = None,
        pods_serve_cluster: bool = True,
        lost_cluster: str = "silent",
    ) -> None:
        """``lost_cluster``: how pods that do not serve the cluster zone fail it: ``silent`` (no
        answer, like a CoreDNS stuck on the API), or ``servfail`` (like CoreDNS's kubernetes plugin
        before it has synced: a BIND 9 that forwards to nowhere answers for them)."""
        self._tmp = None if workdir else tempfile.TemporaryDirectory(prefix="k8s-dns-lab-")
        self.workdir = Path(workdir) if workdir else Path(self._tmp.name)  # type: ignore[union-attr]
        self.net = net
        self.port = port
        self.servers: dict[str, Server] = {}
        upstream_addresses = []
        dead = f"{self.host(DEAD)}:{port}"
        cluster_gone = dead
        if not pods_serve_cluster and lost_cluster == "servfail":
            gone = Upstream(software="bind", servfail=True)
            self._add(gone.server("cluster-gone", self.host("50.1"), port, self.workdir, dead))
            cluster_gone = self.address("cluster-gone")
        elif lost_cluster != "silent":
            raise ValueError(f"lost_cluster {lost_cluster!r} is not silent or servfail")
        for index, spec in enumerate(upstreams, start=1):
            host = self.host(f"40.{index}")
            self._add(spec.server(f"upstream-{index}", host, port, self.workdir, dead))
            upstream_addresses.append(f"{host}:{port}")
        forward = list(pod_forward) if pod_forward is not None else upstream_addresses
        pod_addresses = []
        for index in range(1, pods + 1):
            host = self.host(f"20.{index}")
            # --all-servers: like CoreDNS's health-checked forward, one dead upstream is not waited on.
            self._add(
                Dnsmasq(
                    f"pod-{index}",
                    host,
                    port,
                    self.workdir,
                    zone=CLUSTER if pods_serve_cluster else None,
                    forward=forward,
                    forward_zones={} if pods_serve_cluster else {"cluster.local": cluster_gone},
                    all_servers=True,
                    probe_name="kubernetes.default.svc.cluster.local."
                    if pods_serve_cluster
                    else "example.org.",
                )
            )
            pod_addresses.append(f"{host}:{port}")
        service = self.host("10.10")
        self._add(
            Dnsmasq(
                "service",
                service,
                port,
                self.workdir,
                forward=pod_addresses,
                all_servers=True,
                probe_name="kubernetes.default.svc.cluster.local." if pods_serve_cluster else "example.org.",
            )
        )
        self._add(
            Unbound(
                "nodelocal",
                self.host("30.1"),
                port,
                self.workdir,
                forward={"cluster.local.": [f"{service}:{port}"], ".": upstream_addresses},
                probe_name="kubernetes.default.svc.cluster.local." if pods_serve_cluster else "example.org.",
            )
        )

    def host(self, suffix: str) -> str:
        return f"127.{self.net}.{suffix}"

    def _add(self, server: Server) -> None:
        self.servers[server.role] = server

    def address(self, role: str) -> str:
        return self.servers[role].address

    def roles(self, prefix: str) -> list[str]:
        return [role for role in self.servers if role.split("-")[0] == prefix]

    def start(self) -> Lab:
        # Upstreams first, then pods, then what forwards to them.
        try:
            for server in self.servers.values():
                server.start()
        except Exception:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for server in reversed(list(self.servers.values())):
            server.stop()

    def close(self) -> None:
        self.stop()
        if self._tmp is not None:
            self._tmp.cleanup()

    def __enter__(self) -> Lab:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def kill(self, role: str) -> None:
        self.servers[role].stop()

    def revive(self, role: str) -> None:
        self.servers[role].start()

    def write_resolv_conf(
        self, path: Path, *, ndots: int = 5, nameservers: Sequence[str] | None = None
    ) -> Path:
        """A pod's resolv.conf pointing at the lab's kube-dns Service (port set in the config)."""
        hosts = nameservers or [self.servers["service"].host]
        lines = [f"nameserver {h}" for h in hosts]
        lines += [
            "search default.svc.cluster.local svc.cluster.local cluster.local",
            f"options ndots:{ndots} timeout:1 attempts:2",
        ]
        path.write_text("\n".join(lines) + "\n")
        return path

    def config(self, *, resolv_conf: Path | None = None, **overrides: Any) -> dict[str, Any]:
        """A config document probing every path of this lab."""
        doc: dict[str, Any] = {
            "listen": "127.0.0.1:0",
            "interval": "1s",
            "timeout": "500ms",
            "names": [
                {"name": "kubernetes.default.svc.cluster.local.", "type": "A"},
                {"name": "example.org.", "type": "A"},
            ],
            "paths": {
                "service": [self.address("service")],
                "pod": [self.address(r) for r in self.roles("pod")],
                "nodelocal": [self.address("nodelocal")],
                "upstream": [self.address(r) for r in self.roles("upstream")],
            },
            "node": {"procfs": str(HEALTHY_NODE / "proc"), "rootfs": str(HEALTHY_NODE / "root")},
        }
        if resolv_conf is not None:
            doc["paths"]["resolver"] = {"file": str(resolv_conf), "port": self.port}
        doc.update(overrides)
        return doc
