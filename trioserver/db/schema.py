"""Schema versions: full snapshots plus numbered deltas, as Synapse manages them.

A schema tree holds ``full/NNNN.sql`` (the whole schema as of version NNNN,
deltas of that version included) and ``delta/NNNN/NN_name.sql`` or
``.py`` (a module with ``run_upgrade(conn)``), applied in name order.

The database records its ``version``, its ``compat_version`` (the oldest
code schema version that can still use it) and every delta applied. On
start-up:

* an empty file gets the newest full snapshot, then the deltas after it;
* an older database gets each missing delta, each in one transaction with
  its bookkeeping row, never re-applying one;
* a database whose compat version is newer than the code's schema version
  is refused, untouched.
"""

from __future__ import annotations

import importlib.util
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

#: The schema version this code expects, and the oldest one it stays compatible with.
SCHEMA_VERSION = 2
SCHEMA_COMPAT_VERSION = 1

#: The schema tree shipped with the package.
PACKAGED_SCHEMA = Path(__file__).resolve().parent.parent / "sql"

_BOOKKEEPING = (
    """CREATE TABLE IF NOT EXISTS schema_version (
        lock INTEGER PRIMARY KEY CHECK (lock = 1),
        version INTEGER NOT NULL,
        compat_version INTEGER NOT NULL
    ) STRICT""",
    """CREATE TABLE IF NOT EXISTS applied_schema_deltas (
        version INTEGER NOT NULL,
        file TEXT NOT NULL,
        PRIMARY KEY (version, file)
    ) STRICT""",
)

_FULL_NAME = re.compile(r"^(\d{4})\.sql$")
_DELTA_NAME = re.compile(r"^\d\d_[A-Za-z0-9_]+\.(sql|py)$")


class SchemaError(Exception):
    """The database cannot be used with this code (message says why and what to do)."""


@dataclass(frozen=True, slots=True)
class SchemaTree:
    root: Path
    version: int = SCHEMA_VERSION
    compat_version: int = SCHEMA_COMPAT_VERSION

    def full_snapshots(self) -> dict[int, Path]:
        full = self.root / "full"
        found: dict[int, Path] = {}
        if full.is_dir():
            for path in full.iterdir():
                match = _FULL_NAME.match(path.name)
                if match:
                    found[int(match.group(1))] = path
        return found

    def deltas(self, version: int) -> list[Path]:
        folder = self.root / "delta" / f"{version:04d}"
        if not folder.is_dir():
            return []
        files = [p for p in folder.iterdir() if _DELTA_NAME.match(p.name)]
        return sorted(files, key=lambda p: p.name)


@dataclass(frozen=True, slots=True)
class SchemaStatus:
    version: int | None  #: None for an empty database
    compat_version: int | None
    applied_deltas: list[tuple[int, str]]


def split_sql(script: str) -> Iterator[str]:
    """Split a script into complete statements (triggers with inner ``;`` included),
    using SQLite's own idea of a complete statement."""
    buffer = ""
    for piece in script.split(";"):
        buffer += piece + ";"
        if sqlite3.complete_statement(buffer):
            statement = buffer.strip()
            buffer = ""
            if _strip_comments(statement).strip(" \n\t;"):
                yield statement
    if _strip_comments(buffer).strip(" \n\t;"):
        raise SchemaError(f"incomplete SQL statement at end of script: {buffer.strip()[:80]!r}")


def _strip_comments(sql: str) -> str:
    sql = re.sub(r"/\*.*?\*/", "", sql, flags=re.S)
    return re.sub(r"--[^\n]*", "", sql)


def _run_script(conn: sqlite3.Connection, path: Path) -> None:
    if path.suffix == ".py":
        spec = importlib.util.spec_from_file_location(f"_trioserver_delta_{path.stem}", path)
        if spec is None or spec.loader is None:
            raise SchemaError(f"cannot load delta {path}")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        upgrade = getattr(module, "run_upgrade", None)
        if not callable(upgrade):
            raise SchemaError(f"python delta {path} has no run_upgrade(conn)")
        upgrade(conn)
        return
    for statement in split_sql(path.read_text(encoding="utf-8")):
        conn.execute(statement)


