"""Shared fixtures. The ``homeserver`` fixture comes from trioserver's own pytest plugin."""
