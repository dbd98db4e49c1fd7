"""The cause unit: each module of exporter/causes/ is one cause, found without being listed."""

from __future__ import annotations

import ast
import importlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import exporter.causes
from exporter.causes import CAUSES, SEVERITY_ORDER, Cause, Group, discover
from tests.conftest import REPO

PACKAGE = Path(exporter.causes.__file__).parent
RUNBOOKS = REPO / "docs" / "runbooks"


def module_names(directory: Path) -> set[str]:
    return {p.stem for p in directory.glob("*.py") if not p.stem.startswith("_")}


def test_causes_are_exactly_the_modules_of_the_package() -> None:
    assert set(CAUSES) == module_names(PACKAGE)
    assert len(CAUSES) == 26


@pytest.mark.parametrize("name", sorted(module_names(PACKAGE)))
def test_a_cause_module_holds_the_whole_unit(name: str) -> None:
    cause = importlib.import_module(f"exporter.causes.{name}").CAUSE
    assert cause is CAUSES[name]
    assert cause.id == name
    assert isinstance(cause.group, Group)
    assert cause.severity in SEVERITY_ORDER
    assert all((cause.title, cause.meaning, cause.probe, cause.signals))
    assert cause.rules
    assert all(callable(rule) for rule in cause.rules)
    assert cause.alert.query.strip()
    assert "{v}" in cause.alert.text
    assert (RUNBOOKS / f"{name}.md").is_file(), f"docs/runbooks/{name}.md is missing"


@pytest.mark.parametrize("name", sorted(module_names(PACKAGE)))
def test_a_cause_module_drafts_only_its_own_cause(name: str) -> None:
    tree = ast.parse((PACKAGE / f"{name}.py").read_text(encoding="utf-8"))
    drafts = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "Draft"
    ]
    assert {ast.literal_eval(call.args[0]) for call in drafts} == {name}


def test_explained_causes_exist_and_none_explains_itself() -> None:
    for cause in CAUSES.values():
        assert cause.explains <= set(CAUSES) - {cause.id}, cause.id
    assert not any(c.probed and c.explains_probed for c in CAUSES.values())


def test_causes_are_ordered_by_section_then_severity_then_id() -> None:
    groups = list(Group)
    keys = [(groups.index(c.group), SEVERITY_ORDER[c.severity], c.id) for c in CAUSES.values()]
    assert keys == sorted(keys)
    assert {c.group for c in CAUSES.values()} == set(Group)


NEW_CAUSE = """
from exporter.causes import AlertEvidence, Cause, Group


def rule(obs, stats):
    return None


CAUSE = Cause(
    id="{id}",
    severity="critical",
    title="A cause added as one module",
    group=Group.COREDNS,
    meaning="m",
    probe="p",
    signals="s",
    alert=AlertEvidence("value: {{v}}.", "vector(1)"),
    rules=(rule,),
    probed=True,
)
"""


@pytest.fixture
def extra_package_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A second directory of the package, as if a module had been added to exporter/causes/."""
    monkeypatch.setattr(exporter.causes, "__path__", [*exporter.causes.__path__, str(tmp_path)])
    for name in ("coredns_zz_added", "coredns_zz_misnamed"):
        monkeypatch.delitem(sys.modules, f"exporter.causes.{name}", raising=False)
    yield tmp_path
    for name in ("coredns_zz_added", "coredns_zz_misnamed"):
        sys.modules.pop(f"exporter.causes.{name}", None)


def test_a_module_added_to_the_package_is_picked_up_in_order(extra_package_dir: Path) -> None:
    (extra_package_dir / "coredns_zz_added.py").write_text(NEW_CAUSE.format(id="coredns_zz_added"))
    (extra_package_dir / "_helper.py").write_text("NOT_A_CAUSE = 1\n")
    found = discover()
    assert set(found) == set(CAUSES) | {"coredns_zz_added"}
    added = found["coredns_zz_added"]
    assert isinstance(added, Cause)
    # CoreDNS, critical: after the other critical CoreDNS causes, before the warnings.
    criticals = [c.id for c in CAUSES.values() if c.group is Group.COREDNS and c.severity == "critical"]
    assert list(found)[: len(criticals) + 1] == [*criticals, "coredns_zz_added"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"severity": "critical", "probed": False}, "critical needs live probe evidence"),
        ({"severity": "info", "standing": False}, "info is for standing risks"),
    ],
)
def test_the_severity_model_is_enforced_on_every_cause(changes: dict[str, object], message: str) -> None:
    base = CAUSES["coredns_autopath_defect"]
    fields = {name: getattr(base, name) for name in base.__dataclass_fields__}
    with pytest.raises(ValueError, match=message):
        Cause(**{**fields, **changes})  # type: ignore[arg-type]


def test_no_cause_by_itself_is_critical_and_configuration_risks_are_info() -> None:
    """Each cause can be named from one node or one replica: the pages are symptom alerts."""
    assert {c.severity for c in CAUSES.values()} == {"warning", "info"}
    assert all(c.standing for c in CAUSES.values() if c.severity == "info")
    assert all(c.severity == "info" for c in CAUSES.values() if c.standing)


def test_a_module_whose_cause_id_differs_from_its_name_is_refused(extra_package_dir: Path) -> None:
    (extra_package_dir / "coredns_zz_misnamed.py").write_text(NEW_CAUSE.format(id="coredns_other"))
    with pytest.raises(ValueError, match=r"coredns_zz_misnamed\.py: CAUSE\.id is 'coredns_other'"):
        discover()
