"""Small helpers over grafana-foundation-sdk: one datasource variable, panels that read it."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard, prometheus, stat, table, timeseries
from grafana_foundation_sdk.models import dashboard as model
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

DATASOURCE = model.DataSourceRef(type_val="prometheus", uid="${datasource}")
CLUSTER = 'cluster=~"$cluster"'
NODE = 'node=~"$node"'


def variables(board: dashboard.Dashboard, *, node: bool = False) -> dashboard.Dashboard:
    """``datasource`` and ``cluster`` on every dashboard; ``node`` where one node is looked at."""
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


def series(
    title: str, description: str, unit: str, *queries: tuple[str, str], width: int = 12, height: int = 8
) -> timeseries.Panel:
    panel = timeseries.Panel().title(title).description(description).unit(unit).datasource(DATASOURCE)
    for index, (expr, legend) in enumerate(queries):
        panel = panel.with_target(_query(expr, legend, chr(ord("A") + index)))
    return panel.height(height).span(width)


def single(
    title: str, description: str, unit: str, expr: str, *, legend: str = "", width: int = 6
) -> stat.Panel:
    return (
        stat.Panel()
        .title(title)
        .description(description)
        .unit(unit)
        .datasource(DATASOURCE)
        .with_target(_query(expr, legend, "A", instant=True))
        .height(5)
        .span(width)
    )


def listing(title: str, description: str, expr: str, width: int = 24, height: int = 8) -> table.Panel:
    return (
        table.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .with_target(_query(expr, "", "A", instant=True).format(PromQueryFormat.TABLE))
        .height(height)
        .span(width)
    )
