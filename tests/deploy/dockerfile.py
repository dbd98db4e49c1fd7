"""Read a Dockerfile into stages and instructions, enough to check it and replay its steps.

Handles what the project's Dockerfile uses: comments, ``\\`` continuations,
``FROM image AS name``, flags (``--mount=...``) before the arguments, and the
exec form (a JSON list) beside the shell form.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Instruction:
    keyword: str
    """Upper case: ``RUN``, ``COPY``, ..."""
    flags: dict[str, str]
    """``--mount=type=bind,from=build`` -> ``{"mount": "type=bind,from=build"}``."""
    exec_form: tuple[str, ...] | None
    """The JSON list of the exec form; ``None`` for the shell form."""
    text: str
    """The arguments as written, after the flags."""
    line: int

    def words(self) -> list[str]:
        """The arguments as a list: the exec form, else the text split like a shell would."""
        return list(self.exec_form) if self.exec_form is not None else shlex.split(self.text)

    def mount(self) -> dict[str, str]:
        """The ``--mount`` flag's options (``{"type": "bind", "from": "build", ...}``)."""
        raw = self.flags.get("mount", "")
        return dict(part.split("=", 1) for part in raw.split(",") if "=" in part)


@dataclass(frozen=True)
class Stage:
    base: str
    name: str | None
    instructions: tuple[Instruction, ...]

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]


def _logical_lines(text: str) -> list[tuple[int, str]]:
    lines: list[tuple[int, str]] = []
    buffer, start = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if stripped.startswith("#") or (not stripped and not buffer):
            continue
        if not buffer:
            start = number
        if stripped.endswith("\\"):
            buffer += stripped[:-1].rstrip() + " "
            continue
        buffer += stripped
        lines.append((start, buffer.strip()))
        buffer = ""
    if buffer.strip():
        lines.append((start, buffer.strip()))
    return lines


def _instruction(line: int, text: str) -> Instruction:
    keyword, _, rest = text.partition(" ")
    rest = rest.strip()
    flags: dict[str, str] = {}
    while rest.startswith("--"):
        flag, _, rest = rest.partition(" ")
        name, _, value = flag[2:].partition("=")
        flags[name] = value
        rest = rest.strip()
    exec_form = None
    if rest.startswith("["):
        parsed = json.loads(rest)
        if not (isinstance(parsed, list) and all(isinstance(word, str) for word in parsed)):
            raise ValueError(f"line {line}: the exec form must be a JSON list of strings")
        exec_form = tuple(parsed)
    return Instruction(keyword.upper(), flags, exec_form, rest, line)


def parse(text: str) -> list[Stage]:
    stages: list[Stage] = []
    current: list[Instruction] = []
    base, name = "", None
    for line, logical in _logical_lines(text):
        instruction = _instruction(line, logical)
        if instruction.keyword == "FROM":
            if base:
                stages.append(Stage(base, name, tuple(current)))
            words = instruction.text.split()
            base = words[0]
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            current = []
            continue
        if not base:
            if instruction.keyword == "ARG":
                continue
            raise ValueError(f"line {line}: {instruction.keyword} before the first FROM")
        current.append(instruction)
    if base:
        stages.append(Stage(base, name, tuple(current)))
    return stages


def load(path: Path) -> list[Stage]:
    return parse(path.read_text())
