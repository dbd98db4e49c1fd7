"""The diagnosis report as text: what ``doctor`` prints and ``/diagnose?format=text`` shows.

An on-call engineer reads it top down: the verdict and the causes with their
evidence and fix; then one line per server of every path (how many probes
answered, the median latency); then the probes that failed, and the node.
``verbose`` adds every probe.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Mapping
from typing import Any

from exporter.hops import order
from exporter.render_cluster import cluster_lines, discovery_lines


def render_text(report: Mapping[str, Any], *, verbose: bool = False) -> str:
    lines = _verdict(report)
    lines.append("")
    lines.extend(_servers(report["probes"]))
    failed = [p for p in report["probes"] if p["result"] != "success"]
    shown = report["probes"] if verbose else failed
    if shown or report["source_errors"]:
        lines.append("")
        title = "All probes" if verbose else "Failed probes"
        lines.append(f"{title} ({len(shown)} of {len(report['probes'])}):")
        lines.extend(_probe_line(probe) for probe in shown)
        lines.extend(f"  ERROR         {s}: {e}" for s, e in sorted(report["source_errors"].items()))
    if report.get("discovery"):
        lines.append("")
        lines.extend(discovery_lines(report["discovery"]))
    if report.get("cluster"):
        lines.append("")
        lines.extend(cluster_lines(report["cluster"]))
    if report.get("node"):
        lines.append("")
        lines.extend(node_lines(report["node"]))
    failed_collectors = {n: c for n, c in report["collectors"].items() if not c["success"]}
    if failed_collectors:
        lines.append("")
        lines.append("Collectors without data:")
        lines.extend(f"  {name}: {c['error']}" for name, c in sorted(failed_collectors.items()))
    if not verbose:
        lines.append("")
        lines.append("Every probe: doctor --verbose, or --format json.")
    return "\n".join(lines) + "\n"


def _verdict(report: Mapping[str, Any]) -> list[str]:
    causes = report["causes"]
    summary = report["summary"]
    if not causes:
        if summary["failed"]:
            return [f"No documented cause matches, but {summary['failed']} probe(s) failed (below)."]
        if report["source_errors"]:
            return ["Every probe answered, but some targets could not be read (below)."]
        return [f"Healthy: all {summary['probes']} probes answered as expected."]
    lines = [f"{len(causes)} cause(s) found, most severe first:"]
    for index, cause in enumerate(causes, start=1):
        lines.append("")
        lines.append(f"{index}. [{cause['severity'].upper()}] {cause['title']} ({cause['cause']})")
        lines.append(f"   {cause['summary']}")
        lines.extend(f"   - {fact}" for fact in cause["evidence"])
        lines.append(f"   Fix: {cause['fix']}")
        lines.append(f"   Runbook: {cause['runbook']}")
    return lines


def _servers(probes: list[dict[str, Any]]) -> list[str]:
    """One line per (path, server): probes answered, median latency, how the others failed."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for probe in probes:
        groups.setdefault((probe["path"], probe["server"]), []).append(probe)
    if not groups:
        return ["No probe ran."]
    width = max(len(server) for _, server in groups)
    lines = ["Paths from this node (probes answered, median latency):"]
    for (path, server), group in sorted(groups.items(), key=lambda item: (order(item[0][0]), item[0][1])):
        ok = [p for p in group if p["result"] == "success"]
        latencies = [p["latency_seconds"] for p in group if p["latency_seconds"] is not None]
        median = f"{statistics.median(latencies) * 1000:.1f} ms" if latencies else "-"
        notes = []
        reasons: dict[str, int] = {}
        for p in group:
            if p["result"] != "success":
                reasons[p["result"]] = reasons.get(p["result"], 0) + 1
        if reasons:
            notes.append("failing: " + ", ".join(f"{r} ({n})" for r, n in sorted(reasons.items())))
        if path == "resolver":
            most = max(group, key=lambda p: p["queries"])
            notes.append(
                f"{most['name']} costs {most['queries']} {'query' if most['queries'] == 1 else 'queries'}"
            )
        verdict = "ok" if len(ok) == len(group) else "FAILING"
        lines.append(
            f"  {path:<9} {server:<{width}}  {len(ok):>3}/{len(group):<3} {verdict:<7} {median:>9}"
            + (f"   {'; '.join(notes)}" if notes else "")
        )
    return lines


