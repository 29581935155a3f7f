"""``trioserver registration-token create|list``."""

from __future__ import annotations

from pathlib import Path

import pytest

from trioserver.cli import main


def test_create_then_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "hs.db")
    assert main(["registration-token", "create", "--db", db, "--uses", "3"]) == 0
    limited = capsys.readouterr().out.strip()
    assert main(["registration-token", "create", "--db", db, "--expires-in-days", "7"]) == 0
    forever = capsys.readouterr().out.strip()
    assert len(limited) == 16 and limited.isalnum()
    assert main(["registration-token", "list", "--db", db]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    by_token = {line.split()[0]: line for line in lines}
    assert "uses 0/3 (pending 0)" in by_token[limited] and "expires never" in by_token[limited]
    assert "uses 0/unlimited" in by_token[forever] and "expires 20" in by_token[forever]
    assert all(line.endswith("valid") for line in lines)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["create", "--uses", "0"], "--uses 0"),
        (["create", "--uses", "many"], "--uses many"),
        (["create", "--expires-in-days", "-1"], "--expires-in-days -1"),
        (["list"], "no database"),
    ],
)
def test_errors_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], needle: str
) -> None:
    db = str(tmp_path / "missing" / "hs.db") if args == ["list"] else str(tmp_path / "hs.db")
    assert main(["registration-token", *args, "--db", db]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0]
