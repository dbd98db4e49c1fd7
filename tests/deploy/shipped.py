"""The shipped manifests as ``kubectl kustomize`` renders them (the configs on the lab: lab/shipped.py)."""

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

from lab.shipped import DEPLOY

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


@contextmanager
def shared_workspace() -> Iterator[Path]:
    """A temporary directory any user can read (pytest's own tmp_path is private to its owner)."""
    path = Path(tempfile.mkdtemp(prefix="k8s-dns-deploy-"))
    try:
        os.chmod(path, 0o755)  # noqa: S103 - the image user must read the installed tree
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
