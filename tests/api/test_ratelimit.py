"""Token buckets (pure), and 429 M_LIMIT_EXCEEDED on login and registration,
deterministic under MockClock."""

from __future__ import annotations

import pytest
import trio
import trio.testing
from quart import Response

from tests.api.accounts_helpers import V3, errcode
from trioserver.api.http import json_response, require_user
from trioserver.api.ratelimit import rate_limit
from trioserver.config import ConfigError, build_config
from trioserver.testing import open_test_homeserver
from trioserver.util.ratelimit import Rate, RateLimiter, TokenBucket


def test_a_bucket_allows_its_burst_then_refills_at_its_rate() -> None:
    bucket = TokenBucket(Rate(per_second=0.5, burst=3), now=100.0)
    assert [bucket.try_take(100.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.try_take(100.0) == pytest.approx(2.0)  # one token takes 2 s
    assert bucket.try_take(101.0) == pytest.approx(1.0)  # refused: nothing taken
    assert bucket.try_take(102.0) == 0.0
    assert bucket.try_take(1000.0) == 0.0 and bucket.tokens == pytest.approx(2.0)  # capped
    bucket.take(1000.0, cost=5)  # counted after the fact: empties, never below
    assert bucket.tokens == 0.0
    assert bucket.wait_time(1000.0, cost=2) == pytest.approx(4.0)


def test_rates_must_make_sense() -> None:
    with pytest.raises(ValueError):
        Rate(0, 1)
    with pytest.raises(ValueError):
        Rate(1, 0)


def test_the_limiter_keeps_keys_apart_and_forgets_full_buckets() -> None:
    limiter = RateLimiter(prune_above=4)
    rate = Rate(1.0, 1)
    assert limiter.try_take("login", "ip:a", rate, 0.0) == 0.0
    assert limiter.try_take("login", "ip:a", rate, 0.0) == pytest.approx(1.0)
    assert limiter.try_take("login", "ip:b", rate, 0.0) == 0.0
    assert limiter.try_take("join", "ip:a", rate, 0.0) == 0.0
    for n in range(10):
        limiter.try_take("login", f"ip:{n}", rate, 10.0 + n)
    stats = limiter.statistics()
    assert stats.buckets < 10  # refilled buckets were dropped
    assert (stats.allowed, stats.refused) == (13, 1)


def test_rate_options_parse_and_name_their_key() -> None:
    config = build_config(env={"TRIOSERVER_RATE_LIMIT_LOGIN": "0.5/4"})
    assert config.rate_limit_login == (0.5, 4)
    assert build_config(file_values={"rate_limit_join": [2, 3]}, env={}).rate_limit_join == (2.0, 3)
    for bad in ("fast", "0/3", "1/0", "1/2/3", "x/y"):
        with pytest.raises(ConfigError, match="'rate_limit_message'"):
            build_config(file_values={"rate_limit_message": bad}, env={})


async def test_login_is_limited_per_ip(autojump_clock: trio.testing.MockClock) -> None:
    async with open_test_homeserver(rate_limits=True, rate_limit_login=(0.5, 2)) as hs:
        await hs.register_user("alice", "pw")
        client = hs.client()
        body = {"type": "m.login.password", "user": "alice", "password": "wrong"}
        for _ in range(2):
            assert errcode(await client.post(f"{V3}/login", json_body=body)) == (403, "M_FORBIDDEN")
        limited = await client.post(f"{V3}/login", json_body=body)
        assert limited.status == 429
        assert limited.json() == {
            "errcode": "M_LIMIT_EXCEEDED",
            "error": "Too many requests",
            "retry_after_ms": 2000,
        }
        assert limited.headers["Retry-After"] == "2"
        await trio.sleep(2)
        good = {**body, "password": "pw"}
        assert (await client.post(f"{V3}/login", json_body=good)).status == 200


async def test_registration_counts_only_registrations(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_test_homeserver(rate_limits=True, rate_limit_registration=(0.1, 1)) as hs:
        client = hs.client()
        for _ in range(3):  # asking for the flows costs nothing
            assert (await client.post(f"{V3}/register", json_body={})).status == 401
        dummy = {"type": "m.login.dummy"}
        first = await client.post(
            f"{V3}/register", json_body={"username": "a", "password": "pw", "auth": dummy}
        )
        assert first.status == 200
        second = await client.post(
            f"{V3}/register", json_body={"username": "b", "password": "pw", "auth": dummy}
        )
        assert second.status == 429
        assert second.json()["retry_after_ms"] == 10_000
        await trio.sleep(10)
        third = await client.post(
            f"{V3}/register", json_body={"username": "b", "password": "pw", "auth": dummy}
        )
        assert third.status == 200


async def test_the_helper_for_other_handlers_and_switching_off(
    autojump_clock: trio.testing.MockClock,
) -> None:
    for enabled in (True, False):
        async with open_test_homeserver(rate_limits=enabled, rate_limit_message=(1.0, 3)) as hs:

            @hs.running.app.put("/_matrix/client/v3/test_send/<txn>")
            async def send(txn: str) -> Response:
                owner = await require_user()
                rate_limit("message", user_id=owner.user_id)
                return json_response({})

            alice = await hs.register_user("alice")
            client = hs.client(alice.access_token)
            statuses = [
                (await client.put(f"/_matrix/client/v3/test_send/{n}", json_body={})).status
                for n in range(5)
            ]
            assert statuses == ([200, 200, 200, 429, 429] if enabled else [200] * 5)


async def test_password_stages_count_as_login_attempts(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_test_homeserver(rate_limits=True, rate_limit_login=(0.1, 1)) as hs:
        await hs.register_user("alice", "pw")
        url = f"{V3}/account/password"
        auth = {"type": "m.login.password", "user": "alice", "password": "guess"}
        first = await hs.client().post(url, json_body={"new_password": "x", "auth": auth})
        assert (first.status, first.json()["errcode"]) == (401, "M_FORBIDDEN")
        second = await hs.client().post(url, json_body={"new_password": "x", "auth": auth})
        assert errcode(second) == (429, "M_LIMIT_EXCEEDED")
