"""Node readers on captured /proc trees, and every way a node file can be broken."""

from __future__ import annotations

import errno
import os
import re
import tracemalloc
from pathlib import Path

import pytest

from exporter.node import NodePaths
from exporter.node import paths as node_paths
from exporter.node.paths import CorruptFile, read_text
from exporter.node.readers.conntrack import parse_conntrack_stat, read_conntrack
from exporter.node.readers.cpu import parse_pressure, parse_stat, read_cpu_pressure, read_cpu_times
from exporter.node.readers.resolv_conf import read_node_resolv_conf
from exporter.node.readers.snmp import (
    UdpCounters,
    parse_lines,
    parse_pairs,
    parse_snmp,
    read_net,
    udp6_counters,
)
from exporter.node.source import is_absent

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "node"


def tree(name: str) -> NodePaths:
    return NodePaths(str(FIXTURES / name / "proc"), str(FIXTURES / name / "root"))


HEADER = (
    "entries  clashres found new invalid ignore delete chainlength insert insert_failed drop early_drop "
    "icmp_error  expect_new expect_create expect_delete search_restart\n"
)
ROW = (
    "00000031  00000002 00000000 00000000 00000004 00000000 00000000 00000000 00000010 00000001 00000000 "
    "00000000 00000000  00000000 00000000 00000000 00000000\n"
)


def test_conntrack_sums_cpus_and_reads_entries_once() -> None:
    stats = read_conntrack(tree("busy"))
    assert (stats.entries, stats.limit, stats.cpus) == (250000, 262144, 4)
    # Per-CPU hex columns, summed: 0xc+0x5+0xf+0x2, 0x7b+0x40+0x95+0x1e, ...
    assert (stats.insert_failed, stats.drop, stats.early_drop, stats.clash_resolve) == (34, 366, 131, 72)
    assert stats.fill_ratio == pytest.approx(250000 / 262144)


def test_conntrack_before_5_9_has_no_clash_count_and_the_old_limit_file() -> None:
    stats = read_conntrack(tree("old-kernel"))
    assert (stats.entries, stats.limit, stats.cpus) == (1200, 65536, 2)
    assert stats.insert_failed == 4
    assert stats.clash_resolve is None  # 'searched' is not a clash count: unknown, not zero


def test_conntrack_of_this_machine_capture() -> None:
    stats = read_conntrack(tree("healthy"))
    assert stats.cpus == 2
    assert stats.limit == 262144
    assert stats.clash_resolve == 0


def test_conntrack_columns_added_by_a_newer_kernel_still_read() -> None:
    text = (
        HEADER.replace("search_restart", "search_restart new_counter") + ROW.replace("\n", " 0000abcd\n") * 2
    )
    columns, cpus = parse_conntrack_stat(text)
    assert cpus == 2
    assert columns["entries"] == 0x31
    assert columns["insert_failed"] == 2
    assert columns["new_counter"] == 2 * 0xABCD


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        (HEADER, "no per-CPU rows"),
        (HEADER + ROW[:60], "the last line is cut short"),
        (HEADER + ROW + ROW[:60] + "\n", "line 3 has 7 fields, the header 17"),
        (HEADER + ROW.replace("00000010", "0000001g"), "line 2: '0000001g' is not an 8-digit hex counter"),
        (HEADER + ROW.replace("00000010", "10"), "line 2: '10' is not an 8-digit hex counter"),
        (HEADER + ROW.replace("00000010", "-0000010"), "is not an 8-digit hex counter"),
        (HEADER.replace("insert_failed ", "") + ROW, "header lacks insert_failed"),
        ("\x7fELF\x02\x01\x01 garbage\n", "header lacks entries, insert_failed, drop, early_drop"),
    ],
    ids=[
        "empty",
        "header only",
        "cut mid-line",
        "short row",
        "not hex",
        "short hex",
        "sign",
        "no column",
        "binary",
    ],
)
def test_conntrack_corrupt_files_are_errors_not_numbers(text: str, reason: str) -> None:
    with pytest.raises(CorruptFile, match=reason):
        parse_conntrack_stat(text, "nf_conntrack")


