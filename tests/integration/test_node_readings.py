"""Node readings in ``doctor`` and ``/metrics``: captured trees, this machine's /proc, absent and
broken files, and ``upstream: auto`` from the node resolv.conf."""

from __future__ import annotations

import json
import os
import shutil
import signal
from pathlib import Path
from typing import Any

import pytest

from exporter.node.readers.conntrack import parse_conntrack_stat
from exporter.node.readers.snmp import parse_snmp
from exporter.resolvconf import parse_resolv_conf
from lab import Lab
from lab.servers import Dnsmasq
from lab.zones import PUBLIC
from tests.conftest import REPO, run_cli, write_config
from tests.integration.metrics_text import promtool_check, samples, value

pytestmark = pytest.mark.lab

FIXTURES = REPO / "tests" / "fixtures" / "node"
HEALTHY_NODE = {"procfs": str(FIXTURES / "healthy/proc"), "rootfs": str(FIXTURES / "healthy/root")}
NODE_COLLECTORS = (
    "node_conntrack",
    "node_snmp",
    "node_snmp6",
    "node_pod_namespaces",
    "node_cpu",
    "node_pressure",
    "node_resolv_conf",
)


def node_flags(tree: str) -> list[str]:
    return ["--path.procfs", str(FIXTURES / tree / "proc"), "--path.rootfs", str(FIXTURES / tree / "root")]


def lab_doc(lab: Lab, **overrides: Any) -> dict[str, Any]:
    doc = lab.config()
    doc["names"] = [{"name": "kubernetes.default.svc.cluster.local.", "type": "A", "race": True}]
    doc["paths"] = {"service": [lab.address("service")]}
    doc.update(overrides)
    return doc


