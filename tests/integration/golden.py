"""Golden files: the shipped configs run once against the test API and the lab, and a checked-in
expected output to diff against (node_exporter's e2e test, for /metrics, /diagnose and ``doctor``).

After an intended change of an output, rewrite the files and read the diff:

    K8S_DNS_UPDATE_GOLDEN=1 unshare -n sh -c 'ip link set lo up && exec .venv/bin/python -m pytest -q \\
        tests/integration/test_golden.py'
"""

from __future__ import annotations

import asyncio
import difflib
import os
import tempfile
from pathlib import Path

from exporter.compose import build
from exporter.config import parse_config
from exporter.runtime import Runtime
from lab import Lab
from lab.kubeapi.cluster import fake_cluster
from lab.kubeapi.server import KubeAPI
from lab.shipped import CLUSTER_CONFIG, NODE_CONFIG, on_test_api
from tests.conftest import REPO

GOLDEN = REPO / "tests" / "fixtures" / "golden"
UPDATE = os.environ.get("K8S_DNS_UPDATE_GOLDEN") == "1"


def workdir() -> Path:
    """A fresh directory whose path always has the same length: text columns sized by paths in it
    (the resolver's resolv.conf) line up the same way in every run."""
    return Path(tempfile.mkdtemp(prefix="k8s-dns-golden-"))


def run_once(mode: str, lab: Lab, kube_api: KubeAPI, kubeconfig: Path, tmp: Path) -> Runtime:
    """The shipped ``mode`` config on the test API describing ``lab``: its jobs once, then one round."""
    fake_cluster(kube_api, lab)
    shipped = NODE_CONFIG if mode == "node" else CLUSTER_CONFIG
    config = parse_config(on_test_api(shipped, lab, kubeconfig, tmp), source=str(shipped))
    runtime = build(config, one_shot=True)

    async def once() -> None:
        for job in runtime.jobs:
            await job.run()
        await runtime.probe_round()

    asyncio.run(once())
    return runtime


def compare(name: str, got: str) -> str:
    """The unified diff of ``got`` against the golden file ``name`` (empty when equal)."""
    golden = GOLDEN / name
    if UPDATE:
        golden.write_text(got)
    want = golden.read_text()
    return "".join(
        difflib.unified_diff(
            want.splitlines(keepends=True),
            got.splitlines(keepends=True),
            str(golden.relative_to(REPO)),
            "got",
        )
    )
