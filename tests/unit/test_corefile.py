"""The Corefile parser and lint, on Corefiles as clusters ship them (tests/fixtures/corefiles/)."""

from __future__ import annotations

from pathlib import Path

import pytest

from exporter.cluster.version import Version
from exporter.config import Server
from exporter.corefile.lint import (
    analyse,
    corefile_forward_servers,
    corefile_forward_zones,
    forward_servers,
    parse_target,
)
from exporter.corefile.parse import parse_corefile

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "corefiles"
ZONES = ("cluster.local.", "in-addr.arpa.", "ip6.arpa.")


def load(name: str, custom: bool | str = False) -> tuple[str, dict[str, str]]:
    """A Corefile fixture, and the ``coredns-custom`` keys (``aks-custom/``, or the folder named) as mounted."""
    files = {}
    if custom:
        folder = FIXTURES / (custom if isinstance(custom, str) else "aks-custom")
        files = {f"custom/{p.name}": p.read_text() for p in sorted(folder.iterdir())}
    return (FIXTURES / f"{name}.Corefile").read_text(), files


def test_kubeadm_default() -> None:
    text, _ = load("kubeadm")
    corefile = parse_corefile(text)
    assert corefile.errors == ()
    (server,) = corefile.servers
    assert (server.zones, server.port) == ((".",), "53")
    assert [d.name for d in server.directives] == [
        "errors", "health", "ready", "kubernetes", "prometheus", "forward", "cache", "loop", "reload", "loadbalance",
    ]  # fmt: skip
    kubernetes = server.plugins("kubernetes")[0]
    assert kubernetes.args == ("cluster.local", "in-addr.arpa", "ip6.arpa")
    assert [(o.name, o.args) for o in kubernetes.block] == [
        ("pods", ("insecure",)),
        ("fallthrough", ("in-addr.arpa", "ip6.arpa")),
        ("ttl", ("30",)),
    ]
    report = analyse(corefile, (1, 11, 1))
    assert report.problems == ()
    rule = report.root_forward
    assert rule is not None
    assert (rule.targets, rule.policy, rule.prefer_udp, rule.where) == (
        ("/etc/resolv.conf",),
        "random",
        False,
        "Corefile:13",
    )
    # forward . /etc/resolv.conf: the node's nameservers, which the node side of discovery adds
    assert corefile_forward_servers(report) == ()


def test_aks_default_imports_coredns_custom_overrides_and_servers() -> None:
    text, files = load("aks", custom=True)
    corefile = parse_corefile(text, files)
    assert corefile.errors == ()
    main, corp = corefile.servers
    # custom/forward.override and custom/log.override are spliced into the main block where the import was
    assert [d.name for d in main.directives][-3:] == ["loadbalance", "forward", "log"]
    assert main.plugins("log")[0].where == "custom/log.override:1"
    # custom/corp.server becomes a server block of its own
    assert corp.zones == ("corp.internal.",)
    assert corp.file == "custom/corp.server"
    report = analyse(corefile, (1, 12, 1))
    assert report.breaking == ()  # two forward in `.:53` are valid from CoreDNS 1.9.4
    # ... but the one imported after `forward .` is never reached: forward . takes every name first
    assert [(p.kind, p.message) for p in report.problems] == [
        (
            "forward_shadowed",
            "custom/forward.override:1: forward corp.internal. is never reached: the forward at Corefile:13 "
            "comes first in the block and takes all its names",
        )
    ]
    assert "log" in report.plugins
    stub = next(f for f in report.forwards if f.zones == ("corp.internal.",))
    assert (stub.targets, stub.policy, stub.catch_all) == (("10.20.0.4", "10.20.0.5"), "sequential", False)
    override = next(f for f in report.forwards if f.source == "corp.internal.")
    assert (override.zones, override.targets, override.where, override.shadowed_by) == (
        (".",),
        ("10.1.0.4",),
        "custom/forward.override:1",
        "Corefile:13",
    )
    assert report.root_forward is not None
    assert report.root_forward.targets == ("/etc/resolv.conf",)


def test_aks_without_coredns_custom_is_still_valid() -> None:
    text, _ = load("aks")
    corefile = parse_corefile(text)
    assert corefile.errors == ()
    assert len(corefile.servers) == 1
    assert "log" not in analyse(corefile).plugins