def read_status(conn: sqlite3.Connection) -> SchemaStatus:
    """What the database records of its schema (no changes made)."""
    has_table = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
    ).fetchone()
    if not has_table:
        return SchemaStatus(None, None, [])
    row = conn.execute("SELECT version, compat_version FROM schema_version").fetchone()
    deltas = conn.execute(
        "SELECT version, file FROM applied_schema_deltas ORDER BY version, file"
    ).fetchall()
    if row is None:
        return SchemaStatus(None, None, [(int(v), str(f)) for v, f in deltas])
    return SchemaStatus(int(row[0]), int(row[1]), [(int(v), str(f)) for v, f in deltas])


def _is_empty(conn: sqlite3.Connection) -> bool:
    return bool(conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0)


def prepare_database(conn: sqlite3.Connection, tree: SchemaTree | None = None) -> SchemaStatus:
    """Bring the database on ``conn`` (autocommit mode) to ``tree.version``.

    Raises :class:`SchemaError` without changing anything when the database
    is too new for this code or is not one of ours.
    """
    tree = tree or SchemaTree(PACKAGED_SCHEMA)
    status = read_status(conn)
    if status.version is None:
        if not _is_empty(conn):
            raise SchemaError(
                "the database file holds tables but no trioserver schema version; "
                "refusing to touch it"
            )
        _create_from_snapshot(conn, tree)
    elif status.compat_version is not None and status.compat_version > tree.version:
        raise SchemaError(
            f"the database needs schema version {status.compat_version} or newer "
            f"(it is at {status.version}) but this trioserver knows only version "
            f"{tree.version}: upgrade trioserver, or restore a backup made by this version"
        )
    _apply_deltas(conn, tree)
    return read_status(conn)


def _create_from_snapshot(conn: sqlite3.Connection, tree: SchemaTree) -> None:
    snapshots = {v: p for v, p in tree.full_snapshots().items() if v <= tree.version}
    if not snapshots:
        raise SchemaError(f"no full schema at or below version {tree.version} in {tree.root}")
    start = max(snapshots)
    conn.execute("BEGIN IMMEDIATE")
    try:
        for statement in _BOOKKEEPING:
            conn.execute(statement)
        _run_script(conn, snapshots[start])
        conn.execute(
            "INSERT INTO schema_version (lock, version, compat_version) VALUES (1, ?, ?)",
            (start, tree.compat_version),
        )
        # The snapshot of version N already holds the deltas of version N.
        conn.executemany(
            "INSERT INTO applied_schema_deltas (version, file) VALUES (?, ?)",
            [(start, p.name) for p in tree.deltas(start)],
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _apply_deltas(conn: sqlite3.Connection, tree: SchemaTree) -> None:
    status = read_status(conn)
    assert status.version is not None
    applied = set(status.applied_deltas)
    for version in range(status.version, tree.version + 1):
        for path in tree.deltas(version):
            if (version, path.name) in applied:
                continue
            conn.execute("BEGIN IMMEDIATE")
            try:
                _run_script(conn, path)
                conn.execute(
                    "INSERT INTO applied_schema_deltas (version, file) VALUES (?, ?)",
                    (version, path.name),
                )
                conn.execute("UPDATE schema_version SET version = max(version, ?)", (version,))
                conn.execute("COMMIT")
            except BaseException as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise SchemaError(
                        f"schema delta {version:04d}/{path.name} failed: {exc}"
                    ) from exc
                raise
    conn.execute("BEGIN IMMEDIATE")
    conn.execute(
        "UPDATE schema_version SET version = max(version, ?), "
        "compat_version = max(compat_version, ?)",
        (tree.version, tree.compat_version),
    )
    conn.execute("COMMIT")
