"""TCP probes report the connect apart from the answer, on real unbound and the real kernel.

The faults are made by the kernel in the test's own network namespace (``make test``
runs pytest in one): an iptables rule drops the first SYN to one lab address (the
client retransmits after about 1 s, as a SYN lost to a full conntrack table or
accept queue would), drops every SYN (never connected), or drops the query once
connected (connected, then no answer). unbound answers whatever gets through.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from prometheus_client import generate_latest

from exporter.probe import Reason
from exporter.text.probes import probe_line
from lab import Lab
from lab.servers import private_network_namespace
from tests.integration.metrics_text import value
from tests.integration.probing import one, run_round

pytestmark = pytest.mark.lab

SYN_RETRANSMIT = 1.0
"""Linux's initial SYN retransmission timeout (TCP_TIMEOUT_INIT), seconds."""


@contextmanager
def iptables(*rule: str) -> Iterator[None]:
    """One INPUT rule, inserted first and removed afterwards (this namespace's tables only)."""
    assert private_network_namespace(), "iptables only in a network namespace of the test's own (make test)"
    subprocess.run(["iptables", "-w", "-I", "INPUT", *rule], check=True)
    try:
        yield
    finally:
        subprocess.run(["iptables", "-w", "-D", "INPUT", *rule], check=True)


def upstream_doc(lab: Lab, timeout: str) -> tuple[str, dict[str, object]]:
    """A config asking one unbound upstream for example.org over UDP and TCP, and that server."""
    server = lab.address("upstream-1")
    doc = lab.config(names=[{"name": "example.org.", "type": "A"}], timeout=timeout, interval="10s")
    doc["paths"] = {"upstream": [server]}
    return server, doc


def to(server: str) -> tuple[str, ...]:
    """iptables match of TCP to ``host:port``."""
    host, port = server.rsplit(":", 1)
    return ("-d", host, "-p", "tcp", "--dport", port)


def test_a_fast_answer_reports_its_connect_as_part_of_its_latency(shared_lab: Lab) -> None:
    server, doc = upstream_doc(shared_lab, "2s")
    runtime, round_ = run_round(doc)
    tcp = one(round_, transport="tcp")
    udp = one(round_, transport="udp")
    assert tcp.ok
    assert udp.ok
    assert tcp.connect is not None
    assert tcp.latency is not None
    assert 0 < tcp.connect < tcp.latency < SYN_RETRANSMIT
    assert udp.connect is None, "UDP has no connect"
    text = generate_latest(runtime.registry()).decode()
    assert value(text, "k8s_dns_probe_tcp_connect_seconds_count", path="upstream") == 1
    assert value(text, "k8s_dns_probe_tcp_connect_seconds_sum", path="upstream") == pytest.approx(tcp.connect)
    report = runtime.report().as_dict()
    by_transport = {p["transport"]: p for p in report["probes"]}
    assert by_transport["tcp"]["connect_seconds"] == round(tcp.connect, 6)
    assert by_transport["udp"]["connect_seconds"] is None
    assert "(connect " in probe_line(tcp)
    assert "(connect " not in probe_line(udp)
    assert server in probe_line(tcp)


def test_a_lost_syn_shows_as_a_slow_connect_before_a_fast_answer(shared_lab: Lab) -> None:
    server, doc = upstream_doc(shared_lab, "3s")
    syn = (*to(server), "--syn", "-m", "statistic", "--mode", "nth", "--every", "2")
    with iptables(*syn, "--packet", "0", "-j", "DROP"):
        runtime, round_ = run_round(doc)
    tcp = one(round_, transport="tcp")
    assert tcp.ok, tcp.detail
    assert tcp.connect is not None
    assert tcp.latency is not None
    assert tcp.connect >= SYN_RETRANSMIT * 0.9, "the retransmitted SYN is what connected"
    assert tcp.latency - tcp.connect < 0.5, "unbound answered at once once connected"
    assert one(round_, transport="udp").latency < 0.5  # type: ignore[operator]
    text = generate_latest(runtime.registry()).decode()
    assert value(text, "k8s_dns_probe_tcp_connect_seconds_sum", path="upstream") >= SYN_RETRANSMIT * 0.9


def test_a_timeout_says_whether_the_connection_was_made(shared_lab: Lab) -> None:
    server, doc = upstream_doc(shared_lab, "500ms")
    with iptables(*to(server), "--syn", "-j", "DROP"):
        _, round_ = run_round(doc)
    never = one(round_, transport="tcp")
    assert never.reason is Reason.TIMEOUT
    assert never.connect is None
    assert never.detail == "no reply within 0.5s, not connected"
    # The handshake passes; the segment carrying the query (longer than a bare ACK) is dropped.
    query = (*to(server), "!", "--syn", "-m", "length", "--length", "80:65535", "-j", "DROP")
    with iptables(*query):
        runtime, round_ = run_round(doc)
    silent = one(round_, transport="tcp")
    assert silent.reason is Reason.TIMEOUT
    assert silent.connect is not None
    assert silent.connect < SYN_RETRANSMIT
    assert silent.detail.startswith("no reply within 0.5s, connected in ")
    assert one(round_, transport="udp").ok, "only TCP segments were dropped"
    text = generate_latest(runtime.registry()).decode()
    assert value(text, "k8s_dns_probe_tcp_connect_seconds_count", path="upstream") == 1
