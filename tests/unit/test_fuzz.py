"""Hostile input into every parser: only a value or the parser's own clear error comes out.

Bounded example counts keep this in the test pass; `bench/fuzz.sh` documents a longer run.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exporter.config import Config, ConfigError, load_config, parse_config
from exporter.node.paths import CorruptFile
from exporter.node.readers.conntrack import parse_conntrack_stat, parse_limit
from exporter.node.readers.cpu import parse_pressure, parse_stat
from exporter.node.readers.snmp import parse_lines, parse_pairs, parse_snmp
from exporter.resolvconf import parse_resolv_conf
from tests.conftest import REPO

EXAMPLES = int(os.environ.get("K8S_DNS_FUZZ_EXAMPLES", "300"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def top_level_keys() -> list[str]:
    """The keys a config may have at its top, as the loader lists them when it meets an unknown one."""
    try:
        parse_config({"?": None})
    except ConfigError as exc:
        listed = re.fullmatch(r"unknown key \(expected one of: (.*)\)", exc.reason)
        assert listed is not None, exc
        return listed.group(1).split(", ")
    raise AssertionError("an unknown top-level key was accepted")


def load_text(text: str) -> Config:
    """``text`` as a config file, read the way ``serve --config`` reads it."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "config.yaml"
        path.write_text(text, encoding="utf-8")
        return load_config(path)


TOP_KEYS = top_level_keys()
KNOWN_KEYS = [*TOP_KEYS, "name", "type", "kind", "expect", "rcode", "answers", "race", "service", "pod",
              "upstream", "resolver", "file", "port", "resolv_conf", "level", "format", "window", "thresholds"]  # fmt: skip
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["5s", "250ms", "1m30s", "A", "AAAA", "127.0.0.1:53", "[::1]:53", "auto", "udp", "x."]),
)
keys = st.one_of(st.sampled_from(KNOWN_KEYS), st.text(max_size=10))
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=5)),
    max_leaves=25,
)


@pytest.mark.parametrize("text", ["{{}}", "? [a, b]\n: 1\n"])
def test_a_mapping_or_list_as_a_key_is_named_not_raised(text: str) -> None:
    """Found by test_yaml_text: an unhashable key raised TypeError out of the loader."""
    with pytest.raises(
        ConfigError, match=r"YAML key at line 1, column \d+ is a (dict|list), not a plain value"
    ):
        load_text(text)


@FUZZ
@given(raw=documents)
def test_config_documents(raw: Any) -> None:
    try:
        parse_config(raw)
    except ConfigError as exc:
        assert str(exc)


@FUZZ
@given(raw=st.dictionaries(st.sampled_from(TOP_KEYS), documents, max_size=6))
def test_config_documents_with_real_top_level_keys(raw: dict[str, Any]) -> None:
    try:
        parse_config(raw)
    except ConfigError as exc:
        assert str(exc)


@FUZZ
@given(text=st.text(max_size=400))
def test_yaml_text(text: str) -> None:
    try:
        load_text(text)
    except ConfigError as exc:
        # Only the file's YAML layer raises errors without a field path; every other one names its field.
        assert exc.field or "YAML" in exc.reason or "duplicate key" in exc.reason, exc


@FUZZ
@given(raw=documents)
def test_yaml_round_trip_of_any_document(raw: Any) -> None:
    with contextlib.suppress(ConfigError):
        load_text(yaml.safe_dump(raw))


@FUZZ
@given(text=st.text(max_size=600))
def test_resolv_conf_never_raises(text: str) -> None:
    conf = parse_resolv_conf(text)
    assert len(conf.used_nameservers) <= 3
    assert 0 <= conf.ndots <= 15


def _lines(alphabet: str) -> st.SearchStrategy[str]:
    line = st.text(alphabet=alphabet, max_size=120)
    return st.lists(line, max_size=8).map(lambda ls: "\n".join(ls) + ("\n" if ls else ""))


CONNTRACK_HEADER = (
    "entries  clashres found new invalid ignore delete chainlength insert insert_failed drop early_drop"
)
HEX = "0123456789abcdefABCDEF xg-\t"


@FUZZ
@given(body=_lines(HEX), cut=st.booleans())
def test_conntrack_stat(body: str, cut: bool) -> None:
    text = CONNTRACK_HEADER + "\n" + body
    if cut:
        text = text.rstrip("\n")
    try:
        counters, entries = parse_conntrack_stat(text)
    except CorruptFile as exc:
        assert str(exc)
    else:
        assert entries >= 0
        assert all(value >= 0 for value in counters.values())


@FUZZ
@given(text=st.text(max_size=300))
def test_conntrack_any_text(text: str) -> None:
    for parse in (parse_conntrack_stat, lambda t: parse_limit(t, "nf_conntrack_max")):
        with contextlib.suppress(CorruptFile):
            parse(text)


@FUZZ
@given(text=st.one_of(st.text(max_size=400), _lines("UdpTcp: 0123456789-abcInErrors")))
def test_snmp(text: str) -> None:
    try:
        tables = parse_snmp(text)
    except CorruptFile as exc:
        assert str(exc)
    else:
        assert all(isinstance(v, int) for table in tables.values() for v in table.values())


SNMP_FIXTURE = (REPO / "tests" / "fixtures" / "node" / "healthy" / "proc" / "1" / "net" / "snmp").read_text()


@FUZZ
@given(
    text=st.one_of(
        st.text(max_size=400),
        _lines("UdpTcp: 0123456789-abcInErrors"),
        st.builds(
            lambda at, insert: SNMP_FIXTURE[:at] + insert + SNMP_FIXTURE[at:],
            st.integers(0, len(SNMP_FIXTURE)),
            st.text(alphabet="Udp: 0123456789-x\n\t", max_size=12),
        ),
    )
)
def test_snmp_pair_by_pair_reads_exactly_what_line_by_line_reads(text: str) -> None:
    """The fast reading accepts only files the line-by-line reading accepts, with the same tables."""
    wanted = ("Udp", "Tcp")
    fast = parse_pairs(text, wanted)
    try:
        slow = parse_lines(text, "snmp", wanted)
    except CorruptFile:
        assert fast is None
    else:
        assert fast is None or fast == slow
    if text == SNMP_FIXTURE:
        assert fast is not None  # the file as the kernel writes it takes the fast way


@FUZZ
@given(text=st.one_of(st.text(max_size=400), _lines("cpu 0123456789\tsomefull avg10=.total")))
def test_cpu_stat_and_pressure(text: str) -> None:
    for parse in (parse_stat, parse_pressure):
        try:
            parse(text)
        except CorruptFile as exc:
            assert str(exc)
