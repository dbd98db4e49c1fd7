"""The cause documentation: one runbook per cause with every section, known metrics, working links,
and the generated parts (the catalog's tables, the runbook index) current."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from docs.generate import outputs
from exporter import metrics
from exporter.causes import CAUSES

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
RUNBOOKS = DOCS / "runbooks"
CATALOG = DOCS / "causes.md"

SECTIONS = ("Meaning", "Impact", "How the exporter sees it", "Confirm by hand", "Fix", "Related causes")
RUNBOOK_LINES = (40, 120)


_METRIC = re.compile(r"\bk8s_dns_[a-z0-9_]*[a-z0-9]")
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
_FENCE = re.compile(r"^```.*?^```", re.DOTALL | re.MULTILINE)
_HEADING = re.compile(r"^(#{1,6}) +(.+?) *$", re.MULTILINE)
_HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


def known_metric(name: str) -> bool:
    """Declared in exporter/metrics.py; a histogram also under its series suffixes."""
    if name in metrics.SPECS:
        return True
    for suffix in _HISTOGRAM_SUFFIXES:
        spec = metrics.SPECS.get(name.removesuffix(suffix)) if name.endswith(suffix) else None
        if spec is not None and spec.kind == "histogram":
            return True
    return False


def slug(heading: str) -> str:
    """The anchor a Markdown renderer (GitHub) gives a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = _FENCE.sub("", path.read_text(encoding="utf-8"))
    return {slug(title) for _, title in _HEADING.findall(text)}


def local_links(path: Path) -> list[str]:
    """Link targets in prose (code blocks excluded) that point inside the repository."""
    text = _FENCE.sub("", path.read_text(encoding="utf-8"))
    return [t for t in _LINK.findall(text) if not re.match(r"^[a-z][a-z0-9+.-]*:", t)]


def runbook(cause_id: str) -> Path:
    return RUNBOOKS / f"{cause_id}.md"


def doc_files() -> list[Path]:
    return [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]


# --- the checker itself --------------------------------------------------------------------


def test_the_metric_check_accepts_declared_planned_and_histogram_series_and_nothing_else() -> None:
    assert known_metric("k8s_dns_probe_failures_total")
    assert known_metric("k8s_dns_node_conntrack_entries")
    assert known_metric("k8s_dns_probe_duration_seconds_bucket")
    assert known_metric("k8s_dns_probe_duration_seconds_count")
    assert not known_metric("k8s_dns_probes_total_bucket")  # a counter has no buckets
    assert not known_metric("k8s_dns_probe_failure_total")
    assert _METRIC.findall("rate(k8s_dns_probe_failures_total{path='x'}[5m]) k8s_dns_node_conntrack_*") == [
        "k8s_dns_probe_failures_total",
        "k8s_dns_node_conntrack",
    ]


def test_slugs_and_links_are_read_like_a_renderer_does() -> None:
    assert slug("What cannot be observed from where the exporter runs") == (
        "what-cannot-be-observed-from-where-the-exporter-runs"
    )
    assert slug("UDP vs TCP: `truncated`") == "udp-vs-tcp-truncated"


# --- one runbook per cause -------------------------------------------------------------------


@pytest.mark.parametrize("cause_id", sorted(CAUSES))
def test_every_cause_has_a_runbook(cause_id: str) -> None:
    assert runbook(cause_id).is_file(), f"docs/runbooks/{cause_id}.md is missing"


GUIDES = frozenset({"triage"})
"""Runbook pages that are not a cause: the symptom alerts' triage guide."""
INDEX = RUNBOOKS / "README.md"
"""The runbook index, generated."""


def test_no_runbook_for_an_unknown_cause() -> None:
    pages = [p for p in RUNBOOKS.glob("*.md") if p != INDEX]
    unknown = sorted(p.name for p in pages if p.stem not in CAUSES and p.stem not in GUIDES)
    assert unknown == [], f"runbooks for ids not in the catalog: {unknown}"
    assert all((RUNBOOKS / f"{guide}.md").is_file() for guide in GUIDES)


@pytest.mark.parametrize("cause_id", sorted(CAUSES))
def test_runbook_title_and_sections(cause_id: str) -> None:
    cause = CAUSES[cause_id]
    text = runbook(cause_id).read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[0] == f"# `{cause.id}` ({cause.severity}): {cause.title}"
    sections = [title for level, title in _HEADING.findall(_FENCE.sub("", text)) if level == "##"]
    assert tuple(sections) == SECTIONS, f"{cause_id}: sections {sections}, expected {list(SECTIONS)}"
    low, high = RUNBOOK_LINES
    assert low <= len(lines) <= high, f"{cause_id}: {len(lines)} lines, keep it within {low}-{high}"


