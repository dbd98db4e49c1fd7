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


def _response(query: Query, query_id: int) -> dns.message.Message:
    return dns.message.make_response(dns.message.from_wire(query.wire(query_id)))


def _add(message: dns.message.Message, owner: str, rtype: str, *values: str) -> None:
    message.answer.append(dns.rrset.from_text_list(owner, 30, "IN", rtype, list(values)))


def _dnspython_answer(wire: bytes) -> tuple[str, ...]:
    """What dnspython takes from ``wire``: the records of ``resolve_chaining`` (raises when it rejects it)."""
    chained = dns.message.from_wire(wire).resolve_chaining().answer
    return tuple(sorted(rdata.to_text() for rdata in chained)) if chained is not None else ()


def test_the_answer_follows_the_cname_chain_from_the_question() -> None:
    query = Query("www.example.org.", "A")
    reply = _response(query, 21)
    _add(reply, "www.example.org.", "CNAME", "edge.example.net.")
    _add(reply, "edge.example.net.", "CNAME", "pop.cdn.example.")
    _add(reply, "POP.cdn.example.", "A", "192.0.2.8", "192.0.2.7")
    parsed = query.parse(reply.to_wire(), 21)
    assert parsed.answers == ("192.0.2.7", "192.0.2.8") == _dnspython_answer(reply.to_wire())
    assert parsed.answer_count == 4  # the two CNAMEs and two A records
    assert not parsed.stray


