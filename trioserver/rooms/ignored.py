"""Ignored users (client-server API, modules/ignore_users.md): the users a
user listed in their global ``m.ignored_user_list`` account data.

Callers (history endpoints, ``/sync``, search) drop events sent by ignored
users, except state events, and invites from them. :func:`ignored_users_in`
is pure; :func:`ignored_users` reads the account data (one primary-key
lookup, so it is not cached: a change is seen by the next request).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from trioserver.db import Database
from trioserver.db.account_data import get_account_data_txn

IGNORED_USER_LIST = "m.ignored_user_list"


def ignored_users_in(content: Any) -> frozenset[str]:
    """The user IDs of an ``m.ignored_user_list`` content (``ignored_users``
    keys); anything malformed counts as no one ignored."""
    if not isinstance(content, Mapping):
        return frozenset()
    users = content.get("ignored_users")
    if not isinstance(users, Mapping):
        return frozenset()
    return frozenset(u for u in users if isinstance(u, str))


def ignored_users_from_json(content_json: str | None) -> frozenset[str]:
    if content_json is None:
        return frozenset()
    try:
        return ignored_users_in(json.loads(content_json))
    except ValueError:
        return frozenset()


async def ignored_users(db: Database, user_id: str) -> frozenset[str]:
    """Whom ``user_id`` ignores now (never themselves)."""
    content_json = await db.run_read(get_account_data_txn, user_id, None, IGNORED_USER_LIST)
    return ignored_users_from_json(content_json) - {user_id}


def is_hidden_by_ignore(pdu: Mapping[str, Any], ignored: frozenset[str]) -> bool:
    """Whether an event is to be dropped for a user ignoring ``ignored``:
    sent by one of them and not a state event (state is always shown)."""
    return pdu.get("sender") in ignored and not isinstance(pdu.get("state_key"), str)
