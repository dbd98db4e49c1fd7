"""Dashboards: generated files current, variables present, every panel a query with a title."""

from __future__ import annotations

import json

from dashboards.generate import BUILDERS, outputs
from tests.conftest import REPO

BOARDS = {name: json.loads((REPO / "dashboards" / name).read_text()) for name in BUILDERS}


def test_generated_files_are_current() -> None:
    for path, text in outputs().items():
        assert path.read_text() == text, f"{path} is stale: run `python -m dashboards.generate`"


def test_uids_are_unique_and_stable() -> None:
    assert sorted(b["uid"] for b in BOARDS.values()) == [
        "k8s-dns-coredns-capacity",
        "k8s-dns-node",
        "k8s-dns-overview",
    ]


def test_template_variables() -> None:
    for name, board in BOARDS.items():
        variables = {v["name"]: v for v in board["templating"]["list"]}
        assert variables["datasource"]["type"] == "datasource"
        assert variables["datasource"]["query"] == "prometheus"
        assert variables["cluster"]["datasource"]["uid"] == "${datasource}"
        if name == "k8s-dns-node.json":
            assert "node" in variables


def test_every_panel_queries_the_chosen_datasource() -> None:
    for board in BOARDS.values():
        panels = [p for p in board["panels"] if p["type"] != "row"]
        assert panels
        ids = [p["id"] for p in board["panels"]]
        assert len(ids) == len(set(ids))
        for panel in panels:
            assert panel["title"]
            assert panel["description"]
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
            assert panel["targets"]
            for target in panel["targets"]:
                assert target["expr"].strip()
                assert target["refId"]


def test_panels_fit_the_grid() -> None:
    for board in BOARDS.values():
        for panel in board["panels"]:
            grid = panel["gridPos"]
            assert grid["x"] >= 0, panel["title"]
            assert grid["x"] + grid["w"] <= 24, panel["title"]


def panel_titles() -> dict[str, list[str]]:
    """The exact list of panels, as the README lists them."""
    return {b["title"]: [p["title"] for p in b["panels"] if p["type"] != "row"] for b in BOARDS.values()}


def test_readme_lists_every_panel() -> None:
    readme = (REPO / "README.md").read_text()
    for board, titles in panel_titles().items():
        assert board in readme
        for title in titles:
            assert title in readme, f"README misses panel {title!r} of {board}"
