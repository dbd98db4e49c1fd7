"""Generated parts of deploy/ are current: RBAC, the PrometheusRule, the dashboard ConfigMaps."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from deploy import generate
from lab.shipped import DEPLOY
from tests.conftest import REPO
from tests.deploy.shipped import OVERLAYS, find, one, render

overlays = pytest.mark.parametrize("overlay", OVERLAYS, ids=lambda p: p.name)


def test_generated_files_are_current() -> None:
    stale = [str(path.relative_to(REPO)) for path in generate.stale()]
    assert stale == [], "stale: run `python -m deploy.generate`"


def test_prometheus_rule_holds_every_group_and_rule_of_alerts() -> None:
    rule = one(render(DEPLOY / "overlays" / "prometheus-operator"), "PrometheusRule", "k8s-dns-exporter")
    files = sorted((REPO / "alerts").glob("*.rules.yml"))
    assert len(files) == 3
    groups = [group for path in files for group in yaml.safe_load(path.read_text())["groups"]]
    assert rule["spec"]["groups"] == groups


@overlays
def test_every_dashboard_is_a_sidecar_configmap_with_the_same_json(overlay: Path) -> None:
    dashboards = {path.name: path.read_text() for path in sorted((REPO / "dashboards").glob("*.json"))}
    assert len(dashboards) == 3
    shipped = {}
    for config_map in find(render(overlay), "ConfigMap"):
        if config_map["metadata"].get("labels", {}).get("grafana_dashboard") == "1":
            ((key, text),) = config_map["data"].items()
            assert config_map["metadata"]["name"] == generate.configmap_name(Path(key))
            shipped[key] = text
    assert shipped == dashboards
    for text in shipped.values():
        assert json.loads(text)["uid"].startswith("k8s-dns-")
