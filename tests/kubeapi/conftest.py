"""Fixtures: a test CA (once per session), an HTTPS Kubernetes API per test, kubeconfigs for it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kubeapi.certs import TLSFiles, make_tls
from tests.kubeapi.server import KubeAPI


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TLSFiles:
    return make_tls(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def kube_api(tls: TLSFiles) -> Iterator[KubeAPI]:
    with KubeAPI(tls) as api:
        yield api


@pytest.fixture
def kubeconfig(kube_api: KubeAPI, tmp_path: Path) -> Path:
    return kube_api.kubeconfig(tmp_path / "kubeconfig")
