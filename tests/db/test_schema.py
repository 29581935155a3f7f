"""Schema versions: full snapshots, deltas, compat versions (trees made per test)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from trioserver.db.schema import (
    PACKAGED_SCHEMA,
    SCHEMA_COMPAT_VERSION,
    SCHEMA_VERSION,
    SchemaError,
    SchemaTree,
    prepare_database,
    read_status,
    split_sql,
)


def write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(str(path), isolation_level=None)


def tables(conn: sqlite3.Connection) -> dict[str, str]:
    rows = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name"
    )
    return {name: " ".join((sql or "").split()) for name, sql in rows}


def columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "sql"
    write(root, "full/0001.sql", "CREATE TABLE a (x INTEGER) STRICT;")
    write(root, "delta/0002/01_add_b.sql", "CREATE TABLE b (y INTEGER) STRICT;")
    write(
        root,
        "delta/0002/02_add_column.sql",
        "-- a comment; with a semicolon\nALTER TABLE a ADD COLUMN z TEXT;",
    )
    write(
        root,
        "delta/0003/01_py.py",
        "def run_upgrade(conn):\n"
        "    conn.execute('CREATE TABLE c (v INTEGER)')\n"
        "    conn.execute('INSERT INTO c VALUES (7)')\n",
    )
    return root


def test_an_empty_database_gets_the_newest_snapshot_then_later_deltas(
    tree: Path, tmp_path: Path
) -> None:
    conn = connect(tmp_path / "db")
    status = prepare_database(conn, SchemaTree(tree, version=3, compat_version=2))
    assert status.version == 3
    assert status.compat_version == 2
    assert set(tables(conn)) >= {"a", "b", "c"}
    assert columns(conn, "a") == ["x", "z"]
    assert conn.execute("SELECT v FROM c").fetchall() == [(7,)]
    assert status.applied_deltas == [(2, "01_add_b.sql"), (2, "02_add_column.sql"), (3, "01_py.py")]


def test_an_older_database_gets_only_missing_deltas_once(tree: Path, tmp_path: Path) -> None:
    conn = connect(tmp_path / "db")
    prepare_database(conn, SchemaTree(tree, version=1, compat_version=1))
    assert set(tables(conn)) == {"a", "schema_version", "applied_schema_deltas"}

    status = prepare_database(conn, SchemaTree(tree, version=2, compat_version=1))
    assert status.version == 2
    assert status.applied_deltas == [(2, "01_add_b.sql"), (2, "02_add_column.sql")]

    # A delta added to the current version later is applied; old ones are not re-run.
    write(tree, "delta/0002/03_more.sql", "CREATE TABLE d (w INTEGER);")
    status = prepare_database(conn, SchemaTree(tree, version=2, compat_version=1))
    assert (2, "03_more.sql") in status.applied_deltas
    assert len(status.applied_deltas) == 3

    # Running again changes nothing (a re-run ALTER would fail).
    again = prepare_database(conn, SchemaTree(tree, version=3, compat_version=1))
    assert again.version == 3
    assert conn.execute("SELECT count(*) FROM c").fetchone()[0] == 1


def test_a_newer_snapshot_already_holds_its_own_deltas(tree: Path, tmp_path: Path) -> None:
    write(
        tree,
        "full/0002.sql",
        "CREATE TABLE a (x INTEGER, z TEXT) STRICT; CREATE TABLE b (y INTEGER) STRICT;",
    )
    conn = connect(tmp_path / "db")
    status = prepare_database(conn, SchemaTree(tree, version=2, compat_version=1))
    assert status.applied_deltas == [(2, "01_add_b.sql"), (2, "02_add_column.sql")]
    assert columns(conn, "a") == ["x", "z"]


def test_both_routes_give_the_same_schema(tree: Path, tmp_path: Path) -> None:
    write(
        tree,
        "full/0002.sql",
        "CREATE TABLE a (x INTEGER, z TEXT) STRICT;\nCREATE TABLE b (y INTEGER) STRICT;",
    )
    via_deltas = connect(tmp_path / "old")
    prepare_database(via_deltas, SchemaTree(tree, version=1, compat_version=1))
    prepare_database(via_deltas, SchemaTree(tree, version=2, compat_version=1))
    via_snapshot = connect(tmp_path / "new")
    prepare_database(via_snapshot, SchemaTree(tree, version=2, compat_version=1))
    for table in ("a", "b"):
        assert columns(via_deltas, table) == columns(via_snapshot, table)


def test_the_packaged_snapshots_and_deltas_agree(tmp_path: Path) -> None:
    """Every older packaged snapshot, upgraded by the deltas, equals the newest one."""
    newest = connect(tmp_path / "newest")
    prepare_database(newest)
    expected = {name: columns(newest, name) for name in tables(newest)}
    for version in SchemaTree(PACKAGED_SCHEMA).full_snapshots():
        if version == SCHEMA_VERSION:
            continue
        old = connect(tmp_path / f"from-{version}")
        prepare_database(old, SchemaTree(PACKAGED_SCHEMA, version=version, compat_version=1))
        prepare_database(old)
        assert {name: columns(old, name) for name in tables(old)} == expected


def test_a_database_too_new_for_the_code_is_refused_untouched(tree: Path, tmp_path: Path) -> None:
    path = tmp_path / "db"
    conn = connect(path)
    prepare_database(conn, SchemaTree(tree, version=3, compat_version=3))
    before = (tables(conn), read_status(conn))
    conn.close()
    conn = connect(path)
    with pytest.raises(SchemaError, match="needs schema version 3"):
        prepare_database(conn, SchemaTree(tree, version=2, compat_version=1))
    assert (tables(conn), read_status(conn)) == before


def test_a_newer_database_still_compatible_is_used(tree: Path, tmp_path: Path) -> None:
    conn = connect(tmp_path / "db")
    prepare_database(conn, SchemaTree(tree, version=3, compat_version=2))
    status = prepare_database(conn, SchemaTree(tree, version=2, compat_version=1))
    assert status.version == 3
    assert status.compat_version == 2


def test_a_failing_delta_is_rolled_back_and_named(tree: Path, tmp_path: Path) -> None:
    conn = connect(tmp_path / "db")
    prepare_database(conn, SchemaTree(tree, version=1, compat_version=1))
    write(tree, "delta/0002/00_broken.sql", "CREATE TABLE e (q INTEGER); SELECT * FROM nowhere;")
    with pytest.raises(SchemaError, match=r"0002/00_broken\.sql"):
        prepare_database(conn, SchemaTree(tree, version=2, compat_version=1))
    assert "e" not in tables(conn)
    assert read_status(conn).version == 1


def test_a_foreign_database_is_refused(tmp_path: Path) -> None:
    conn = connect(tmp_path / "db")
    conn.execute("CREATE TABLE something_else (x)")
    with pytest.raises(SchemaError, match="no trioserver schema"):
        prepare_database(conn)


def test_split_sql_keeps_triggers_and_strings_whole() -> None:
    script = """
    CREATE TABLE t (x TEXT); -- trailing; comment
    CREATE TRIGGER tr AFTER INSERT ON t BEGIN
        UPDATE t SET x = 'a;b' WHERE rowid = new.rowid;
    END;
    /* block; comment */
    INSERT INTO t VALUES ('semi;colon');
    """
    statements = list(split_sql(script))
    assert len(statements) == 3
    assert "CREATE TRIGGER" in statements[1] and statements[1].endswith("END;")


def test_the_packaged_schema_creates_a_fresh_database(tmp_path: Path) -> None:
    conn = connect(tmp_path / "db")
    status = prepare_database(conn)
    assert (status.version, status.compat_version) == (SCHEMA_VERSION, SCHEMA_COMPAT_VERSION)
    assert "users" in tables(conn)
    # FTS5 virtual tables (and their shadow tables) cannot be STRICT.
    fts5 = [
        str(name)
        for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'"
            " AND sql LIKE 'CREATE VIRTUAL TABLE%USING fts5%'"
        )
    ]
    shadows = {f"{t}_{s}" for t in fts5 for s in ("data", "idx", "content", "docsize", "config")}
    strict = [
        (name,)
        for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            " AND sql NOT LIKE '%STRICT'"
        )
        if name not in fts5 and name not in shadows
    ]
    assert strict == [], "every table is STRICT"
