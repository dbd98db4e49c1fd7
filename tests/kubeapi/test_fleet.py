"""A fleet's share of the CoreDNS pods: 24 real pods (dnsmasq) behind an EndpointSlice that places one
on each of 24 nodes, as OpenShift's dns-default does. Agents run in-process, one per node, with the
shipped budget: each probes at most ``pods_per_round`` pods a round, its own node's among them;
together they visit every pod within the rounds the README states; a pod that dies is named, and
pods not probed are neither counted failing nor missing."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from exporter.compose import NODE_ENV, build
from exporter.config import Config, load_config, parse_config
from exporter.runtime import Runtime
from exporter.targets.selection import rounds_to_cover
from lab import Lab
from lab.kubeapi.cluster import fake_cluster, host
from lab.kubeapi.server import KubeAPI
from lab.shipped import NODE_CONFIG
from tests.conftest import run_cli, write_config
from tests.kubeapi.serving import config as lab_config
from tests.unit.running import CLOSED

pytestmark = pytest.mark.lab

PODS = 24
BUDGET = Config().pods_per_round


def node_of(index: int) -> str:
    return f"worker-{index}"


def fleet(lab: Lab, kube_api: KubeAPI, kubeconfig: Path) -> dict[str, Any]:
    """The lab's 24 pods in one EndpointSlice, pod-i on worker-i; the config probes only the pods."""
    cluster = fake_cluster(kube_api, lab, healthy=True)
    endpoints = [
        (host(lab.address(f"pod-{i}")), f"dns-default-{i:05d}", node_of(i)) for i in range(1, PODS + 1)
    ]
    kube_api.store.put(cluster.slice(endpoints))
    doc = lab_config(lab, kubeconfig)
    doc["paths"] = {"pod": "auto"}
    doc["names"] = [{"name": "kubernetes.default.svc.cluster.local.", "type": "A", "transports": ["udp"]}]
    return doc


def agent(doc: dict[str, Any], node: str | None, monkeypatch: pytest.MonkeyPatch) -> Runtime:
    if node is None:
        monkeypatch.delenv(NODE_ENV, raising=False)
    else:
        monkeypatch.setenv(NODE_ENV, node)
    runtime = build(parse_config(doc), one_shot=True)

    async def read() -> None:  # as doctor does: discovery lists the EndpointSlices first
        for job in runtime.jobs:
            await job.run()

    asyncio.run(read())
    return runtime


def probe(runtime: Runtime) -> tuple[set[str], dict[str, str]]:
    """One round: the pods it probed, and why each."""
    round_ = asyncio.run(runtime.probe_round())
    assert round_.plan is not None
    (share,) = [s for s in round_.plan.paths() if s.path == "pod"]
    return {r.server for r in round_.results if r.path == "pod"}, dict(share.targets)


