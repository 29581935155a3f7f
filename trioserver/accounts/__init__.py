"""Local accounts: password hashing, access tokens, registering users."""

from trioserver.accounts.service import (
    Accounts,
    InvalidUserName,
    LoginFailed,
    Session,
    UserDeactivated,
)

__all__ = ["Accounts", "InvalidUserName", "LoginFailed", "Session", "UserDeactivated"]
