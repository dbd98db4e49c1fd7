"""Probe-differential rules: each names its cause from the paths, and healthy input names none."""

from __future__ import annotations

import dataclasses

import pytest

from exporter.causes import CAUSES
from exporter.config import parse_config
from exporter.diagnosis.engine import diagnose, upstream_comparisons
from exporter.diagnosis.model import DnsPlace, Observations
from exporter.probe import ProbeResult, Reason
from tests.unit.results import (
    EXTERNAL,
    INTERNAL,
    NAMES,
    POD1,
    UP1,
    UP2,
    broken,
    fail,
    healthy_results,
    result,
    round_of,
)


def causes(results: list[ProbeResult], rounds: int = 3) -> list[str]:
    obs = Observations(
        rounds=tuple(round_of(*results) for _ in range(rounds)),
        names=NAMES,
        configured_paths=frozenset({"service", "pod", "nodelocal", "upstream"}),
    )
    return [f.cause for f in diagnose(obs)]


def test_healthy_input_names_no_cause() -> None:
    assert causes(healthy_results()) == []


def test_every_cause_has_a_catalog_entry_with_a_severity() -> None:
    assert len(CAUSES) == 26
    assert {c.severity for c in CAUSES.values()} == {"warning", "info"}


@pytest.mark.parametrize(
    ("faults", "expected"),
    [
        ([fail(Reason.TIMEOUT, path="service")], ["service_routing_broken"]),
        ([fail(Reason.TIMEOUT, path="nodelocal")], ["nodelocal_down"]),
        (
            [
                fail(Reason.TIMEOUT, path="pod"),
                fail(Reason.TIMEOUT, path="service"),
                fail(Reason.SERVFAIL, "SERVFAIL", path="nodelocal"),
            ],
            ["coredns_unavailable"],
        ),
        (
            [fail(Reason.NETWORK_ERROR, path=p) for p in ("service", "pod", "nodelocal", "upstream")],
            ["pod_network_broken"],
        ),
        ([fail(Reason.TIMEOUT, server=UP2)], ["upstream_unreachable"]),
        (
            [
                fail(Reason.SERVFAIL, "SERVFAIL", path=p, name=EXTERNAL)
                for p in ("service", "pod", "nodelocal")
            ],
            ["coredns_config_error"],
        ),
        (
            [
                fail(Reason.SERVFAIL, "SERVFAIL", path=p, name=INTERNAL)
                for p in ("service", "pod", "nodelocal")
            ],
            ["coredns_api_unreachable"],
        ),
        ([fail(Reason.TIMEOUT, path="upstream", transport="tcp")], ["upstream_tcp_unsupported"]),
        ([fail(Reason.NXDOMAIN, "NXDOMAIN", server=UP2)], ["upstream_mixed_resolvers"]),
        ([fail(Reason.SERVFAIL, "SERVFAIL", path="upstream")], ["upstream_error"]),
    ],
    ids=[
        "routing",
        "nodelocal",
        "coredns down",
        "pod network",
        "upstream down",
        "config",
        "api",
        "tcp",
        "mixed",
        "upstream error",
    ],
)
def test_one_fault_one_cause(faults: list[object], expected: list[str]) -> None:
    results = healthy_results()
    for fault in faults:
        results = broken(results, fault)
    assert causes(results) == expected


def test_one_lost_datagram_names_nothing() -> None:
    healthy = healthy_results()
    lossy = broken(healthy, fail(Reason.TIMEOUT, path="service", transport="udp", name=EXTERNAL))
    obs = Observations(
        rounds=(round_of(*healthy), round_of(*lossy), round_of(*healthy)),
        names=NAMES,
        configured_paths=frozenset({"service", "pod"}),
    )
    assert diagnose(obs) == []


def test_truncation_is_compared_with_tcp() -> None:
    results = healthy_results()
    results.append(
        result(
            "pod",
            POD1,
            "big.default.svc.cluster.local.",
            reason=Reason.TRUNCATED,
            answers=("10.0.0.1",) * 29,
            truncated=True,
        )
    )
    results.append(
        result("pod", POD1, "big.default.svc.cluster.local.", transport="tcp", answers=("10.0.0.1",) * 40)
    )
    obs = Observations(rounds=(round_of(*results),), names=NAMES, configured_paths=frozenset({"pod"}))
    (finding,) = diagnose(obs)
    assert finding.cause == "response_truncated"
    assert finding.evidence == (
        f"pod {POD1}: big.default.svc.cluster.local. A truncated over UDP (29 records), 40 records over TCP",
    )


