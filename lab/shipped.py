"""The shipped exporter configs (deploy/base/config/), pointed at the loopback lab.

``on_lab`` keeps a node config's names and schedule and puts the lab's servers where
discovery would find a cluster's; ``on_test_api`` keeps discovery and points it at the
test Kubernetes API describing the lab (lab/kubeapi/).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from lab.topology import HEALTHY_NODE, Lab

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
NAMESPACE = "k8s-dns-exporter"
NODE_CONFIG = DEPLOY / "base" / "config" / "node.yaml"
CLUSTER_CONFIG = DEPLOY / "base" / "config" / "cluster.yaml"


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
    doc: dict[str, Any] = yaml.safe_load(config.read_text())
    assert doc["mode"] == "node", "the lab stands in for the paths, not for the Kubernetes API"
    resolv = resolv_conf_for(lab, workdir / "resolv.conf")
    discovered = {
        "service": [lab.address("service")],
        "pod": [lab.address(role) for role in lab.roles("pod")],
        "nodelocal": [lab.address("nodelocal")] if nodelocal else [],
        "upstream": [lab.address(role) for role in lab.roles("upstream")],
    }
    paths: dict[str, Any] = {}
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
    with ``fast``, the schedule too, and the API budget (``qps``) a cluster instance needs for it.
    Names, paths and the Lease stay as shipped.
    """
    doc: dict[str, Any] = yaml.safe_load(config.read_text())
    assert doc["kubernetes"]["config"] == "in-cluster"
    doc["kubernetes"].update(
        config="kubeconfig",
        kubeconfig=str(kubeconfig),
        timeout="2s",
        nodelocal={"address": lab.address("nodelocal")},
    )
    if fast:
        doc.update(interval="1s", timeout="500ms")
    # upstream: auto also probes the node's (or the pod's) resolv.conf servers: a root whose resolv.conf
    # lists none, so the upstreams are the Corefile's, the lab's.
    root = workdir / "root-without-nameservers"
    (root / "etc").mkdir(parents=True, exist_ok=True)
    (root / "etc" / "resolv.conf").write_text("# the upstreams come from the Corefile only\n")
    doc["node"] = {"procfs": str(HEALTHY_NODE / "proc"), "rootfs": str(root)}
    if doc["mode"] == "node":
        assert doc["paths"]["resolver"] == {"file": "/etc/resolv.conf"}
        resolv = resolv_conf_for(lab, workdir / "resolv.conf")
        doc["paths"]["resolver"] = {"file": str(resolv), "port": lab.port}
        return doc
    if fast:
        # Readers every second and a Lease read and renewed every 300 ms ask some 20 requests a
        # second: within the default budget of 5 the renewals queue behind the readers.
        doc["kubernetes"].update(interval="1s", inventory_interval="1s", qps=50)
        doc["kubernetes"]["lease"].update(duration="3s", renew_deadline="2s", retry_period="300ms")
    return doc


def on_shape(config: Path, kubeconfig: Path, workdir: Path, *, resolver: str, port: int) -> dict[str, Any]:
    """The shipped ``config`` on a distribution's cluster shape (lab/kubeapi/distributions/).

    Unlike :func:`on_test_api`, nothing of where DNS lives is given: no NodeLocal address, and
    the pod's resolv.conf names what that distribution's kubelet sets (``resolver``, a lab host),
    so what is found is what discovery found. The API endpoint, the host files and the schedule
    change, as on a cluster; the rest stays as shipped.
    """
    doc: dict[str, Any] = yaml.safe_load(config.read_text())
    assert doc["kubernetes"]["config"] == "in-cluster"
    doc["kubernetes"].update(config="kubeconfig", kubeconfig=str(kubeconfig), timeout="2s")
    doc.update(interval="1s", timeout="500ms")
    if doc["mode"] == "node":
        assert doc["paths"]["resolver"] == {"file": "/etc/resolv.conf"}
        resolv = workdir / "resolv.conf"
        resolv.write_text(
            f"nameserver {resolver}\n"
            f"search {NAMESPACE}.svc.cluster.local svc.cluster.local cluster.local\n"
            "options ndots:5 timeout:1 attempts:2\n"
        )
        doc["paths"]["resolver"] = {"file": str(resolv), "port": port}
    # upstream: auto also probes the node's resolv.conf servers: a host root whose resolv.conf lists
    # none, so the upstreams probed are the Corefile's (the lab's), for both workloads.
    root = workdir / "root-without-nameservers"
    (root / "etc").mkdir(parents=True, exist_ok=True)
    (root / "etc" / "resolv.conf").write_text("# the upstreams come from the Corefile only\n")
    doc["node"] = {"procfs": str(HEALTHY_NODE / "proc"), "rootfs": str(root)}
    return doc
