"""compose(): how discovery parts (API, node files) join for one path."""

from __future__ import annotations

import pytest

from exporter.config import Server
from exporter.targets import NotServed, compose

A, B, C = Server("10.0.0.2"), Server("10.0.0.3"), Server("10.0.0.4")


def corefile_part(path: str) -> tuple[Server, ...]:
    if path != "upstream":
        raise NotServed(path)
    return (A, B)


def node_part(path: str) -> tuple[Server, ...]:
    if path != "upstream":
        raise NotServed(path)
    return (B, C)


def broken_part(path: str) -> tuple[Server, ...]:
    raise RuntimeError("API unreachable")


def test_a_path_gets_the_union_of_every_part_in_order() -> None:
    assert compose(corefile_part, node_part)("upstream") == (A, B, C)


def test_a_failing_part_is_left_out_while_another_answers() -> None:
    assert compose(broken_part, node_part)("upstream") == (B, C)
    with pytest.raises(RuntimeError, match="API unreachable"):
        compose(broken_part, broken_part)("upstream")


def test_a_path_no_part_serves_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="no discovery serves path 'pod'"):
        compose(corefile_part, node_part)("pod")
