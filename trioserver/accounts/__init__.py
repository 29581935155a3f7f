"""Local accounts: passwords, tokens, registration, devices, UIA, profiles, account data."""

from trioserver.accounts.errors import (
    AccessTokenExpired,
    InvalidUserName,
    LoginFailed,
    UserDeactivated,
)
from trioserver.accounts.service import Accounts, Session

__all__ = [
    "AccessTokenExpired",
    "Accounts",
    "InvalidUserName",
    "LoginFailed",
    "Session",
    "UserDeactivated",
]