def test_ack_default_with_vendor_plugins_and_prefer_udp() -> None:
    text, _ = load("ack")
    report = analyse(parse_corefile(text), (1, 9, 3))
    assert report.problems == ()
    assert {"kubeapi", "k8s_event", "log", "ready"} <= report.plugins
    assert report.root_forward is not None
    assert report.root_forward.prefer_udp is True


def test_nodelocal_template_forwards_cluster_zones_over_tcp() -> None:
    text, _ = load("nodelocal")
    corefile = parse_corefile(text)
    assert corefile.errors == ()
    assert [s.zones for s in corefile.servers] == [
        ("cluster.local.",),
        ("in-addr.arpa.",),
        ("ip6.arpa.",),
        (".",),
    ]
    report = analyse(corefile, (1, 11, 1))
    assert report.problems == ()
    cache = corefile.servers[0].plugins("cache")[0]
    assert [(o.name, o.args) for o in cache.block] == [("success", ("9984", "30")), ("denial", ("9984", "5"))]
    assert [(f.zones, f.force_tcp) for f in report.forwards] == [
        (("cluster.local.",), True),
        (("in-addr.arpa.",), True),
        (("ip6.arpa.",), True),
        ((".",), False),
    ]
    assert corefile_forward_servers(report) == ()  # placeholders are not servers


def test_custom_blocks_snippets_comments_quotes_and_nested_blocks() -> None:
    text, _ = load("custom-blocks")
    corefile = parse_corefile(text)
    assert corefile.errors == ()
    stub, main = corefile.servers
    assert stub.keys == ("example.com:53", "example.net:53")
    assert stub.zones == ("example.com.", "example.net.")
    assert [d.name for d in stub.directives] == ["errors", "cache", "forward"]  # the snippet, then forward
    assert stub.plugins("cache")[0].args == ("30",)  # the comment after it is gone
    log = main.plugins("log")[0]
    assert log.args == (".", "{remote} {type} {name}")
    rewrite = main.plugins("rewrite")[0]
    assert [o.name for o in rewrite.block] == ["name", "answer"]
    report = analyse(corefile, (1, 11, 1))
    assert [p.kind for p in report.problems] == ["autopath_enabled"]
    assert corefile_forward_servers(report) == (
        Server("10.0.0.2"),
        Server("10.0.0.3"),
        Server("168.63.129.16"),
    )
    stub_rule = report.forwards[0]
    assert stub_rule.policy == "round_robin"


def test_broken_corefile_names_every_problem_with_its_line() -> None:
    text, _ = load("broken")
    report = analyse(parse_corefile(text), (1, 4, 0))
    assert sorted((p.kind, p.message) for p in report.problems) == [
        ("duplicate_plugin", "Corefile:1: cache appears 2 times in one server block"),
        ("duplicate_zone", "Corefile:13: zone . port 53 is already served at Corefile:1"),
        ("forward_no_targets", "Corefile:9: forward . has no targets"),
        ("parse_error", "Corefile:16: '{' is not closed"),
        ("parse_error", "Corefile:17: '{' is not closed"),
        ("plugin_unsupported", "Corefile:3: ready needs CoreDNS 1.5.0, running 1.4.0"),
        ("unknown_plugin", "Corefile:11: unknown plugin 'healthcheck'"),
    ]


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ((1, 4, 0), ["plugin_unsupported"]),  # ready is too new
        ((1, 5, 0), ["plugin_unsupported"]),  # proxy is gone
        ((1, 6, 0), ["option_unsupported", "plugin_unsupported"]),  # and resyncperiod too
        (None, []),  # unknown version: no version checks
    ],
)
def test_version_checks(version: tuple[int, int, int] | None, expected: list[str]) -> None:
    text = ".:53 {\n  ready\n  kubernetes cluster.local {\n    resyncperiod 30s\n  }\n  proxy . 10.0.0.2\n}\n"
    if version == (1, 4, 0):
        text = text.replace("  proxy . 10.0.0.2\n", "")
    if version == (1, 5, 0):
        text = text.replace("    resyncperiod 30s\n", "")
    kinds = sorted(p.kind for p in analyse(parse_corefile(text), version).problems)
    assert kinds == expected


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (".:53 {\n  errors\n", "Corefile:1: '{' is not closed"),
        (".:53 {\n  errors\n}\n}\n", "Corefile:4: unexpected '}'"),
        ("errors\n", "Corefile:1: server block 'errors' has no '{'"),
        ("(loop) {\n  import loop\n}\n.:53 {\n  import loop\n}\n", "imports nest deeper than 10"),
        (".:53 {\n  import a b\n}\n", "Corefile:2: import takes exactly one argument"),
    ],
)
def test_unreadable_text_is_reported_not_raised(text: str, error: str) -> None:
    corefile = parse_corefile(text)
    assert any(error in e for e in corefile.errors), corefile.errors


