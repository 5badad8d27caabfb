"""Running a bench module's parts: each part's rows stamped with the load average when it
finished (the bench machine is shared), and a part that breaks costs only its own rows."""

from __future__ import annotations

import os
import traceback
from collections.abc import Awaitable, Callable, Sequence


async def run_parts(module: str, parts: Sequence[Callable[[], Awaitable[list[dict]]]]) -> list[dict]:
    rows: list[dict] = []
    for n, part in enumerate(parts):
        try:
            new = await part()
        except Exception as exc:  # one broken part must not cost the figures of the others
            traceback.print_exc()
            new = [{"name": f"{module} part {n} failed: {type(exc).__name__}: {exc}"[:200], "value": float("nan"),
                    "unit": "", "baseline": None, "ratio": None, "target": "runs", "ok": False}]
        load = round(os.getloadavg()[0], 2)
        for row in new:
            row["load_avg"] = load
            baseline = "" if row.get("baseline") is None else f", baseline {row['baseline']:.2f}"
            print(f"  {row['name']}: {row['value']:.2f} {row['unit']} (target {row['target']}{baseline}, load {load})",
                  flush=True)
        rows += new
    return rows
