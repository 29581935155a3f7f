"""Range requests (RFC 9110, section 14): one range served, the rest ignored or 416."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trioserver.media.ranges import ByteRange, RangeNotSatisfiable, parse_range


@pytest.mark.parametrize(
    ("header", "total", "expected"),
    [
        (None, 100, None),
        ("bytes=0-9", 100, ByteRange(0, 9)),
        ("bytes=90-", 100, ByteRange(90, 99)),
        ("bytes=90-1000", 100, ByteRange(90, 99)),
        ("bytes=-10", 100, ByteRange(90, 99)),
        ("bytes=-1000", 100, ByteRange(0, 99)),
        ("BYTES = 5-5", 100, ByteRange(5, 5)),
        ("items=0-5", 100, None),  # another unit: ignored
        ("bytes=0-1,5-6", 100, None),  # several ranges: the whole content
        ("garbage", 100, None),
    ],
)
def test_ranges(header: str | None, total: int, expected: ByteRange | None) -> None:
    assert parse_range(header, total) == expected


@pytest.mark.parametrize(
    ("header", "total"),
    [
        ("bytes=100-", 100),
        ("bytes=100-200", 100),
        ("bytes=5-4", 100),
        ("bytes=-0", 100),
        ("bytes=-", 100),
        ("bytes=a-b", 100),
        ("bytes=0-1,x", 100),
        ("bytes=0-", 0),
        ("bytes=-5", 0),
        ("bytes=\u0661-\u0662", 100),  # digits of another script
        ("bytes=" + "9" * 40 + "-", 100),
    ],
)
def test_unsatisfiable(header: str, total: int) -> None:
    with pytest.raises(RangeNotSatisfiable):
        parse_range(header, total)


def test_content_range() -> None:
    assert ByteRange(0, 9).content_range(100) == "bytes 0-9/100"
    assert ByteRange(0, 9).length == 10


@given(st.integers(0, 10_000), st.integers(0, 10_000), st.integers(1, 5_000))
def test_a_served_range_lies_inside_the_content(start: int, end: int, total: int) -> None:
    try:
        found = parse_range(f"bytes={start}-{end}", total)
    except RangeNotSatisfiable:
        assert end < start or start >= total
        return
    assert found is not None
    assert 0 <= found.start <= found.end < total
    assert found.start == start and found.end == min(end, total - 1)
