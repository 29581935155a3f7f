"""Push rules API: listing, creating with before/after, enabled/actions, errors."""

from __future__ import annotations

from tests.api.rooms_helpers import V3, err, user
from trioserver.accounts import account_data
from trioserver.testing import TestHomeserver

G = f"{V3}/pushrules/global"


async def test_list_and_crud(homeserver: TestHomeserver) -> None:
    alice = await user(homeserver, "alice")
    c = alice.client
    everything = (await c.get(f"{V3}/pushrules/")).json()
    assert everything["global"]["override"][0]["rule_id"] == ".m.rule.master"
    assert (await c.get(f"{G}/")).json() == everything["global"]
    body = {"pattern": "cake", "actions": ["notify", "dont_notify"]}
    assert (await c.put(f"{G}/content/cake", json_body=body)).status == 200
    assert (
        await c.put(f"{G}/content/pie", json_body={"pattern": "pie", "actions": []})
    ).status == 200
    pie_after = await c.put(
        f"{G}/content/tart", json_body={"pattern": "t", "actions": []}, query={"after": "pie"}
    )
    assert pie_after.status == 200
    first = await c.put(
        f"{G}/content/bun", json_body={"pattern": "b", "actions": []}, query={"before": "pie"}
    )
    assert first.status == 200
    ids = [r["rule_id"] for r in (await c.get(f"{G}/")).json()["content"]]
    assert ids == ["bun", "pie", "tart", "cake"]  # a new rule goes first unless placed
    cake = (await c.get(f"{G}/content/cake")).json()
    assert cake == {
        "rule_id": "cake",
        "default": False,
        "enabled": True,
        "pattern": "cake",
        "actions": ["notify"],
    }
    override = {
        "conditions": [{"kind": "event_match", "key": "type", "pattern": "m.x"}],
        "actions": ["notify"],
    }
    assert (await c.put(f"{G}/override/x", json_body=override)).status == 200
    rules = (await c.get(f"{G}/")).json()["override"]
    assert [r["rule_id"] for r in rules[:2]] == [".m.rule.master", "x"]
    # enabled / actions, on user and default rules.
    assert (await c.put(f"{G}/content/cake/enabled", json_body={"enabled": False})).status == 200
    assert (await c.get(f"{G}/content/cake/enabled")).json() == {"enabled": False}
    master = f"{G}/override/.m.rule.master"
    assert (await c.put(f"{master}/enabled", json_body={"enabled": True})).status == 200
    assert (await c.get(f"{master}/enabled")).json() == {"enabled": True}
    msg = f"{G}/underride/.m.rule.message/actions"
    assert (await c.put(msg, json_body={"actions": []})).status == 200
    assert (await c.get(msg)).json() == {"actions": []}
    # The ruleset is mirrored as m.push_rules account data.
    stored = await account_data.get(homeserver.services.db, alice.user_id, None, "m.push_rules")
    assert stored == {"global": (await c.get(f"{G}/")).json()}
    assert (await c.delete(f"{G}/content/cake")).status == 200
    assert err(await c.get(f"{G}/content/cake")) == (404, "M_NOT_FOUND")


async def test_errors(homeserver: TestHomeserver) -> None:
    alice = await user(homeserver, "alice")
    c = alice.client
    assert err(await c.delete(f"{G}/override/.m.rule.master"))[0] == 400
    assert err(await c.put(f"{G}/override/.m.rule.master", json_body={"actions": []}))[0] == 400
    assert err(await c.put(f"{G}/override/.mine", json_body={"actions": []}))[0] == 400
    assert err(await c.get(f"{G}/override/nope")) == (404, "M_NOT_FOUND")
    assert err(await c.delete(f"{G}/override/nope")) == (404, "M_NOT_FOUND")
    assert err(await c.get(f"{G}/override/nope/enabled")) == (404, "M_NOT_FOUND")
    assert err(await c.put(f"{G}/override/nope/actions", json_body={"actions": []})) == (
        404,
        "M_NOT_FOUND",
    )
    assert err(await c.get(f"{G}/bogus/x"))[0] == 400
    placed = await c.put(f"{G}/override/y", json_body={"actions": []}, query={"before": "nope"})
    assert err(placed) == (404, "M_NOT_FOUND")
    assert (
        err(
            await c.put(
                f"{G}/override/y", json_body={"actions": []}, query={"after": ".m.rule.master"}
            )
        )[0]
        == 400
    )
    for kind, rule_id, body in [
        ("override", "y", {}),
        ("override", "y", {"actions": "notify"}),
        ("override", "y", {"actions": [5]}),
        ("override", "y", {"actions": [], "conditions": [{"no": "kind"}]}),
        ("override", "y", {"actions": [], "conditions": {}}),
        ("content", "y", {"actions": []}),
        ("content", "y", {"actions": [], "pattern": 3}),
        ("room", "notaroom", {"actions": []}),
        ("sender", "notauser", {"actions": []}),
    ]:
        assert err(await c.put(f"{G}/{kind}/{rule_id}", json_body=body))[0] == 400, body
    assert (
        err(await c.put(f"{G}/override/.m.rule.master/enabled", json_body={"enabled": "yes"}))[0]
        == 400
    )
    assert err(await c.put(f"{G}/override/.m.rule.master/enabled", json_body={}))[0] == 400
    assert (
        err(await c.put(f"{G}/override/.m.rule.master/actions", json_body={"actions": 1}))[0] == 400
    )
    assert err(await c.put(f"{G}/override/y", data=b"{"))[0] == 400
    assert (await homeserver.client().get(f"{V3}/pushrules/")).status == 401
