"""What the shipped configs cost as they run: peak memory and CPU of the node agent and the cluster leader.

Run inside a loopback-only network namespace, from the repository root:

    unshare -rn sh -c 'ip link set lo up && exec .venv/bin/python -m bench.footprint [MINUTES]'

It starts the loopback lab and the test Kubernetes API describing it (lab/), then
runs ``deploy/base/config/node.yaml`` and ``cluster.yaml`` with their shipped names,
paths and 30 s schedule (only the API endpoint, NodeLocal's address, the pod's
resolv.conf and the host's files are pointed at the lab), scrapes both every 15 s
as Prometheus would, and after MINUTES (default 3) prints for each process: peak
RSS (``VmHWM``), CPU seconds spent starting (until the first round is ready) and
CPU seconds over the run, read from ``/proc/<pid>/status`` and ``/proc/<pid>/stat``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import yaml

from bench.common import RESULTS, machine_table, publish
from lab import Lab, free_port
from lab.kubeapi.certs import make_tls
from lab.kubeapi.cluster import fake_cluster
from lab.kubeapi.server import KubeAPI
from lab.shipped import CLUSTER_CONFIG, NODE_CONFIG, on_test_api

SCRAPE_EVERY = 15.0
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    url: str
    started_cpu: float = 0.0

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.popen.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime

    def peak_rss_mib(self) -> float:
        for line in Path(f"/proc/{self.popen.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmHWM")

    def scrape(self) -> str:
        with urllib.request.urlopen(self.url + "/metrics", timeout=5) as response:  # noqa: S310 - loopback
            return str(response.read().decode())

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + "/readyz", timeout=5) as response:  # noqa: S310
                return bool(response.status == 200)
        except OSError:
            return False


def start(name: str, doc: dict[str, object], work: Path) -> Process:
    port = free_port()
    config = work / f"{name}.yaml"
    config.write_text(yaml.safe_dump({**doc, "listen": f"127.0.0.1:{port}"}, sort_keys=False))
    popen = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "-m", "exporter", "serve", "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return Process(name, popen, f"http://127.0.0.1:{port}")


def main() -> int:
    minutes = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
    work = Path(tempfile.mkdtemp(prefix="footprint-"))
    (work / "lab").mkdir()
    with Lab(work / "lab", net=201) as lab, KubeAPI(make_tls(work / "tls")) as api:
        fake_cluster(api, lab)
        kubeconfig = api.kubeconfig(work / "kubeconfig")
        processes = [
            start("node", on_test_api(NODE_CONFIG, lab, kubeconfig, work, fast=False), work),
            start("cluster", on_test_api(CLUSTER_CONFIG, lab, kubeconfig, work, fast=False), work),
        ]
        try:
            deadline = time.monotonic() + 120
            for process in processes:
                while not process.ready():
                    if time.monotonic() > deadline or process.popen.poll() is not None:
                        raise RuntimeError(f"{process.name} did not become ready")
                    time.sleep(0.2)
                process.started_cpu = process.cpu_seconds()
            end = time.monotonic() + minutes * 60
            scrapes = 0
            while time.monotonic() < end:
                for process in processes:
                    process.scrape()
                scrapes += 1
                time.sleep(min(SCRAPE_EVERY, max(0.0, end - time.monotonic())))
            seconds = minutes * 60
            rows = []
            for process in processes:
                used = process.cpu_seconds() - process.started_cpu
                rows.append(
                    f"| {process.name} | {process.peak_rss_mib():.1f} | {process.started_cpu:.2f} "
                    f"| {used:.2f} | {used / seconds * 1000:.2f} |"
                )
        finally:
            for process in processes:
                process.popen.send_signal(signal.SIGTERM)
                process.popen.wait(timeout=15)
    text = "\n".join(
        [
            "# Footprint of the shipped configs",
            "",
            f"`unshare -n sh -c 'ip link set lo up && exec .venv/bin/python -m bench.footprint {minutes:g}'`",
            "",
            f"deploy/base/config/node.yaml and cluster.yaml at their 30 s interval for {minutes:g} min",
            "against the test Kubernetes API and the loopback lab, each scraped every",
            f"{SCRAPE_EVERY:g} s ({scrapes} scrapes).",
            "",
            "| process | peak RSS MiB (VmHWM) | CPU s to the first round | CPU s after | millicores after |",
            "|---|---|---|---|---|",
            *rows,
            "",
            machine_table(),
        ]
    )
    return publish(RESULTS, "footprint.md", text)


if __name__ == "__main__":
    sys.exit(main())
