"""UDP drops in pods' network namespaces, read from this machine's real procfs.

The test makes a network namespace of its own (``unshare -n``) with two processes
in it and a UDP socket that overflows its receive buffer, and overflows one in
its own namespace too (the agent's own sockets). Broken files come from a tree
the test writes.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from exporter.exposition.node import render
from exporter.node.monitor import NodeMonitor
from exporter.node.paths import NodePaths
from exporter.node.readers.netns import read_pod_namespaces
from exporter.status import Status
from tests.conftest import REPO

pytestmark = pytest.mark.lab

FIXTURES = REPO / "tests" / "fixtures" / "node"
QUIET_ROOT = str(FIXTURES / "healthy" / "root")
"""The host files (resolv.conf) of a captured quiet node: this machine's /proc is real, its /etc is not ours."""

OVERFLOW = """
import os, socket, sys
os.system("ip link set lo up")
sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sink.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
sink.bind(("127.0.0.1", 0))
source = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
def flood(count):
    for _ in range(count):
        source.sendto(b"x" * 1000, sink.getsockname())
flood(int(sys.argv[1]))
if os.fork() == 0:  # a second process in the same namespace
    os.execvp("sleep", ["sleep", "60"])
print("ready", flush=True)
for line in sys.stdin:
    flood(int(line))
    print("sent", flush=True)
"""


class Namespace:
    """A process in a new network namespace, flooding a socket that never reads."""

    def __init__(self, first: int) -> None:
        self.process = subprocess.Popen(
            ["unshare", "-n", sys.executable, "-c", OVERFLOW, str(first)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        assert self.process.stdout.readline() == "ready\n"

    @property
    def inode(self) -> int:
        return os.stat(f"/proc/{self.process.pid}/net/snmp").st_ino

    def flood(self, count: int) -> None:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(f"{count}\n")
        self.process.stdin.flush()
        assert self.process.stdout.readline() == "sent\n"

    def close(self) -> None:
        if self.process.poll() is None:
            subprocess.run(["pkill", "-P", str(self.process.pid)], check=False)  # its sleeping child
            self.process.kill()
            self.process.wait()


@pytest.fixture
def namespace() -> Iterator[Namespace]:
    made = Namespace(300)
    yield made
    made.close()


def test_each_namespace_is_read_once_with_its_own_drops(namespace: Namespace) -> None:
    pods = read_pod_namespaces(NodePaths("/proc", QUIET_ROOT))
    host = os.stat("/proc/1/net/snmp").st_ino
    assert host not in pods.namespaces
    mine = pods.namespaces[namespace.inode]
    assert mine.pid == namespace.process.pid  # the lowest PID of the two in it
    sharing = [pid for pid in os.listdir("/proc") if pid.isdigit() and _inode(pid) == namespace.inode]
    assert len(sharing) >= 2
    assert mine.udp.receive_buffer_errors >= 100  # of 300 datagrams of 1000 bytes into ~2 KiB
    assert mine.udp.in_errors >= mine.udp.receive_buffer_errors
    assert pods.failed == 0
    assert pods.skipped == 0


def test_growth_since_start_counts_pods_and_the_agents_own_namespace(namespace: Namespace) -> None:
    monitor = NodeMonitor(lambda: NodePaths("/proc", QUIET_ROOT), Status())
    first = monitor.sample()
    assert first.pod_udp is None  # one reading: nothing to compare yet
    namespace.flood(200)
    own = _overflow_here(150)
    second = monitor.sample()
    assert second.pod_udp is not None
    grown = second.pod_udp.receive_buffer_errors
    assert grown >= 250  # of 200 + 150 more datagrams: the namespace's drops and this process's own
    assert second.increases is not None
    assert second.increases.pod_udp_receive_buffer_errors == grown
    namespace.close()  # a pod goes: what it dropped stays counted
    third = monitor.sample()
    assert third.pod_udp is not None
    assert third.pod_udp.receive_buffer_errors >= grown
    families = {family.name: family for family in render(third)}
    total = families["k8s_dns_node_pod_udp_receive_buffer_errors"].samples[0].value
    assert total == third.pod_udp.receive_buffer_errors
    states = {s.labels["state"]: s.value for s in families["k8s_dns_node_pod_network_namespaces"].samples}
    assert states["read"] >= 1
    own.close()


def test_broken_files_of_a_namespace_are_counted_never_raised(tmp_path: Path) -> None:
    procfs = tmp_path / "proc"
    shutil.copytree(FIXTURES / "healthy" / "proc" / "1", procfs / "1")
    for pid, snmp, snmp6 in (
        ("100", "busy", "busy"),  # well formed
        ("200", "Udp: InErrors\nUdp: 1 2\n", None),  # more values than names
        ("300", "busy", "Udp6InErrors x\n"),  # snmp6 not a number
        ("400", "Udp: InErrors RcvbufErrors SndbufErrors NoPorts\nUdp: 1 2 3", None),  # cut short
    ):
        net = procfs / pid / "net"
        net.mkdir(parents=True)
        source = FIXTURES / snmp / "proc" / "1" / "net" / "snmp"
        (net / "snmp").write_text(source.read_text() if snmp == "busy" else snmp)
        if snmp6 == "busy":
            shutil.copy(FIXTURES / "busy" / "proc" / "1" / "net" / "snmp6", net / "snmp6")
        elif snmp6 is not None:
            (net / "snmp6").write_text(snmp6)
    (procfs / "500" / "net").mkdir(parents=True)  # shares 100's namespace: the same entry
    os.link(procfs / "100" / "net" / "snmp", procfs / "500" / "net" / "snmp")
    (procfs / "600").mkdir()  # a process that exited: nothing under it
    (procfs / "self").mkdir()  # not a process
    pods = read_pod_namespaces(NodePaths(str(procfs), str(tmp_path)))
    assert [n.pid for n in pods.namespaces.values()] == [100]
    only = next(iter(pods.namespaces.values()))
    assert only.udp.in_errors > 0
    assert only.udp6 is not None
    assert pods.failed == 3
    assert pods.processes == 7  # 1, 100 to 600


def _inode(pid: str) -> int | None:
    try:
        return os.stat(f"/proc/{pid}/net/snmp").st_ino
    except OSError:
        return None


def _overflow_here(count: int) -> socket.socket:
    """A socket of this process (this namespace) that overflows; returned to keep it open."""
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    sink.bind(("127.0.0.1", 0))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as source:
        for _ in range(count):
            source.sendto(b"x" * 1000, sink.getsockname())
    time.sleep(0.05)
    return sink
