"""Exceptions of the accounts service (the HTTP layer maps them to errcodes)."""

from __future__ import annotations


class InvalidUserName(ValueError):
    """The requested user name is not allowed."""


class LoginFailed(Exception):
    """Wrong user or password (deliberately not saying which)."""


class UserDeactivated(Exception):
    """The account exists but was deactivated."""


class AccessTokenExpired(Exception):
    """The access token is known but past its lifetime: the client should
    refresh it (a soft logout, spec: "Soft logout")."""
