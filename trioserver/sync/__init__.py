"""Sync: the notifier, stream sources and /sync assembly (follows the roomserver's output)."""
