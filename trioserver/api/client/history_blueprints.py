"""The blueprints of the history and relations endpoints, registered by
:func:`trioserver.api.app.create_app` in one go."""

from __future__ import annotations

from quart import Blueprint

from trioserver.api.client import context, messages, relations, report, timestamp, upgrade

BLUEPRINTS: tuple[Blueprint, ...] = (
    messages.blueprint,
    context.blueprint,
    relations.blueprint,
    timestamp.blueprint,
    upgrade.blueprint,
    report.blueprint,
)