@pytest.mark.parametrize(
    ("case", "records", "stray"),
    [
        (
            "an unrelated owner",
            [("unrelated.example.net.", "A", "192.0.2.66")],
            "A records for unrelated.example.net., which no CNAME chain from www.example.org. leads to "
            "(the chain ends at www.example.org.)",
        ),
        (
            "a chain to elsewhere",
            [("www.example.org.", "CNAME", "edge.example.net."), ("other.example.net.", "A", "192.0.2.66")],
            "A records for other.example.net., which no CNAME chain from www.example.org. leads to "
            "(the chain ends at edge.example.net.)",
        ),
        (
            "a CNAME loop",
            [
                ("www.example.org.", "CNAME", "a.example.net."),
                ("a.example.net.", "CNAME", "www.example.org."),
                ("b.example.net.", "A", "192.0.2.66"),
            ],
            "the CNAME chain from www.example.org. is longer than 16 links (or loops)",
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_records_of_the_asked_type_off_the_chain_are_no_answer(
    case: str, records: list[tuple[str, str, str]], stray: str
) -> None:
    query = Query("www.example.org.", "A")
    reply = _response(query, 22)
    for owner, rtype, value in records:
        _add(reply, owner, rtype, value)
    parsed = query.parse(reply.to_wire(), 22)
    assert parsed.answers == ()
    assert parsed.stray == stray
    assert parsed.answer_count == len(records)
    # dnspython takes no answer from it either (a loop is too long a chain for it)
    with contextlib.suppress(dns.message.ChainTooLong):
        assert _dnspython_answer(reply.to_wire()) == ()


def test_records_off_the_chain_beside_the_answer_are_dropped() -> None:
    """As a client does: the answer stands, the unrelated record is not counted."""
    query = Query("www.example.org.", "A")
    reply = _response(query, 23)
    _add(reply, "unrelated.example.net.", "A", "192.0.2.66")
    _add(reply, "www.example.org.", "A", "192.0.2.11")
    assert query.parse(reply.to_wire(), 23).answers == ("192.0.2.11",) == _dnspython_answer(reply.to_wire())


def _negative_with_soa(query: Query, query_id: int) -> bytes:
    reply = _response(query, query_id)
    reply.set_rcode(dns.rcode.NXDOMAIN)
    reply.authority.append(
        dns.rrset.from_text(
            "example.org.", 30, "IN", "SOA", "ns.example.org. hostmaster.example.org. 1 3600 600 86400 60"
        )
    )
    return reply.to_wire()


def _pointer_cases() -> list[tuple[str, bytes, str]]:
    """Names whose compression pointers loop, point forward or past the end, in each place a name is."""
    query = Query("www.example.org.", "A")
    ok = _response(query, 30)
    _add(ok, "www.example.org.", "CNAME", "edge.example.org.")
    _add(ok, "edge.example.org.", "A", "192.0.2.11")
    wire = ok.to_wire()
    owner = 12 + len("www.example.org.") + 1 + 4  # the first answer's owner: a pointer to the question
    assert wire[owner : owner + 2] == b"\xc0\x0c"
    cname_target = owner + 2 + 10  # edge + a pointer to example.org. in the question
    assert wire[cname_target : cname_target + 5] == b"\x04edge"
    pointer_in_target = cname_target + 5
    negative = _negative_with_soa(query, 30)
    soa_mname = negative.index(b"\x02ns\xc0")  # the SOA's first name: ns + a pointer to example.org.

    def patch(data: bytes, at: int, value: bytes) -> bytes:
        return data[:at] + value + data[at + len(value) :]

    def ptr(target: int) -> bytes:
        return (0xC000 | target).to_bytes(2, "big")

    return [
        ("owner points to itself", patch(wire, owner, ptr(owner)), "loops back into the name"),
        ("owner points forward", patch(wire, owner, ptr(owner + 4)), "points forward"),
        ("owner points past the end", patch(wire, owner, ptr(len(wire) + 7)), "points past the end"),
        ("cname target loops", patch(wire, pointer_in_target, ptr(cname_target)), "loops back into the name"),
        (
            "cname target points forward",
            patch(wire, pointer_in_target, ptr(cname_target + 9)),
            "points forward",
        ),
        ("soa name loops", patch(negative, soa_mname + 3, ptr(soa_mname)), "loops back into the name"),
        ("bytes after the last record", wire + b"\x00\x00", "2 bytes follow the last record"),
    ]


@pytest.mark.parametrize(
    ("case", "wire", "message"), _pointer_cases(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_bad_compression_anywhere_is_malformed_as_dnspython_says(
    case: str, wire: bytes, message: str
) -> None:
    with pytest.raises(MalformedReply, match=message):
        Query("www.example.org.", "A").parse(wire, 30)
    with pytest.raises(dns.exception.FormError):  # BadPointer, TrailingJunk, ... all are FormErrors
        dns.message.from_wire(wire)


@pytest.mark.parametrize(("links", "readable"), [(16, True), (17, False)])
def test_a_name_follows_at_most_sixteen_pointers(links: int, readable: bool) -> None:
    """Additional records each named by a pointer to the one before: the last follows ``links``."""
    query = Query("a.example.org.", "A")
    reply = _response(query, 31)
    _add(reply, "a.example.org.", "A", "192.0.2.1")
    wire = bytearray(reply.to_wire())
    base = len(wire)
    for index in range(links):
        target = 12 if index == 0 else base + (index - 1) * 13
        wire += (0xC000 | target).to_bytes(2, "big") + struct.pack("!HHIH", 16, 1, 30, 1) + b"\x00"
    wire[10:12] = links.to_bytes(2, "big")
    data = bytes(wire)
    if readable:
        assert query.parse(data, 31).answers == ("192.0.2.1",) == _dnspython_answer(data)
        return
    with pytest.raises(MalformedReply, match="more than 16 compression pointers"):
        query.parse(data, 31)
    with pytest.raises(dns.exception.FormError):
        dns.message.from_wire(data)


@settings(max_examples=max(400, LONG_RUN), deadline=None)
@given(flips=st.lists(st.tuples(st.integers(0, 120), st.integers(0, 255)), min_size=1, max_size=4))
def test_what_dnspython_rejects_is_rejected_and_what_it_answers_is_the_answer(
    flips: list[tuple[int, int]],
) -> None:
    """Bytes flipped in a real-looking reply (a CNAME chain, an SOA): never more lenient than dnspython."""
    query = Query("www.example.org.", "A")
    reply = _response(query, 40)
    _add(reply, "www.example.org.", "CNAME", "edge.example.org.")
    _add(reply, "edge.example.org.", "A", "192.0.2.11")
    reply.authority.append(dns.rrset.from_text("example.org.", 30, "IN", "NS", "ns.example.org."))
    wire = bytearray(reply.to_wire())
    for position, value in flips:
        if 2 <= position < len(wire):  # the ID stays: dnspython does not check it
            wire[position] = value
    data = bytes(wire)
    try:
        theirs: tuple[str, ...] | None = _dnspython_answer(data)
    except (dns.exception.DNSException, ValueError, IndexError, UnicodeError, AttributeError):
        theirs = None  # AttributeError: another opcode makes no query response to chain
    try:
        ours = query.parse(data, 40)
    except MalformedReply:
        return  # stricter than dnspython where it is (question, opcode) is fine
    assert ours.truncated or theirs is not None, data.hex()
    if theirs is not None and not ours.truncated:
        assert ours.answers == theirs, data.hex()
