"""The whole of ``/metrics`` per mode, diffed against a checked-in golden file (node_exporter's e2e test).

Each mode runs the shipped config (deploy/base/config) against the test Kubernetes API
describing the lab and the captured healthy node tree: the discovery and cluster jobs
once, then one probe round, as ``doctor`` does, and renders the registry ``serve`` exposes.
The raw text must pass ``promtool check metrics``; the text compared is normalized:
families sorted by name and samples within a family sorted, the temporary directory
written as ``<tmp>``, and the values that depend on time (timestamps, durations,
latency buckets, the build's versions) written as ``<value>``. Every other value
(counts, fills, answers, cause states) is compared exactly.

After an intended change of the exposition, rewrite the files and read the diff:

    K8S_DNS_UPDATE_GOLDEN=1 unshare -n sh -c 'ip link set lo up && exec .venv/bin/python -m pytest -q \
        tests/integration/test_golden_metrics.py'
"""

from __future__ import annotations

import asyncio
import difflib
import os
import re
import subprocess
from pathlib import Path

import pytest
from prometheus_client import generate_latest

from exporter.config import parse_config
from exporter.runtime import Runtime
from tests.conftest import REPO
from tests.deploy.shipped import CLUSTER_CONFIG, NODE_CONFIG, on_test_api
from tests.kubeapi.server import KubeAPI
from tests.kubeapi.test_serve_kubernetes import fake_cluster
from tests.lab import Lab

pytestmark = pytest.mark.lab

GOLDEN = REPO / "tests" / "fixtures" / "metrics"
UPDATE = os.environ.get("K8S_DNS_UPDATE_GOLDEN") == "1"

VOLATILE = frozenset(
    {
        "k8s_dns_probe_last_run_timestamp_seconds",
        "k8s_dns_config_last_reload_success_timestamp_seconds",
        "k8s_dns_node_resolv_conf_modified_timestamp_seconds",  # the fixture file's mtime: the checkout's
        "k8s_dns_probe_round_duration_seconds",
        "k8s_dns_collector_duration_seconds",
        "k8s_dns_probe_duration_seconds_sum",
    }
)
"""Samples whose value depends on when and how fast the run went."""
_VERSION_LABELS = re.compile(r'\b(python_version|version)="[^"]*"')


def normalize(text: str, tmp: Path) -> str:
    families: dict[str, list[str]] = {}
    current = ""
    for raw in text.splitlines():
        line = raw.replace(str(tmp), "<tmp>")
        if line.startswith("# HELP "):
            current = line.split(" ", 3)[2]
            families[current] = [line]
            continue
        if line.startswith("#") or not line:
            families[current].append(line)
            continue
        series, value = line.rsplit(" ", 1)
        name = series.split("{", 1)[0]
        if name in VOLATILE or (name.endswith("_bucket") and 'le="+Inf"' not in series):
            value = "<value>"
        series = _VERSION_LABELS.sub(lambda m: f'{m.group(1)}="<value>"', series)
        families[current].append(f"{series} {value}")
    out: list[str] = []
    for name in sorted(families):
        lines = families[name]
        out += [line for line in lines if line.startswith("#")]
        out += sorted(line for line in lines if not line.startswith("#"))
    return "\n".join(out) + "\n"


def exposition(mode: str, lab: Lab, kube_api: KubeAPI, kubeconfig: Path, tmp: Path) -> str:
    fake_cluster(kube_api, lab)
    shipped = NODE_CONFIG if mode == "node" else CLUSTER_CONFIG
    config = parse_config(on_test_api(shipped, lab, kubeconfig, tmp), source=str(shipped))
    runtime = Runtime(config, one_shot=True)

    async def once() -> None:
        for job in runtime.jobs:
            await job.run()
        await runtime.probe_round()

    asyncio.run(once())
    return generate_latest(runtime.registry()).decode()


@pytest.mark.parametrize("mode", ["node", "cluster"])
def test_metrics_match_the_golden_file(
    mode: str, shared_lab: Lab, kube_api: KubeAPI, kubeconfig: Path, tmp_path: Path
) -> None:
    text = exposition(mode, shared_lab, kube_api, kubeconfig, tmp_path)
    check = subprocess.run(
        ["promtool", "check", "metrics"], input=text, capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr
    got = normalize(text, tmp_path)
    golden = GOLDEN / f"{mode}.prom"
    if UPDATE:
        golden.write_text(got)
    want = golden.read_text()
    diff = "".join(
        difflib.unified_diff(
            want.splitlines(keepends=True), got.splitlines(keepends=True), str(golden), "/metrics"
        )
    )
    assert not diff, f"/metrics differs from {golden.relative_to(REPO)}:\n{diff}"


def test_the_normalizer_keeps_every_value_that_does_not_depend_on_time(tmp_path: Path) -> None:
    text = (
        "# HELP k8s_dns_b_total B.\n# TYPE k8s_dns_b_total counter\n"
        'k8s_dns_b_total{server="x"} 3.0\n'
        "# HELP k8s_dns_probe_duration_seconds D.\n# TYPE k8s_dns_probe_duration_seconds histogram\n"
        'k8s_dns_probe_duration_seconds_bucket{le="0.001"} 1.0\n'
        'k8s_dns_probe_duration_seconds_bucket{le="+Inf"} 2.0\n'
        "k8s_dns_probe_duration_seconds_sum 0.0123\n"
        "# HELP k8s_dns_a A.\n# TYPE k8s_dns_a gauge\n"
        f'k8s_dns_a{{file="{tmp_path}/resolv.conf",options="ndots:5 timeout:1"}} 1.0\n'
        'k8s_dns_exporter_build_info{mode="node",python_version="3.11.7",version="0.1.0"} 1.0\n'
    )
    assert normalize(text, tmp_path).splitlines() == [
        "# HELP k8s_dns_a A.",
        "# TYPE k8s_dns_a gauge",
        'k8s_dns_a{file="<tmp>/resolv.conf",options="ndots:5 timeout:1"} 1.0',
        'k8s_dns_exporter_build_info{mode="node",python_version="<value>",version="<value>"} 1.0',
        "# HELP k8s_dns_b_total B.",
        "# TYPE k8s_dns_b_total counter",
        'k8s_dns_b_total{server="x"} 3.0',
        "# HELP k8s_dns_probe_duration_seconds D.",
        "# TYPE k8s_dns_probe_duration_seconds histogram",
        'k8s_dns_probe_duration_seconds_bucket{le="+Inf"} 2.0',
        'k8s_dns_probe_duration_seconds_bucket{le="0.001"} <value>',
        "k8s_dns_probe_duration_seconds_sum <value>",
    ]
