"""The reply parser against messages built by dnspython, hand-broken bytes, and fuzzed bytes."""

from __future__ import annotations

import contextlib
import os
import struct

import dns.flags
import dns.message
import dns.rcode
import dns.rrset
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exporter.probe.wire import MalformedReply, Query

NAME = "kubernetes.default.svc.cluster.local."
LONG_RUN = int(os.environ.get("K8S_DNS_FUZZ_EXAMPLES", "0"))
"""bench/fuzz.sh raises the fuzz tests' example counts to this (unset: their bounded CI counts)."""


def reply_to(query: Query, query_id: int, **records: list[str]) -> dns.message.Message:
    message = dns.message.from_wire(query.wire(query_id))
    reply = dns.message.make_response(message)
    for rtype, values in records.items():
        owner = "alias.example.org." if rtype == "CNAME" else NAME
        reply.answer.append(dns.rrset.from_text_list(owner, 30, "IN", rtype, values))
    return reply


def test_query_wire_is_a_valid_query_with_the_given_id() -> None:
    query = Query(NAME, "A")
    message = dns.message.from_wire(query.wire(4242))
    assert message.id == 4242
    assert message.flags & dns.flags.RD
    assert message.edns == -1  # plain DNS, like glibc's stub resolver
    assert message.question[0].to_text() == f"{NAME} IN A"
    with_edns = dns.message.from_wire(Query(NAME, "A", edns_payload=1232).wire(1))
    assert (with_edns.edns, with_edns.payload) == (0, 1232)


def test_parses_rcode_answers_and_counts() -> None:
    query = Query(NAME, "A")
    reply = reply_to(query, 7, A=["10.96.0.2", "10.96.0.1"])
    parsed = query.parse(reply.to_wire(), 7)
    assert parsed.rcode == "NOERROR"
    assert parsed.answers == ("10.96.0.1", "10.96.0.2")
    assert parsed.answer_count == 2
    assert not parsed.truncated


def test_aaaa_text_matches_dnspython() -> None:
    query = Query(NAME, "AAAA")
    parsed = query.parse(reply_to(query, 9, AAAA=["2001:DB8:0:0::10"]).to_wire(), 9)
    assert parsed.answers == ("2001:db8::10",)


def test_only_records_of_the_asked_type_count_as_answers() -> None:
    query = Query(NAME, "A")
    reply = reply_to(query, 3, A=["192.0.2.1"])
    reply.answer.insert(0, dns.rrset.from_text(NAME, 30, "IN", "CNAME", "alias.example.org."))
    parsed = query.parse(reply.to_wire(), 3)
    assert parsed.answers == ("192.0.2.1",)
    assert parsed.answer_count == 2


def test_other_types_are_decoded_with_name_compression() -> None:
    query = Query("_dns._udp.example.org.", "SRV")
    message = dns.message.from_wire(query.wire(5))
    reply = dns.message.make_response(message)
    reply.answer.append(
        dns.rrset.from_text("_dns._udp.example.org.", 30, "IN", "SRV", "0 5 53 ns.example.org.")
    )
    parsed = query.parse(reply.to_wire(), 5)
    assert parsed.answers == ("0 5 53 ns.example.org.",)


@pytest.mark.parametrize("rcode", ["NXDOMAIN", "SERVFAIL", "REFUSED", "FORMERR"])
def test_error_rcodes_are_read(rcode: str) -> None:
    query = Query(NAME, "A")
    reply = reply_to(query, 11)
    reply.set_rcode(dns.rcode.from_text(rcode))
    assert query.parse(reply.to_wire(), 11).rcode == rcode


def test_truncated_flag_and_a_reply_cut_mid_record() -> None:
    query = Query(NAME, "A")
    reply = reply_to(query, 12, A=[f"10.0.0.{i}" for i in range(1, 11)])
    reply.flags |= dns.flags.TC
    wire = reply.to_wire()
    parsed = query.parse(wire[:-7], 12)  # an old server cut the message anywhere
    assert parsed.truncated
    assert parsed.answer_count == 10
    assert len(parsed.answers) == 9


