"""Replay a Dockerfile's build outside Docker: each stage in a directory of its own.

Every absolute path of an instruction is moved under the stage's directory
(``/wheels`` -> ``<stage>/wheels``); a ``RUN --mount=type=bind,from=STAGE`` maps
its target onto that stage's directory; ``python`` is this interpreter. COPY
reads the build context as ``.dockerignore`` filters it. Build stages get
``extra_env`` (a local stand-in for the package index); the final stage does not.
"""

from __future__ import annotations

import fnmatch
import os
import posixpath
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from tests.deploy.dockerfile import Instruction, Stage

IGNORED_KEYWORDS = ("USER", "EXPOSE", "ENTRYPOINT", "CMD")
"""Run-time settings: checked by the tests, nothing to do at build time."""


class BuildContext:
    """The files ``docker build`` would send: ``root`` filtered by its ``.dockerignore``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        lines = (root / ".dockerignore").read_text().splitlines()
        self.patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]

    def ignored(self, relative: str) -> bool:
        """Docker's rule: the last pattern that matches a path decides (``!`` re-includes)."""
        ignored = False
        parts = relative.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        for pattern in self.patterns:
            body = pattern.removeprefix("!")
            if body.startswith("**/"):
                hit = any(fnmatch.fnmatch(part, body[3:]) for part in parts)
            else:
                hit = any(fnmatch.fnmatch(prefix, body) for prefix in prefixes)
            if hit:
                ignored = not pattern.startswith("!")
        return ignored

    def files(self, source: str) -> list[Path]:
        path = self.root / source
        found = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        return [f for f in found if not self.ignored(f.relative_to(self.root).as_posix())]


def rebase(word: str, root: Path, mounts: dict[str, Path] | None = None) -> str:
    """A container path (or ``--flag=/path``) as a path under ``root``; other words unchanged."""
    if word.startswith("--") and "=/" in word:
        flag, _, value = word.partition("=")
        return f"{flag}={rebase(value, root, mounts)}"
    if not word.startswith("/"):
        return word
    for target, source in (mounts or {}).items():
        if word == target or word.startswith(target + "/"):
            return str(source) + word[len(target) :]
    return str(root) + word


def clean_env() -> dict[str, str]:
    """This process's environment without pip settings, pip config files or Python paths."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "PYTHON", "VIRTUAL_ENV"))}
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


class Replay:
    def __init__(self, context: BuildContext, workspace: Path, extra_env: dict[str, str]) -> None:
        self.context = context
        self.workspace = workspace
        self.extra_env = extra_env
        self.roots: dict[str, Path] = {}
        """Stage name (or index) -> the directory standing for its filesystem."""

    def run(self, stages: list[Stage]) -> dict[str, Path]:
        for index, stage in enumerate(stages):
            root = self.workspace / f"stage-{index}"
            root.mkdir()
            final = index == len(stages) - 1
            _StageRun(self, root, clean_env() | ({} if final else self.extra_env)).run(stage)
            self.roots[stage.name or str(index)] = root
        return self.roots


class _StageRun:
    def __init__(self, replay: Replay, root: Path, env: dict[str, str]) -> None:
        self.replay = replay
        self.root = root
        self.env = env
        self.workdir = "/"

    def run(self, stage: Stage) -> None:
        handlers = {"WORKDIR": self.workdir_, "ENV": self.env_, "COPY": self.copy, "RUN": self.run_}
        for instruction in stage.instructions:
            handler = handlers.get(instruction.keyword)
            if handler is not None:
                handler(instruction)
            elif instruction.keyword not in IGNORED_KEYWORDS:
                raise AssertionError(
                    f"line {instruction.line}: the replay does not know {instruction.keyword}"
                )

    def workdir_(self, instruction: Instruction) -> None:
        self.workdir = posixpath.join(self.workdir, instruction.text)
        Path(rebase(self.workdir, self.root)).mkdir(parents=True, exist_ok=True)

    def env_(self, instruction: Instruction) -> None:
        """``ENV A=1 B=$A``: ``$NAME`` and ``${NAME}`` expand from the environment so far."""
        for pair in shlex.split(instruction.text):
            key, _, value = pair.partition("=")
            self.env[key] = re.sub(r"\$\{?(\w+)\}?", lambda m: self.env.get(m.group(1), ""), value)

    def copy(self, instruction: Instruction) -> None:
        assert "from" not in instruction.flags, "COPY --from is not replayed"
        words = instruction.words()
        destination = posixpath.join(self.workdir, words[-1])
        context = self.replay.context
        for source in words[:-1]:
            for file in context.files(source):
                if (context.root / source).is_dir():  # a directory's contents go into the destination
                    target = posixpath.join(destination, file.relative_to(context.root / source).as_posix())
                elif words[-1].endswith("/"):
                    target = posixpath.join(destination, file.name)
                else:
                    target = destination
                path = Path(rebase(target, self.root))
                path.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(file, path)

    def run_(self, instruction: Instruction) -> None:
        mounts = {}
        mount = instruction.mount()
        if mount:
            source_root = self.replay.roots[mount["from"]]
            mounts[mount["target"]] = Path(rebase(mount["source"], source_root))
        argv = [rebase(word, self.root, mounts) for word in instruction.words()]
        if argv[0] == "python":
            argv[0] = sys.executable
        result = subprocess.run(
            argv,
            cwd=rebase(self.workdir, self.root),
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert result.returncode == 0, f"line {instruction.line} failed:\n{result.stdout}{result.stderr}"
