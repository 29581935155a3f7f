"""Tables derived from the roomserver's output stream: the room summaries of
the room directory and space hierarchy, the user directory, and the
full-text search index (:class:`DirectoryIndexer`)."""

from trioserver.directory.indexer import DirectoryIndexer

__all__ = ["DirectoryIndexer"]
