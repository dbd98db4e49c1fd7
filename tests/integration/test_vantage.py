"""The node vantage: a second agent resolves from the node's own view (its resolv.conf, its upstreams),
and the pod agent beside it reads that agent's /diagnose each round. When CoreDNS forwards to a server
that is gone, names fail from the pod network while the node resolves them: the pod agent says so, with
the causes the guide gives for it; on a healthy lab it says nothing."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from exporter.compose import VANTAGE_ENV, build
from exporter.config import parse_config
from exporter.runtime import Runtime
from exporter.text import render_text
from lab import Lab
from lab.topology import DEAD, HEALTHY_NODE

pytestmark = pytest.mark.lab

NAME = "example.org."


def node_vantage(lab: Lab, tmp_path: Path) -> dict[str, Any]:
    """The node-vantage agent's config: the node's resolv.conf lists the first upstream, as a node's does."""
    resolv = tmp_path / "node-resolv.conf"
    resolv.write_text(f"nameserver {lab.servers['upstream-1'].host}\noptions ndots:1 timeout:1 attempts:1\n")
    return {
        "vantage": "node",
        "interval": "1s",
        "timeout": "500ms",
        "names": [{"name": NAME, "type": "A"}],
        "paths": {
            "upstream": [lab.address(r) for r in lab.roles("upstream")],
            "resolver": {"file": str(resolv), "port": lab.port},
        },
        "node": {"procfs": str(HEALTHY_NODE / "proc"), "rootfs": str(HEALTHY_NODE / "root")},
    }


def pod_agent(lab: Lab, tmp_path: Path, peer: str, monkeypatch: pytest.MonkeyPatch) -> Runtime:
    monkeypatch.setenv(VANTAGE_ENV, peer)
    doc = lab.config(names=[{"name": NAME, "type": "A"}], resolv_conf=lab.write_resolv_conf(tmp_path / "rc"))
    doc["paths"] = {k: v for k, v in doc["paths"].items() if k in ("service", "pod", "resolver")}
    runtime = build(parse_config(doc))

    async def rounds() -> None:
        for _ in range(runtime.config.diagnosis.window):
            await runtime.probe_round()

    asyncio.run(rounds())
    return runtime


@pytest.mark.parametrize("broken", [True, False], ids=["coredns-forwards-nowhere", "healthy"])
def test_fails_from_pods_works_from_the_node_is_named(
    tmp_path: Path, start_exporter: Any, monkeypatch: pytest.MonkeyPatch, broken: bool
) -> None:
    net = 246 if broken else 247
    options = {"pod_forward": [f"127.{net}.{DEAD}:5353"]} if broken else {}
    with Lab(net=net, **options) as lab:
        node = start_exporter(node_vantage(lab, tmp_path), name="node-vantage.yaml")
        status, body = node.get("/diagnose")
        assert status == 200
        assert '"vantage": "node"' in body
        runtime = pod_agent(lab, tmp_path, node.url + "/diagnose", monkeypatch)
        report = runtime.report()
        registry = runtime.registry()
        assert registry.get_sample_value("k8s_dns_collector_success", {"collector": "node_vantage"}) == 1
        split = registry.get_sample_value("k8s_dns_vantage_split", {"name": NAME, "qtype": "A"})
        text = render_text(report)
        if not broken:
            assert report.splits == ()
            assert split is None
            assert report.healthy, text
            assert "fails from pods" not in text
            return
        (found,) = report.splits
        assert found.name == NAME
        assert split == 1
        assert {side.split()[0] for side in found.pod_side} == {"service", "pod", "resolver"}
        assert f"upstream {lab.address('upstream-1')}" in found.node_side
        assert f"resolver {tmp_path / 'node-resolv.conf'}" in found.node_side
        assert not report.healthy
        assert "DNS fails from pods but works from the node (1 name(s)):" in text
        for cause in ("upstream_mixed_resolvers", "node_dns_config_stale", "dns_port_blocked"):
            assert f"    - {cause}: " in text
        assert report.as_dict()["fails_from_pods_works_from_node"][0]["name"] == NAME


@contextmanager
def not_http() -> Iterator[str]:
    """A peer port where something else answers: a line that is no HTTP status, then the close."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = listener.accept()
                with conn:
                    conn.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/diagnose"
    finally:
        listener.close()


@pytest.mark.parametrize("peer", ["closed port", "not HTTP"])
def test_an_unreadable_peer_is_a_failed_collector_not_a_cause(
    shared_lab: Lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, peer: str
) -> None:
    with contextlib.ExitStack() as stack:
        url = "http://127.0.0.1:9/diagnose" if peer == "closed port" else stack.enter_context(not_http())
        runtime = pod_agent(shared_lab, tmp_path, url, monkeypatch)
    assert len(runtime.probes.rounds()) == runtime.config.diagnosis.window  # no round lost to the peer
    report = runtime.report()
    assert report.splits == ()
    assert report.findings == ()
    assert report.collectors["node_vantage"].ok is False
    assert (
        runtime.registry().get_sample_value("k8s_dns_collector_success", {"collector": "node_vantage"}) == 0
    )
