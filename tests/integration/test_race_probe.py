"""The A+AAAA race probe tells a server that drops the second of two simultaneous queries from one
source port from a real server that answers both."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from exporter.config import Expect, Server
from exporter.hops import Hop
from exporter.probe import race
from exporter.probe.race import RaceResult
from exporter.probe.settings import Settings
from exporter.probe.wire import Query
from exporter.targets.plan import Kind, PlannedProbe
from lab import Lab, Responder
from lab.responder import Action, DropSecondFromOnePort, Request
from lab.topology import HEALTHY_NODE
from tests.conftest import run_cli, write_config
from tests.integration.metrics_text import promtool_check, samples, value
from tests.scenarios.node_files import node_paths

pytestmark = pytest.mark.lab

NAME = "kubernetes.default.svc.cluster.local."


def probe(host: str, port: int, timeout: float = 0.5) -> RaceResult:
    server = Server(host, port)
    planned = PlannedProbe(
        Kind.RACE, Hop.SERVICE, str(server), NAME, "A", "udp", Expect(), (NAME,), server=server
    )
    return asyncio.run(race.probe(planned, Settings(timeout=timeout, budget=timeout, query=Query)))


def test_a_dropping_server_loses_the_second_answer_only_when_sent_together() -> None:
    dropper = DropSecondFromOnePort()
    with Responder("127.0.81.1", 5300, dropper) as server:
        for _ in range(3):
            result = probe(server.host, server.port)
            assert result.lost == ("AAAA",)  # glibc order: A first, AAAA second
            assert result.sequential_lost == ()
            assert result.error is None
        assert dropper.dropped == ["AAAA"] * 3
        # Both queries of each pair came from one source port; the sequential ones from two others.
        udp = [r for r in server.requests if r.transport == "udp"]
        assert len(udp) == 12


def test_a_real_server_answers_both(shared_lab: Lab) -> None:
    pod = shared_lab.servers["pod-1"]
    for _ in range(3):
        result = probe(pod.host, pod.port)
        assert (result.lost, result.sequential_lost, result.error) == ((), (), None)


def test_a_black_hole_loses_everything_and_a_closed_port_is_an_error() -> None:
    def silent(request: Request) -> Action:
        return None

    with Responder("127.0.81.2", 5300, silent) as server:
        result = probe(server.host, server.port, timeout=0.3)
    assert result.lost == ("A", "AAAA")
    assert result.sequential_lost == ("A", "AAAA")
    closed = probe("127.0.81.3", 5300)
    assert (closed.lost, closed.sequential_lost) == ((), ())
    assert closed.error == "connection refused"


def race_config(dropping: str, healthy: str) -> dict[str, object]:
    return {
        "interval": "1s",
        "timeout": "400ms",
        "names": [{"name": NAME, "type": "A", "race": True}],
        "paths": {"service": [dropping], "pod": [healthy]},
        "node": node_paths(HEALTHY_NODE),
    }


def test_metrics_diagnose_and_doctor_name_the_race(shared_lab: Lab, tmp_path: Path, start_exporter) -> None:
    pod = shared_lab.address("pod-1")
    with Responder("127.0.81.4", 5300, DropSecondFromOnePort()) as dropping:
        exporter = start_exporter(race_config(dropping.address, pod))
        exporter.wait_for(
            lambda: value(exporter.metrics(), "k8s_dns_race_probes_total", server=dropping.address) >= 2,
            what="two race rounds",
        )
        text = exporter.metrics()
        promtool_check(text)
        labels = {"path": "service", "server": dropping.address, "name": NAME}
        probes = value(text, "k8s_dns_race_probes_total", **labels)
        assert value(text, "k8s_dns_race_probe_lost_total", qtype="AAAA", **labels) == probes
        assert value(text, "k8s_dns_race_probe_lost_total", qtype="A", **labels) == 0
        assert {v for _, v in samples(text, "k8s_dns_race_sequential_lost_total")} == {0}
        healthy = {"path": "pod", "server": pod, "name": NAME}
        assert value(text, "k8s_dns_race_probes_total", **healthy) >= 2
        assert {v for _, v in samples(text, "k8s_dns_race_probe_lost_total", server=pod)} == {0}
        # The ordinary probes of the same name and server all succeed: only the race tells.
        assert {v for _, v in samples(text, "k8s_dns_probe_success")} == {1}
        exporter.wait_for(
            lambda: value(exporter.metrics(), "k8s_dns_cause_active", cause="conntrack_race_a_aaaa") == 1,
            what="the cause",
        )
        report = json.loads(exporter.get("/diagnose")[1])
        assert [c["cause"] for c in report["causes"]] == ["conntrack_race_a_aaaa"]
        race = report["node"]["race"]
        assert race["lost"] > 0
        assert race["sequential_lost"] == 0

        config = write_config(tmp_path / "doctor.yaml", race_config(dropping.address, pod))
        doctor = run_cli("doctor", "--config", str(config))
    assert doctor.returncode == 1, doctor.stdout + doctor.stderr
    assert "(conntrack_race_a_aaaa)" in doctor.stdout
    assert (
        "race probes (A and AAAA together from one socket): 1 answer(s) lost in 2 probe(s); "
        "the same queries sent one by one: 0 lost"
    ) in doctor.stdout
    assert f"service {dropping.address} {NAME}: 1 lost together, 0 one by one" in doctor.stdout


def test_a_healthy_server_names_no_race(shared_lab: Lab, tmp_path: Path) -> None:
    doc = race_config(shared_lab.address("service"), shared_lab.address("pod-1"))
    result = run_cli("doctor", "--config", str(write_config(tmp_path / "c.yaml", doc)), "--format", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    race = json.loads(result.stdout)["node"]["race"]
    assert (race["probes"], race["lost"], race["sequential_lost"]) == (2, 0, 0)
