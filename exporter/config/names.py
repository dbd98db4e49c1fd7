"""The ``names`` list and ``transports``: what to resolve, its type, what the answer must be."""

from __future__ import annotations

from typing import Any

import dns.exception
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype

from exporter.config import _reader as r
from exporter.config._reader import ConfigError
from exporter.config.model import KINDS, TRANSPORTS, Expect, NameSpec
from exporter.hops import HOPS, Hop

_NAME_KEYS = ("name", "type", "kind", "paths", "transports", "expect", "race")
_DEFAULT_PATHS = {
    "internal": frozenset({Hop.SERVICE, Hop.POD, Hop.NODELOCAL, Hop.RESOLVER}),
    "external": frozenset(HOPS),
}


def parse_names(raw: Any, cluster_domain: str, transports: tuple[str, ...]) -> tuple[NameSpec, ...]:
    if raw is None:
        raise ConfigError("names", "at least one name to resolve is required")
    items = r.sequence(raw, "names")
    if not items:
        raise ConfigError("names", "at least one name to resolve is required")
    seen: dict[tuple[str, str], int] = {}
    specs = []
    for index, item in enumerate(items):
        path = r.join("names", index)
        spec = _name(item, path, cluster_domain, transports)
        key = (spec.name.lower(), spec.qtype)
        if key in seen:
            raise ConfigError(path, f"duplicate of names[{seen[key]}] ({spec.name} {spec.qtype})")
        seen[key] = index
        specs.append(spec)
    return tuple(specs)


def parse_transports(raw: Any, path: str) -> tuple[str, ...]:
    items = r.sequence(raw, path)
    if not items:
        raise ConfigError(path, "at least one of udp, tcp is required")
    chosen = [r.string(t, r.join(path, i), choices=TRANSPORTS) for i, t in enumerate(items)]
    return tuple(t for t in TRANSPORTS if t in chosen)


def _name(raw: Any, path: str, cluster_domain: str, transports: tuple[str, ...]) -> NameSpec:
    doc = r.mapping(raw, path, _NAME_KEYS)
    if "name" not in doc:
        raise ConfigError(path, "'name' is required")
    name = r.string(doc["name"], r.join(path, "name"))
    try:
        dns.name.from_text(name)
    except dns.exception.DNSException as exc:
        raise ConfigError(r.join(path, "name"), f"{name!r} is not a valid DNS name: {exc}") from None
    qtype = _qtype(doc.get("type", "A"), r.join(path, "type"))
    absolute = name if name.endswith(".") else name + "."
    inferred = "internal" if absolute.lower().endswith("." + cluster_domain + ".") else "external"
    kind = r.string(doc.get("kind", inferred), r.join(path, "kind"), choices=KINDS)
    relative = not name.endswith(".")
    paths = frozenset({Hop.RESOLVER}) if relative else _DEFAULT_PATHS[kind]
    if "paths" in doc:
        entries = r.sequence(doc["paths"], r.join(path, "paths"))
        paths = frozenset(
            Hop(r.string(p, r.join(r.join(path, "paths"), i), choices=HOPS)) for i, p in enumerate(entries)
        )
        if not paths:
            raise ConfigError(r.join(path, "paths"), "list at least one path")
        if relative and paths - {"resolver"}:
            raise ConfigError(
                r.join(path, "paths"),
                f"{name!r} is relative (no trailing dot): only the resolver path applies a search "
                f"list; end it with a dot to probe it on {', '.join(sorted(paths - {'resolver'}))}",
            )
    own = (
        parse_transports(doc["transports"], r.join(path, "transports")) if "transports" in doc else transports
    )
    race = r.boolean(doc.get("race", False), r.join(path, "race"))
    if race and qtype not in ("A", "AAAA"):
        raise ConfigError(r.join(path, "race"), f"the A+AAAA race probe needs type A or AAAA, not {qtype}")
    return NameSpec(
        name=name,
        qtype=qtype,
        kind=kind,  # type: ignore[arg-type]
        paths=paths,
        transports=own,
        expect=_expect(doc.get("expect"), r.join(path, "expect"), qtype),
        race=race,
    )


def _qtype(raw: Any, path: str) -> str:
    text = r.string(raw, path).upper()
    try:
        rdtype = dns.rdatatype.from_text(text)
    except dns.exception.DNSException:
        raise ConfigError(path, f"{raw!r} is not a DNS type") from None
    if dns.rdatatype.is_metatype(rdtype) or rdtype == dns.rdatatype.ANY:
        raise ConfigError(path, f"{raw!r} is a meta type; probe a data type such as A or AAAA")
    return dns.rdatatype.to_text(rdtype)


def _expect(raw: Any, path: str, qtype: str) -> Expect:
    doc = r.mapping(raw, path, ("rcode", "answers", "min_answers"))
    rcode_text = r.string(doc.get("rcode", "NOERROR"), r.join(path, "rcode")).upper()
    try:
        rcode = dns.rcode.to_text(dns.rcode.from_text(rcode_text))
    except dns.exception.DNSException:
        raise ConfigError(r.join(path, "rcode"), f"{rcode_text!r} is not a DNS rcode") from None
    answers = None
    if "answers" in doc:
        items = r.sequence(doc["answers"], r.join(path, "answers"))
        answers = frozenset(
            _rdata(item, r.join(r.join(path, "answers"), i), qtype) for i, item in enumerate(items)
        )
    default_min = 1 if rcode == "NOERROR" and answers is None else 0
    min_answers = r.integer(
        doc.get("min_answers", default_min), r.join(path, "min_answers"), low=0, high=10000
    )
    return Expect(rcode=rcode, answers=answers, min_answers=min_answers)


def _rdata(raw: Any, path: str, qtype: str) -> str:
    text = r.string(raw, path)
    try:
        rdata = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.from_text(qtype), text)
    except (dns.exception.DNSException, ValueError) as exc:
        raise ConfigError(path, f"{text!r} is not a valid {qtype} record: {exc}") from None
    return rdata.to_text()
