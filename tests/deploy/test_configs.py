"""The exporter configs shipped in deploy/: valid, in step with each other, and as cheap as the README says."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from exporter.config import load_config
from lab import Lab
from lab.shipped import CLUSTER_CONFIG, NAMESPACE, NODE_CONFIG, on_lab
from tests.conftest import REPO, run_cli
from tests.deploy.shipped import OVERLAYS, exporter_configs, render

overlays = pytest.mark.parametrize("overlay", OVERLAYS, ids=lambda p: p.name)


@overlays
def test_every_exporter_configmap_passes_check_config(overlay: Path, tmp_path: Path) -> None:
    configs = exporter_configs(render(overlay))
    assert sorted(configs) == ["k8s-dns-exporter-cluster", "k8s-dns-exporter-node"]
    for name, text in configs.items():
        path = tmp_path / f"{name}.yaml"
        path.write_text(text)
        result = run_cli("check-config", str(path))
        assert result.returncode == 0, f"{overlay.name} {name}: {result.stderr}"
        assert result.stdout.startswith(f"ok: {path}:")


def test_configmaps_hold_the_shipped_files() -> None:
    base = exporter_configs(render(REPO / "deploy" / "base"))
    assert base["k8s-dns-exporter-node"] == NODE_CONFIG.read_text()
    assert base["k8s-dns-exporter-cluster"] == CLUSTER_CONFIG.read_text()


def test_node_agent_discovers_every_hop_and_reads_the_host_through_its_mounts() -> None:
    config = load_config(NODE_CONFIG)
    assert (config.mode, config.node.procfs, config.node.rootfs) == ("node", "/host/proc", "/host")
    assert tuple(config.paths[p] for p in ("service", "pod", "nodelocal", "upstream")) == ("auto",) * 4, (
        "every hop from every node, the upstreams too"
    )
    assert (config.pods_per_round, config.upstreams_per_round) == (3, 1), "a bounded share each round"
    assert config.paths.resolver is not None
    assert config.paths.resolver.file == "/etc/resolv.conf"
    assert config.kubernetes.config == "in-cluster"
    assert [n.name for n in config.names if n.race] == ["kubernetes.default.svc.cluster.local."]
    assert config.listen == ("0.0.0.0", 9958)


def test_cluster_instance_elects_a_leader_in_its_own_namespace_and_probes_upstreams_service_and_pods() -> (
    None
):
    cluster = load_config(CLUSTER_CONFIG)
    assert cluster.mode == "cluster"
    assert cluster.kubernetes.config == "in-cluster"
    assert (cluster.kubernetes.lease.name, cluster.kubernetes.lease.namespace) == (
        "k8s-dns-exporter",
        NAMESPACE,
    )
    assert cluster.paths["upstream"] == "auto"
    # The Service and the pods too, from its own node, for the causes that need readings and probes.
    assert (cluster.paths["service"], cluster.paths["pod"], cluster.paths["nodelocal"]) == (
        "auto",
        "auto",
        (),
    )
    assert not any(n.race for n in cluster.names), "the race probe is the node agents' job"


def _queries_per_round(config: Path, lab: Lab, tmp_path: Path, *, nodelocal: bool = False) -> int:
    lab_config = on_lab(config, lab, tmp_path, nodelocal=nodelocal)
    result = run_cli("doctor", "--config", str(lab_config), "--format", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert {p["result"] for p in report["probes"]} == {"success"}
    races = report["node"]["race"]["probes"]
    # A race probe sends A and AAAA together, then the same two one by one.
    return sum(p["queries"] for p in report["probes"]) + 4 * races


def _install_section() -> str:
    text = (REPO / "README.md").read_text()
    start = text.index("## Install in Kubernetes")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else None]


@pytest.mark.lab
def test_probe_load_in_the_readme_is_what_the_shipped_config_sends(shared_lab: Lab, tmp_path: Path) -> None:
    queries = _queries_per_round(NODE_CONFIG, shared_lab, tmp_path)
    config = load_config(NODE_CONFIG)
    section = _install_section()
    upstream = 2 * config.upstreams_per_round  # the external name over UDP and TCP
    on_coredns = queries - upstream
    assert f"nodes x {on_coredns} / {config.interval:g}" in section
    rows = dict(re.findall(r"^\| ([\d,]+) \| ([\d.,]+) \|", section, flags=re.MULTILINE))
    table = {int(n.replace(",", "")): float(q.replace(",", "")) for n, q in rows.items()}
    assert sorted(table) == [10, 100, 1000, 5000]
    for nodes, qps in table.items():
        assert qps == pytest.approx(nodes * on_coredns / config.interval, abs=0.05, rel=0.001), nodes
    nodelocal = _queries_per_round(NODE_CONFIG, shared_lab, tmp_path, nodelocal=True)
    assert nodelocal == queries + 8, "NodeLocal: 2 names over UDP and TCP, and the A+AAAA race"
    assert f"{nodelocal} queries" in section
    pods = len(shared_lab.roles("pod"))
    assert pods <= config.pods_per_round
    assert f"12 + 8 x P + {upstream} = {queries}" in section
    assert queries == 12 + 8 * pods + upstream


def test_readme_install_commands_point_the_image_at_a_registry(tmp_path: Path) -> None:
    """The README's `sed` line, run on a copy of deploy/, makes the workloads pull from the registry."""
    section = _install_section()
    (sed,) = re.findall(r"^sed -i '([^']+)' deploy/base/kustomization\.yaml$", section, flags=re.MULTILINE)
    registry_image = re.search(r"docker build -t (\S+) \.", section)
    assert registry_image is not None
    copy = tmp_path / "deploy"
    shutil.copytree(REPO / "deploy", copy, ignore=shutil.ignore_patterns("__pycache__"))
    kustomization = copy / "base" / "kustomization.yaml"
    result = subprocess.run(
        ["sed", "-i", sed, str(kustomization)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert re.search(r"^kubectl apply -k deploy/overlays/prometheus-operator$", section, flags=re.MULTILINE)
    objects = render(copy / "overlays" / "prometheus-operator")
    images = {
        c["image"]
        for o in objects
        if o["kind"] in ("DaemonSet", "Deployment")
        for c in o["spec"]["template"]["spec"]["containers"]
    }
    assert images == {registry_image.group(1)}
