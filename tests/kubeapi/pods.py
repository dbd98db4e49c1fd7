"""Application pods for the test Kubernetes API, with the DNS settings a test needs."""

from __future__ import annotations

import copy
from typing import Any

from lab.kubeapi.cluster import app_pod


def pod(name: str, *, namespace: str = "default", policy: str = "ClusterFirst", servers: list[str] | None = None,
        host_network: bool = False, phase: str = "Running") -> dict[str, Any]:  # fmt: skip
    """A running app pod (node-3) with DNS policy ``policy`` and, if given, its own nameservers."""
    obj = copy.deepcopy(app_pod(name, namespace))
    obj["spec"]["dnsPolicy"] = policy
    if servers is not None:
        obj["spec"]["dnsConfig"] = {"nameservers": servers}
    if host_network:
        obj["spec"]["hostNetwork"] = True
    obj["status"]["phase"] = phase
    return obj
