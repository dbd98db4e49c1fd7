"""The shape of the code, checked from its imports: no cycle, and metrics rendered in one room only.

Imports are read from the source (module level and inside functions alike, ``TYPE_CHECKING``
blocks excepted), so a lazy import cannot hide a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO

PACKAGE = REPO / "exporter"
RENDERING = ("exporter.exposition", "exporter.metrics")
"""The metrics rendering room and the metric table it renders from."""
NO_METRICS = ("exporter.probe", "exporter.node", "exporter.cluster", "exporter.targets", "exporter.corefile",
              "exporter.kube", "exporter.diagnosis", "exporter.causes", "exporter.config", "exporter.text")  # fmt: skip
"""Packages that produce or read data: they never build a metric family nor name a metric."""
READING = {"exporter.cluster.traffic": "prometheus_client.parser"}
"""Where another exporter's text is read (CoreDNS's metrics): parsing it builds no family of ours."""


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports(path: Path) -> set[str]:
    """Every module ``path`` imports (``from a import b`` counts as ``a`` and, if a module, ``a.b``)."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(), str(path)))
    return found


def graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {name: {m for m in imports(path) if m in modules and m != name} for name, path in modules.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges[node]):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            connect(node)
    return found


def importers_of(edges: dict[str, set[str]], module: str) -> set[str]:
    return {name for name, targets in edges.items() if module in targets}


def _parent_package_edge(source: str, target: str) -> bool:
    """``import a.b.c`` runs ``a/__init__`` and ``a/b/__init__``: not a dependency of the code."""
    return source.startswith(target + ".")


def test_the_checker_finds_a_cycle_and_only_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_module_imports_itself_back() -> None:
    edges = {
        name: {t for t in targets if not _parent_package_edge(name, t)} for name, targets in graph().items()
    }
    assert cycles(edges) == []


@pytest.mark.parametrize("package", NO_METRICS)
def test_data_packages_never_import_prometheus_client_nor_the_metric_table(package: str) -> None:
    offenders = {
        module_name(path): sorted(
            m
            for m in imports(path)
            if m.startswith(("prometheus_client", *RENDERING))
            and not m.startswith(READING.get(module_name(path), "\0"))
        )
        for path in PACKAGE.rglob("*.py")
        if module_name(path) == package or module_name(path).startswith(package + ".")
    }
    assert {name: found for name, found in offenders.items() if found} == {}


def test_only_the_rendering_room_builds_metric_families() -> None:
    builders = {
        module_name(path)
        for path in PACKAGE.rglob("*.py")
        if any(m.startswith("prometheus_client.core") or m == "exporter.metrics" for m in imports(path))
    }
    assert {b for b in builders if not b.startswith(RENDERING)} == set()
