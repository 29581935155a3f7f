"""``python -m bench <command>``: the on-demand benchmarks.

* ``compare``: trioserver and Synapse side by side (bench/README.md).

The single-subsystem benchmarks run as modules: ``python -m bench.bench_sync``,
``bench.bench_protocol``, ``bench.bench_roomserver``, ``bench.bench_media``,
``bench.durability``.
"""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    if not argv or argv[0] in {"-h", "--help"}:
        print(__doc__)
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command == "compare":
        from bench.compare.runner import main as compare

        return compare(rest)
    print(f"unknown command {command!r}\n{__doc__}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
