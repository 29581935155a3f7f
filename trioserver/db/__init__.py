"""Storage: the SQLite engine, schema versions, and the SQL of each table.

SQL lives in small synchronous ``*_txn(conn, ...)`` functions that callers
hand to :meth:`Database.run_read` / :meth:`Database.run_write`.
"""

from trioserver.db.engine import Database, DatabaseClosed, DatabaseStatistics
from trioserver.db.schema import SchemaError, SchemaStatus, prepare_database, read_status

__all__ = [
    "Database",
    "DatabaseClosed",
    "DatabaseStatistics",
    "SchemaError",
    "SchemaStatus",
    "prepare_database",
    "read_status",
]
