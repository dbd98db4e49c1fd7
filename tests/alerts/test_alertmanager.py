"""The example Alertmanager config, run by a real Alertmanager (Debian's) on loopback.

A scripted storm goes in through its API; a webhook receiver on loopback stands in for
the pager and the ticket queue. What pages, what opens a ticket and what is inhibited
is read from what the receivers get and from Alertmanager's own alert status.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from lab import free_port
from lab.servers import require
from tests.conftest import REPO
from tests.integration.prometheus import start_ready, stop

EXAMPLE = REPO / "alerts" / "alertmanager.example.yml"

Labels = dict[str, str]


class Receivers:
    """A webhook endpoint per receiver (``/pager``, ``/tickets``): the alerts each was sent."""

    def __init__(self) -> None:
        self.received: dict[str, list[Labels]] = {}
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with owner._lock:
                    got = owner.received.setdefault(self.path.strip("/"), [])
                    got += [alert["labels"] for alert in body["alerts"]]
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def names(self, receiver: str) -> set[tuple[str, ...]]:
        with self._lock:
            return {_key(labels) for labels in self.received.get(receiver, [])}


def _key(labels: Labels) -> tuple[str, ...]:
    """An alert as (alertname, cluster, node or path): what a person reading the page sees first."""
    return (labels["alertname"], labels.get("cluster", ""), labels.get("node") or labels.get("path", ""))


class Alertmanager:
    def __init__(self, workdir: Path, receivers: Receivers) -> None:
        """The example config, its receivers pointed at ``receivers`` and its waits shortened."""
        config = yaml.safe_load(EXAMPLE.read_text())
        for receiver in config["receivers"]:
            receiver["webhook_configs"] = [{"url": f"{receivers.url}/{receiver['name']}"}]
        config["route"] |= {"group_wait": "1s", "group_interval": "1s"}
        self.config = workdir / "alertmanager.yml"
        self.config.write_text(yaml.safe_dump(config))
        self.workdir = workdir
        self.url = f"http://127.0.0.1:{free_port()}"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> Alertmanager:
        self._process = start_ready(
            [
                require("prometheus-alertmanager"),
                f"--config.file={self.config}",
                f"--storage.path={self.workdir / 'data'}",
                f"--web.listen-address={self.url.removeprefix('http://')}",
                "--cluster.listen-address=",
            ],
            self.workdir / "alertmanager.log",
            self.url,
        )
        return self

    def stop(self) -> None:
        stop(self._process)

    def post(self, alerts: list[Labels]) -> None:
        now = datetime.now(UTC)
        body = [
            {
                "labels": labels,
                "annotations": {"summary": labels["alertname"]},
                "startsAt": now.isoformat(),
                "endsAt": (now + timedelta(hours=1)).isoformat(),
            }
            for labels in alerts
        ]
        request = urllib.request.Request(  # noqa: S310 - loopback
            self.url + "/api/v2/alerts",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            assert response.status == 200

    def alerts(self) -> list[dict[str, Any]]:
        with urllib.request.urlopen(self.url + "/api/v2/alerts", timeout=10) as response:  # noqa: S310
            return list(json.load(response))


def _cause(name: str, cause: str, cluster: str, **labels: str) -> Labels:
    return {
        "alertname": name,
        "cause": cause,
        "cluster": cluster,
        "severity": "warning",
        "k8s_dns_alert": "cause",
    } | labels


def _alert(name: str, cluster: str, kind: str, severity: str = "warning", **labels: str) -> Labels:
    return {"alertname": name, "cluster": cluster, "severity": severity, "k8s_dns_alert": kind} | labels


def _node(name: str) -> Labels:
    return {"node": name, "instance": f"{name}:9958"}


STORM: list[Labels] = [
    # prod: node-1's conntrack table is full; node-1 and node-3 fail on the service path.
    _cause("K8sDNSConntrackTableFull", "conntrack_table_full", "prod", **_node("node-1")),
    _alert("K8sDNSNodePathFailing", "prod", "symptom", path="service", **_node("node-1")),
    _alert("K8sDNSNodePathFailing", "prod", "symptom", path="service", **_node("node-3")),
    # prod: node-2's exporter cannot be scraped; node-1's has stopped probing (under its own cause).
    _alert("K8sDNSExporterDown", "prod", "exporter", job="k8s-dns-exporter", **_node("node-2")),
    _alert("K8sDNSProbesStale", "prod", "exporter", **_node("node-1")),
    # prod: the resolver path fails across the cluster: the page.
    _alert("K8sDNSProbeErrorBudgetFastBurn", "prod", "symptom", "critical", path="resolver"),
    # prod: one upstream is silent; the upstream path burns, a ticket the cause explains.
    _cause("K8sDNSUpstreamUnreachable", "upstream_unreachable", "prod", path="upstream"),
    _alert("K8sDNSProbeErrorBudgetFastBurnPartial", "prod", "symptom", path="upstream"),
    # Companions: node_exporter on prod's node-1 (its cause fires), CoreDNS's errors on staging (no cause).
    _alert("NodeConntrackTableNearlyFull", "prod", "companion", cause="conntrack_table_full", node="node-1"),
    _alert("CoreDNSUpstreamErrors", "staging", "companion", cause="upstream_error", to="10.0.0.2:53"),
    # staging: the Service fails across the cluster (a second page); staging's node-3 has a cause
    # of its own, which must not reach prod's node-3.
    _alert("K8sDNSProbeErrorBudgetFastBurn", "staging", "symptom", "critical", path="service"),
    _cause("K8sDNSNodeLocalDown", "nodelocal_down", "staging", **_node("node-3")),
]

PAGES = {
    ("K8sDNSProbeErrorBudgetFastBurn", "prod", "resolver"),
    ("K8sDNSProbeErrorBudgetFastBurn", "staging", "service"),
}
TICKETS = {
    ("K8sDNSConntrackTableFull", "prod", "node-1"),
    ("K8sDNSNodePathFailing", "prod", "node-3"),
    ("K8sDNSExporterDown", "prod", "node-2"),
    ("K8sDNSProbesStale", "prod", "node-1"),
    ("K8sDNSUpstreamUnreachable", "prod", "upstream"),
    ("CoreDNSUpstreamErrors", "staging", ""),
    ("K8sDNSNodeLocalDown", "staging", "node-3"),
}
INHIBITED = {
    ("K8sDNSNodePathFailing", "prod", "node-1"),
    ("K8sDNSProbeErrorBudgetFastBurnPartial", "prod", "upstream"),
    ("NodeConntrackTableNearlyFull", "prod", "node-1"),
}


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[tuple[Alertmanager, Receivers]]:
    receivers = Receivers()
    manager = Alertmanager(tmp_path, receivers).start()
    try:
        yield manager, receivers
    finally:
        manager.stop()
        receivers.server.shutdown()


def test_a_storm_pages_once_per_cluster_and_inhibits_only_what_a_cause_explains(alertmanager) -> None:
    manager, receivers = alertmanager
    assert {_key(labels) for labels in STORM} == PAGES | TICKETS | INHIBITED
    manager.post(STORM)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (
        receivers.names("pager") != PAGES or receivers.names("tickets") != TICKETS
    ):
        time.sleep(0.2)
    time.sleep(3)  # a few more group intervals: nothing else arrives
    assert receivers.names("pager") == PAGES
    assert receivers.names("tickets") == TICKETS
    status = {_key(alert["labels"]): alert["status"] for alert in manager.alerts()}
    assert {key for key, s in status.items() if s["inhibitedBy"]} == INHIBITED
    assert {key for key, s in status.items() if s["state"] == "active"} == PAGES | TICKETS
