"""deploy/components/node-vantage: added to the Operator overlay it renders a hostNetwork DaemonSet that
resolves through the node's own resolv.conf with no API access, and points the pod agent at it."""

from __future__ import annotations

import shutil
from typing import Any

import pytest
import yaml

from exporter.compose import VANTAGE_ENV
from exporter.config import load_config, parse_config
from lab.shipped import DEPLOY, NODE_CONFIG
from tests.deploy.shipped import one, render

COMPONENT = DEPLOY / "components" / "node-vantage"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], ...]:
    copy = tmp_path_factory.mktemp("checkout") / "deploy"
    shutil.copytree(DEPLOY, copy, ignore=shutil.ignore_patterns("__pycache__"))
    kustomization = copy / "overlays" / "prometheus-operator" / "kustomization.yaml"
    kustomization.write_text(kustomization.read_text() + "components:\n  - ../../components/node-vantage\n")
    return render(kustomization.parent)


def test_the_node_vantage_runs_in_the_nodes_network_with_the_nodes_resolver(
    rendered: tuple[dict[str, Any], ...],
) -> None:
    daemonset = one(rendered, "DaemonSet", "k8s-dns-exporter-node-vantage")
    pod = daemonset["spec"]["template"]["spec"]
    assert (pod["hostNetwork"], pod["dnsPolicy"], pod["automountServiceAccountToken"]) == (
        True,
        "Default",
        False,
    )
    (container,) = pod["containers"]
    assert all(not m["mountPath"].startswith("/host") for m in container["volumeMounts"]), (
        "nothing of the host"
    )
    (volume,) = pod["volumes"]
    (configmap,) = [
        o
        for o in rendered
        if o["kind"] == "ConfigMap" and o["metadata"]["name"] == volume["configMap"]["name"]
    ]
    config = parse_config(yaml.safe_load(configmap["data"]["config.yaml"]))
    assert (config.vantage, config.kubernetes.enabled) == ("node", False)
    assert config.listen[1] == container["ports"][0]["containerPort"]
    shipped = {n.name for n in load_config(NODE_CONFIG).names if n.kind == "external"}
    assert {n.name for n in config.names} <= shipped, "the same names as the pod agent, to compare them"


def test_the_pod_agent_reads_the_node_vantage_on_its_own_node(rendered: tuple[dict[str, Any], ...]) -> None:
    agent = one(rendered, "DaemonSet", "k8s-dns-exporter-node")
    env = {e["name"]: e for e in agent["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["HOST_IP"]["valueFrom"] == {"fieldRef": {"fieldPath": "status.hostIP"}}
    vantage = one(rendered, "DaemonSet", "k8s-dns-exporter-node-vantage")
    port = vantage["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"]
    assert env[VANTAGE_ENV]["value"] == f"http://$(HOST_IP):{port}/diagnose"
    assert list(env).index("HOST_IP") < list(env).index(VANTAGE_ENV), (
        "kubelet expands variables defined before"
    )


def test_the_component_is_not_in_any_overlay_by_default() -> None:
    for kustomization in DEPLOY.glob("overlays/*/kustomization.yaml"):
        assert "node-vantage" not in kustomization.read_text()
    assert (COMPONENT / "kustomization.yaml").is_file()
    assert (COMPONENT / "config.yaml").is_file()