def test_one_line_blocks_and_braces_glued_to_keys() -> None:
    corefile = parse_corefile(".:53{\n  health { lameduck 5s }\n  forward . 10.0.0.2\n}\n")
    assert corefile.errors == ()
    (server,) = corefile.servers
    health = server.plugins("health")[0]
    assert [(o.name, o.args) for o in health.block] == [("lameduck", ("5s",))]
    assert server.plugins("forward")[0].args == (".", "10.0.0.2")


@pytest.mark.parametrize(
    ("target", "server"),
    [
        ("10.0.0.2", Server("10.0.0.2", 53)),
        ("10.0.0.2:5353", Server("10.0.0.2", 5353)),
        ("dns://10.0.0.2", Server("10.0.0.2", 53)),
        ("[2001:db8::1]:53", Server("2001:db8::1", 53)),
        ("2001:db8::1", Server("2001:db8::1", 53)),
        ("tls://9.9.9.9", None),
        ("/etc/resolv.conf", None),
        ("dns.example.com", None),
        ("__PILLAR__UPSTREAM__SERVERS__", None),
        ("10.0.0.2:0", None),
    ],
)
def test_forward_targets(target: str, server: Server | None) -> None:
    assert parse_target(target) == server


# Lint of the Corefiles each distribution ships (sources in tests/fixtures/corefiles/README.md), at the
# CoreDNS version it runs; ``None`` where the image is pinned by digest or the version is not in the API.
SHIPPED = [
    ("kubeadm", False, (1, 11, 3)),
    ("k3s", "k3s-custom", (1, 11, 3)),
    ("rke2", False, (1, 10, 1)),
    ("openshift", False, None),
    ("openshift-dnsnameresolver", False, None),
    ("aks", True, (1, 12, 1)),
    ("aks-localdns", False, None),
    ("kubespray", False, (1, 11, 3)),
    ("kubespray-nodelocaldns", False, None),
]


@pytest.mark.parametrize(("name", "custom", "version"), SHIPPED)
def test_shipped_corefiles_have_no_problem(name: str, custom: bool | str, version: Version | None) -> None:
    text, files = load(name, custom)
    corefile = parse_corefile(text, files)
    assert corefile.errors == ()
    report = analyse(corefile, version)
    assert report.breaking == ()
    # only the AKS forward.override, imported after `forward .`, is reported (never reached)
    assert [p.kind for p in report.problems] == (["forward_shadowed"] if name == "aks" else [])


def test_k3s_imports_coredns_custom_by_absolute_path() -> None:
    text, files = load("k3s", "k3s-custom")
    corefile = parse_corefile(text, files)
    main, lab = corefile.servers
    assert main.plugins("log")[0].where == "custom/log.override:1"
    assert (lab.zones, lab.file) == (("lab.internal.",), "custom/lab.server")
    report = analyse(corefile, (1, 11, 3))
    stub = next(f for f in report.forwards if not f.catch_all)
    assert forward_servers(stub) == (Server("10.43.200.53"),)
    # mounted elsewhere, the same absolute imports name nothing that was read
    assert len(parse_corefile(text, files, mount="/etc/other/").servers) == 1


def test_k3s_hosts_override_twice_in_a_block_is_flagged() -> None:
    """k3s ships `hosts /etc/coredns/NodeHosts`; a `hosts` in a coredns-custom override is a second one."""
    text, _ = load("k3s")
    files = {"custom/hosts.override": "hosts {\n  10.0.0.7 registry.lab\n  fallthrough\n}\n"}
    report = analyse(parse_corefile(text, files), (1, 11, 3))
    assert [(p.kind, p.message) for p in report.breaking] == [
        ("duplicate_plugin", "Corefile:1: hosts appears 2 times in one server block")
    ]


@pytest.mark.parametrize(
    ("version", "flagged"),
    [((1, 9, 3), True), ((1, 9, 4), False), ((1, 12, 1), False), (None, False)],
)
def test_several_forward_in_one_block_by_version(version: Version | None, flagged: bool) -> None:
    text, files = load("aks", custom=True)
    report = analyse(parse_corefile(text, files), version)
    expected = (
        [("duplicate_plugin", "Corefile:1: forward appears 2 times in one server block")] if flagged else []
    )
    assert [(p.kind, p.message) for p in report.breaking] == expected


