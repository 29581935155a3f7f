"""Tokens round-trip, order and refuse what we did not issue."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trioserver.rooms.tokens import STREAMS, InvalidToken, SyncToken, room_token

positions = st.integers(min_value=0, max_value=10**15)


@given(st.tuples(*[positions] * len(STREAMS)))
def test_tokens_round_trip(values: tuple[int, ...]) -> None:
    token = SyncToken(*values)
    assert SyncToken.parse(str(token)) == token


def test_an_older_shorter_token_reads_missing_streams_as_zero() -> None:
    assert SyncToken.parse("s42") == SyncToken(events=42)
    assert SyncToken.parse("s42_3") == SyncToken(events=42, typing=3)
    assert SyncToken.parse(room_token(7)).events == 7


@pytest.mark.parametrize(
    "bad", ["", "t1", "s", "s-1", "s1_", "sabc", "s1_2_3_4_5_6_7_8_9", "s" + "9" * 40]
)
def test_foreign_tokens_are_refused(bad: str) -> None:
    with pytest.raises(InvalidToken):
        SyncToken.parse(bad)


def test_at_least_takes_the_later_position_of_each_stream() -> None:
    a = SyncToken(events=5, typing=9)
    b = SyncToken(events=7, typing=1)
    assert a.at_least(b) == SyncToken(events=7, typing=9)