def test_conntrack_absent_module_is_absent(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as caught:
        read_conntrack(NodePaths(str(tmp_path), str(tmp_path)))
    assert is_absent(caught.value)


def test_conntrack_without_a_limit_file_has_no_fill(tmp_path: Path) -> None:
    stat = tmp_path / "1" / "net" / "stat"
    stat.mkdir(parents=True)
    (stat / "nf_conntrack").write_text(HEADER + ROW)
    stats = read_conntrack(NodePaths(str(tmp_path), "/"))
    assert (stats.entries, stats.limit, stats.fill_ratio) == (0x31, None, None)


def test_snmp_busy_and_old_kernel() -> None:
    busy = read_net(tree("busy"))
    assert (busy.udp_in_errors, busy.udp_receive_buffer_errors, busy.udp_send_buffer_errors) == (
        18422,
        18301,
        57,
    )
    assert (busy.udp_no_ports, busy.tcp_retransmitted_segments) == (479867, 2044183)
    old = read_net(tree("old-kernel"))  # no IgnoredMulti, MemErrors: columns are found by name
    assert (old.udp_in_errors, old.udp_no_ports, old.tcp_retransmitted_segments) == (0, 1301, 14022)


SNMP = "Tcp: RtoAlgorithm MaxConn RetransSegs\nTcp: 1 -1 5\nUdp: InDatagrams NoPorts InErrors\nUdp: 10 2 3\n"


def test_snmp_reads_negative_values_and_new_columns() -> None:
    tables = parse_snmp(SNMP.replace("InErrors\n", "InErrors Brand New\n").replace("2 3\n", "2 3 7 8\n"))
    assert tables["Tcp"] == {"RtoAlgorithm": 1, "MaxConn": -1, "RetransSegs": 5}
    assert tables["Udp"]["New"] == 8


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (SNMP.replace("2 3\n", "2\n"), "Udp: line 4 has 2 values for 3 names"),
        (SNMP.rsplit("Udp: 10", 1)[0], "Udp: line 3 has names but no values"),
        (SNMP[:-2], "the last line is cut short"),
        (SNMP.replace("Tcp: 1 -1 5", "Tcp: 1 -1 x5"), "line 2: 'x5' is not a number"),
        (SNMP + "garbage without a colon\n", "line 5 has no 'Proto:' prefix"),
        (SNMP.replace("Tcp: 1 -1 5\n", ""), "Tcp: line 1 has names but no values"),
    ],
    ids=["short values", "truncated pair", "cut mid-line", "not a number", "garbage", "lost line"],
)
def test_snmp_corrupt_files_are_errors(text: str, reason: str) -> None:
    with pytest.raises(CorruptFile, match=reason):
        parse_snmp(text, "snmp")


def test_snmp_without_the_udp_table_is_corrupt(tmp_path: Path) -> None:
    net = tmp_path / "1" / "net"
    net.mkdir(parents=True)
    (net / "snmp").write_text("Tcp: RetransSegs\nTcp: 5\n")
    with pytest.raises(CorruptFile, match="no Udp lines"):
        read_net(NodePaths(str(tmp_path), "/"))


def test_cpu_times_and_pressure() -> None:
    busy = read_cpu_times(tree("busy"))
    assert busy.seconds["user"] == pytest.approx(482119.34)
    assert busy.seconds["idle"] == pytest.approx(18220.10)
    assert set(busy.seconds) == {"user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"}
    assert busy.busy / busy.total > 0.95
    assert read_cpu_pressure(tree("busy")) == pytest.approx(9123.884112)
    old = read_cpu_times(tree("old-kernel"))  # 8 columns, no guest time
    assert old.seconds["steal"] == 0
    with pytest.raises(FileNotFoundError) as caught:
        read_cpu_pressure(tree("old-kernel"))  # no PSI before 4.20
    assert is_absent(caught.value)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("intr 1 2 3\n", "no 'cpu' line"),
        ("cpu  1 2\n", "the cpu line has 2 columns"),
        ("cpu  1 2 x 4 5\n", "holds a non-number"),
        ("cpu  1 2 3 4 5", "cut short"),
    ],
)
def test_stat_corrupt(text: str, reason: str) -> None:
    with pytest.raises(CorruptFile, match=reason):
        parse_stat(text)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("full avg10=0.00 total=0\n", "no 'some' line"),
        ("some avg10=1.00 avg60=0.50\n", "no total="),
        ("some avg10=1.00 total=12x\n", "no total="),
        ("some avg10=1.00 total=123", "cut short"),
    ],
)
def test_pressure_corrupt(text: str, reason: str) -> None:
    with pytest.raises(CorruptFile, match=reason):
        parse_pressure(text)


def test_psi_disabled_reads_as_absent() -> None:
    assert is_absent(OSError(errno.EOPNOTSUPP, "Operation not supported"))
    assert not is_absent(PermissionError(errno.EACCES, "Permission denied"))
    assert not is_absent(CorruptFile("x", "garbage"))


def test_node_resolv_conf_prefers_systemd_resolved() -> None:
    node = read_node_resolv_conf(tree("busy"))
    assert node.file == "/run/systemd/resolve/resolv.conf"
    assert node.conf.nameservers == ("10.1.0.4", "10.1.0.5", "168.63.129.16")
    assert node.conf.search == ("corp.contoso.example", "reddog.microsoft.com")
    assert node.conf.options == ("timeout:2", "attempts:3")
    assert node.azure_dns_mixed is True
    assert node.modified == os.stat(FIXTURES / "busy/root/run/systemd/resolve/resolv.conf").st_mtime
    healthy = read_node_resolv_conf(tree("healthy"))  # not the stub /etc/resolv.conf points to
    assert healthy.conf.nameservers == ("192.0.2.53", "192.0.2.54")
    assert healthy.azure_dns_mixed is False


