"""Parse a Corefile: server blocks, directives with nested blocks, snippets and imports.

The syntax is the Caddyfile's: tokens are separated by white space, ``"..."``
quotes a token, ``#`` at the start of a token comments out the rest of the line,
a directive is the tokens of one line, and a ``{`` ending a line opens a block
that belongs to that line. ``import PATTERN`` splices in a snippet defined as
``(name) { ... }`` or the files matching a glob, relative to the Corefile's
directory: AKS mounts the ``coredns-custom`` ConfigMap as ``custom/<key>`` next to the
Corefile and imports ``custom/*.override``; k3s mounts it at the same place and
imports it by absolute path (``/etc/coredns/custom/*.override``). An absolute pattern
under :data:`COREFILE_DIR`, where both mount the Corefile, is read relative to it.

Parsing never raises on bad input: what cannot be read is listed in
:attr:`Corefile.errors`, and the rest is still returned.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

MAX_IMPORT_DEPTH = 10
COREFILE_DIR = "/etc/coredns/"
"""Where the CoreDNS Deployments of kubeadm, AKS, k3s and RKE2 mount the Corefile (``-conf``)."""


@dataclass(frozen=True, slots=True)
class Token:
    text: str
    line: int
    file: str
    quoted: bool = False

    @property
    def opens(self) -> bool:
        return self.text == "{" and not self.quoted

    @property
    def closes(self) -> bool:
        return self.text == "}" and not self.quoted


@dataclass(frozen=True, slots=True)
class Directive:
    """One line of a block (a plugin, or an option of one), with the block it opens."""

    name: str
    args: tuple[str, ...] = ()
    block: tuple[Directive, ...] = ()
    file: str = "Corefile"
    line: int = 0

    def options(self, name: str) -> list[Directive]:
        return [d for d in self.block if d.name == name]

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True, slots=True)
class ServerBlock:
    keys: tuple[str, ...]
    """As written: ``.:53``, ``cluster.local:53``, ``dns://example.org``."""
    directives: tuple[Directive, ...]
    file: str = "Corefile"
    line: int = 0

    @property
    def zones(self) -> tuple[str, ...]:
        """The zones served, normalised: ``.``, ``cluster.local.``."""
        return tuple(_zone_port(key)[0] for key in self.keys)

    @property
    def port(self) -> str:
        ports = {_zone_port(key)[1] for key in self.keys}
        return ports.pop() if len(ports) == 1 else ",".join(sorted(ports))

    def plugins(self, name: str) -> list[Directive]:
        return [d for d in self.directives if d.name == name]


@dataclass(frozen=True, slots=True)
class Corefile:
    servers: tuple[ServerBlock, ...]
    errors: tuple[str, ...] = ()

    def directives(self) -> Iterator[tuple[ServerBlock, Directive]]:
        for server in self.servers:
            for directive in server.directives:
                yield server, directive