def _probe_line(probe: Mapping[str, Any]) -> str:
    latency = probe["latency_seconds"]
    took = f"{latency * 1000:.2f} ms" if latency is not None else "-"
    outcome = "ok" if probe["result"] == "success" else probe["result"].upper()
    extra = f"  {probe['detail']}" if probe["detail"] and probe["result"] != "success" else ""
    if probe["path"] == "resolver" and not extra:
        extra = f"  ({probe['queries']} {'query' if probe['queries'] == 1 else 'queries'})"
    return (
        f"  {outcome:<13} {probe['path']:<9} {probe['server']:<22} {probe['transport']:<3} "
        f"{probe['qtype']:<5} {probe['name']:<40} {took:>10}{extra}"
    )


def node_lines(node: Mapping[str, Any]) -> list[str]:
    """The node readings: conntrack fill, loss counters, CPU, the race probe, the node resolver."""
    grown = node["increases"]
    span = f"over {grown['seconds']:.0f}s; +N: growth in that time" if grown else "growth needs two"
    lines = [f"Node (procfs {node['procfs']}, root {node['rootfs']}; {node['samples']} sample(s) {span}):"]

    def plus(key: str) -> str:
        """`` (+3)`` when the counter grew over the window."""
        return f" (+{grown[key]})" if grown and grown[key] else ""

    ct = node["conntrack"]
    if ct is not None:
        limit = ct["limit"] if ct["limit"] is not None else "?"
        fill = f"{ct['fill_ratio'] * 100:.1f}% full" if ct["fill_ratio"] is not None else "fill unknown"
        clash = (
            "n/a"
            if ct["clash_resolve"] is None
            else f"{ct['clash_resolve']}{plus('conntrack_clash_resolve')}"
        )
        lines.append(
            f"  conntrack  {ct['entries']} of {limit} entries ({fill}); insert_failed {ct['insert_failed']}"
            f"{plus('conntrack_insert_failed')}, drop {ct['drop']}{plus('conntrack_drop')}, early_drop "
            f"{ct['early_drop']}{plus('conntrack_early_drop')}, clash_resolve {clash}"
        )
    net = node["net"]
    if net is not None:
        lines.append(
            f"  udp        InErrors {net['udp_in_errors']}{plus('udp_in_errors')}, RcvbufErrors "
            f"{net['udp_receive_buffer_errors']}{plus('udp_receive_buffer_errors')}, SndbufErrors "
            f"{net['udp_send_buffer_errors']}{plus('udp_send_buffer_errors')}, "
            f"NoPorts {net['udp_no_ports']}; "
            f"tcp RetransSegs {net['tcp_retransmitted_segments']}{plus('tcp_retransmitted_segments')}"
        )
    if grown and (grown["cpu_busy_ratio"] is not None or grown["cpu_pressure_ratio"] is not None):
        parts = [
            f"{label} {grown[key] * 100:.1f}%"
            for label, key in (("busy", "cpu_busy_ratio"), ("pressure", "cpu_pressure_ratio"))
            if grown[key] is not None
        ]
        lines.append(f"  cpu        {', '.join(parts)} over {grown['seconds']:.0f}s")
    race = node["race"]
    lines.append(
        f"  race       {race['probes']} probe(s): {race['lost']} answer(s) lost with A+AAAA together "
        f"from one socket, {race['sequential_lost']} lost one by one"
    )
    lines.extend(
        f"             {t['path']} {t['server']} {t['name']}: {t['lost']} lost together, "
        f"{t['sequential_lost']} one by one"
        for t in race["targets"]
        if t["lost"] or t["sequential_lost"]
    )
    conf = node["resolv_conf"]
    if conf is not None:
        modified = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(conf["modified"]))
        lines.append(
            f"  resolver   {conf['file']}: nameservers {', '.join(conf['nameservers']) or 'none'}; "
            f"search {' '.join(conf['search']) or '-'}; options {' '.join(conf['options']) or '-'}; "
            f"modified {modified}" + ("; Azure DNS beside other servers" if conf["azure_dns_mixed"] else "")
        )
    return lines  # sources without data are listed under "Collectors without data"