def test_mixed_resolvers_evidence_names_each_upstream_and_azure() -> None:
    azure = "168.63.129.16:53"
    results = [r for r in healthy_results() if r.path != "upstream"]
    results += [
        result("upstream", UP1, "db.corp.internal.", answers=("10.20.0.5",)),
        result("upstream", UP2, "db.corp.internal.", answers=("10.20.0.5",)),
        result("upstream", azure, "db.corp.internal.", reason=Reason.NXDOMAIN, rcode="NXDOMAIN", answers=()),
    ]
    obs = Observations(rounds=(round_of(*results),), names=NAMES, configured_paths=frozenset({"upstream"}))
    (finding,) = diagnose(obs)
    assert finding.cause == "upstream_mixed_resolvers"
    assert finding.severity == "warning"
    assert finding.evidence == (
        f"db.corp.internal. A: {UP1} -> NOERROR 10.20.0.5; {UP2} -> NOERROR 10.20.0.5; {azure} -> NXDOMAIN",
        "Azure DNS (168.63.129.16) is listed beside custom DNS servers",
    )
    assert finding.runbook == "docs/runbooks/upstream_mixed_resolvers.md"


def _upstreams_answering(answers: dict[str, tuple[str, ...]]) -> list[ProbeResult]:
    return [
        result("upstream", server, "cdn.example.org.", answers=records) for server, records in answers.items()
    ]


def test_different_addresses_from_a_cdn_are_not_a_disagreement() -> None:
    results = _upstreams_answering({UP1: ("192.0.2.1",), UP2: ("198.51.100.7",)})
    names = parse_config({"names": [{"name": "cdn.example.org."}], "paths": {"upstream": [UP1, UP2]}}).names
    obs = Observations(rounds=(round_of(*results),), names=names, configured_paths=frozenset({"upstream"}))
    assert diagnose(obs) == []
    (comparison,) = upstream_comparisons(obs)
    assert not comparison.disagree


def test_pinned_answers_are_compared_record_by_record() -> None:
    results = _upstreams_answering({UP1: ("192.0.2.1",), UP2: ("198.51.100.7",)})
    names = parse_config(
        {
            "names": [{"name": "cdn.example.org.", "expect": {"answers": ["192.0.2.1"]}}],
            "paths": {"upstream": [UP1, UP2]},
        }
    ).names
    obs = Observations(rounds=(round_of(*results),), names=names, configured_paths=frozenset({"upstream"}))
    assert [f.cause for f in diagnose(obs)] == ["upstream_mixed_resolvers"]
    assert upstream_comparisons(obs)[0].disagree


def test_a_silent_upstream_is_not_a_disagreement() -> None:
    results = [result("upstream", UP1, EXTERNAL), result("upstream", UP2, EXTERNAL, reason=Reason.TIMEOUT)]
    obs = Observations(rounds=(round_of(*results),), names=NAMES, configured_paths=frozenset({"upstream"}))
    assert [f.cause for f in diagnose(obs)] == ["upstream_unreachable"]
    assert upstream_comparisons(obs) == []


CORP, STUB1, STUB2 = "corp.internal.", "10.1.0.4:53", "10.20.0.5:53"


def with_stub_forwarders(*faults: ProbeResult) -> list[ProbeResult]:
    """A healthy round, plus two conditional forwarders of corp.internal asked its SOA."""
    stubs = [
        result("upstream", s, CORP, qtype="SOA", answers=("ns1.corp.internal. hostmaster. 1",))
        for s in (STUB1, STUB2)
    ]
    replaced = {(f.server, f.name) for f in faults}
    return healthy_results() + [r for r in stubs if (r.server, r.name) not in replaced] + list(faults)


def test_stub_forwarders_that_answer_their_zone_name_nothing() -> None:
    assert causes(with_stub_forwarders()) == []


