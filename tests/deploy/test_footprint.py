"""The node agent's memory stays within its goal and within what the DaemonSet requests."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from lab import Lab, free_port
from lab.shipped import NODE_CONFIG, on_lab
from tests.conftest import REPO
from tests.deploy.footprint import GOAL_MIB, high_water_mib, mebibytes
from tests.deploy.shipped import one, render
from tests.integration.metrics_text import value

ROUNDS = 5


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback only
        return str(response.read().decode())


@pytest.mark.lab
def test_node_agent_peak_memory_is_under_goal_and_request(shared_lab: Lab, tmp_path: Path) -> None:
    port = free_port()
    config = on_lab(
        NODE_CONFIG, shared_lab, tmp_path, interval="1s", timeout="500ms", listen=f"127.0.0.1:{port}"
    )
    url = f"http://127.0.0.1:{port}"
    with (tmp_path / "serve.log").open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "exporter", "serve", "--config", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )
    peak = 0.0
    try:
        deadline = time.monotonic() + 60
        rounds = 0.0
        while rounds < ROUNDS:  # scraped while it probes, as Prometheus would
            assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
            assert process.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                rounds = value(_get(url + "/metrics"), "k8s_dns_probe_rounds_total") or 0.0
                _get(url + "/diagnose")
            except OSError:
                pass
            time.sleep(0.2)
        peak = high_water_mib(process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
    assert process.returncode == 0
    daemonset = one(render(REPO / "deploy" / "base"), "DaemonSet", "k8s-dns-exporter-node")
    (container,) = daemonset["spec"]["template"]["spec"]["containers"]
    request = mebibytes(container["resources"]["requests"]["memory"])
    assert peak <= GOAL_MIB, f"peak RSS {peak:.1f} MiB is over the node agent's goal of {GOAL_MIB} MiB"
    assert peak <= request, f"peak RSS {peak:.1f} MiB is over the DaemonSet's request of {request:g} MiB"
