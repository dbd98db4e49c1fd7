"""``doctor``: one round, the causes, and exit codes a script can act on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lab import Lab
from lab.servers import Dnsmasq
from lab.zones import CLUSTER
from tests.conftest import run_cli, write_config

pytestmark = pytest.mark.lab


def test_json_reports_every_path(shared_lab: Lab, tmp_path: Path) -> None:
    resolv = shared_lab.write_resolv_conf(tmp_path / "resolv.conf")
    config = write_config(tmp_path / "c.yaml", shared_lab.config(resolv_conf=resolv))
    result = run_cli("doctor", "--config", str(config), "--format", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["healthy"] is True
    assert report["summary"]["paths"] == ["service", "pod", "nodelocal", "upstream", "resolver"]
    probe = report["probes"][0]
    assert set(probe) >= {
        "path",
        "server",
        "name",
        "qtype",
        "transport",
        "result",
        "latency_seconds",
        "rcode",
    }
    assert all(p["result"] == "success" and p["latency_seconds"] > 0 for p in report["probes"])


def test_text_names_the_cause_and_exits_1(lab: Lab, tmp_path: Path) -> None:
    lab.kill("service")
    config = write_config(tmp_path / "c.yaml", lab.config())
    result = run_cli("doctor", "--config", str(config))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0] == "1 cause(s) found, most severe first:"
    assert "[WARNING] The kube-dns Service does not reach CoreDNS (service_routing_broken)" in result.stdout
    assert (
        f"The kube-dns Service ({lab.address('service')}) fails from this node while all 2 CoreDNS pods answer"
        in result.stdout
    )
    assert "Runbook: docs/runbooks/service_routing_broken.md" in result.stdout
    failing = [line for line in lines if line.strip().startswith("NETWORK_ERROR")]
    assert len(failing) == 4
    assert all(lab.address("service") in line for line in failing)


def test_failed_probe_without_a_cause_still_exits_1(lab: Lab, tmp_path: Path) -> None:
    doc = lab.config(names=[{"name": "missing.example.org."}])
    doc["paths"] = {"nodelocal": [lab.address("nodelocal")]}
    result = run_cli("doctor", "--config", str(write_config(tmp_path / "c.yaml", doc)))
    assert result.returncode == 1
    assert result.stdout.startswith("No documented cause matches, but 2 probe(s) failed (below).")
    assert "NXDOMAIN" in result.stdout


def test_without_a_config_it_probes_the_given_resolv_conf(tmp_path: Path) -> None:
    """No config: the nameservers of a resolv.conf (here a fixture; port 53 inside the test's namespace)."""
    server = Dnsmasq("cluster-dns", "127.0.88.53", 53, tmp_path, zone=CLUSTER)
    server.start()
    try:
        resolv = tmp_path / "resolv.conf"
        resolv.write_text(
            "nameserver 127.0.88.53\nsearch default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n"
        )
        result = run_cli(
            "doctor", "--resolv-conf", str(resolv), "--format", "json", env={"K8S_DNS_EXPORTER_CONFIG": ""}
        )
    finally:
        server.stop()
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert {(p["path"], p["server"]) for p in report["probes"]} == {
        ("service", "127.0.88.53:53"),
        ("resolver", str(resolv)),
    }


def test_config_comes_from_the_environment(shared_lab: Lab, tmp_path: Path) -> None:
    doc = shared_lab.config()
    doc["paths"] = {"pod": [shared_lab.address("pod-1")]}
    config = write_config(tmp_path / "c.yaml", doc)
    result = run_cli("doctor", "--format", "json", env={"K8S_DNS_EXPORTER_CONFIG": str(config)})
    assert result.returncode == 0
    assert {p["server"] for p in json.loads(result.stdout)["probes"]} == {shared_lab.address("pod-1")}


def test_unreadable_resolv_conf_is_reported_not_a_crash(tmp_path: Path) -> None:
    result = run_cli(
        "doctor",
        "--resolv-conf",
        str(tmp_path / "missing.conf"),
        "--format",
        "json",
        env={"K8S_DNS_EXPORTER_CONFIG": ""},
    )
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["probes"] == []
    assert report["source_errors"] == {
        "paths.service": f"No such file or directory: {tmp_path / 'missing.conf'}",
        "paths.resolver": f"No such file or directory: {tmp_path / 'missing.conf'}",
    }


def test_rounds_must_be_positive(shared_lab: Lab, tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.yaml", shared_lab.config())
    result = run_cli("doctor", "--config", str(config), "--rounds", "0")
    assert (result.returncode, result.stderr) == (2, "error: --rounds: must be at least 1\n")
