"""Real DNS servers from Debian, started on loopback for the lab: dnsmasq and unbound.

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
        """A name this server answers with NOERROR once it is up."""

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
                if reply.rcode() == dns.rcode.NOERROR:
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
        forward: Sequence[str] = (),
        forward_zones: dict[str, str] | None = None,
        all_servers: bool = False,
        probe_name: str = "kubernetes.default.svc.cluster.local.",
        also: Sequence[str] = (),
    ) -> None:
        """``also``: more loopback addresses it answers on (a fleet's CoreDNS pods from one process)."""
        super().__init__(role, host, port, workdir)
        self.also = list(also)
        self.zone = zone
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
        if self.zone is not None:
            hosts = self.workdir / f"{self.role}.hosts"
            lines = [
                f"{value} {owner.rstrip('.')}"
                for owner, records in self.zone.records.items()
                for rtype, value in records
                if rtype in ("A", "AAAA")
            ]
            hosts.write_text("\n".join(lines) + "\n")
            cmd += [f"--addn-hosts={hosts}", f"--local=/{self.zone.name.rstrip('.')}/"]
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


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` right now (for the exporter's own HTTP listener)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
