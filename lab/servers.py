"""Real DNS servers from Debian, started on loopback for the lab: dnsmasq, unbound and BIND 9.

Each server runs in the foreground as a child process, logs to a file in the
lab's directory, and dies with its parent (``PR_SET_PDEATHSIG``), so a crashed
test never leaves servers behind.
"""

from __future__ import annotations

import abc
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import dns.message
import dns.query
import dns.rcode

from lab.zones import Zone

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """``preexec_fn`` for a lab child process: the kernel sends it SIGTERM when the parent dies."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class LabError(RuntimeError):
    """A lab server could not start."""


def private_network_namespace() -> bool:
    """Whether this process runs in a network namespace with loopback only (``make test`` runs
    pytest under ``unshare -n``): only there may the lab change addresses or firewall rules."""
    try:
        lines = Path("/proc/self/net/dev").read_text().splitlines()[2:]
    except OSError:
        return False
    return [line.split(":", 1)[0].strip() for line in lines] == ["lo"]


def require(binary: str) -> str:
    for directory in (*os.environ.get("PATH", "").split(os.pathsep), "/usr/sbin", "/sbin"):
        candidate = Path(directory) / binary
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which(binary)
    if found is None:
        raise LabError(f"{binary} is not installed (make test installs it with apt-get)")
    return found


class Server(abc.ABC):
    """One DNS server process on ``host:port``."""

    def __init__(self, role: str, host: str, port: int, workdir: Path) -> None:
        self.role = role
        self.host = host
        self.port = port
        self.workdir = workdir
        self.log = workdir / f"{role}.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @abc.abstractmethod
    def command(self) -> Sequence[str]:
        """The command line that runs the server in the foreground."""

    @abc.abstractmethod
    def probe_name(self) -> str:
        """A name this server answers once it is up (with :attr:`ready_rcode`)."""

    ready_rcode = dns.rcode.NOERROR
    """The rcode it answers :meth:`probe_name` with once up (a refusing server: REFUSED)."""

    def start(self, timeout: float = 10.0) -> None:
        with self.log.open("ab") as log:
            self._process = subprocess.Popen(
                list(self.command()),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                preexec_fn=die_with_parent,  # noqa: PLW1509 - only sets the death signal
            )
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        query = dns.message.make_query(self.probe_name(), "A")
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise LabError(f"{self.role} exited with {self._process.returncode}: {self._log_tail()}")
            try:
                reply = dns.query.udp(query, self.host, port=self.port, timeout=0.2)
                if reply.rcode() == self.ready_rcode:
                    return
            except (OSError, dns.exception.DNSException):
                pass
            time.sleep(0.05)
        raise LabError(f"{self.role} did not answer on {self.address} within {timeout}s: {self._log_tail()}")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def _log_tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-2000:]
        except OSError:
            return "(no log)"


class Dnsmasq(Server):
    """dnsmasq answering a zone from a hosts file and forwarding the rest.

    Plays a CoreDNS pod (cluster zone local, other names forwarded to
    upstreams) or the kube-dns Service (everything forwarded to the pods).
    """

    def __init__(
        self,
        role: str,
        host: str,
        port: int,
        workdir: Path,
        *,
        zone: Zone | None = None,
        zones: Sequence[Zone] = (),
        forward: Sequence[str] = (),
        forward_zones: dict[str, str] | None = None,
        all_servers: bool = False,
        probe_name: str = "kubernetes.default.svc.cluster.local.",
        also: Sequence[str] = (),
    ) -> None:
        """``also``: more loopback addresses it answers on (a fleet's CoreDNS pods from one process);
        ``zones``: more zones it serves beside ``zone``."""
        super().__init__(role, host, port, workdir)
        self.also = list(also)
        self.zones = [*([zone] if zone is not None else []), *zones]
        self.forward = list(forward)
        self.forward_zones = dict(forward_zones or {})
        """Zone -> the one server its names are sent to (``--server=/zone/host#port``)."""
        self.all_servers = all_servers
        self._probe_name = probe_name

    def probe_name(self) -> str:
        return self._probe_name

    def command(self) -> Sequence[str]:
        cmd = [
            require("dnsmasq"),
            "--keep-in-foreground",
            "--no-daemon",
            "--conf-file=/dev/null",
            f"--listen-address={','.join([self.host, *self.also])}",
            f"--port={self.port}",
            "--bind-interfaces",
            "--no-resolv",
            "--no-hosts",
            "--no-poll",
            "--pid-file=",
            "--user=root",
            "--cache-size=0",
            "--no-negcache",
            "--log-facility=-",
        ]
        if self.zones:
            hosts = self.workdir / f"{self.role}.hosts"
            lines = [
                f"{value} {owner.rstrip('.')}"
                for zone in self.zones
                for owner, records in zone.records.items()
                for rtype, value in records
                if rtype in ("A", "AAAA")
            ]
            hosts.write_text("\n".join(lines) + "\n")
            cmd.append(f"--addn-hosts={hosts}")
            cmd.extend(f"--local=/{zone.name.rstrip('.')}/" for zone in self.zones)
        for target in self.forward:
            host, port = target.rsplit(":", 1)
            cmd.append(f"--server={host}#{port}")
        for zone_name, target in self.forward_zones.items():
            host, port = target.rsplit(":", 1)
            cmd.append(f"--server=/{zone_name}/{host}#{port}")
        if self.all_servers:
            cmd.append("--all-servers")
        return cmd


class Unbound(Server):
    """unbound as an authoritative upstream for its zones (anything else: NXDOMAIN),
    or as a caching forwarder (NodeLocal DNSCache) when given forward zones."""

    def __init__(
        self,
        role: str,
        host: str,
        port: int,
        workdir: Path,
        *,
        zones: Sequence[Zone] = (),
        forward: dict[str, Sequence[str]] | None = None,
        probe_name: str = "example.org.",
        tcp: bool = True,
        refuse: Sequence[str] = (),
    ) -> None:
        super().__init__(role, host, port, workdir)
        self.zones = list(zones)
        self.forward = dict(forward or {})
        self._probe_name = probe_name
        self.tcp = tcp
        self.refuse = list(refuse)

    def probe_name(self) -> str:
        return self._probe_name

    def command(self) -> Sequence[str]:
        conf = self.workdir / f"{self.role}.conf"
        conf.write_text(self.config_text())
        return [require("unbound"), "-d", "-c", str(conf)]

    def config_text(self) -> str:
        lines = [
            "server:",
            f"  interface: {self.host}@{self.port}",
            "  do-daemonize: no",
            '  username: ""',
            '  chroot: ""',
            f'  directory: "{self.workdir}"',
            f'  pidfile: "{self.workdir}/{self.role}.pid"',
            "  use-syslog: no",
            '  logfile: ""',
            "  verbosity: 0",
            "  num-threads: 1",
            "  so-reuseport: no",
            "  outgoing-range: 32",
            "  incoming-num-tcp: 16",
            "  access-control: 127.0.0.0/8 allow",
            "  do-not-query-localhost: no",
            "  msg-cache-size: 1m",
            "  rrset-cache-size: 1m",
            "  cache-max-ttl: 5",
            "  cache-max-negative-ttl: 1",
            "  do-ip6: no",
        ]
        if not self.tcp:
            lines.append("  do-tcp: no")
        if not self.forward:
            lines.append('  local-zone: "." static')
        lines.extend(f'  local-zone: "{zone_name}" refuse' for zone_name in self.refuse)
        for zone in self.zones:
            if zone.name in self.refuse:
                continue
            lines.append(f'  local-zone: "{zone.name}" static')
            for owner, records in zone.records.items():
                lines.extend(f'  local-data: "{owner} 300 IN {rtype} {value}"' for rtype, value in records)
        for zone_name, targets in self.forward.items():
            lines += ["forward-zone:", f'  name: "{zone_name}"']
            for target in targets:
                host, port = target.rsplit(":", 1)
                lines.append(f"  forward-addr: {host}@{port}")
            if zone_name != ".":
                lines.insert(lines.index("server:") + 1, f'  domain-insecure: "{zone_name}"')
                lines.insert(lines.index("server:") + 1, f'  local-zone: "{zone_name}" nodefault')
        lines += ["remote-control:", "  control-enable: no"]
        return "\n".join(lines) + "\n"


class Bind(Server):
    """BIND 9 (``named``): authoritative for its zones, or a forwarder (``forward only``).

    ``refuse`` lists zones it answers REFUSED for (``allow-query { none; }`` on the zone; ``.``
    refuses everything, ``allow-query`` and ``allow-recursion`` both none). A forwarder whose
    forwarders do not answer answers SERVFAIL, as a resolver whose own upstream is gone does.

    named listens only on addresses of an interface, so the lab's loopback address is added
    to ``lo`` first when missing (tests run in a private network namespace, where they may).
    """

    def __init__(
        self,
        role: str,
        host: str,
        port: int,
        workdir: Path,
        *,
        zones: Sequence[Zone] = (),
        forward: Sequence[str] = (),
        refuse: Sequence[str] = (),
        probe_name: str = "example.org.",
        ready_rcode: dns.rcode.Rcode = dns.rcode.NOERROR,
    ) -> None:
        super().__init__(role, host, port, workdir)
        self.zones = list(zones)
        self.forward = list(forward)
        self.refuse = list(refuse)
        self._probe_name = probe_name
        self.ready_rcode = ready_rcode
        self.home = workdir / role
        self._added = False
        """This lab added ``host`` to lo (and takes it away on stop)."""

    def probe_name(self) -> str:
        return self._probe_name

    def start(self, timeout: float = 10.0) -> None:
        self._address_on_lo()
        super().start(timeout)

    def stop(self) -> None:
        super().stop()
        if self._added:  # leave lo as it was found
            subprocess.run(
                [require("ip"), "addr", "del", f"{self.host}/32", "dev", "lo"],
                capture_output=True,
                check=False,
            )
            self._added = False

    def _address_on_lo(self) -> None:
        shown = subprocess.run(
            [require("ip"), "-o", "-4", "addr", "show", "dev", "lo"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        if f"inet {self.host}/" in shown:
            return
        if not private_network_namespace():
            raise LabError(
                f"named listens only on interface addresses, and {self.host} is not on lo: the lab adds "
                "it only in a network namespace of its own (run it under unshare -n, as make test does)"
            )
        added = subprocess.run(
            [require("ip"), "addr", "add", f"{self.host}/32", "dev", "lo"],
            capture_output=True,
            text=True,
            check=False,
        )
        if added.returncode != 0:
            raise LabError(
                f"named listens only on interface addresses and {self.host} could not be added to lo "
                f"(run the lab in its own network namespace: unshare -n): {added.stderr.strip()}"
            )
        self._added = True

    def command(self) -> Sequence[str]:
        self.home.mkdir(parents=True, exist_ok=True)
        conf = self.home / "named.conf"
        conf.write_text(self.config_text())
        # -g: foreground, logging to stderr; -n 1: one worker, it starts in a fraction of a second.
        return [require("named"), "-g", "-4", "-n", "1", "-c", str(conf)]

    def config_text(self) -> str:
        everything_refused = "." in self.refuse
        lines = [
            "options {",
            f'  directory "{self.home}";',
            "  pid-file none;",
            "  session-keyfile none;",
            f"  listen-on port {self.port} {{ {self.host}; }};",
            "  listen-on-v6 { none; };",
            "  automatic-interface-scan no;",
            "  dnssec-validation no;",
            "  notify no;",
            "  max-cache-ttl 5;",
            "  max-ncache-ttl 1;",
            f"  allow-query {{ {'none' if everything_refused else 'any'}; }};",
        ]
        if self.forward:
            forwarders = " ".join(f"{h} port {p};" for h, p in (t.rsplit(":", 1) for t in self.forward))
            lines += [
                "  recursion yes;",
                f"  allow-recursion {{ {'none' if everything_refused else 'any'}; }};",
                "  forward only;",
                f"  forwarders {{ {forwarders} }};",
            ]
        else:
            lines.append("  recursion no;")
        lines += ["};", "controls { };"]
        served = {zone.name for zone in self.zones}
        # A zone it refuses and does not serve is declared empty, so allow-query can refuse it.
        empty = [Zone(name) for name in self.refuse if name != "." and name not in served]
        for zone in (*self.zones, *empty):
            zone_file = self.home / f"{zone.name}zone"
            zone_file.write_text(zone_text(zone))
            refused = " allow-query { none; };" if zone.name in self.refuse else ""
            lines.append(f'zone "{zone.name}" {{ type primary; file "{zone_file}";{refused} }};')
        return "\n".join(lines) + "\n"


def zone_text(zone: Zone) -> str:
    """A zone file for ``zone``: its SOA and NS, then its records."""
    lines = [
        "$TTL 300",
        f"{zone.name} IN SOA ns.{zone.name} hostmaster.{zone.name} 1 3600 600 86400 1",
        f"{zone.name} IN NS ns.{zone.name}",
        f"ns.{zone.name} IN A 192.0.2.53",
    ]
    for owner, records in zone.records.items():
        lines.extend(f"{owner} IN {rtype} {value}" for rtype, value in records)
    return "\n".join(lines) + "\n"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` right now (for the exporter's own HTTP listener)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
