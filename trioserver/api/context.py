"""What the HTTP handlers reach: the services the composition root built."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import nacl.signing
from quart import current_app

from trioserver.accounts import Accounts
from trioserver.config import Config
from trioserver.db import Database
from trioserver.util.clock import Clock


@dataclass(frozen=True, slots=True)
class SigningKeys:
    """Our current signing key and the verify keys of expired ones."""

    key_id: str
    signing_key: nacl.signing.SigningKey
    #: key_id -> (verify key, expired_ts)
    old_verify_keys: dict[str, tuple[nacl.signing.VerifyKey, int]]


@dataclass(frozen=True, slots=True)
class Services:
    config: Config
    clock: Clock
    db: Database
    accounts: Accounts
    signing_keys: SigningKeys

    @property
    def server_name(self) -> str:
        return self.config.server_name


_EXTENSION = "trioserver"


def attach(app: object, services: Services) -> None:
    cast("dict[str, object]", app.extensions)[_EXTENSION] = services  # type: ignore[attr-defined]


def services() -> Services:
    """The services of the application handling the current request."""
    return cast(Services, current_app.extensions[_EXTENSION])
