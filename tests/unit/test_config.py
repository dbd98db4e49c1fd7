"""Config: every validation rule has a broken document and its exact message."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from exporter.config import (
    ConfigError,
    Expect,
    NodeConfig,
    ResolvConfTargets,
    ResolverTarget,
    Server,
    default_config,
    load_config,
    parse_config,
)
from tests.conftest import REPO, run_cli

SERVICE = {"service": ["127.0.10.10:5353"]}
NAME = {"name": "example.org.", "type": "A"}


def doc(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"names": [NAME], "paths": SERVICE}
    base.update(fields)
    return base


BROKEN = [
    ({"names": [NAME], "paths": SERVICE, "nmaes": []}, "nmaes: unknown key (expected one of: "),
    (doc(interval=5), "interval: 5 has no unit; write it like '5s' or '250ms'"),
    (doc(interval="5 s"), "interval: '5 s' is not a duration (use units ms, s, m, h, e.g. '5s')"),
    (doc(interval="5x"), "interval: '5x' is not a duration (use units ms, s, m, h, e.g. '5s')"),
    (doc(interval="2h"), "interval: '2h' is out of range [100ms, 3600s]"),
    (doc(interval="1s", timeout="2s"), "timeout: 2s is longer than interval (1s)"),
    (doc(jitter="10m", interval="5s"), "jitter: '10m' is out of range [0ms, 5s]"),
    (doc(listen="localhost:9958"), "listen: 'localhost:9958' is not an IP address with a port"),
    (doc(listen="127.0.0.1:99999"), "listen: '127.0.0.1:99999' has an invalid port (0-65535)"),
    (doc(concurrency=0), "concurrency: 0 is out of range [1, 1024]"),
    (doc(concurrency="8"), "concurrency: expected an integer, got string '8'"),
    (doc(mode="daemon"), "mode: 'daemon' is not one of: node, cluster"),
    (doc(transports=["udp", "quic"]), "transports[1]: 'quic' is not one of: udp, tcp"),
    (doc(transports=[]), "transports: at least one of udp, tcp is required"),
    (doc(edns_payload=100), "edns_payload: 100 is out of range [512, 65535]"),
    (doc(cluster_domain="bad..domain"), "cluster_domain: 'bad..domain' is not a valid DNS name: "),
    ({"paths": SERVICE}, "names: at least one name to resolve is required"),
    (doc(names=[]), "names: at least one name to resolve is required"),
    (doc(names={"name": "x."}), "names: expected a list, got a mapping"),
    (doc(names=[{"type": "A"}]), "names[0]: 'name' is required"),
    (doc(names=[NAME, {"name": "a.", "type": "AAA"}]), "names[1].type: 'AAA' is not a DNS type"),
    (doc(names=[{"name": "a.", "type": "ANY"}]), "names[0].type: 'ANY' is a meta type; probe a data type"),
    (doc(names=[{"name": "a..b."}]), "names[0].name: 'a..b.' is not a valid DNS name: "),
    (
        doc(names=[{"name": "a.", "kind": "inside"}]),
        "names[0].kind: 'inside' is not one of: internal, external",
    ),
    (doc(names=[NAME, dict(NAME)]), "names[1]: duplicate of names[0] (example.org. A)"),
    (doc(names=[{"name": "a.", "paths": ["pods"]}]), "names[0].paths[0]: 'pods' is not one of: service, pod"),
    (doc(names=[{"name": "a.", "paths": []}]), "names[0].paths: list at least one path"),
    (
        doc(names=[{"name": "web.default", "paths": ["service"]}]),
        "names[0].paths: 'web.default' is relative (no trailing dot): only the resolver path",
    ),
    (doc(names=[{"name": "a.", "race": "yes"}]), "names[0].race: expected true or false, got string 'yes'"),
    (
        doc(names=[{"name": "a.", "type": "MX", "race": True}]),
        "names[0].race: the A+AAAA race probe needs type A or AAAA, not MX",
    ),
    (
        doc(names=[{"name": "a.", "expect": {"rcode": "NOPE"}}]),
        "names[0].expect.rcode: 'NOPE' is not a DNS rcode",
    ),
    (
        doc(names=[{"name": "a.", "expect": {"answers": ["1.2.3"]}}]),
        "names[0].expect.answers[0]: '1.2.3' is not a valid A record: ",
    ),
    (doc(names=[{"name": "a.", "expect": {"min": 1}}]), "names[0].expect.min: unknown key"),
    (doc(paths={}), "paths: configure at least one path (service, pod, nodelocal, upstream, resolver)"),
    (doc(paths={"service": "127.0.0.1:53"}), "paths.service: expected a list, got string '127.0.0.1:53'"),
    (doc(paths={"pod": ["10.0.0.1:53", "10.0.0.1"]}), "paths.pod[1]: '10.0.0.1' is listed twice"),
    (doc(paths={"pod": ["10.0.0.1:0"]}), "paths.pod[0]: '10.0.0.1:0' has an invalid port (1-65535)"),
    (doc(paths={"pod": ["[::1:53"]}), "paths.pod[0]: '[::1:53' is not an IP address with a port"),
    (doc(paths={"pod": ["coredns:53"]}), "paths.pod[0]: 'coredns:53' is not an IP address with a port"),
    (doc(paths={"upstream": {"port": 53}}), "paths.upstream: 'resolv_conf' is required in this form"),
    (
        doc(paths={"service": "auto"}),
        "paths.service: 'auto' discovery reads the Kubernetes API: set kubernetes.config to in-cluster or kubeconfig",
    ),
    (doc(paths={"pod": "auto"}), "paths.pod: 'auto' discovery reads the Kubernetes API"),
    (
        doc(paths={"pod": ["10.0.0.1:\u00b2"]}),
        "paths.pod[0]: '10.0.0.1:\u00b2' has an invalid port (1-65535)",
    ),
    (doc(node={"procfs": ""}), "node.procfs: expected a non-empty string, got string ''"),
    (doc(paths={"resolver": {"file": "x", "port": 0}}), "paths.resolver.port: 0 is out of range [1, 65535]"),
    (doc(log={"level": "loud"}), "log.level: 'loud' is not one of: debug, info, warning, error"),
    (doc(node={"proc": "/host/proc"}), "node.proc: unknown key (expected one of: procfs, rootfs)"),
    ("just text", "config: expected a mapping, got string 'just text'"),
]


@pytest.mark.parametrize(("raw", "message"), BROKEN, ids=[m.split(":")[0] for _, m in BROKEN])
def test_broken_config_names_field_and_reason(raw: Any, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(raw)
    assert str(caught.value).startswith(message), str(caught.value)


def test_the_issue_shape_parses_into_typed_values(tmp_path: Path) -> None:
    (tmp_path / "resolv.conf").write_text("nameserver 127.0.10.10\n")
    config_file = tmp_path / "c.yaml"
    config_file.write_text(
        """
