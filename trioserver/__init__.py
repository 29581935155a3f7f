"""trioserver: a Matrix homeserver on Trio with one SQLite file holding everything."""

__version__ = "0.1.0"
