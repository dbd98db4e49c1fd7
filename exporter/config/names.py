"""The ``names`` list and ``transports``: what to resolve, its type, what the answer must be."""

from __future__ import annotations

from functools import partial
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
from exporter.hops import CLUSTER_ZONE, HOPS, Hop

_NAME_KEYS = ("name", "type", "kind", "paths", "transports", "expect", "race")
_DEFAULT_PATHS = {
    "internal": CLUSTER_ZONE,
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
    qtype = r.given(doc, path, "type", _qtype, NameSpec.DEFAULT_QTYPE)
    # kind, paths and transports have computed defaults: the kind follows the cluster domain,
    # a relative name goes through the resolver's search list only, an absolute one on every
    # path of its kind, and a name probes on the top-level transports.
    relative = not name.endswith(".")
    absolute = name + "." if relative else name
    inferred = "internal" if absolute.lower().endswith("." + cluster_domain + ".") else "external"
    kind = r.given(doc, path, "kind", partial(r.string, choices=KINDS), inferred)
    default_paths = frozenset({Hop.RESOLVER}) if relative else _DEFAULT_PATHS[kind]
    paths = r.given(doc, path, "paths", partial(_hops, name=name), default_paths)
    own = r.given(doc, path, "transports", parse_transports, transports)
    race = r.given(doc, path, "race", r.boolean, r.field_default(NameSpec, "race"))
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


def _hops(raw: Any, path: str, *, name: str) -> frozenset[Hop]:
    entries = r.sequence(raw, path)
    paths = frozenset(Hop(r.string(p, r.join(path, i), choices=HOPS)) for i, p in enumerate(entries))
    if not paths:
        raise ConfigError(path, "list at least one path")
    if not name.endswith(".") and paths - {"resolver"}:
        raise ConfigError(
            path,
            f"{name!r} is relative (no trailing dot): only the resolver path applies a search "
            f"list; end it with a dot to probe it on {', '.join(sorted(paths - {'resolver'}))}",
        )
    return paths


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
    base = Expect()
    rcode = r.given(doc, path, "rcode", _rcode, base.rcode)
    answers = r.given(doc, path, "answers", partial(_answers, qtype=qtype), base.answers)
    # Computed: the least count applies to a NOERROR answer whose records are not listed;
    # listed records or another rcode ask for none.
    default_min = base.min_answers if rcode == "NOERROR" and answers is None else 0
    min_answers = r.given(doc, path, "min_answers", partial(r.integer, low=0, high=10000), default_min)
    return Expect(rcode=rcode, answers=answers, min_answers=min_answers)


def _rcode(raw: Any, path: str) -> str:
    text = r.string(raw, path).upper()
    try:
        return dns.rcode.to_text(dns.rcode.from_text(text))
    except dns.exception.DNSException:
        raise ConfigError(path, f"{text!r} is not a DNS rcode") from None


def _answers(raw: Any, path: str, *, qtype: str) -> frozenset[str]:
    items = r.sequence(raw, path)
    return frozenset(_rdata(item, r.join(path, i), qtype) for i, item in enumerate(items))


def _rdata(raw: Any, path: str, qtype: str) -> str:
    text = r.string(raw, path)
    try:
        rdata = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.from_text(qtype), text)
    except (dns.exception.DNSException, ValueError) as exc:
        raise ConfigError(path, f"{text!r} is not a valid {qtype} record: {exc}") from None
    return rdata.to_text()