listen: "127.0.0.1:9958"
interval: 5s
timeout: 250ms
names:
  - {name: kubernetes.default.svc.cluster.local., type: A, kind: internal}
  - {name: example.org., type: aaaa, kind: external, expect: {answers: ["2001:DB8:0::10"]}}
paths:
  service:   ["127.0.10.10:5353"]
  pod:       ["127.0.20.1:5353", "[::1]:5353"]
  upstream:  {resolv_conf: resolv.conf, port: 5353}
  resolver:  {file: resolv.conf, port: 5353}
"""
    )
    config = load_config(config_file)
    assert config.listen == ("127.0.0.1", 9958)
    assert (config.interval, config.timeout) == (5.0, 0.25)
    assert config.jitter == pytest.approx(0.5)
    assert config.paths["pod"] == (Server("127.0.20.1", 5353), Server("::1", 5353))
    assert str(config.paths["pod"][1]) == "[::1]:5353"
    assert config.paths["upstream"] == ResolvConfTargets(str(tmp_path / "resolv.conf"), 5353)
    assert config.paths.resolver == ResolverTarget(str(tmp_path / "resolv.conf"), 5353)
    internal, external = config.names
    assert internal.paths == {"service", "pod", "nodelocal", "resolver"}
    assert external.qtype == "AAAA"
    assert external.expect == Expect(answers=frozenset({"2001:db8::10"}), min_answers=0)
    assert "upstream" in external.paths


def test_kind_and_paths_are_inferred_from_the_name() -> None:
    config = parse_config(doc(names=[{"name": "web.default.svc.cluster.local."}, {"name": "example.org"}]))
    internal, relative = config.names
    assert internal.kind == "internal"
    assert relative.kind == "external"
    assert relative.paths == {"resolver"}


def test_yaml_syntax_and_duplicate_keys_are_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("names: [\n")
    with pytest.raises(ConfigError, match=r"invalid YAML at line 2, column 1"):
        load_config(bad)
    bad.write_text("interval: 5s\ninterval: 10s\n")
    with pytest.raises(ConfigError, match=r"duplicate key 'interval' at line 2, column 1"):
        load_config(bad)
    with pytest.raises(ConfigError, match=r"cannot read config file: No such file or directory"):
        load_config(tmp_path / "missing.yaml")


def test_default_config_probes_the_resolv_conf_it_is_given() -> None:
    config = default_config("/some/resolv.conf")
    assert config.paths["service"] == ResolvConfTargets("/some/resolv.conf", 53)
    assert config.paths.resolver == ResolverTarget("/some/resolv.conf", 53)
    assert [n.name for n in config.names] == ["kubernetes.default.svc.cluster.local."]
    assert [n.race for n in config.names] == [True]  # the A+AAAA race probe is on by default


def test_upstream_auto_and_node_roots() -> None:
    config = parse_config(doc(paths={"upstream": "auto"}, node={"procfs": "/host/proc", "rootfs": "/host"}))
    assert config.paths["upstream"] == "auto"
    assert (config.node.procfs, config.node.rootfs) == ("/host/proc", "/host")
    assert parse_config(doc()).node == NodeConfig("/proc", "/")


def test_lab_example_races_one_internal_name() -> None:
    config = load_config(REPO / "examples" / "lab.yaml")
    racing = [(n.name, n.kind) for n in config.names if n.race]
    assert racing == [("kubernetes.default.svc.cluster.local.", "internal")]


def test_every_shipped_example_is_valid() -> None:
    examples = sorted((REPO / "examples").glob("*.yaml"))
    assert examples
    for example in examples:
        result = run_cli("check-config", str(example))
        assert result.returncode == 0, (example, result.stderr)
        assert result.stdout.startswith(f"ok: {example}")


def test_check_config_prints_one_line_and_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("names: [{name: a.b., type: AAA}]\npaths: {service: ['127.0.0.1:53']}\n")
    result = run_cli("check-config", str(bad))
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == f"error: {bad}: names[0].type: 'AAA' is not a DNS type\n"


@pytest.mark.parametrize("command", ["serve", "doctor"])
def test_commands_refuse_a_bad_config_before_starting(tmp_path: Path, command: str) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("interval: 5\n")
    result = run_cli(command, "--config", str(bad), timeout=20)
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {bad}: interval: 5 has no unit; write it like '5s' or '250ms'"


def test_bad_listen_flag_is_a_usage_error(tmp_path: Path) -> None:
    config = tmp_path / "ok.yaml"
    config.write_text("names: [{name: a.}]\npaths: {service: ['127.0.0.1:53']}\n")
    result = run_cli("serve", "--config", str(config), "--listen", "nowhere:9958")
    assert (result.returncode, result.stderr) == (
        2,
        "error: --listen: 'nowhere:9958' is not an IP address with a port\n",
    )
    result = run_cli("serve", "--config", str(config), "--listen", "127.0.0.1")
    assert (result.returncode, result.stderr) == (
        2,
        "error: --listen: '127.0.0.1' has no port; write it as 'IP:port'\n",
    )


def test_unknown_command_line_options_exit_2() -> None:
    assert run_cli("doctor", "--frobnicate").returncode == 2
    assert run_cli("check-config").returncode == 2


def test_the_readme_reference_config_parses_with_every_section(tmp_path: Path) -> None:
    """The annotated config under "## Configuration" in the README is a valid config, keys and all."""
    text = (REPO / "README.md").read_text()
    section = text[text.index("## Configuration") :]
    start = section.index("```yaml\n") + len("```yaml\n")
    block = section[start : section.index("\n```", start)]
    reference = tmp_path / "config.yaml"
    reference.write_text(block)
    config = load_config(reference)
    top = {line.split(":", 1)[0] for line in block.splitlines() if line[:1].isalpha()}
    assert "diagnosis" in top
    assert "kubernetes" in top
    assert config.diagnosis.window == 3
    assert config.diagnosis.thresholds.lookup_queries == 6


def test_diagnosis_section_is_read_and_checked() -> None:
    config = parse_config(doc(diagnosis={"window": 5, "thresholds": {"conntrack_fill": 0.75}}))
    assert (config.diagnosis.window, config.diagnosis.thresholds.conntrack_fill) == (5, 0.75)
    with pytest.raises(ConfigError, match=r"diagnosis.window"):
        parse_config(doc(diagnosis={"window": 0}))


def test_unquoted_off_turns_the_kubernetes_api_off(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        "names: [{name: a.b., type: A}]\npaths: {service: ['127.0.0.1:53']}\nkubernetes: {config: off}\n"
    )
    assert load_config(path).kubernetes.config == "off"
    path.write_text("names: [{name: a.b.}]\npaths: {service: ['127.0.0.1:53']}\nkubernetes: {config: on}\n")
    with pytest.raises(ConfigError, match=r"kubernetes.config"):
        load_config(path)
