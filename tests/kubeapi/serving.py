"""The exporter configured to find the lab through the test Kubernetes API, and what its metrics
say about discovery and the cluster readers."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from lab import Lab
from lab.topology import HEALTHY_NODE
from tests.integration.metrics_text import samples

NO_NAMESERVERS = Path(tempfile.mkdtemp(prefix="k8s-dns-root-"))
(NO_NAMESERVERS / "etc").mkdir()
(NO_NAMESERVERS / "etc" / "resolv.conf").write_text("# this node's upstreams come from the Corefile only\n")
FAST_CLUSTER: dict[str, Any] = {
    "interval": "1s",
    "inventory_interval": "1s",
    "lease": {"duration": "3s", "renew_deadline": "2s", "retry_period": "300ms"},
    # Readers every second and a Lease read and renewed every 300 ms ask some 20 requests a second:
    # within the default budget of 5 the renewals queue behind the readers past their deadline.
    "qps": 50,
}
"""The ``kubernetes`` section of a cluster instance on a short schedule, and the API budget it needs."""


def config(lab: Lab, kubeconfig: Path, mode: str = "node", **kubernetes: Any) -> dict[str, Any]:
    """Every path ``auto``, found through the API at ``kubeconfig``; ``kubernetes`` adds to that section."""
    return {
        "mode": mode,
        "interval": "1s",
        "timeout": "500ms",
        "names": [
            {"name": "kubernetes.default.svc.cluster.local.", "type": "A"},
            {"name": "example.org.", "type": "A"},
        ],
        "paths": {"service": "auto", "pod": "auto", "nodelocal": "auto", "upstream": "auto"},
        # upstream: auto also adds the node resolv.conf's servers; this node root lists none, so the
        # upstreams are the Corefile's (the lab's): never this machine's nameserver.
        "node": {"procfs": str(HEALTHY_NODE / "proc"), "rootfs": str(NO_NAMESERVERS)},
        "kubernetes": {
            "config": "kubeconfig",
            "kubeconfig": str(kubeconfig),
            "timeout": "2s",
            "nodelocal": {"address": lab.address("nodelocal")},
            **kubernetes,
        },
    }


def pod_servers(text: str) -> set[str]:
    """The CoreDNS pods the metrics show probed."""
    return {labels["server"] for labels, _ in samples(text, "k8s_dns_probe_success", path="pod")}


READERS = (
    "coredns_pods", "kube_dns_service", "coredns_usage", "corefile", "nodelocal", "kube_proxy",
    "network_policies", "inventory", "services", "statefulsets",
)  # fmt: skip


def capacity_ready(text: str) -> str | None:
    """The metrics once every cluster reader has run and succeeded."""
    done = {labels["collector"] for labels, v in samples(text, "k8s_dns_collector_success") if v == 1}
    return text if done >= set(READERS) else None
