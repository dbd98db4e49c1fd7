"""The cause documentation: one runbook per catalog id with every section, known metrics, working links."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from exporter import metrics
from exporter.diagnosis.catalog import CAUSES

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
RUNBOOKS = DOCS / "runbooks"
CATALOG = DOCS / "causes.md"

SECTIONS = ("Meaning", "Impact", "How the exporter sees it", "Confirm by hand", "Fix", "Related causes")
RUNBOOK_LINES = (40, 120)

# Metric names declared by the node reader (host procfs, node resolv.conf, the A/AAAA race probe) and by
# the cluster reader (Kubernetes API, Corefile analysis, metrics.k8s.io). The runbooks use them already;
# once a reader declares its names in exporter/metrics.py they are found in metrics.SPECS as well.
PLANNED_METRICS = frozenset(
    {
        # node
        "k8s_dns_node_conntrack_entries",
        "k8s_dns_node_conntrack_entries_limit",
        "k8s_dns_node_conntrack_insert_failed_total",
        "k8s_dns_node_conntrack_drop_total",
        "k8s_dns_node_conntrack_early_drop_total",
        "k8s_dns_node_conntrack_clash_resolve_total",
        "k8s_dns_node_udp_in_errors_total",
        "k8s_dns_node_udp_receive_buffer_errors_total",
        "k8s_dns_node_udp_send_buffer_errors_total",
        "k8s_dns_node_udp_no_ports_total",
        "k8s_dns_node_tcp_retransmitted_segments_total",
        "k8s_dns_node_cpu_pressure_seconds_total",
        "k8s_dns_node_cpu_seconds_total",
        "k8s_dns_node_resolv_conf_info",
        "k8s_dns_node_resolv_conf_modified_timestamp_seconds",
        "k8s_dns_node_resolv_conf_azure_dns_mixed",
        "k8s_dns_race_probes_total",
        "k8s_dns_race_probe_lost_total",
        "k8s_dns_race_sequential_lost_total",
        # cluster
        "k8s_dns_coredns_pod_info",
        "k8s_dns_coredns_pod_ready",
        "k8s_dns_coredns_pod_restarts_total",
        "k8s_dns_coredns_pod_waiting",
        "k8s_dns_coredns_pod_last_terminated",
        "k8s_dns_coredns_pod_start_time_seconds",
        "k8s_dns_coredns_replicas",
        "k8s_dns_coredns_replicas_ready",
        "k8s_dns_coredns_replica_nodes",
        "k8s_dns_coredns_cpu_usage_cores",
        "k8s_dns_coredns_cpu_request_cores",
        "k8s_dns_coredns_cpu_limit_cores",
        "k8s_dns_coredns_memory_usage_bytes",
        "k8s_dns_coredns_memory_request_bytes",
        "k8s_dns_coredns_memory_limit_bytes",
        "k8s_dns_coredns_node_cpu_usage_ratio",
        "k8s_dns_coredns_node_memory_usage_ratio",
        "k8s_dns_kube_dns_service_session_affinity",
        "k8s_dns_corefile_plugin_enabled",
        "k8s_dns_corefile_forward_targets",
        "k8s_dns_corefile_forward_policy_info",
        "k8s_dns_corefile_problems",
        "k8s_dns_kube_proxy_mode_info",
        "k8s_dns_tolerate_unready_services",
        "k8s_dns_statefulsets_service_mismatch",
        "k8s_dns_coredns_network_policies",
        "k8s_dns_coredns_recommended_replicas",
        "k8s_dns_cluster_nodes",
        "k8s_dns_cluster_cpu_cores",
        "k8s_dns_cluster_pods",
        "k8s_dns_cluster_services",
        "k8s_dns_coredns_memory_recommended_bytes",
        "k8s_dns_leader",
        "k8s_dns_discovery_targets",
    }
)

_METRIC = re.compile(r"\bk8s_dns_[a-z0-9_]*[a-z0-9]")
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
_FENCE = re.compile(r"^```.*?^```", re.DOTALL | re.MULTILINE)
_HEADING = re.compile(r"^(#{1,6}) +(.+?) *$", re.MULTILINE)
_HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


def known_metric(name: str) -> bool:
    """Declared in exporter/metrics.py or planned; a histogram also under its series suffixes."""
    if name in metrics.SPECS or name in PLANNED_METRICS:
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


def test_planned_names_follow_the_naming_rules() -> None:
    for name in PLANNED_METRICS:
        assert name.startswith(metrics.PREFIX), name
        assert _METRIC.fullmatch(name), name


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


def test_no_runbook_for_an_unknown_cause() -> None:
    unknown = sorted(p.name for p in RUNBOOKS.glob("*.md") if p.stem not in CAUSES and p.stem not in GUIDES)
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
