"""Write the Prometheus rule files and the cause alerts' promtool tests.

    python -m alerts.generate [--config FILE] [--runbook-base-url URL] [--dashboard-base-url URL]

The checked-in files use the defaults; ``--config`` (alerts/settings.py) writes
them for a team's job names, objective, latency limits, severity names and labels.

Cause alerts come from the cause modules (exporter/causes/<id>.py: severity,
title, alert evidence, scope, standing or not), so every documented cause has
exactly one alert with its severity and runbook. A cause alert is a ticket: the
pages are symptom alerts, and each lists the causes active in its cluster.
The files are checked in; tests fail when they differ from what this writes.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from alerts import settings as config
from alerts.companions import companion_files as companion_rules
from alerts.companions import recording_groups
from alerts.settings import Settings
from alerts.symptoms import rules
from exporter.causes import CAUSES, Cause

HERE = Path(__file__).resolve().parent
DEFAULT_RUNBOOK_BASE = Settings().runbook_base_url

FOR_BY_SEVERITY = {"critical": "2m", "warning": "10m", "info": "30m"}
FOR_STANDING = "30m"
"""Causes read from API objects or configuration do not flap: they wait longer before a ticket."""
KEEP_FIRING_FOR = "10m"
"""A cause told from probes comes and goes with the rounds: its alert stays this long after the last
report, so one good round does not resolve it and the next bad one open it again."""

DASHBOARDS = {"cluster": "k8s-dns-overview", "node": "k8s-dns-node"}
"""The uids of the dashboards an alert opens: the overview, or the node dashboard for one instance's alert."""

_NODE_LABELS = ("node", "instance")
_SELECTOR = re.compile(r"(?<![\w:])(k8s_dns_[a-z0-9_]+)(\{[^}]*\})?")


def alert_name(cause_id: str) -> str:
    """``service_routing_broken`` -> ``K8sDNSServiceRoutingBroken``."""
    special = {"coredns": "CoreDNS", "dns": "DNS", "api": "API", "udp": "UDP", "tcp": "TCP", "ipvs": "IPVS"}
    special |= {"aaaa": "AAAA", "a": "A", "conf": "Conf", "nodelocal": "NodeLocal"}
    return "K8sDNS" + "".join(special.get(part, part.capitalize()) for part in cause_id.split("_"))


def _by(cause: Cause) -> str:
    return ", ".join(("cluster", "cause", "severity", *(_NODE_LABELS if cause.scope == "node" else ())))


def cause_rule(cause: Cause, runbook_base: str) -> dict[str, Any]:
    detail = _evidence_template(cause)
    if cause.scope == "node":
        where = "node {{ $labels.node }} ({{ $labels.instance }})"
        summary = f"{cause.title}: {where} ({cause.id})"
        reports = f"The exporter on {where} reports {cause.id} ({cause.title}). "
    else:
        summary = f"{cause.title} ({cause.id})"
        reports = f"{{{{ $value }}}} exporter instance(s) report {cause.id} ({cause.title}). "
    rule: dict[str, Any] = {
        "alert": alert_name(cause.id),
        "expr": f'count by ({_by(cause)}) (k8s_dns_cause_active{{cause="{cause.id}"}} == 1)',
        "for": FOR_STANDING if cause.standing else FOR_BY_SEVERITY[cause.severity],
    }
    if not cause.standing:
        rule["keep_firing_for"] = KEEP_FIRING_FOR
    labels = {"severity": cause.severity, "k8s_dns_alert": "cause"}
    if cause.path:
        labels["path"] = cause.path
    rule["labels"] = labels
    rule["annotations"] = {
        "summary": summary,
        "description": (
            reports
            + detail
            + "Open /diagnose on an instance that reports it, or run `k8s-dns-exporter doctor`, "
            "for the evidence and the fix."
        ),
        "runbook_url": runbook(runbook_base, cause.id),
    }
    return rule


def runbook(base: str, page: str) -> str:
    return f"{base.rstrip('/')}/{page}.md"


