"""Write the Prometheus rule files and the cause alerts' promtool tests.

    python -m alerts.generate [--runbook-base-url URL]

Cause alerts come from the cause modules (exporter/causes/<id>.py: severity,
title, alert evidence, standing or not), so every documented cause has exactly
one alert with its severity and runbook.
The files are checked in; tests fail when they differ from what this writes.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import yaml

from alerts.symptoms import RECORDING_RULES, SYMPTOM_ALERTS
from exporter.causes import CAUSES, Cause

HERE = Path(__file__).resolve().parent
DEFAULT_RUNBOOK_BASE = "docs/runbooks"
"""Relative to the repository; pass --runbook-base-url to point pages at where you host the docs."""

FOR_BY_SEVERITY = {"critical": "2m", "warning": "10m"}
FOR_STANDING = "30m"
"""Causes read from API objects or configuration do not flap: they wait longer before a page."""


def alert_name(cause_id: str) -> str:
    """``service_routing_broken`` -> ``K8sDNSServiceRoutingBroken``."""
    special = {"coredns": "CoreDNS", "dns": "DNS", "api": "API", "udp": "UDP", "tcp": "TCP", "ipvs": "IPVS"}
    special |= {"aaaa": "AAAA", "a": "A", "conf": "Conf", "nodelocal": "NodeLocal"}
    return "K8sDNS" + "".join(special.get(part, part.capitalize()) for part in cause_id.split("_"))


def cause_rule(cause: Cause, runbook_base: str) -> dict[str, Any]:
    detail = _evidence_template(cause)
    return {
        "alert": alert_name(cause.id),
        "expr": f'count by (cluster, cause, severity) (k8s_dns_cause_active{{cause="{cause.id}"}} == 1)',
        "for": FOR_STANDING if cause.standing else FOR_BY_SEVERITY[cause.severity],
        "labels": {"severity": cause.severity, "k8s_dns_alert": "cause"},
        "annotations": {
            "summary": f"{cause.title} ({cause.id})",
            "description": (
                f"{{{{ $value }}}} exporter instance(s) report {cause.id} ({cause.title}). "
                + detail
                + " Open /diagnose on an instance that reports it, or run `k8s-dns-exporter doctor`, "
                "for the evidence and the fix."
            ),
            "runbook_url": f"{runbook_base.rstrip('/')}/{cause.id}.md",
        },
    }


def rule_files(runbook_base: str) -> dict[str, dict[str, Any]]:
    causes = [cause_rule(c, runbook_base) for c in CAUSES.values()]
    symptoms = [dict(rule) for rule in SYMPTOM_ALERTS]
    for rule in symptoms:
        rule["annotations"] = {**rule["annotations"], "runbook_url": f"{runbook_base.rstrip('/')}/triage.md"}
    return {
        "k8s-dns-recording.rules.yml": {"groups": [{"name": "k8s-dns.recording", "rules": RECORDING_RULES}]},
        "k8s-dns-symptoms.rules.yml": {"groups": [{"name": "k8s-dns.symptoms", "rules": symptoms}]},
        "k8s-dns-causes.rules.yml": {"groups": [{"name": "k8s-dns.causes", "rules": causes}]},
    }


def cause_tests(runbook_base: str) -> dict[str, Any]:
    """For every cause alert: fires after its ``for`` when one instance reports the cause; silent at 0."""
    tests = []
    for cause in CAUSES.values():
        rule = cause_rule(cause, runbook_base)
        wait = int(rule["for"].removesuffix("m")) + 1
        labels = f'{{cause="{cause.id}",severity="{cause.severity}",instance="node-a:9958",job="k8s-dns-exporter"}}'
        healthy = labels.replace("node-a", "node-b")
        tests.append(
            {
                "interval": "1m",
                "input_series": [
                    {"series": f"k8s_dns_cause_active{labels}", "values": f"0 1x{wait + 5}"},
                    {"series": f"k8s_dns_cause_active{healthy}", "values": f"0x{wait + 6}"},
                ],
                "alert_rule_test": [
                    {"eval_time": f"{wait - 1}m", "alertname": rule["alert"], "exp_alerts": []},
                    {
                        "eval_time": f"{wait + 1}m",
                        "alertname": rule["alert"],
                        "exp_alerts": [
                            {
                                "exp_labels": {
                                    "cause": cause.id,
                                    "severity": cause.severity,
                                    "k8s_dns_alert": "cause",
                                },
                                "exp_annotations": {
                                    "summary": rule["annotations"]["summary"],
                                    "description": rule["annotations"]["description"]
                                    .replace("{{ $value }}", "1")
                                    .replace(_evidence_template(cause), ""),
                                    "runbook_url": rule["annotations"]["runbook_url"],
                                },
                            }
                        ],
                    },
                ],
            }
        )
    return {"rule_files": ["../k8s-dns-causes.rules.yml"], "evaluation_interval": "1m", "tests": tests}


def _evidence_template(cause: Cause) -> str:
    """The raw metric behind the cause, read at alert time with the template ``query`` function."""
    evidence = cause.alert
    value = "{{ . | first | value | " + evidence.format + " }}"
    return "{{ with query `" + evidence.query + "` }}" + evidence.text.format(v=value) + "{{ end }}"


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str)


def dump(document: Any) -> str:
    header = "# Generated by `python -m alerts.generate`; edit alerts/*.py, not this file.\n"
    return header + yaml.dump(document, Dumper=_Dumper, sort_keys=False, width=120, allow_unicode=True)


def outputs(runbook_base: str = DEFAULT_RUNBOOK_BASE) -> dict[Path, str]:
    files = {HERE / name: dump(doc) for name, doc in rule_files(runbook_base).items()}
    files[HERE / "tests" / "causes.test.yml"] = dump(cause_tests(runbook_base))
    return files


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m alerts.generate", description=__doc__)
    parser.add_argument("--runbook-base-url", default=DEFAULT_RUNBOOK_BASE, metavar="URL")
    args = parser.parse_args()
    for path, text in outputs(args.runbook_base_url).items():
        path.write_text(text)
        print(f"wrote {path.relative_to(HERE.parent)}")


if __name__ == "__main__":
    main()
