"""HTTP: the quart-trio application and its endpoints."""

from trioserver.api.app import create_app
from trioserver.api.context import Services

__all__ = ["Services", "create_app"]