def causes_annotation(runbook_base: str) -> str:
    """What a page prints under its description: the causes active in its cluster, with their runbooks."""
    return (
        "{{ range printf `count by (cause, severity) (k8s_dns_cause_active{cluster=%q} == 1)` "
        "$labels.cluster | query | sortByLabel `cause` }}"
        "{{ .Labels.cause }} ({{ .Labels.severity }}, {{ .Value }} instance(s)): "
        + runbook(runbook_base, "{{ .Labels.cause }}")
        + "\n{{ else }}No documented cause is active in this cluster: read the paths with the triage runbook."
        "{{ end }}"
    )


def dashboard_url(rule: dict[str, Any], base: str) -> str:
    """The dashboard for ``rule`` in Grafana at ``base``, with its cluster (and node) selected: an alert
    about one instance opens the node dashboard on that node, any other the overview."""
    node = "$labels.instance" in rule["annotations"]["summary"]
    url = f"{base.rstrip('/')}/d/{DASHBOARDS['node' if node else 'cluster']}?var-cluster={{{{ $labels.cluster }}}}"
    return url + ("&var-node={{ $labels.node }}" if node else "")


def finish(rule: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """``rule`` as ``settings`` name things: its severity's label value, the extra labels, a dashboard."""
    labels = {**rule["labels"], "severity": settings.severities[rule["labels"]["severity"]]}
    annotations = dict(rule["annotations"])
    if settings.dashboard_base_url:
        annotations["dashboard_url"] = dashboard_url(rule, settings.dashboard_base_url)
    return {**rule, "labels": {**labels, **settings.extra_labels}, "annotations": annotations}


def rule_files(settings: Settings) -> dict[str, dict[str, Any]]:
    base = settings.runbook_base_url
    recording, alerts = rules(settings)
    causes = [finish(cause_rule(c, base), settings) for c in CAUSES.values()]
    symptoms = []
    for rule in alerts:
        annotations = {**rule["annotations"], "runbook_url": runbook(base, "triage")}
        if rule["labels"]["k8s_dns_alert"] == "symptom":
            annotations["causes"] = causes_annotation(base)
        symptoms.append(finish({**rule, "annotations": annotations}, settings))
    return {
        "k8s-dns-recording.rules.yml": {"groups": [{"name": "k8s-dns.recording", "rules": recording}]},
        "k8s-dns-symptoms.rules.yml": {"groups": [{"name": "k8s-dns.symptoms", "rules": symptoms}]},
        "k8s-dns-causes.rules.yml": {"groups": [{"name": "k8s-dns.causes", "rules": causes}]},
    }


def companion_files(settings: Settings) -> dict[str, tuple[str, dict[str, Any]]]:
    """alerts/companion/<file>: (its header comment, its rules), each linking its cause's runbook."""
    files = {}
    for name, (group, about, companions) in companion_rules(settings).items():
        linked = [
            finish(
                {
                    **rule,
                    "annotations": {
                        **rule["annotations"],
                        "runbook_url": runbook(settings.runbook_base_url, rule["labels"]["cause"]),
                    },
                },
                replace(settings, dashboard_base_url=None),
            )
            for rule in companions
        ]
        groups = [{"name": group, "rules": linked}, *recording_groups(settings).get(name, [])]
        files[name] = (about, {"groups": groups})
    return files


def cause_tests(settings: Settings) -> dict[str, Any]:
    """For every cause alert: fires after its ``for`` when one instance reports the cause; silent at 0."""
    tests = []
    for cause in CAUSES.values():
        rule = finish(cause_rule(cause, settings.runbook_base_url), settings)
        wait = int(rule["for"].removesuffix("m")) + 1
        target = {"instance": "node-a:9958", "node": "node-a", "job": "k8s-dns-exporter"}
        labels = {"cause": cause.id, "severity": cause.severity, **target}
        healthy = {**labels, "instance": "node-b:9958", "node": "node-b"}
        expected = {"cause": cause.id, **rule["labels"]}
        expected |= {name: target[name] for name in _NODE_LABELS} if cause.scope == "node" else {}
        tests.append(
            {
                "interval": "1m",
                "input_series": [
                    {"series": f"k8s_dns_cause_active{_series(labels)}", "values": f"0 1x{wait + 5}"},
                    {"series": f"k8s_dns_cause_active{_series(healthy)}", "values": f"0x{wait + 6}"},
                ],
                "alert_rule_test": [
                    {"eval_time": f"{wait - 1}m", "alertname": rule["alert"], "exp_alerts": []},
                    {
                        "eval_time": f"{wait + 1}m",
                        "alertname": rule["alert"],
                        "exp_alerts": [
                            {
                                "exp_labels": expected,
                                "exp_annotations": {
                                    name: _expand(text.replace(_evidence_template(cause), ""), target)
                                    for name, text in rule["annotations"].items()
                                },
                            }
                        ],
                    },
                ],
            }
        )
    return {"rule_files": ["../k8s-dns-causes.rules.yml"], "evaluation_interval": "1m", "tests": tests}


def _series(labels: dict[str, str]) -> str:
    return "{" + ",".join(f'{name}="{value}"' for name, value in labels.items()) + "}"


def _expand(text: str, target: dict[str, str]) -> str:
    """What Prometheus prints for ``text`` in the tests: one instance, the target's labels."""
    text = text.replace("{{ $value }}", "1").replace("{{ $labels.cluster }}", "")
    for name, value in target.items():
        text = text.replace(f"{{{{ $labels.{name} }}}}", value)
    return text


def _evidence_template(cause: Cause) -> str:
    """The raw metric behind the cause, read at alert time with the template ``query`` function.

    Every selector of the exporter's metrics is narrowed to the alert's cluster (and, for a node's
    cause, its instance): a central ruler over many clusters prints this cluster's number.
    """
    evidence = cause.alert
    value = "{{ . | first | value | " + evidence.format + " }}"
    args = "$labels.cluster" + (" $labels.instance" if cause.scope == "node" else "")
    return (
        "{{ with printf `"
        + scoped_query(evidence.query, cause.scope)
        + "` "
        + args
        + " | query }}"
        + evidence.text.format(v=value)
        + " {{ end }}"
    )


def scoped_query(query: str, scope: str) -> str:
    """``query`` as a printf format whose selectors match ``cluster`` (arg 1) and ``instance`` (arg 2)."""
    matchers = "cluster=%[1]q" + (",instance=%[2]q" if scope == "node" else "")

    def narrow(match: re.Match[str]) -> str:
        inner = (match.group(2) or "{}")[1:-1]
        return f"{match.group(1)}{{{matchers}{',' + inner if inner else ''}}}"

    return _SELECTOR.sub(narrow, query.replace("%", "%%"))


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str)


