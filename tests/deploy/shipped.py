"""The shipped exporter configs and manifests, and the same configs pointed at the loopback lab."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from lab import Lab
from lab.topology import HEALTHY_NODE
from tests.conftest import REPO

DEPLOY = REPO / "deploy"
NAMESPACE = "k8s-dns-exporter"
NODE_CONFIG = DEPLOY / "base" / "config" / "node.yaml"
CLUSTER_CONFIG = DEPLOY / "base" / "config" / "cluster.yaml"
OVERLAYS = sorted(path.parent for path in DEPLOY.glob("overlays/*/kustomization.yaml"))


def kubectl() -> str:
    found = shutil.which("kubectl")
    assert found, "kubectl is needed to render deploy/ (`kubectl kustomize`); install it first"
    return found


@functools.cache
def render(directory: Path) -> tuple[dict[str, Any], ...]:
    """``kubectl kustomize DIRECTORY``: every object it renders."""
    result = subprocess.run(
        [kubectl(), "kustomize", str(directory)], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, f"kubectl kustomize {directory} failed:\n{result.stderr}"
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


def find(objects: tuple[dict[str, Any], ...], kind: str, name: str | None = None) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]


def one(objects: tuple[dict[str, Any], ...], kind: str, name: str) -> dict[str, Any]:
    found = find(objects, kind, name)
    assert len(found) == 1, f"expected one {kind}/{name}, found {len(found)}"
    return found[0]


def exporter_configs(objects: tuple[dict[str, Any], ...]) -> dict[str, str]:
    """The exporter's config files in rendered ConfigMaps: ConfigMap name (without hash) -> text."""
    configs = {}
    for config_map in find(objects, "ConfigMap"):
        name = config_map["metadata"]["name"]
        if "config.yaml" in config_map.get("data", {}):
            configs[name.rsplit("-", 1)[0]] = config_map["data"]["config.yaml"]
    return configs


def resolv_conf_for(lab: Lab, path: Path) -> Path:
    """A pod's resolv.conf in the exporter's namespace, pointing at the lab's kube-dns Service."""
    path.write_text(
        f"nameserver {lab.servers['service'].host}\n"
        f"search {NAMESPACE}.svc.cluster.local svc.cluster.local cluster.local\n"
        "options ndots:5 timeout:1 attempts:2\n"
    )
    return path


def on_lab(config: Path, lab: Lab, workdir: Path, *, nodelocal: bool = False, **overrides: Any) -> Path:
    """The shipped ``config``, its names and schedule untouched, its addresses moved to the lab.

    Each ``auto`` path becomes the lab's servers for that role, what discovery finds
    on a cluster (the kube-dns Service, both CoreDNS pods, the upstreams; NodeLocal
    only with ``nodelocal``, as on a cluster that runs it), so the ``kubernetes``
    section is turned off. The pod's /etc/resolv.conf becomes a lab resolv.conf
    (port 5353), and the host mounts this machine's / and /proc.
    """
    doc = yaml.safe_load(config.read_text())
    assert doc["mode"] == "node", "the lab stands in for the paths, not for the Kubernetes API"
    resolv = resolv_conf_for(lab, workdir / "resolv.conf")
    discovered = {
        "service": [lab.address("service")],
        "pod": [lab.address(role) for role in lab.roles("pod")],
        "nodelocal": [lab.address("nodelocal")] if nodelocal else [],
        "upstream": [lab.address(role) for role in lab.roles("upstream")],
    }
    paths = {}
    for path, spec in doc["paths"].items():
        if path == "resolver":
            assert spec == {"file": "/etc/resolv.conf"}, spec
            paths[path] = {"file": str(resolv), "port": lab.port}
        elif spec == "auto":
            if discovered[path]:
                paths[path] = discovered[path]
        else:
            raise AssertionError(f"no lab address for {path}: {spec}")
    doc["paths"] = paths
    doc["kubernetes"] = {"config": "off"}
    doc["node"] = {"procfs": "/proc", "rootfs": "/"}
    doc.update(overrides)
    out = workdir / f"lab-{config.parent.name}-{config.name}"
    out.write_text(yaml.safe_dump(doc, sort_keys=False))
    return out


def on_test_api(
    config: Path, lab: Lab, kubeconfig: Path, workdir: Path, *, fast: bool = True
) -> dict[str, Any]:
    """The shipped ``config`` as it runs on a cluster whose API is the test server describing ``lab``.

    Only what a cluster would differ in changes: the API endpoint (``kubeconfig`` instead of
    the pod's ServiceAccount), NodeLocal's address, the pod's resolv.conf and the host's files;
    with ``fast``, the schedule too. Names, paths and the Lease stay as shipped.
    """
    doc = yaml.safe_load(config.read_text())
    assert doc["kubernetes"]["config"] == "in-cluster"
    doc["kubernetes"].update(
        config="kubeconfig",
        kubeconfig=str(kubeconfig),
        timeout="2s",
        nodelocal={"address": lab.address("nodelocal")},
    )
    if fast:
        doc.update(interval="1s", timeout="500ms")
    if doc["mode"] == "node":
        assert doc["paths"]["resolver"] == {"file": "/etc/resolv.conf"}
        resolv = resolv_conf_for(lab, workdir / "resolv.conf")
        doc["paths"]["resolver"] = {"file": str(resolv), "port": lab.port}
        doc["node"] = {"procfs": str(HEALTHY_NODE / "proc"), "rootfs": str(HEALTHY_NODE / "root")}
        return doc
    if fast:
        doc["kubernetes"].update(interval="1s", inventory_interval="1s")
        doc["kubernetes"]["lease"].update(duration="3s", renew_deadline="2s", retry_period="300ms")
    # upstream: auto also probes this pod's resolv.conf servers: a root whose resolv.conf lists none.
    root = workdir / "root-without-nameservers"
    (root / "etc").mkdir(parents=True, exist_ok=True)
    (root / "etc" / "resolv.conf").write_text("# the upstreams come from the Corefile only\n")
    doc["node"] = {"procfs": str(HEALTHY_NODE / "proc"), "rootfs": str(root)}
    return doc


@contextmanager
def shared_workspace() -> Iterator[Path]:
    """A temporary directory any user can read (pytest's own tmp_path is private to its owner)."""
    path = Path(tempfile.mkdtemp(prefix="k8s-dns-deploy-"))
    try:
        os.chmod(path, 0o755)  # noqa: S103 - the image user must read the installed tree
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
