"""The node readings as text: conntrack fill, loss counters, CPU, the race probe, the node resolver."""

from __future__ import annotations

import time

from exporter.node.readings import Increases, NodeReadings


def node_lines(node: NodeReadings) -> list[str]:
    grown = node.increases
    span = f"over {grown.seconds:.0f}s; +N: growth in that time" if grown else "growth needs two"
    lines = [f"Node (procfs {node.procfs}, root {node.rootfs}; {node.samples} sample(s) {span}):"]

    def plus(value: int | None) -> str:
        """`` (+3)`` when the counter grew over the window."""
        return f" (+{value})" if grown and value else ""

    up = grown or Increases(seconds=0.0)
    ct = node.conntrack
    if ct is not None:
        limit = ct.limit if ct.limit is not None else "?"
        fill = f"{ct.fill_ratio * 100:.1f}% full" if ct.fill_ratio is not None else "fill unknown"
        clash = "n/a" if ct.clash_resolve is None else f"{ct.clash_resolve}{plus(up.conntrack_clash_resolve)}"
        lines.append(
            f"  conntrack  {ct.entries} of {limit} entries ({fill}); insert_failed {ct.insert_failed}"
            f"{plus(up.conntrack_insert_failed)}, drop {ct.drop}{plus(up.conntrack_drop)}, early_drop "
            f"{ct.early_drop}{plus(up.conntrack_early_drop)}, clash_resolve {clash}"
        )
    net = node.net
    if net is not None:
        lines.append(
            f"  udp        InErrors {net.udp_in_errors}{plus(up.udp_in_errors)}, RcvbufErrors "
            f"{net.udp_receive_buffer_errors}{plus(up.udp_receive_buffer_errors)}, SndbufErrors "
            f"{net.udp_send_buffer_errors}{plus(up.udp_send_buffer_errors)}, "
            f"NoPorts {net.udp_no_ports}; "
            f"tcp RetransSegs {net.tcp_retransmitted_segments}{plus(up.tcp_retransmitted_segments)}"
        )
    if grown and (grown.cpu_busy_ratio is not None or grown.cpu_pressure_ratio is not None):
        parts = [
            f"{label} {ratio * 100:.1f}%"
            for label, ratio in (("busy", grown.cpu_busy_ratio), ("pressure", grown.cpu_pressure_ratio))
            if ratio is not None
        ]
        lines.append(f"  cpu        {', '.join(parts)} over {grown.seconds:.0f}s")
    race = node.race
    lines.append(
        f"  race       {race.probes} probe(s): {race.lost} answer(s) lost with A+AAAA together "
        f"from one socket, {race.sequential_lost} lost one by one"
    )
    lines.extend(
        f"             {t.path} {t.server} {t.name}: {t.lost} lost together, {t.sequential_lost} one by one"
        for t in race.targets
        if t.lost or t.sequential_lost
    )
    conf = node.resolv_conf
    if conf is not None:
        modified = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(conf.modified))
        lines.append(
            f"  resolver   {conf.file}: nameservers {', '.join(conf.conf.nameservers) or 'none'}; "
            f"search {' '.join(conf.conf.search) or '-'}; options {' '.join(conf.conf.options) or '-'}; "
            f"modified {modified}" + ("; Azure DNS beside other servers" if conf.azure_dns_mixed else "")
        )
    return lines  # sources without data are listed under "Collectors without data"
