"""``python -m bench``: run every ``bench/bench_*.py``, print one table, write ``bench/results.json``.

Each module has ``run() -> list[dict]``; a row has ``name``, ``value``, ``unit``, ``baseline``
(measured in the same run, or None), ``ratio`` (value / baseline), ``target`` and ``ok``.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent
COLUMNS = ("name", "value", "unit", "baseline", "ratio", "target", "ok")


def _cell(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def print_table(rows: list[dict]) -> None:
    table = [COLUMNS] + [tuple(_cell(row.get(c)) for c in COLUMNS) for row in rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(COLUMNS))]
    for n, r in enumerate(table):
        print("  ".join(cell.ljust(w) for cell, w in zip(r, widths)))
        if n == 0:
            print("  ".join("-" * w for w in widths))


def main(argv: list[str]) -> int:
    wanted = set(argv)
    rows: list[dict] = []
    for info in sorted(pkgutil.iter_modules([str(HERE)]), key=lambda m: m.name):
        if not info.name.startswith("bench_") or (wanted and info.name not in wanted):
            continue
        started = time.monotonic()
        print(f"running {info.name} …", flush=True)
        module = importlib.import_module(f"bench.{info.name}")
        for row in module.run():
            rows.append({"module": info.name, **row})
        print(f"  {info.name} took {time.monotonic() - started:.0f} s", flush=True)
    print()
    print_table(rows)
    (HERE / "results.json").write_text(json.dumps({"generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                                                   "results": rows}, indent=2) + "\n")
    print(f"\nwritten to {HERE / 'results.json'}")
    return 0 if all(row.get("ok") is not False for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
