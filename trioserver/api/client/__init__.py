"""The client-server API endpoints."""