@pytest.mark.parametrize("lab", [{"pods": PODS}], indirect=True)
def test_agents_probe_a_bounded_share_and_together_cover_every_pod(
    lab: Lab, kube_api: KubeAPI, kubeconfig: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = fleet(lab, kube_api, kubeconfig)
    every = {lab.address(f"pod-{i}") for i in range(1, PODS + 1)}
    rounds = rounds_to_cover(PODS, BUDGET, own=True)
    agents = {i: agent(doc, node_of(i), monkeypatch) for i in (1, 9, 17)}
    for index, runtime in agents.items():
        seen: set[str] = set()
        for _ in range(rounds):
            probed, reasons = probe(runtime)
            assert len(probed) <= BUDGET
            own = lab.address(f"pod-{index}")
            assert own in probed
            assert reasons[own] == "own-node"
            seen |= probed
        assert seen == every, f"{node_of(index)} visits every pod within {rounds} rounds"
        metrics = runtime.registry()
        assert metrics.get_sample_value("k8s_dns_targets_known", {"path": "pod"}) == PODS
        assert metrics.get_sample_value("k8s_dns_probe_targets", {"path": "pod"}) == BUDGET
        assert metrics.get_sample_value("k8s_dns_planned_queries", {"path": "pod"}) == BUDGET
        assert runtime.report().healthy


@pytest.mark.parametrize("lab", [{"pods": PODS}], indirect=True)
def test_a_dead_pod_is_named_and_the_pods_not_probed_are_not(
    lab: Lab, kube_api: KubeAPI, kubeconfig: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = fleet(lab, kube_api, kubeconfig)
    lab.kill("pod-5")
    dead = lab.address("pod-5")
    # Its own node's agent names it in its first round.
    probe(own := agent(doc, node_of(5), monkeypatch))
    assert [r.server for r in own.report().failed] == [dead]
    # An agent on a node without a DNS pod (a control-plane node) finds it in its rotation.
    away = agent(doc, "master-0", monkeypatch)
    for _ in range(rounds_to_cover(PODS, BUDGET, own=False)):
        probed, reasons = probe(away)
        assert len(probed) == BUDGET
        assert set(reasons.values()) == {"rotation"}
        if dead in probed:
            break
    else:
        pytest.fail("the rotation never reached the dead pod")
    report = away.report()
    assert {r.server for r in report.failed} == {dead}, "only the pod that is down fails"
    assert report.findings == (), "one pod of 24 is not every pod: no cause, and no page"
    text = report.as_dict()
    assert text["plan"][0]["known"] == PODS
    assert len(text["plan"][0]["targets"]) == BUDGET
    # Once the rotation moves on, the dead pod is not probed and its series go: nothing is named.
    probed, _ = probe(away)
    assert dead not in probed
    assert away.report().failed == ()
    servers = {s.labels.get("server") for f in away.registry().collect() for s in f.samples}
    assert dead not in servers


@pytest.mark.parametrize("lab", [{"pods": PODS}], indirect=True)
def test_doctor_all_pods_probes_every_pod(
    lab: Lab, kube_api: KubeAPI, kubeconfig: Path, tmp_path: Path
) -> None:
    path = write_config(tmp_path / "fleet.yaml", fleet(lab, kube_api, kubeconfig))
    env = {NODE_ENV: node_of(3)}
    share = json.loads(run_cli("doctor", "--format", "json", "--config", str(path), env=env).stdout)
    everything = json.loads(
        run_cli("doctor", "--all-pods", "--format", "json", "--config", str(path), env=env).stdout
    )
    ((pods_share,), (pods_all,)) = ([p for p in d["plan"] if p["path"] == "pod"] for d in (share, everything))
    assert (pods_share["known"], len(pods_share["targets"])) == (PODS, BUDGET)
    assert {"server": lab.address("pod-3"), "reason": "own-node"} in pods_share["targets"]
    assert (pods_all["known"], len(pods_all["targets"])) == (PODS, PODS)
    assert {t["reason"] for t in pods_all["targets"]} == {"all"}
    text = run_cli("doctor", "--config", str(path), env=env).stdout
    assert f"  pod       {BUDGET} of {PODS} target(s)" in text
    assert "Every CoreDNS pod and upstream at once: doctor --all-pods." in text


def test_an_upstream_that_fails_from_one_node_is_named_with_that_node(
    shared_lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The shipped node agent asks the upstreams one a round; one it cannot reach is named with the node."""
    budget = load_config(NODE_CONFIG).upstreams_per_round
    answering = shared_lab.address("upstream-1")
    doc = shared_lab.config()
    doc["paths"] = {"upstream": [answering, CLOSED]}
    doc["names"] = [{"name": "example.org.", "type": "A"}]
    doc["upstreams_per_round"] = budget
    monkeypatch.setenv(NODE_ENV, "worker-7")
    runtime = build(parse_config(doc))
    window = runtime.config.diagnosis.window
    for _ in range(max(window, 2)):
        round_ = asyncio.run(runtime.probe_round())
        assert len({r.server for r in round_.results}) == budget
    (finding,) = runtime.report().findings
    assert finding.cause == "upstream_unreachable"
    assert finding.summary == f"1 upstream server(s) do not answer from node worker-7: {CLOSED}."
    assert finding.facts["node"] == "worker-7"