def test_a_dead_stub_forwarder_is_named_with_its_zone() -> None:
    dead = result("upstream", STUB1, CORP, qtype="SOA", reason=Reason.TIMEOUT)
    obs = Observations(
        rounds=tuple(round_of(*with_stub_forwarders(dead)) for _ in range(3)),
        names=NAMES,
        configured_paths=frozenset({"service", "pod", "nodelocal", "upstream"}),
    )
    (finding,) = diagnose(obs)
    assert finding.cause == "upstream_unreachable"
    assert STUB1 in finding.summary
    assert STUB2 not in finding.summary
    assert finding.evidence == (f"upstream {STUB1}: 3/3 probes failed (timeout) (forwarder for {CORP})",)


def test_stub_forwarders_that_refuse_their_zone_are_an_upstream_error() -> None:
    def refused(server: str) -> ProbeResult:
        return result(
            "upstream", server, CORP, qtype="SOA", reason=Reason.REFUSED, rcode="REFUSED", answers=()
        )

    assert causes(with_stub_forwarders(refused(STUB1), refused(STUB2))) == ["upstream_error"]
    # One of the two: that forwarder is broken; refusing is no answer to disagree with.
    assert causes(with_stub_forwarders(refused(STUB2))) == ["upstream_error"]


def test_a_stub_forwarder_is_no_evidence_that_external_names_answer_upstream() -> None:
    """The catch-all upstreams are down: the stub forwarders answering corp.internal do not make it a
    Corefile problem (external names fail through CoreDNS while the upstreams answer them)."""
    faults = [fail(Reason.TIMEOUT, path="upstream", server=s) for s in (UP1, UP2)]
    faults += [
        fail(Reason.SERVFAIL, "SERVFAIL", path=p, name=EXTERNAL) for p in ("service", "pod", "nodelocal")
    ]
    results = with_stub_forwarders()
    for fault in faults:
        results = broken(results, fault)
    assert causes(results) == ["upstream_unreachable"]


def _upstream_reply(server: str, **fields: object) -> object:
    """A fault replacing the external name's upstream replies of ``server`` with ``fields``."""

    def apply(r: ProbeResult) -> ProbeResult | None:
        if r.path == "upstream" and r.server == server and r.name == EXTERNAL:
            return dataclasses.replace(r, **fields)  # type: ignore[arg-type]
        return None

    return apply


@pytest.mark.parametrize(
    ("faults", "expected"),
    [
        # Different CNAME chains ending in records of the asked type: the same outcome.
        ([_upstream_reply(UP1, answer_count=3, answers=("192.0.2.77",))], []),
        # SERVFAIL beside a good upstream: broken, not a disagreement.
        ([fail(Reason.SERVFAIL, "SERVFAIL", path="upstream", server=UP1, name=EXTERNAL)], ["upstream_error"]),
        # A reply that is not the answer (only a CNAME, no record of the asked type): the upstreams
        # disagree on whether the name has records; counted without the CNAME.
        (
            [_upstream_reply(UP1, reason=Reason.WRONG_ANSWER, answer_count=1, answers=())],
            ["upstream_mixed_resolvers"],
        ),
        # Malformed replies from one upstream, nothing else wrong: still a cause, for that server.
        ([fail(Reason.MALFORMED, path="upstream", server=UP2, name=EXTERNAL)], ["upstream_error"]),
    ],
    ids=["cname detail", "servfail beside good", "cname only", "malformed only"],
)
def test_each_upstream_failure_names_its_cause(faults: list[object], expected: list[str]) -> None:
    results = healthy_results()
    for fault in faults:
        results = broken(results, fault)
    assert causes(results) == expected


def test_coredns_unavailable_names_where_the_dns_lives() -> None:
    """On OpenShift the DNS pods are openshift-dns's dns-default: the fix says so, not kube-system."""
    results = healthy_results()
    for path in ("pod", "service"):
        results = broken(results, fail(Reason.TIMEOUT, path=path))
    obs = Observations(
        rounds=tuple(round_of(*results) for _ in range(3)),
        names=NAMES,
        configured_paths=frozenset({"service", "pod", "nodelocal", "upstream"}),
        dns=DnsPlace("openshift-dns", "dns-default", "dns.operator.openshift.io/daemonset-dns=default"),
    )
    (finding,) = [f for f in diagnose(obs) if f.cause == "coredns_unavailable"]
    assert "nor the dns-default Service" in finding.summary
    assert (
        "kubectl -n openshift-dns get pods -l dns.operator.openshift.io/daemonset-dns=default" in finding.fix
    )
    assert "kube-system" not in finding.fix