def test_node_resolv_conf_follows_an_absolute_symlink_inside_the_root() -> None:
    node = read_node_resolv_conf(tree("old-kernel"))
    assert node.file == "/etc/resolv.conf"
    assert node.conf.nameservers == ("192.0.2.10",)
    assert node.conf.flags == frozenset({"rotate"})


def test_azure_dns_alone_is_not_a_mixture(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "resolv.conf").write_text("nameserver 168.63.129.16\n")
    assert read_node_resolv_conf(NodePaths(str(tmp_path), str(tmp_path))).azure_dns_mixed is False


def test_node_resolv_conf_missing_and_garbage(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as caught:
        read_node_resolv_conf(NodePaths(str(tmp_path), str(tmp_path)))
    assert is_absent(caught.value)
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "resolv.conf").write_bytes(b"\x00\x01\x02binary\xff\n")
    with pytest.raises(CorruptFile, match="no valid nameserver line"):
        read_node_resolv_conf(NodePaths(str(tmp_path), str(tmp_path)))


def test_host_paths_stay_under_the_root(tmp_path: Path) -> None:
    paths = NodePaths("/proc", str(tmp_path))
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "resolv.conf").symlink_to("/../../run/x.conf")
    assert paths.host("/etc/resolv.conf") == str(tmp_path / "run" / "x.conf")
    (tmp_path / "etc" / "loop").symlink_to("/etc/loop")
    assert paths.host("/etc/loop").startswith(str(tmp_path))
    assert NodePaths("/host/proc", "/host").proc("1", "net", "snmp") == "/host/proc/1/net/snmp"


def test_read_text_allocates_about_the_file_not_the_limit(tmp_path: Path) -> None:
    # One read(MAX_FILE_BYTES) allocated a 1 MiB buffer per call; served from the heap, those
    # buffers crept the resident size up by about 90 bytes a read (bench/results/soak.md).
    small = tmp_path / "nf_conntrack_max"
    small.write_text("262144\n")
    tracing = tracemalloc.is_tracing()
    if not tracing:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        assert read_text(str(small)) == "262144\n"
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        if not tracing:
            tracemalloc.stop()
    assert peak < 64 * 1024


def test_read_text_reads_whole_files_up_to_the_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = "".join(f"{n:08x}\n" for n in range(4000))  # 36,000 characters: several chunks
    (tmp_path / "stat").write_text(text)
    assert read_text(str(tmp_path / "stat")) == text
    monkeypatch.setattr(node_paths, "MAX_FILE_BYTES", 20_001)
    assert read_text(str(tmp_path / "stat")) == text[:20_001]


@pytest.mark.parametrize("tree", ["healthy", "busy", "old-kernel"])
def test_captured_snmp_files_take_the_pair_by_pair_reading(tree: str) -> None:
    text = (FIXTURES / tree / "proc" / "1" / "net" / "snmp").read_text()
    wanted = ("Udp", "Tcp")
    assert parse_pairs(text, wanted) == parse_lines(text, "snmp", wanted)
    assert parse_pairs(text, wanted) is not None


def test_snmp6_reads_each_udp6_counter_into_its_field() -> None:
    """The captured file (a quiet node: every Udp6 counter 0), with distinct values written into its
    Udp6 lines, so each field is shown to come from its own line."""
    path = FIXTURES / "healthy" / "proc" / "1" / "net" / "snmp6"
    captured = path.read_text()
    assert udp6_counters(captured, str(path)) == UdpCounters(0, 0, 0, 0)
    values = {"Udp6InErrors": 1290, "Udp6RcvbufErrors": 1288, "Udp6SndbufErrors": 2, "Udp6NoPorts": 37}
    lines = [
        f"{line.split()[0]:<32}{values[line.split()[0]]}"
        if line.split() and line.split()[0] in values
        else line
        for line in captured.splitlines()
    ]
    assert udp6_counters("\n".join(lines) + "\n", str(path)) == UdpCounters(
        in_errors=1290, receive_buffer_errors=1288, send_buffer_errors=2, no_ports=37
    )


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Udp6InErrors 1", "cut short"),
        ("Udp6InErrors 1 2\n", "not 'Name value'"),
        ("Udp6InErrors x\n", "'x' is not a number"),
        ("Udp6: InErrors\n", "not 'Name value'"),
        ("Udp6InErrors 1\n", "no Udp6RcvbufErrors, Udp6SndbufErrors, Udp6NoPorts"),
    ],
)
def test_snmp6_corrupt_files_are_errors(text: str, reason: str) -> None:
    with pytest.raises(CorruptFile, match=re.escape(reason)):
        udp6_counters(text, "snmp6")
