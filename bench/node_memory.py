"""Peak memory of the node agent with API discovery, with and without the kubernetes client loaded.

Run inside a loopback-only network namespace, from the repository root:

    unshare -rn sh -c 'ip link set lo up && exec .venv/bin/python -m bench.node_memory'

It starts the loopback lab and the test Kubernetes API (lab/), runs ``serve``
in node mode with every path ``auto`` for ``SECONDS`` under ``/usr/bin/time -v``,
then the same with ``import kubernetes.client`` first (what node mode would
cost if it used the kubernetes package), then cluster mode (which does use it),
and prints the three peak RSS figures.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from lab import Lab, free_port
from lab.kubeapi.certs import make_tls
from lab.kubeapi.cluster import fake_cluster
from lab.kubeapi.server import KubeAPI

SECONDS = 20
WITH_CLIENT = (
    "import kubernetes.client, kubernetes.config, kubernetes.watch; from exporter.cli import main; main()"
)


def peak_rss_kib(command: list[str], seconds: float) -> int:
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        ["/usr/bin/time", "-v", *command], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    time.sleep(seconds)
    # /usr/bin/time forwards no signal: stop the exporter itself, its only child.
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
    os.kill(int(children[0]), signal.SIGTERM)
    _, err = process.communicate(timeout=30)
    match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", err)
    if match is None:
        raise RuntimeError(err)
    return int(match.group(1))


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="node-memory-"))
    (work / "lab").mkdir()
    with Lab(work / "lab", net=200) as lab, KubeAPI(make_tls(work / "tls")) as api:
        fake_cluster(api, lab)
        doc = {
            "mode": "node",
            "listen": f"127.0.0.1:{free_port()}",
            "interval": "1s",
            "timeout": "500ms",
            "names": [{"name": "kubernetes.default.svc.cluster.local."}, {"name": "example.org."}],
            "paths": {"service": "auto", "pod": "auto", "nodelocal": "auto", "upstream": "auto"},
            "kubernetes": {
                "config": "kubeconfig",
                "kubeconfig": str(api.kubeconfig(work / "kubeconfig")),
                "nodelocal": {"address": lab.address("nodelocal")},
                "interval": "2s",
                "inventory_interval": "2s",
            },
        }
        config = work / "node.yaml"
        config.write_text(yaml.safe_dump(doc))
        serve = ["serve", "--config", str(config)]
        lite = peak_rss_kib([sys.executable, "-m", "exporter", *serve], SECONDS)
        heavy = peak_rss_kib([sys.executable, "-c", WITH_CLIENT, *serve], SECONDS)
        cluster_config = work / "cluster.yaml"
        cluster_config.write_text(yaml.safe_dump({**doc, "mode": "cluster"}))
        cluster = peak_rss_kib(
            [sys.executable, "-m", "exporter", "serve", "--config", str(cluster_config)], SECONDS
        )
    print(f"node mode, stdlib discovery client:      peak RSS {lite / 1024:.1f} MiB")
    print(f"node mode, kubernetes client imported:   peak RSS {heavy / 1024:.1f} MiB")
    print(f"difference:                               {(heavy - lite) / 1024:.1f} MiB")
    print(f"cluster mode (kubernetes client, readers): peak RSS {cluster / 1024:.1f} MiB")
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.exit(main())
