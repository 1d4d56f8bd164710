"""Runs every benchmark under bench/ and prints one table.

    make bench                 # all of them
    make bench ARGS=api        # those whose module name contains "api"

Each module ``bench/bench_*.py`` defines ``run() -> list[Row]``. Every figure is
printed next to a baseline measured in the same run, because absolute times
drift on shared machines; the ratio is what to compare between runs.
"""

import importlib
import pkgutil
import sys
import time

from bench.common import Row, setup_django


def _modules(selector: str | None):
    import bench

    for info in sorted(pkgutil.iter_modules(bench.__path__), key=lambda m: m.name):
        if info.name.startswith("bench_") and (not selector or selector in info.name):
            yield info.name


def _print_table(rows: list[Row]) -> None:
    headers = ["figure", "value", "baseline", "baseline value", "ratio", "target"]
    table = [
        [r.figure, r.value_text, r.baseline, r.baseline_text, r.ratio_text, r.target] for r in rows
    ]
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *table, strict=True)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    print("\n" + line + "\n" + "-" * len(line))
    for row in table:
        print("  ".join(str(x).ljust(w) for x, w in zip(row, widths, strict=True)))


def main(argv: list[str]) -> int:
    setup_django()
    selector = argv[0] if argv else None
    rows: list[Row] = []
    for name in _modules(selector):
        started = time.monotonic()
        print(f"running {name} …", flush=True)
        module = importlib.import_module(f"bench.{name}")
        rows.extend(module.run())
        print(f"  done in {time.monotonic() - started:.1f}s", flush=True)
    _print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
