"""``serve`` as a real process: HTTP endpoints, metrics, signals, stale series, a black hole."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from lab import Lab, Responder
from lab.responder import Action, Delayed, Request, healthy
from tests.conftest import run_cli, write_config
from tests.integration.metrics_text import samples, value

pytestmark = pytest.mark.lab


def test_endpoints_metrics_and_clean_stop(shared_lab: Lab, tmp_path: Path, start_exporter) -> None:
    resolv = shared_lab.write_resolv_conf(tmp_path / "resolv.conf")
    exporter = start_exporter(shared_lab.config(resolv_conf=resolv))
    text = exporter.metrics()
    check = subprocess.run(
        ["promtool", "check", "metrics"], input=text, capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr
    service = shared_lab.address("service")
    labels = {"path": "service", "server": service, "name": "example.org.", "qtype": "A", "transport": "udp"}
    assert value(text, "k8s_dns_probe_success", **labels) == 1
    assert value(text, "k8s_dns_probes_total", **labels) >= 1
    assert samples(text, "k8s_dns_probe_failures_total") == []
    assert value(text, "k8s_dns_probe_duration_seconds_count", path="service", server=service) >= 2
    assert value(text, "k8s_dns_probe_targets", path="pod") == 2
    assert value(text, "k8s_dns_queries_sent_total", path="resolver", transport="udp") >= 2
    assert (
        value(text, "k8s_dns_resolver_lookup_queries", server=str(resolv), name="example.org.", qtype="A")
        == 1
    )
    assert value(text, "k8s_dns_collector_success", collector="probe") == 1
    assert value(text, "k8s_dns_probe_interval_seconds") == 1
    assert time.time() - value(text, "k8s_dns_probe_last_run_timestamp_seconds") < 10
    assert len(samples(text, "k8s_dns_cause_active")) >= 26
    assert {v for _, v in samples(text, "k8s_dns_cause_active")} == {0}
    assert value(text, "k8s_dns_exporter_build_info", mode="node") == 1

    status, body = exporter.get("/diagnose")
    report = json.loads(body)
    assert status == 200
    assert report["healthy"] is True
    assert report["causes"] == []
    assert {p["path"] for p in report["probes"]} == {"service", "pod", "nodelocal", "upstream", "resolver"}
    status, text_report = exporter.get("/diagnose?format=text")
    assert status == 200
    assert text_report.startswith("Healthy: all ")
    assert exporter.get("/healthz") == (200, "ok\n")
    assert exporter.get("/readyz") == (200, "ok\n")
    assert exporter.get("/")[0] == 200
    assert "/diagnose" in exporter.get("/")[1]
    assert exporter.get("/nope")[0] == 404

    assert exporter.stop() == 0
    lines = [json.loads(line) for line in exporter.output().splitlines() if line.startswith("{")]
    events = [line["event"] for line in lines]
    assert "exporter_started" in events
    assert "probe_round" in events
    assert events[-1] == "exporter_stopped"


def test_not_ready_until_the_first_round_ends(tmp_path: Path, start_exporter) -> None:
    def slow_then_answer(request: Request) -> Action:
        return Delayed(1.5, healthy(request))

    with Responder("127.0.78.1", 5300, slow_then_answer) as slow:
        doc = {
            "interval": "3s",
            "timeout": "2s",
            "names": [{"name": "a.example.org."}],
            "paths": {"upstream": [slow.address]},
        }
        exporter = start_exporter(doc, ready=False)
        assert exporter.get("/readyz")[0] == 503
        exporter.wait_for(lambda: exporter.get("/readyz")[0] == 200, what="readiness")


def test_killed_server_fails_alone_in_metrics_diagnose_and_doctor(lab: Lab, start_exporter) -> None:
    """NodeLocal DNSCache is a leaf: nothing forwards to it, so only its own probes can fail."""
    exporter = start_exporter(lab.config())
    dead = lab.address("nodelocal")
    lab.kill("nodelocal")

    def failing() -> list[tuple[dict[str, str], float]]:
        return [s for s in samples(exporter.metrics(), "k8s_dns_probe_success") if s[1] == 0]

    exporter.wait_for(lambda: len(failing()) == 4, what="nodelocal to fail")
    rounds = value(exporter.metrics(), "k8s_dns_probe_rounds_total")
    exporter.wait_for(  # one more whole round: the set of failing series is stable, not flapping
        lambda: value(exporter.metrics(), "k8s_dns_probe_rounds_total") >= rounds + 2, what="one more round"
    )
    assert {labels["server"] for labels, _ in failing()} == {dead}
    reasons = {labels["reason"] for labels, _ in samples(exporter.metrics(), "k8s_dns_probe_failures_total")}
    assert reasons <= {"timeout", "network_error"}
    report = json.loads(exporter.get("/diagnose")[1])
    failed = [p for p in report["probes"] if p["result"] != "success"]
    assert {p["server"] for p in failed} == {dead}
    assert [c["cause"] for c in report["causes"]] == ["nodelocal_down"]
    assert value(exporter.metrics(), "k8s_dns_cause_active", cause="nodelocal_down") == 1

    doctor = run_cli("doctor", "--config", str(exporter.config), "--format", "json")
    assert doctor.returncode == 1
    doc = json.loads(doctor.stdout)
    assert {p["server"] for p in doc["probes"] if p["result"] != "success"} == {dead}
    assert [c["cause"] for c in doc["causes"]] == ["nodelocal_down"]


def test_reload_drops_series_of_removed_servers_and_survives_a_bad_file(lab: Lab, start_exporter) -> None:
    doc = lab.config()
    exporter = start_exporter(doc)
    pod2 = lab.address("pod-2")
    assert samples(exporter.metrics(), "k8s_dns_probe_success", server=pod2)

    doc["paths"]["pod"] = [lab.address("pod-1")]
    doc["listen"] = exporter.url.removeprefix("http://")
    write_config(exporter.config, doc)
    exporter.signal(signal.SIGHUP)
    exporter.wait_for(
        lambda: not samples(exporter.metrics(), "k8s_dns_probe_success", server=pod2),
        what="pod-2 series to go",
    )
    text = exporter.metrics()
    assert samples(text, "k8s_dns_probes_total", server=pod2) == []
    assert samples(text, "k8s_dns_probe_duration_seconds_count", server=pod2) == []
    assert value(text, "k8s_dns_probe_targets", path="pod") == 1
    assert value(text, "k8s_dns_config_last_reload_successful") == 1

    exporter.config.write_text("interval: 5\n")
    exporter.signal(signal.SIGHUP)
    exporter.wait_for(
        lambda: value(exporter.metrics(), "k8s_dns_config_last_reload_successful") == 0, what="reload failure"
    )
    rounds = value(exporter.metrics(), "k8s_dns_probe_rounds_total")
    exporter.wait_for(
        lambda: value(exporter.metrics(), "k8s_dns_probe_rounds_total") > rounds,
        what="the old config to keep probing",
    )
    assert exporter.stop() == 0
    assert "config_reload_failed" in exporter.output()
    assert "interval: 5 has no unit" in exporter.output()


def test_black_hole_neither_slows_scrapes_nor_piles_up_probes(start_exporter) -> None:
    with Responder("127.0.79.1", 5301, lambda request: None) as hole:
        doc = {
            "interval": "500ms",
            "timeout": "400ms",
            "jitter": "0s",
            "concurrency": 1,
            "names": [{"name": "a.example.org."}, {"name": "b.example.org."}],
            "paths": {"upstream": [hole.address]},
        }
        exporter = start_exporter(doc)  # 4 probes x 400 ms each, one at a time: a round takes 1.6 s
        worst = 0.0
        text = exporter.metrics()
        first = value(text, "k8s_dns_probe_rounds_total")
        deadline = time.monotonic() + 20
        while value(text, "k8s_dns_probe_rounds_total") < first + 2:  # scraped every 50 ms for two rounds
            assert time.monotonic() < deadline, "two rounds did not end within 20 s"
            time.sleep(0.05)
            started = time.monotonic()
            text = exporter.metrics()
            worst = max(worst, time.monotonic() - started)
        text = exporter.metrics()
        rounds = value(text, "k8s_dns_probe_rounds_total")
        skipped = value(text, "k8s_dns_probe_rounds_skipped_total")
        asked = len(hole.requests)
    assert worst < 0.25, f"a scrape took {worst:.3f}s while probes hung"
    assert skipped >= 2, "rounds due while one ran must be skipped, not run in parallel"
    # Completed rounds sent 4 queries each; the round under way has sent at most 4 more.
    assert rounds * 4 <= asked <= rounds * 4 + 4


def test_a_listen_change_is_warned_of_once_per_new_address(start_exporter) -> None:
    with Responder("127.0.79.2", 5302) as server:
        doc = {
            "interval": "1s",
            "timeout": "500ms",
            "names": [{"name": "example.org.", "type": "A"}],
            "paths": {"service": [server.address]},
        }
        exporter = start_exporter(doc)
        served = exporter.url.removeprefix("http://")

        def reload_with(listen: str, reloads: int) -> None:
            write_config(exporter.config, {**doc, "listen": listen})
            for _ in range(reloads):
                wanted = exporter.output().count("config_reloaded") + 1
                exporter.signal(signal.SIGHUP)
                exporter.wait_for(
                    lambda wanted=wanted: exporter.output().count("config_reloaded") >= wanted, what="reload"
                )

        reload_with("127.0.0.1:1", 3)
        reload_with("127.0.0.1:2", 2)
        reload_with(served, 2)
        reload_with("127.0.0.1:2", 1)
        assert exporter.stop() == 0
        warnings = [
            json.loads(line) for line in exporter.output().splitlines() if "config_listen_changed" in line
        ]
        assert [(w["running"], w["config"]) for w in warnings] == [
            (served, "127.0.0.1:1"),
            (served, "127.0.0.1:2"),
            (served, "127.0.0.1:2"),  # back to the served address in between: a new change
        ]
