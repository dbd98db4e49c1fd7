"""Defaults are written once, in the dataclasses: a config that leaves a key out gets the dataclass's value."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest

from exporter.config import (
    CapacityConfig,
    Config,
    ConfigError,
    DiagnosisConfig,
    Expect,
    KubernetesConfig,
    LeaseConfig,
    LogConfig,
    NameSpec,
    NodeConfig,
    PathsConfig,
    ResolvConfTargets,
    ResolverTarget,
    Server,
    Thresholds,
    parse_config,
)
from exporter.hops import Hop

NAME = {"name": "example.org."}
MINIMAL = {"names": [NAME], "paths": {"service": ["127.0.10.10:5353"]}}


def differences(loaded: Any, default: Any, path: str = "") -> list[str]:
    """Every field (nested sections too) where ``loaded`` is not ``default``; a new field is covered as it comes."""
    found = []
    for field in dataclasses.fields(default):
        at = f"{path}.{field.name}" if path else field.name
        got, want = getattr(loaded, field.name), getattr(default, field.name)
        if dataclasses.is_dataclass(want) and not isinstance(want, type):
            found += differences(got, want, at)
        elif got != want:
            found.append(f"{at}: loaded {got!r}, dataclass default {want!r}")
    return found


def field_default(cls: type[Any], name: str) -> Any:
    """The declared default of a field of a dataclass that cannot be built without arguments."""
    (field,) = (f for f in dataclasses.fields(cls) if f.name == name)
    return field.default_factory() if field.default is dataclasses.MISSING else field.default  # type: ignore[misc]


@pytest.fixture
def kubeconfig(tmp_path: Path) -> Path:
    path = tmp_path / "kubeconfig"
    path.write_text("apiVersion: v1\nkind: Config\n")
    return path


def test_a_minimal_config_has_every_dataclass_default() -> None:
    """Config, log, node, diagnosis with its thresholds, kubernetes (off) with lease and capacity."""
    config = parse_config(MINIMAL)
    # names and paths are what the document gives; source is parse_config's argument.
    default = dataclasses.replace(Config(), names=config.names, paths=config.paths, source=config.source)
    assert differences(config, default) == []


def test_the_kubernetes_section_when_on_has_every_dataclass_default(kubeconfig: Path) -> None:
    """Every field of KubernetesConfig, its LeaseConfig and CapacityConfig, once the API is on."""
    config = parse_config({**MINIMAL, "kubernetes": {"config": "kubeconfig", "kubeconfig": str(kubeconfig)}})
    default = dataclasses.replace(KubernetesConfig(), config="kubeconfig", kubeconfig=str(kubeconfig))
    assert default.lease == LeaseConfig()
    assert default.capacity == CapacityConfig()
    assert differences(config.kubernetes, default) == []


def test_paths_and_names_have_their_dataclass_defaults() -> None:
    config = parse_config(
        {
            "names": [NAME],
            "paths": {"upstream": {"resolv_conf": "/x/resolv.conf"}, "pod": ["10.0.0.1"], "resolver": {}},
        }
    )
    given = PathsConfig(
        targets={Hop.UPSTREAM: config.paths["upstream"], Hop.POD: config.paths["pod"]},
        resolver=ResolverTarget(),
    )
    assert differences(config.paths, given) == []
    assert config.paths["upstream"] == ResolvConfTargets(
        "/x/resolv.conf", field_default(ResolvConfTargets, "port")
    )
    assert config.paths["pod"] == (Server("10.0.0.1", field_default(Server, "port")),)
    (name,) = config.names
    assert name.qtype == NameSpec.DEFAULT_QTYPE
    for field in ("transports", "expect", "race"):
        assert getattr(name, field) == field_default(NameSpec, field), field
    assert differences(name.expect, Expect()) == []


def change_default(monkeypatch: pytest.MonkeyPatch, cls: type[Any], name: str, value: Any) -> None:
    """Change what ``cls()`` gives for ``name``, as editing the dataclass would."""
    names = [f.name for f in dataclasses.fields(cls)]
    defaults = list(cls.__init__.__defaults__)
    assert len(defaults) == len(names)  # every field has a default: the parser builds one as its base
    defaults[names.index(name)] = value
    monkeypatch.setattr(cls.__init__, "__defaults__", tuple(defaults))


CHANGED = [
    ((Config, "interval", 30.0), "interval"),
    ((Config, "concurrency", 8), "concurrency"),
    ((Config, "listen", ("127.0.0.1", 9100)), "listen"),
    ((LogConfig, "level", "debug"), "log.level"),
    ((NodeConfig, "procfs", "/host/proc"), "node.procfs"),
    ((DiagnosisConfig, "runbook_url", "https://runbooks.example"), "diagnosis.runbook_url"),
    ((Thresholds, "lookup_queries", 8), "diagnosis.thresholds.lookup_queries"),
    ((KubernetesConfig, "refresh", 600.0), "kubernetes.refresh"),
    ((LeaseConfig, "duration", 20.0), "kubernetes.lease.duration"),
    ((CapacityConfig, "min_replicas", 3), "kubernetes.capacity.min_replicas"),
    ((ResolverTarget, "file", "/run/resolv.conf"), "paths.resolver.file"),
    ((Expect, "rcode", "NXDOMAIN"), "names[0].expect.rcode"),
]


def read(config: Config, where: str) -> Any:
    """``read(config, "names[0].expect.rcode")``."""
    value: Any = config
    for part in re.findall(r"\w+", where):
        value = value[int(part)] if part.isdigit() else getattr(value, part)
    return value


@pytest.mark.parametrize(("change", "where"), CHANGED, ids=[f"{c.__name__}.{n}" for (c, n, _), _ in CHANGED])
def test_changing_a_dataclass_default_changes_the_loaded_default(
    monkeypatch: pytest.MonkeyPatch, kubeconfig: Path, change: tuple[type[Any], str, Any], where: str
) -> None:
    doc = {
        "names": [NAME],
        "paths": {"service": ["127.0.10.10:5353"], "resolver": {}},
        "kubernetes": {"config": "kubeconfig", "kubeconfig": str(kubeconfig)},
    }
    cls, name, value = change
    assert read(parse_config(doc), where) != value
    change_default(monkeypatch, cls, name, value)
    assert read(parse_config(doc), where) == value


def test_a_computed_default_follows_what_it_depends_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """jitter is a tenth of interval; a lease's namespace is the kubernetes namespace."""
    change_default(monkeypatch, Config, "interval", 30.0)
    assert parse_config(MINIMAL).jitter == 3.0
    assert parse_config({**MINIMAL, "interval": "5s"}).jitter == 0.5
    config = parse_config({**MINIMAL, "kubernetes": {"namespace": "dns"}})
    assert config.kubernetes.lease.namespace == "dns"


def test_a_default_is_held_to_a_bound_that_follows_another_value() -> None:
    """inventory_interval may not be shorter than kubernetes.interval, the default included."""
    with pytest.raises(ConfigError) as caught:
        parse_config({**MINIMAL, "kubernetes": {"interval": "6m"}})
    assert str(caught.value) == "kubernetes.inventory_interval: '5m' is out of range [360s, 86400s]"
    config = parse_config({**MINIMAL, "kubernetes": {"interval": "6m", "inventory_interval": "6m"}})
    assert config.kubernetes.inventory_interval == 360.0