def test_localdns_same_zone_on_other_bind_is_not_a_duplicate() -> None:
    text, _ = load("aks-localdns")
    corefile = parse_corefile(text)
    assert [s.zones for s in corefile.servers].count((".",)) == 2
    assert analyse(corefile).problems == ()
    # the same block again on one of the addresses, or without bind (every address), is a duplicate
    for extra, clash in (
        ("bind 169.254.10.11 10.0.0.1", " on 10.0.0.1, 169.254.10.11 is already served at Corefile:56"),
        ("", " is already served at Corefile:10"),
    ):
        report = analyse(parse_corefile(text + f".:53 {{\n  {extra}\n  whoami\n}}\n"))
        assert [(p.kind, p.message) for p in report.problems] == [
            ("duplicate_zone", f"Corefile:101: zone . port 53{clash}")
        ]


def test_openshift_vendor_plugin_is_known_and_an_unknown_one_does_not_break() -> None:
    text, _ = load("openshift-dnsnameresolver")
    report = analyse(parse_corefile(text))
    assert report.problems == ()
    assert "ocp_dnsnameresolver" in report.plugins
    report = analyse(parse_corefile(text.replace("ocp_dnsnameresolver", "vendor_resolver")))
    assert [p.kind for p in report.problems] == ["unknown_plugin"] * 3
    assert report.breaking == ()


@pytest.mark.parametrize(
    ("name", "custom", "expected"),
    [
        ("kubeadm", False, []),
        ("rke2", False, []),
        ("kubespray", False, []),
        ("k3s", "k3s-custom", ["lab.internal. @10.43.200.53:53/udp"]),
        (
            "aks",
            True,
            [  # corp.server, a block of its own; forward.override inside `.:53` is never reached
                "corp.internal. @10.20.0.4:53/udp",
                "corp.internal. @10.20.0.5:53/udp",
            ],
        ),
        (
            "openshift-dnsnameresolver",
            False,
            [
                "foo.com. @1.1.1.1:53/udp",
                "foo.com. @2.2.2.2:5353/udp",
                "bar.com. @3.3.3.3:53/udp",
                "example.com. @3.3.3.3:53/udp",
            ],
        ),
        ("kubespray-nodelocaldns", False, [f"{z} @10.233.0.3:53/tcp" for z in ZONES]),
    ],
)
def test_conditional_forwarders_are_probed_for_their_zone(
    name: str, custom: bool | str, expected: list[str]
) -> None:
    text, files = load(name, custom)
    report = analyse(parse_corefile(text, files))
    assert [str(z) for z in corefile_forward_zones(report)] == expected


@pytest.mark.parametrize(
    ("block", "shadowed"),
    [
        ("forward . 10.0.0.2\n  forward corp.internal 10.1.0.4", ["corp.internal."]),
        ("forward corp.internal 10.1.0.4\n  forward . 10.0.0.2", []),  # the narrower one first: both used
        ("forward . 10.0.0.2 {\n    except corp.internal\n  }\n  forward corp.internal 10.1.0.4", []),
        # names under the excepted corp.internal reach the second, wider rule
        ("forward . 10.0.0.2 {\n    except corp.internal\n  }\n  forward internal 10.1.0.4", []),
        ("forward internal 10.0.0.9\n  forward corp.internal 10.1.0.4", ["corp.internal."]),
        ("forward corp.internal 10.1.0.4\n  forward corp.internal 10.1.0.5", ["corp.internal."]),
        ("forward corp.internal 10.1.0.4\n  forward lab.internal 10.1.0.5", []),
    ],
)
def test_a_forward_after_one_that_takes_its_names_is_never_reached(block: str, shadowed: list[str]) -> None:
    report = analyse(parse_corefile(f".:53 {{\n  {block}\n}}\n"), (1, 11, 3))
    assert [f.source for f in report.forwards if f.shadowed_by] == shadowed
    assert [p.kind for p in report.problems] == ["forward_shadowed"] * len(shadowed)
    assert report.breaking == ()
    probed = [(z.zone, str(z.server)) for z in corefile_forward_zones(report)]
    unreached = [(f.source, t) for f in report.forwards if f.shadowed_by for t in f.targets]
    assert not {(zone, server.removesuffix(":53")) for zone, server in probed} & set(unreached)