def _header(wire: bytes, **fields: int) -> bytes:
    values = list(struct.unpack_from("!HHHHHH", wire))
    names = ["id", "flags", "qd", "an", "ns", "ar"]
    for key, value in fields.items():
        values[names.index(key)] = value
    return struct.pack("!HHHHHH", *values) + wire[12:]


def _malformed_cases() -> list[tuple[str, bytes, str]]:
    query = Query(NAME, "A")
    good = reply_to(query, 100, A=["10.96.0.1"]).to_wire()
    other = reply_to(Query("example.org.", "A"), 100, A=["192.0.2.1"]).to_wire()
    flags = struct.unpack_from("!H", good, 2)[0]
    return [
        ("short", good[:5], "shorter than a DNS header"),
        ("wrong id", _header(good, id=101), "reply ID 101 does not match query ID 100"),
        ("a query", _header(good, flags=flags & ~0x8000), "the message is a query, not a response"),
        ("opcode", _header(good, flags=flags | 0x2000), "unexpected opcode 4"),
        ("other question", other, "the reply is for another question"),
        ("two questions", _header(good, qd=2), "reply has 2 questions, expected 1"),
        ("no question, noerror", _header(good, qd=0), "reply has 0 questions, expected 1"),
        ("records past end", good[:-2], "record data runs past the end of the message"),
        ("more records than sent", _header(good, an=3), "runs past the end of the message"),
        ("bad label type", good[:12] + b"\x80" + good[13:], "unknown label type 0x80"),
        ("question past end", good[:20], "runs past the end of the message"),
        (
            "bad A length",
            good[:-6] + b"\x00\x03" + good[-4:-1],
            "an A record has 3 bytes of data, expected 4",
        ),
    ]


@pytest.mark.parametrize(
    ("case", "wire", "message"), _malformed_cases(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_malformed_replies_are_named(case: str, wire: bytes, message: str) -> None:
    query = Query(NAME, "A")
    with pytest.raises(MalformedReply, match=message.replace("(", r"\(")):
        query.parse(wire, 100)


def test_error_reply_without_question_is_accepted() -> None:
    """FORMERR and NOTIMP replies often carry no question; they are replies all the same."""
    query = Query(NAME, "A")
    bare = struct.pack("!HHHHHH", 55, 0x8001, 0, 0, 0, 0)
    assert query.parse(bare, 55).rcode == "FORMERR"


def test_question_match_ignores_case() -> None:
    query = Query(NAME, "A")
    wire = reply_to(query, 8, A=["10.96.0.1"]).to_wire()
    upper = wire.replace(b"kubernetes", b"KUBERNETES")
    assert query.parse(upper, 8).answers == ("10.96.0.1",)


@settings(max_examples=max(500, LONG_RUN), deadline=None)
@given(data=st.binary(max_size=600))
def test_fuzzed_bytes_never_escape_as_anything_but_malformed(data: bytes) -> None:
    query = Query(NAME, "A")
    for query_id in (int.from_bytes(data[:2].ljust(2, b"\0"), "big"), 1):
        with contextlib.suppress(MalformedReply):
            query.parse(data, query_id)


@settings(max_examples=max(300, LONG_RUN), deadline=None)
@given(flips=st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255)), max_size=6))
def test_mutated_real_replies_never_escape(flips: list[tuple[int, int]]) -> None:
    """Bytes flipped inside a real reply reach the deeper parsing paths (records, names, rdata)."""
    query = Query("_dns._udp.example.org.", "SRV")
    message = dns.message.from_wire(query.wire(77))
    reply = dns.message.make_response(message)
    reply.answer.append(
        dns.rrset.from_text("_dns._udp.example.org.", 30, "IN", "SRV", "0 5 53 ns.example.org.")
    )
    wire = bytearray(reply.to_wire())
    for position, value in flips:
        if position < len(wire):
            wire[position] = value
    with contextlib.suppress(MalformedReply):
        query.parse(bytes(wire), 77)
