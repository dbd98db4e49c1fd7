"""Every output per mode, diffed against a checked-in golden file: ``/metrics``, the ``/diagnose``
JSON and the ``doctor`` text (node_exporter's e2e test).

Each mode runs the shipped config (deploy/base/config) against the test Kubernetes API
describing the lab and the captured healthy node tree: the discovery and cluster jobs
once, then one probe round, as ``doctor`` does. Outputs are normalized before the diff:
the temporary directory is written ``<tmp>``, and what depends on time (timestamps,
durations, latencies, the build's versions) ``<value>``; every other value (counts,
fills, answers, causes, evidence, the order of keys) is compared exactly. ``/metrics``
must also pass ``promtool check metrics``; its families and samples are compared sorted.
See tests/integration/golden.py to rewrite the files after an intended change.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import generate_latest

from exporter.text import render_text
from lab import Lab
from lab.kubeapi.server import KubeAPI
from tests.conftest import REPO
from tests.integration.golden import compare, run_once, workdir

pytestmark = pytest.mark.lab

VOLATILE_SAMPLES = frozenset(
    {
        "k8s_dns_probe_last_run_timestamp_seconds",
        "k8s_dns_config_last_reload_success_timestamp_seconds",
        "k8s_dns_node_resolv_conf_modified_timestamp_seconds",  # the fixture file's mtime: the checkout's
        "k8s_dns_probe_round_duration_seconds",
        "k8s_dns_collector_duration_seconds",
        "k8s_dns_probe_duration_seconds_sum",
        "k8s_dns_probe_tcp_connect_seconds_sum",
    }
)
"""/metrics samples whose value depends on when and how fast the run went."""
VOLATILE_KEYS = frozenset(
    {
        "generated_at",
        "latency_seconds",
        "connect_seconds",
        "timestamp",
        "read_at",
        "taken_at",
        "modified",
        "seen_at",
    }
)
"""/diagnose keys whose value depends on when and how fast the run went."""
_VERSION_LABELS = re.compile(r'\b(python_version|version)="[^"]*"')
_MILLISECONDS = re.compile(r" *\b\d+(?:\.\d+)? (?:ms|µs)(?!\w)")
_UTC = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC")


def normalize_metrics(text: str, tmp: Path) -> str:
    families: dict[str, list[str]] = {}
    current = ""
    for raw in text.splitlines():
        line = raw.replace(str(tmp), "<tmp>").replace(str(REPO), "<repo>")
        if line.startswith("# HELP "):
            current = line.split(" ", 3)[2]
            families[current] = [line]
            continue
        if line.startswith("#") or not line:
            families[current].append(line)
            continue
        series, value = line.rsplit(" ", 1)
        name = series.split("{", 1)[0]
        if name in VOLATILE_SAMPLES or (name.endswith("_bucket") and 'le="+Inf"' not in series):
            value = "<value>"
        series = _VERSION_LABELS.sub(lambda m: f'{m.group(1)}="<value>"', series)
        families[current].append(f"{series} {value}")
    out: list[str] = []
    for name in sorted(families):
        lines = families[name]
        out += [line for line in lines if line.startswith("#")]
        out += sorted(line for line in lines if not line.startswith("#"))
    return "\n".join(out) + "\n"


def normalize_json(document: Any, tmp: Path) -> Any:
    if isinstance(document, dict):
        return {
            key: "<value>" if key in VOLATILE_KEYS and value is not None else normalize_json(value, tmp)
            for key, value in document.items()
        }
    if isinstance(document, list):
        return [normalize_json(item, tmp) for item in document]
    if isinstance(document, str):
        return document.replace(str(tmp), "<tmp>").replace(str(REPO), "<repo>")
    return document


def normalize_text(text: str, tmp: Path) -> str:
    text = text.replace(str(tmp), "<tmp>").replace(str(REPO), "<repo>")
    return _UTC.sub("<value>", _MILLISECONDS.sub(" <value>", text))


@pytest.fixture(params=["node", "cluster"])
def outputs(
    request: pytest.FixtureRequest, shared_lab: Lab, kube_api: KubeAPI, kubeconfig: Path
) -> tuple[str, Path, str, dict[str, Any], str]:
    """One run of a mode: its /metrics text, /diagnose JSON and doctor text (every probe listed)."""
    mode: str = request.param
    tmp = workdir()
    try:
        runtime = run_once(mode, shared_lab, kube_api, kubeconfig, tmp)
    finally:
        shutil.rmtree(tmp)
    report = runtime.report()
    text = render_text(report, verbose=True)
    return mode, tmp, generate_latest(runtime.registry()).decode(), report.as_dict(), text


def test_metrics_match_the_golden_file(outputs: tuple[str, Path, str, dict[str, Any], str]) -> None:
    mode, tmp, text, _, _ = outputs
    check = subprocess.run(
        ["promtool", "check", "metrics"], input=text, capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr
    diff = compare(f"{mode}.prom", normalize_metrics(text, tmp))
    assert not diff, f"/metrics differs:\n{diff}"


def test_diagnose_json_matches_the_golden_file(outputs: tuple[str, Path, str, dict[str, Any], str]) -> None:
    mode, tmp, _, report, _ = outputs
    got = json.dumps(normalize_json(json.loads(json.dumps(report)), tmp), indent=2) + "\n"
    diff = compare(f"{mode}.diagnose.json", got)
    assert not diff, f"/diagnose differs:\n{diff}"


def test_doctor_text_matches_the_golden_file(outputs: tuple[str, Path, str, dict[str, Any], str]) -> None:
    mode, tmp, _, _, text = outputs
    diff = compare(f"{mode}.doctor.txt", normalize_text(text, tmp))
    assert not diff, f"doctor text differs:\n{diff}"


def test_the_normalizers_keep_every_value_that_does_not_depend_on_time(tmp_path: Path) -> None:
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
    assert normalize_metrics(text, tmp_path).splitlines() == [
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
    assert normalize_json(
        {"a": {"timestamp": 1.5, "modified": None, "n": 3}, "f": f"{tmp_path}/x"}, tmp_path
    ) == {
        "a": {"timestamp": "<value>", "modified": None, "n": 3},
        "f": "<tmp>/x",
    }
    assert normalize_text("  service  1/1 ok      1.3 ms; modified 2026-12-04 14:06:02 UTC\n", tmp_path) == (
        "  service  1/1 ok <value>; modified <value>\n"
    )
    assert normalize_text("  pod  4/4 ok      412 µs\n", tmp_path) == "  pod  4/4 ok <value>\n"
