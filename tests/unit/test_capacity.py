"""Capacity planning: the linear formula and the memory formula against hand-computed values."""

from __future__ import annotations

import pytest

from exporter.cluster.capacity import linear_replicas, memory_recommended_bytes
from exporter.cluster.readers.pods import is_coredns
from exporter.cluster.version import image_version
from exporter.config import CapacityConfig

DEFAULT = CapacityConfig()


@pytest.mark.parametrize(
    ("cores", "nodes", "params", "replicas"),
    [
        (16.0, 4, DEFAULT, 2),  # tiny cluster: the minimum
        (4096.0, 40, DEFAULT, 16),  # 4096 / 256 = 16 beats ceil(40 / 16) = 3
        (520.0, 130, DEFAULT, 9),  # ceil(130 / 16) = 9 beats ceil(520 / 256) = 3
        (257.0, 16, DEFAULT, 2),  # ceil(257 / 256) = 2, ceil(16 / 16) = 1
        (15.74, 3, CapacityConfig(cores_per_replica=4, nodes_per_replica=2), 4),  # ceil(3.935) = 4
        (15.74, 3, CapacityConfig(cores_per_replica=4, nodes_per_replica=2, max_replicas=3), 3),
        (1.0, 1, CapacityConfig(min_replicas=3, max_replicas=3), 3),
        (100000.0, 5000, CapacityConfig(max_replicas=50), 50),
    ],
)
def test_linear_formula(cores: float, nodes: int, params: CapacityConfig, replicas: int) -> None:
    assert linear_replicas(cores, nodes, params) == replicas


@pytest.mark.parametrize(
    ("pods", "services", "autopath", "mebibytes"),
    [
        (0, 0, False, 54.0),
        (7, 6, False, 54.013),  # 13 / 1000 + 54
        (30000, 5000, False, 89.0),  # 35000 / 1000 + 54
        (30000, 5000, True, 196.0),  # 35000 / 250 + 56
        (7, 6, True, 56.052),  # 13 / 250 + 56
    ],
)
def test_memory_formula(pods: int, services: int, autopath: bool, mebibytes: float) -> None:
    assert memory_recommended_bytes(pods, services, autopath=autopath) == pytest.approx(mebibytes * 1048576)


@pytest.mark.parametrize(
    ("image", "version"),
    [
        ("registry.k8s.io/coredns/coredns:v1.11.1", (1, 11, 1)),
        ("k8s.gcr.io/coredns:1.6.7", (1, 6, 7)),
        ("mcr.microsoft.com/oss/kubernetes/coredns:v1.9.4-hotfix.20240704", (1, 9, 4)),
        ("registry-vpc.cn-hangzhou.aliyuncs.com/acs/coredns:v1.9.3.10-7dfca203-aliyun", (1, 9, 3)),
        ("localhost:5000/coredns:v1.8", (1, 8, 0)),
        ("coredns/coredns@sha256:1eeb4c7316bacb1d4c8ead65571cd92dd21e27359f0d4917f1a5822a73b75db1", None),
        ("localhost:5000/coredns", None),
        ("coredns:latest", None),
        ("602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/coredns:v1.11.4-eksbuild.2", (1, 11, 4)),
        ("rancher/hardened-coredns:v1.10.1-build20230607", (1, 10, 1)),
        ("rancher/mirrored-coredns-coredns:1.11.3", (1, 11, 3)),
        ("quay.io/openshift/origin-coredns:v4.14", None),  # the distribution's version, not CoreDNS's
        ("quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:" + "a" * 64, None),
    ],
)
def test_version_from_image(image: str, version: tuple[int, int, int] | None) -> None:
    assert image_version(image) == version


@pytest.mark.parametrize(
    ("container", "image", "coredns"),
    [
        ("coredns", "registry.k8s.io/coredns/coredns:v1.11.1", True),
        ("coredns", "quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:" + "a" * 64, True),
        ("dns", "quay.io/openshift/origin-coredns:v4.14", True),
        ("dns", "quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:" + "a" * 64, False),
        ("kubedns", "registry.k8s.io/dns/k8s-dns-kube-dns:1.26.7", False),
        ("dnsmasq", "registry.k8s.io/dns/k8s-dns-dnsmasq-nanny:1.26.7", False),
        ("sidecar", "registry.k8s.io/dns/k8s-dns-sidecar:1.26.7", False),
    ],
)
def test_which_container_is_coredns(container: str, image: str, coredns: bool) -> None:
    """Only a CoreDNS container's tag is read as a CoreDNS version (kube-dns's 1.26.7 is not one)."""
    assert is_coredns(container, image) is coredns