@dataclass(slots=True)
class _Parse:
    files: Mapping[str, str]
    base: str
    mount: str = COREFILE_DIR
    snippets: dict[str, list[Token]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def parse_corefile(
    text: str, files: Mapping[str, str] | None = None, *, name: str = "Corefile", mount: str = COREFILE_DIR
) -> Corefile:
    """Parse ``text``; ``files`` maps paths relative to the Corefile (``custom/x.server``) to content.

    ``mount``: the directory the Corefile is read from in the pod, for imports by absolute path.
    """
    state = _Parse(files or {}, base=name.rsplit("/", 1)[0] + "/" if "/" in name else "", mount=mount)
    tokens = _expand(state, _snippets(state, tokenize(text, name)), depth=0)
    servers: list[ServerBlock] = []
    lines = _lines(tokens)
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        keys = [t for t in line if not t.opens]
        if line[0].closes:
            state.errors.append(f"{line[0].file}:{line[0].line}: unexpected '}}'")
            continue
        if not line[-1].opens:
            state.errors.append(f"{line[0].file}:{line[0].line}: server block {line[0].text!r} has no '{{'")
            continue
        body, index = _block(state, lines, index, line[-1])
        keys_text = tuple(k for t in keys for k in t.text.split(",") if k)
        servers.append(ServerBlock(keys_text, body, file=line[0].file, line=line[0].line))
    return Corefile(tuple(servers), tuple(state.errors))


def tokenize(text: str, file: str = "Corefile") -> list[Token]:
    tokens: list[Token] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        tokens.extend(_line_tokens(raw, number, file))
    return tokens


def _line_tokens(raw: str, number: int, file: str) -> Iterator[Token]:
    pos, size = 0, len(raw)
    while pos < size:
        char = raw[pos]
        if char.isspace():
            pos += 1
        elif char == "#":
            return
        elif char == '"':
            end, text = pos + 1, []
            while end < size and raw[end] != '"':
                if raw[end] == "\\" and end + 1 < size:
                    end += 1
                text.append(raw[end])
                end += 1
            yield Token("".join(text), number, file, quoted=True)
            pos = end + 1
        else:
            end = pos
            while end < size and not raw[end].isspace():
                end += 1
            word = raw[pos:end]
            if len(word) > 1 and word.endswith("{") and not word.startswith("{"):
                yield Token(word[:-1], number, file)
                yield Token("{", number, file)
            elif len(word) > 1 and word.startswith("}") and word != "}":
                yield Token("}", number, file)
                yield Token(word[1:], number, file)
            else:
                yield Token(word, number, file)
            pos = end


def _snippets(state: _Parse, tokens: list[Token]) -> list[Token]:
    """Take ``(name) { ... }`` definitions out of the top level, keeping their tokens."""
    out: list[Token] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        is_snippet = (
            token.text.startswith("(")
            and token.text.endswith(")")
            and index + 1 < len(tokens)
            and tokens[index + 1].opens
        )
        if not is_snippet:
            out.append(token)
            index += 1
            continue
        depth, end = 1, index + 2
        while end < len(tokens) and depth:
            depth += tokens[end].opens - tokens[end].closes
            end += 1
        state.snippets[token.text[1:-1]] = tokens[index + 2 : end - 1]
        if depth:
            state.errors.append(f"{token.file}:{token.line}: snippet {token.text} is not closed")
        index = end
    return out


def _expand(state: _Parse, tokens: list[Token], depth: int) -> list[Token]:
    """Replace every ``import X`` line by the snippet or the files it names."""
    out: list[Token] = []
    for line in _lines(tokens):
        if line[0].text != "import" or line[0].quoted:
            out.extend(line)
            continue
        if len(line) != 2:
            state.errors.append(f"{line[0].file}:{line[0].line}: import takes exactly one argument")
            continue
        if depth >= MAX_IMPORT_DEPTH:
            state.errors.append(f"{line[0].file}:{line[0].line}: imports nest deeper than {MAX_IMPORT_DEPTH}")
            continue
        pattern = line[1].text
        if pattern in state.snippets:
            out.extend(_expand(state, state.snippets[pattern], depth + 1))
            continue
        if pattern.startswith("/"):  # only files under the Corefile's directory are known here
            if not pattern.startswith(state.mount):
                continue
            pattern = pattern[len(state.mount) :]
        wanted = state.base + pattern
        for path in sorted(p for p in state.files if fnmatch.fnmatchcase(state.base + p, wanted)):
            out.extend(_expand(state, tokenize(state.files[path], path), depth + 1))
    return out


def _lines(tokens: list[Token]) -> list[list[Token]]:
    """Group tokens into directive lines: by source line, and a brace always ends or starts one."""
    lines: list[list[Token]] = []
    for token in tokens:
        if (
            not lines
            or (lines[-1][-1].file, lines[-1][-1].line) != (token.file, token.line)
            or token.closes
            or lines[-1][-1].opens
            or lines[-1][-1].closes
        ):
            lines.append([token])
        else:
            lines[-1].append(token)
    return lines


def _block(
    state: _Parse, lines: list[list[Token]], index: int, opened: Token
) -> tuple[tuple[Directive, ...], int]:
    """Read directives up to the ``}`` that closes ``opened``; return them and the next line index."""
    directives: list[Directive] = []
    while index < len(lines):
        line = lines[index]
        index += 1
        if line[0].closes:
            return tuple(directives), index
        block: tuple[Directive, ...] = ()
        args = line[1:]
        if args and args[-1].opens:
            args = args[:-1]
            block, index = _block(state, lines, index, line[-1])
        if any(t.opens or t.closes for t in args):
            state.errors.append(f"{line[0].file}:{line[0].line}: misplaced brace in {line[0].text!r}")
            args = [t for t in args if not (t.opens or t.closes)]
        directives.append(
            Directive(line[0].text, tuple(t.text for t in args), block, file=line[0].file, line=line[0].line)
        )
    state.errors.append(f"{opened.file}:{opened.line}: '{{' is not closed")
    return tuple(directives), index


def _zone_port(key: str) -> tuple[str, str]:
    rest = key.split("://", 1)[1] if "://" in key else key
    scheme = key.split("://", 1)[0] if "://" in key else "dns"
    zone, _, port = rest.rpartition(":") if rest.count(":") == 1 else (rest, "", "")
    if not zone:
        zone = rest if not port else "."
    default = {"dns": "53", "tls": "853", "https": "443", "grpc": "443", "quic": "853"}.get(scheme, "53")
    zone = zone.lower()
    if not zone.endswith("."):
        zone += "."
    return zone, port or default
