"""Write the dashboards as Grafana JSON: ``python -m dashboards.generate``.

The JSON files are checked in (for import, and for the Grafana sidecar's
ConfigMaps); a test fails when they differ from what this writes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from grafana_foundation_sdk.builders import dashboard
from grafana_foundation_sdk.cog.encoder import JSONEncoder

from dashboards import capacity, node, overview

HERE = Path(__file__).resolve().parent
BUILDERS: dict[str, Callable[[], dashboard.Dashboard]] = {
    "k8s-dns-overview.json": overview.build,
    "k8s-dns-node.json": node.build,
    "k8s-dns-coredns-capacity.json": capacity.build,
}


def render(builder: Callable[[], dashboard.Dashboard]) -> dict[str, Any]:
    """The dashboard as a JSON document, with stable panel ids."""
    document: dict[str, Any] = json.loads(json.dumps(builder().build(), cls=JSONEncoder))
    for index, panel in enumerate(document.get("panels", []), start=1):
        panel["id"] = index
    _layout(document.get("panels", []))
    return document


def _layout(panels: list[dict[str, Any]]) -> None:
    """Place panels left to right in the 24-column grid; a row header starts a new line."""
    x = y = line = 0
    for panel in panels:
        grid = panel["gridPos"]
        if panel["type"] == "row" or x + grid["w"] > 24:
            x, y, line = 0, y + line, 0
        grid["x"], grid["y"] = x, y
        if panel["type"] == "row":
            y += grid["h"]
            continue
        x += grid["w"]
        line = max(line, grid["h"])


def outputs() -> dict[Path, str]:
    return {
        HERE / name: json.dumps(render(build), indent=2, sort_keys=True) + "\n"
        for name, build in BUILDERS.items()
    }


def main() -> None:
    for path, text in outputs().items():
        path.write_text(text)
        print(f"wrote {path.relative_to(HERE.parent)}")


if __name__ == "__main__":
    main()
