"""Rebuild trioserver/sql/full/NNNN.sql as full/(previous).sql followed by every
delta of version NNNN, in order. Only for a schema version not yet released
(a released snapshot is never edited). Usage: python scripts/rebuild_full_schema.py 2
"""

from __future__ import annotations

import sys
from pathlib import Path

SQL = Path(__file__).resolve().parent.parent / "trioserver" / "sql"


def main(version: int) -> None:
    previous = max(int(p.stem) for p in (SQL / "full").glob("*.sql") if int(p.stem) < version)
    parts = [(SQL / "full" / f"{previous:04d}.sql").read_text().rstrip() + "\n"]
    for delta in sorted((SQL / "delta" / f"{version:04d}").iterdir()):
        if delta.suffix != ".sql":
            raise SystemExit(f"{delta.name}: python deltas must be folded by hand")
        parts.append(f"\n-- ---- delta {version:04d}/{delta.name} ----\n")
        parts.append(delta.read_text().rstrip() + "\n")
    target = SQL / "full" / f"{version:04d}.sql"
    target.write_text("".join(parts))
    print(f"wrote {target.relative_to(SQL.parent.parent)}")


if __name__ == "__main__":
    main(int(sys.argv[1]))