def dump(document: Any, about: str = "") -> str:
    header = "# Generated by `python -m alerts.generate`; edit alerts/*.py, not this file.\n"
    header += "".join(f"# {line}\n" for line in about.splitlines())
    return header + yaml.dump(document, Dumper=_Dumper, sort_keys=False, width=120, allow_unicode=True)


def outputs(settings: Settings | None = None) -> dict[Path, str]:
    settings = settings or Settings()
    files = {HERE / name: dump(doc) for name, doc in rule_files(settings).items()}
    for name, (about, doc) in companion_files(settings).items():
        files[HERE / "companion" / name] = dump(doc, about)
    files[HERE / "tests" / "causes.test.yml"] = dump(cause_tests(settings))
    return files


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m alerts.generate", description=__doc__)
    parser.add_argument("--config", type=Path, metavar="FILE", help="settings (alerts/settings.py), YAML")
    parser.add_argument("--runbook-base-url", metavar="URL", help=f"default {DEFAULT_RUNBOOK_BASE}")
    parser.add_argument(
        "--dashboard-base-url",
        metavar="URL",
        help="your Grafana (https://grafana.example.org): symptom and cause alerts get a dashboard_url",
    )
    args = parser.parse_args()
    try:
        settings = config.load(args.config) if args.config else Settings()
    except ValueError as exc:
        parser.error(str(exc))
    if args.runbook_base_url:
        settings = replace(settings, runbook_base_url=args.runbook_base_url)
    if args.dashboard_base_url:
        settings = replace(settings, dashboard_base_url=args.dashboard_base_url)
    for path, text in outputs(settings).items():
        path.write_text(text)
        print(f"wrote {path.relative_to(HERE.parent)}")


if __name__ == "__main__":
    main()