def test_doctor_reports_a_busy_node_from_fixtures(shared_lab: Lab, tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.yaml", lab_doc(shared_lab))
    result = run_cli("doctor", "--config", str(config), "--format", "json", *node_flags("busy"))
    assert result.returncode == 1, result.stdout + result.stderr
    report = json.loads(result.stdout)
    node = report["node"]
    assert node["procfs"] == str(FIXTURES / "busy/proc")
    assert node["conntrack"] == {
        "entries": 250000,
        "limit": 262144,
        "fill_ratio": pytest.approx(0.9537, abs=1e-4),
        "insert_failed": 34,
        "drop": 366,
        "early_drop": 131,
        "clash_resolve": 72,
        "cpus": 4,
    }
    assert node["net"]["udp_in_errors"] == 18422
    assert node["net"]["udp_receive_buffer_errors"] == 18301
    assert node["cpu"]["pressure_seconds"] == pytest.approx(9123.884112)
    assert node["race"]["probes"] == 1
    assert node["resolv_conf"]["nameservers"] == ["10.1.0.4", "10.1.0.5", "168.63.129.16"]
    assert node["resolv_conf"]["azure_dns_mixed"] is True
    assert node["increases"] is None  # one round: no growth can be known yet
    assert [c["cause"] for c in report["causes"]] == ["conntrack_table_full", "upstream_mixed_resolvers"]
    assert {n: report["collectors"][n]["success"] for n in NODE_COLLECTORS} == dict.fromkeys(
        NODE_COLLECTORS, True
    )

    text = run_cli("doctor", "--config", str(config), *node_flags("busy")).stdout
    assert "conntrack  250000 of 262144 entries (95.4% full); insert_failed 34, drop 366" in text
    assert "udp        InErrors 18422, RcvbufErrors 18301, SndbufErrors 57, NoPorts 479867" in text
    assert "race       1 probe(s): 0 answer(s) lost with A+AAAA together from one socket" in text
    assert (
        "resolver   /run/systemd/resolve/resolv.conf: nameservers 10.1.0.4, 10.1.0.5, 168.63.129.16; "
        "search corp.contoso.example reddog.microsoft.com; options timeout:2 attempts:3"
    ) in text
    assert "Azure DNS beside other servers" in text


def test_doctor_on_an_old_kernel_says_what_it_lacks(shared_lab: Lab, tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.yaml", lab_doc(shared_lab))
    result = run_cli("doctor", "--config", str(config), *node_flags("old-kernel"), "--rounds", "2")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "conntrack  1200 of 65536 entries (1.8% full); insert_failed 4" in result.stdout
    assert "clash_resolve n/a" in result.stdout
    assert (
        f"  node_pressure: No such file or directory: {FIXTURES}/old-kernel/proc/pressure/cpu"
        in result.stdout
    )
    assert "resolver   /etc/resolv.conf: nameservers 192.0.2.10; search example.internal" in result.stdout
    assert "Node (procfs" in result.stdout
    assert "2 sample(s) over " in result.stdout


def read_host(path: str) -> str:
    return Path(path).read_text()


def test_doctor_and_metrics_on_this_machine(shared_lab: Lab, tmp_path: Path, start_exporter) -> None:
    """The real /proc: what doctor and /metrics say must match the files read just before and after."""
    stat_file = "/proc/1/net/stat/nf_conntrack"
    has_conntrack = os.path.exists(stat_file)
    before_snmp = parse_snmp(read_host("/proc/1/net/snmp"))
    config = write_config(tmp_path / "c.yaml", lab_doc(shared_lab, node={"procfs": "/proc", "rootfs": "/"}))
    result = run_cli("doctor", "--config", str(config), "--format", "json")
    after_snmp = parse_snmp(read_host("/proc/1/net/snmp"))
    node = json.loads(result.stdout)["node"]
    in_errors = node["net"]["udp_in_errors"]
    assert before_snmp["Udp"]["InErrors"] <= in_errors <= after_snmp["Udp"]["InErrors"]
    assert before_snmp["Tcp"]["RetransSegs"] <= node["net"]["tcp_retransmitted_segments"]
    if has_conntrack:
        _columns, cpus = parse_conntrack_stat(read_host(stat_file))
        assert node["conntrack"]["cpus"] == cpus
        assert node["conntrack"]["limit"] == int(read_host("/proc/sys/net/netfilter/nf_conntrack_max"))
        assert node["conntrack"]["fill_ratio"] < 0.9
    else:
        assert node["conntrack"] is None
        assert node["errors"]["node_conntrack"].startswith("No such file or directory")
    assert node["race"]["probes"] == 1
    assert node["race"]["lost"] == 0
    # The node resolver is only read, never queried.
    file = next(f for f in ("/run/systemd/resolve/resolv.conf", "/etc/resolv.conf") if os.path.exists(f))
    assert node["resolv_conf"]["file"] == file
    assert node["resolv_conf"]["nameservers"] == list(parse_resolv_conf(read_host(file)).nameservers)
    assert node["resolv_conf"]["modified"] == os.stat(file).st_mtime
    text = run_cli("doctor", "--config", str(config)).stdout
    assert "Node (procfs /proc, root /; 1 sample(s) growth needs two):" in text
    assert ("  conntrack  " in text) == has_conntrack
    assert "  udp        InErrors " in text  # counters move between runs: the JSON check bounds them
    assert f"  resolver   {file}: nameservers {', '.join(node['resolv_conf']['nameservers'])}" in text
    assert "  race       1 probe(s): 0 answer(s) lost with A+AAAA together from one socket" in text

    exporter = start_exporter(lab_doc(shared_lab, node={"procfs": "/proc", "rootfs": "/"}))
    before = parse_conntrack_stat(read_host(stat_file))[0] if has_conntrack else {}
    text = exporter.metrics()
    after = parse_conntrack_stat(read_host(stat_file))[0] if has_conntrack else {}
    promtool_check(text)
    if has_conntrack:
        assert value(text, "k8s_dns_collector_success", collector="node_conntrack") == 1
        entries = value(text, "k8s_dns_node_conntrack_entries")
        assert min(before["entries"], after["entries"]) <= entries <= max(before["entries"], after["entries"])
        failed = value(text, "k8s_dns_node_conntrack_insert_failed_total")
        assert before["insert_failed"] <= failed <= after["insert_failed"]
        assert value(text, "k8s_dns_node_conntrack_entries_limit") == node["conntrack"]["limit"]
    else:
        assert value(text, "k8s_dns_collector_success", collector="node_conntrack") == 0
        assert samples(text, "k8s_dns_node_conntrack_entries") == []
    assert value(text, "k8s_dns_node_udp_in_errors_total") >= in_errors
    assert value(text, "k8s_dns_collector_success", collector="node_snmp") == 1
    modes = {labels["mode"] for labels, _ in samples(text, "k8s_dns_node_cpu_seconds_total")}
    assert {"user", "system", "idle"} <= modes
    assert samples(text, "k8s_dns_node_resolv_conf_info")[0][0]["file"] in (
        "/run/systemd/resolve/resolv.conf",
        "/etc/resolv.conf",
    )
    assert value(text, "k8s_dns_race_probes_total", path="service") >= 1


def test_metrics_from_fixtures_pass_promtool(shared_lab: Lab, start_exporter) -> None:
    node = {"procfs": str(FIXTURES / "busy/proc"), "rootfs": str(FIXTURES / "busy/root")}
    exporter = start_exporter(lab_doc(shared_lab, node=node))
    text = exporter.metrics()
    promtool_check(text)
    assert value(text, "k8s_dns_node_conntrack_entries") == 250000
    assert value(text, "k8s_dns_node_conntrack_entries_limit") == 262144
    assert value(text, "k8s_dns_node_conntrack_insert_failed_total") == 34
    assert value(text, "k8s_dns_node_conntrack_drop_total") == 366
    assert value(text, "k8s_dns_node_conntrack_early_drop_total") == 131
    assert value(text, "k8s_dns_node_conntrack_clash_resolve_total") == 72
    assert value(text, "k8s_dns_node_udp_in_errors_total") == 18422
    assert value(text, "k8s_dns_node_udp_receive_buffer_errors_total") == 18301
    assert value(text, "k8s_dns_node_udp_send_buffer_errors_total") == 57
    assert value(text, "k8s_dns_node_udp_no_ports_total") == 479867
    assert value(text, "k8s_dns_node_tcp_retransmitted_segments_total") == 2044183
    assert value(text, "k8s_dns_node_cpu_pressure_seconds_total") == pytest.approx(9123.884112)
    assert value(text, "k8s_dns_node_cpu_seconds_total", mode="user") == pytest.approx(482119.34)
    info = samples(text, "k8s_dns_node_resolv_conf_info")
    assert info == [
        (
            {
                "file": "/run/systemd/resolve/resolv.conf",
                "nameservers": "10.1.0.4,10.1.0.5,168.63.129.16",
                "search": "corp.contoso.example,reddog.microsoft.com",
                "options": "timeout:2,attempts:3",
            },
            1.0,
        )
    ]
    mtime = os.stat(FIXTURES / "busy/root/run/systemd/resolve/resolv.conf").st_mtime
    assert value(text, "k8s_dns_node_resolv_conf_modified_timestamp_seconds") == pytest.approx(mtime)
    assert value(text, "k8s_dns_node_resolv_conf_azure_dns_mixed") == 1
    for name in NODE_COLLECTORS:
        assert value(text, "k8s_dns_collector_success", collector=name) == 1
    exporter.wait_for(
        lambda: value(exporter.metrics(), "k8s_dns_cause_active", cause="conntrack_table_full") == 1,
        what="the full table to be named",
    )


def test_absent_sources_are_no_data_logged_once(shared_lab: Lab, tmp_path: Path, start_exporter) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    doc = lab_doc(shared_lab, node={"procfs": str(empty), "rootfs": str(empty)}, log={"level": "debug"})
    exporter = start_exporter(doc)
    for _ in range(3):
        text = exporter.metrics()
    promtool_check(text)
    for name in NODE_COLLECTORS:
        assert value(text, "k8s_dns_collector_success", collector=name) == 0
    node_series = [s for s in text.splitlines() if s.startswith("k8s_dns_node_")]
    assert node_series == []  # no data is not a zero
    assert exporter.stop() == 0
    lines = [json.loads(line) for line in exporter.output().splitlines() if line.startswith("{")]
    no_data = [line for line in lines if line["event"] == "collector_no_data"]
    assert sorted(line["collector"] for line in no_data) == sorted(NODE_COLLECTORS)
    assert all(line["level"] == "debug" for line in no_data)
    assert not [line for line in lines if line["event"] == "collector_failed"]


def test_a_corrupt_file_is_a_failure_and_a_warning(shared_lab: Lab, tmp_path: Path, start_exporter) -> None:
    tree = tmp_path / "node"
    shutil.copytree(FIXTURES / "busy", tree, symlinks=True)
    stat = tree / "proc/1/net/stat/nf_conntrack"
    stat.write_text(stat.read_text()[:300])  # cut in the middle of a row
    exporter = start_exporter(
        lab_doc(shared_lab, node={"procfs": str(tree / "proc"), "rootfs": str(tree / "root")})
    )
    text = exporter.metrics()
    assert value(text, "k8s_dns_collector_success", collector="node_conntrack") == 0
    assert value(text, "k8s_dns_collector_success", collector="node_snmp") == 1
    assert samples(text, "k8s_dns_node_conntrack_entries") == []
    assert samples(text, "k8s_dns_node_conntrack_insert_failed_total") == []
    assert value(text, "k8s_dns_node_udp_in_errors_total") == 18422
    report = json.loads(exporter.get("/diagnose")[1])
    assert report["node"]["conntrack"] is None
    assert "the last line is cut short" in report["node"]["errors"]["node_conntrack"]
    assert "conntrack_table_full" not in [c["cause"] for c in report["causes"]]
    assert exporter.stop() == 0
    warnings = [
        json.loads(line)
        for line in exporter.output().splitlines()
        if line.startswith("{") and '"collector_failed"' in line
    ]
    assert warnings
    assert warnings[0]["collector"] == "node_conntrack"
    assert warnings[0]["level"] == "warning"
    assert "nf_conntrack: the last line is cut short (no newline)" in warnings[0]["error"]


def test_upstream_auto_probes_the_node_resolv_conf_nameservers(tmp_path: Path) -> None:
    """Two upstreams on port 53 (inside the test's own network namespace) listed by a fixture root."""
    root = tmp_path / "root"
    (root / "run/systemd/resolve").mkdir(parents=True)
    (root / "run/systemd/resolve/resolv.conf").write_text("nameserver 127.0.92.1\nnameserver 127.0.92.2\n")
    servers = [
        Dnsmasq(f"up-{i}", f"127.0.92.{i}", 53, tmp_path, zone=PUBLIC[0], probe_name="example.org.")
        for i in (1, 2)
    ]
    doc = {
        "timeout": "500ms",
        "interval": "2s",
        "names": [{"name": "example.org.", "type": "A"}],
        "paths": {"upstream": "auto"},
        "node": {"procfs": str(FIXTURES / "healthy/proc"), "rootfs": str(root)},
    }
    config = write_config(tmp_path / "c.yaml", doc)
    for server in servers:
        server.start()
    try:
        result = run_cli("doctor", "--config", str(config), "--format", "json")
    finally:
        for server in servers:
            server.stop()
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert {(p["path"], p["server"], p["result"]) for p in report["probes"]} == {
        ("upstream", "127.0.92.1:53", "success"),
        ("upstream", "127.0.92.2:53", "success"),
    }
    (root / "run/systemd/resolve/resolv.conf").unlink()
    missing = run_cli("doctor", "--config", str(config), "--format", "json")
    assert json.loads(missing.stdout)["source_errors"] == {
        "paths.upstream": f"No such file or directory: {root}/run/systemd/resolve/resolv.conf or {root}/etc/resolv.conf"
    }


def test_path_flags_override_the_config(shared_lab: Lab, tmp_path: Path) -> None:
    doc = lab_doc(shared_lab, node={"procfs": "/nonexistent/proc", "rootfs": "/nonexistent"})
    config = write_config(tmp_path / "c.yaml", doc)
    plain = json.loads(run_cli("doctor", "--config", str(config), "--format", "json").stdout)
    assert plain["node"]["procfs"] == "/nonexistent/proc"
    assert plain["node"]["conntrack"] is None
    assert set(plain["node"]["errors"]) == set(NODE_COLLECTORS)
    flagged = json.loads(
        run_cli("doctor", "--config", str(config), "--format", "json", *node_flags("healthy")).stdout
    )
    assert flagged["node"]["procfs"] == str(FIXTURES / "healthy/proc")
    assert flagged["node"]["rootfs"] == str(FIXTURES / "healthy/root")
    assert flagged["node"]["errors"] == {}
    assert flagged["node"]["resolv_conf"]["nameservers"] == ["192.0.2.53", "192.0.2.54"]


def test_path_flags_survive_a_reload(shared_lab: Lab, start_exporter) -> None:
    doc = lab_doc(shared_lab, node={"procfs": "/nonexistent/proc", "rootfs": "/nonexistent"})
    exporter = start_exporter(doc, args=tuple(node_flags("busy")))
    assert value(exporter.metrics(), "k8s_dns_node_conntrack_entries") == 250000
    doc["listen"] = exporter.url.removeprefix("http://")
    doc["interval"] = "2s"
    write_config(exporter.config, doc)
    exporter.signal(signal.SIGHUP)
    exporter.wait_for(
        lambda: value(exporter.metrics(), "k8s_dns_probe_interval_seconds") == 2, what="the reload"
    )
    assert value(exporter.metrics(), "k8s_dns_node_conntrack_entries") == 250000
    assert value(exporter.metrics(), "k8s_dns_collector_success", collector="node_conntrack") == 1
