"""Small helpers over grafana-foundation-sdk: one datasource variable, panels that read it."""

from __future__ import annotations

from grafana_foundation_sdk.builders import common, dashboard, heatmap, prometheus, stat, table, timeseries
from grafana_foundation_sdk.models import common as common_model
from grafana_foundation_sdk.models import dashboard as model
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

from alerts.generate import DEFAULT_RUNBOOK_BASE

DATASOURCE = model.DataSourceRef(type_val="prometheus", uid="${datasource}")
CLUSTER = 'cluster=~"$cluster"'
NODE = 'node=~"$node"'
TAG = "k8s-dns-exporter"

Steps = tuple[tuple[float | None, str], ...]
"""Threshold steps, (from this value, colour): the first from None."""


def variables(board: dashboard.Dashboard, *, node: bool = False) -> dashboard.Dashboard:
    """``datasource`` and ``cluster`` on every dashboard; ``node`` where one node is looked at; a link
    menu to the project's other dashboards that keeps the time range and the variables."""
    board = board.link(
        dashboard.DashboardLink("k8s-dns-exporter")
        .type(model.DashboardLinkType.DASHBOARDS)
        .tags([TAG])
        .as_dropdown(True)
        .include_vars(True)
        .keep_time(True)
    )
    board = board.with_variable(
        dashboard.DatasourceVariable("datasource").label("Data source").type("prometheus")
    ).with_variable(
        dashboard.QueryVariable("cluster")
        .label("Cluster")
        .datasource(DATASOURCE)
        .query("label_values(k8s_dns_exporter_build_info, cluster)")
        .include_all(True)
        .all_value(".*")
        .refresh(model.VariableRefresh.ON_TIME_RANGE_CHANGED)
    )
    if node:
        board = board.with_variable(
            dashboard.QueryVariable("node")
            .label("Node")
            .datasource(DATASOURCE)
            .query('label_values(k8s_dns_exporter_build_info{mode="node", cluster=~"$cluster"}, node)')
            .refresh(model.VariableRefresh.ON_TIME_RANGE_CHANGED)
        )
    return board


def _query(expr: str, legend: str, ref: str, *, instant: bool = False) -> prometheus.Dataquery:
    query = prometheus.Dataquery().expr(expr).legend_format(legend).ref_id(ref)
    return query.instant() if instant else query.range()


def thresholds(steps: Steps) -> dashboard.ThresholdsConfig:
    return (
        dashboard.ThresholdsConfig()
        .mode(model.ThresholdsMode.ABSOLUTE)
        .steps([model.Threshold(value=value, color=color) for value, color in steps])
    )


def runbook_link() -> dashboard.DashboardLink:
    """A table row's link to the runbook of the cause in its ``cause`` column."""
    return (
        dashboard.DashboardLink("Runbook")
        .title("Runbook for ${__data.fields.cause}")
        .url(DEFAULT_RUNBOOK_BASE + "/${__data.fields.cause}.md")
        .target_blank(True)
    )


def series(
    title: str,
    description: str,
    unit: str,
    *queries: tuple[str, str],
    width: int = 12,
    height: int = 8,
    steps: Steps = (),
) -> timeseries.Panel:
    panel = timeseries.Panel().title(title).description(description).unit(unit).datasource(DATASOURCE)
    for index, (expr, legend) in enumerate(queries):
        panel = panel.with_target(_query(expr, legend, chr(ord("A") + index)))
    if steps:
        style = common.GraphThresholdsStyleConfig().mode(common_model.GraphThresholdsStyleMode.DASHED)
        panel = panel.thresholds(thresholds(steps)).thresholds_style(style)
    return panel.height(height).span(width)


def single(
    title: str, description: str, unit: str, expr: str, *, legend: str = "", width: int = 6, steps: Steps = ()
) -> stat.Panel:
    panel = (
        stat.Panel()
        .title(title)
        .description(description)
        .unit(unit)
        .datasource(DATASOURCE)
        .with_target(_query(expr, legend, "A", instant=True))
        .height(5)
        .span(width)
    )
    return panel.thresholds(thresholds(steps)) if steps else panel


def listing(
    title: str, description: str, expr: str, width: int = 24, height: int = 8, *, runbooks: bool = False
) -> table.Panel:
    panel = (
        table.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .with_target(_query(expr, "", "A", instant=True).format(PromQueryFormat.TABLE))
        .height(height)
        .span(width)
    )
    return panel.data_links([runbook_link()]) if runbooks else panel


def distribution(
    title: str, description: str, expr: str, *, width: int = 12, height: int = 8
) -> heatmap.Panel:
    """A heatmap of a histogram's buckets (``sum by (le) (rate(..._bucket[...]))``), in seconds."""
    return (
        heatmap.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .with_target(_query(expr, "{{le}}", "A").format(PromQueryFormat.HEATMAP))
        .calculate(False)
        .unit("s")
        .height(height)
        .span(width)
    )