@pytest.mark.parametrize("cause_id", sorted(CAUSES))
def test_runbook_points_to_related_runbooks(cause_id: str) -> None:
    text = runbook(cause_id).read_text(encoding="utf-8")
    related = text.split("## Related causes", 1)[1]
    targets = {Path(t.split("#", 1)[0]).stem for t in _LINK.findall(related) if t.endswith(".md")}
    assert targets - {cause_id}, f"{cause_id}: 'Related causes' links no other runbook"
    assert targets <= set(CAUSES), f"{cause_id}: related links to unknown ids {targets - set(CAUSES)}"


@pytest.mark.parametrize("cause_id", sorted(CAUSES))
def test_runbook_names_only_known_metrics(cause_id: str) -> None:
    names = set(_METRIC.findall(runbook(cause_id).read_text(encoding="utf-8")))
    assert names, f"{cause_id}: the runbook names no metric"
    unknown = sorted(n for n in names if not known_metric(n))
    assert unknown == [], f"{cause_id}: metrics neither declared nor planned: {unknown}"


# --- the catalog page --------------------------------------------------------------------------


def catalog_rows() -> dict[str, list[list[str]]]:
    """Rows of the tables whose header starts with an `id` column: id -> the cells of each row."""
    rows: dict[str, list[list[str]]] = {}
    header: list[str] | None = None
    for line in CATALOG.read_text(encoding="utf-8").splitlines():
        if not line.startswith("|"):
            header = None
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
        if header is None:
            header = cells
        elif header[0] == "id" and not set(cells[0]) <= set("-: "):
            rows.setdefault(cells[0].strip("`"), []).append(cells)
    return rows


def test_catalog_lists_every_cause_once_with_severity_and_runbook() -> None:
    rows = catalog_rows()
    missing = sorted(set(CAUSES) - set(rows))
    assert missing == [], f"docs/causes.md has no row for {missing}"
    unknown = sorted(set(rows) - set(CAUSES))
    assert unknown == [], f"docs/causes.md has rows for unknown ids {unknown}"
    for cause_id, found in rows.items():
        assert len(found) == 1, f"{cause_id} has {len(found)} rows"
        cells = found[0]
        assert cells[1] == CAUSES[cause_id].severity, f"{cause_id}: severity {cells[1]!r}"
        assert f"(runbooks/{cause_id}.md)" in cells[-1], f"{cause_id}: the last cell links no runbook"


def test_catalog_names_only_known_metrics() -> None:
    names = set(_METRIC.findall(CATALOG.read_text(encoding="utf-8")))
    unknown = sorted(n for n in names if not known_metric(n))
    assert unknown == [], f"docs/causes.md: metrics neither declared nor planned: {unknown}"


@pytest.mark.parametrize("cause_id", sorted(CAUSES))
def test_cause_texts_name_only_known_metrics(cause_id: str) -> None:
    cause = CAUSES[cause_id]
    texts = (cause.meaning, cause.probe, cause.signals, cause.alert.text, cause.alert.query)
    names = {name for text in texts for name in _METRIC.findall(text)}
    unknown = sorted(n for n in names if not known_metric(n))
    assert unknown == [], f"exporter/causes/{cause_id}.py: metrics neither declared nor planned: {unknown}"


# --- generated parts ------------------------------------------------------------------------------


def test_generated_files_are_current() -> None:
    for path, text in outputs().items():
        assert path.read_text(encoding="utf-8") == text, f"{path} is stale: run `python -m docs.generate`"


def test_runbook_index_links_every_runbook_once() -> None:
    targets = [Path(t).stem for t in local_links(INDEX) if not t.startswith("../")]
    assert sorted(targets) == sorted([*CAUSES, *GUIDES])


# --- links ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", doc_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(path: Path) -> None:
    broken = []
    for target in local_links(path):
        file_part, _, anchor = target.partition("#")
        dest = (path.parent / file_part).resolve() if file_part else path
        if ROOT not in dest.parents or not dest.exists():
            broken.append(f"{target} (no such file)")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(f"{target} (no heading with anchor #{anchor})")
    assert broken == [], f"{path.relative_to(ROOT)}: broken links {broken}"
