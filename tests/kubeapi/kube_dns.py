"""A kube-dns cluster (GKE style, no CoreDNS) for the test API.

Built from ``kubernetes/kubernetes`` ``cluster/addons/dns/kube-dns/kube-dns.yaml.base``
(commit 008b3652): one pod with ``kubedns``, ``dnsmasq`` and ``sidecar`` (images
``registry.k8s.io/dns/k8s-dns-*:1.26.7``, their requests and limits as written there,
``__DNS__MEMORY__LIMIT__`` set to 170Mi as GKE's default), and the ``kube-dns`` ConfigMap
with ``stubDomains`` and ``upstreamNameservers`` (JSON in ``data``), as the kube-dns docs
write them. The pod object starts from the CoreDNS pod's (metadata, status fields a real
API server fills in) with its containers and container statuses replaced.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from lab.kubeapi.objects import coredns_pod

IMAGE = "registry.k8s.io/dns/k8s-dns-{}:1.26.7"
CONTAINERS = (
    ("kubedns", "kube-dns", {"limits": {"memory": "170Mi"}, "requests": {"cpu": "100m", "memory": "70Mi"}}),
    ("dnsmasq", "dnsmasq-nanny", {"requests": {"cpu": "150m", "memory": "20Mi"}}),
    ("sidecar", "sidecar", {"requests": {"memory": "20Mi", "cpu": "10m"}}),
)


def kube_dns_pod(
    name: str,
    *,
    node: str,
    ip: str,
    restarts: dict[str, int] | None = None,
    terminated: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """``restarts``: container -> restart count; ``terminated``: container -> its lastState.terminated."""
    pod = copy.deepcopy(coredns_pod(name, node=node, ip=ip, labels={"k8s-app": "kube-dns"}))
    template = pod["spec"]["containers"][0]
    status = pod["status"]["containerStatuses"][0]
    containers, statuses = [], []
    for container, image_name, resources in CONTAINERS:
        image = IMAGE.format(image_name)
        spec = {**copy.deepcopy(template), "name": container, "image": image, "resources": resources}
        spec.pop("args", None)
        containers.append(spec)
        last = {"terminated": (terminated or {})[container]} if container in (terminated or {}) else {}
        statuses.append(
            {
                **copy.deepcopy(status),
                "name": container,
                "image": image,
                "imageID": f"{image.rsplit(':', 1)[0]}@sha256:{'0' * 64}",
                "restartCount": (restarts or {}).get(container, 0),
                "lastState": last,
            }
        )
    pod["spec"]["containers"] = containers
    pod["spec"]["serviceAccountName"] = pod["spec"]["serviceAccount"] = "kube-dns"
    pod["status"]["containerStatuses"] = statuses
    return pod


def kube_dns_data(stub_domains: dict[str, list[str]], upstreams: list[str]) -> dict[str, str]:
    """The ``kube-dns`` ConfigMap's data: JSON strings, as ``kubectl`` stores them."""
    return {"stubDomains": json.dumps(stub_domains), "upstreamNameservers": json.dumps(upstreams)}
