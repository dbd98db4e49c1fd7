"""``doctor`` text in cluster mode: discovery and the cluster at a glance, after the causes."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab import Lab
from lab.kubeapi.cluster import fake_cluster
from lab.kubeapi.server import KubeAPI
from tests.conftest import run_cli, write_config
from tests.kubeapi.serving import config

pytestmark = pytest.mark.lab


def test_text_shows_discovery_and_coredns_at_a_glance(
    lab: Lab, kube_api: KubeAPI, kubeconfig: Path, tmp_path: Path
) -> None:
    fake_cluster(kube_api, lab)
    doc = config(lab, kubeconfig, mode="cluster")
    result = run_cli("doctor", "--config", str(write_config(tmp_path / "c.yaml", doc)))
    text = result.stdout
    assert result.returncode == 1  # the fake cluster carries real problems
    lines = text.splitlines()
    assert lines[0] == "3 cause(s) found, most severe first:"
    assert f"  service   {lab.address('service')}" in text
    assert f"  pod       {lab.address('pod-1')}, {lab.address('pod-2')}" in text
    assert "  coredns    2/2 ready on 2 node(s), version 1.11.1" in text
    assert "  kube-proxy mode ipvs" in text
    forwards = f"forward . -> {lab.address('upstream-1')}, {lab.address('upstream-2')} (policy random)"
    assert f"  corefile   {forwards}; 0 problem(s)" in text
    assert "    linear rule 2: 3 nodes, 15.74 cores (the exporter's kubernetes.capacity parameters)" in text
    assert lines.index("Discovered from the Kubernetes API:") < lines.index("Cluster:")
