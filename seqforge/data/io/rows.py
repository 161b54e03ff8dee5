"""Prediction rows (one dict per example) written as CSV, to a file or stdout."""

from __future__ import annotations

import csv
import sys
from pathlib import Path


def write_rows(rows: list[dict], out: Path | None) -> int:
    if not rows:
        return 0
    fields = list(rows[0])
    for r in rows[1:]:
        fields += [k for k in r if k not in fields]
    f = open(out, "w", newline="", encoding="utf-8") if out else sys.stdout
    try:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        for r in rows:
            w.writerow(r)
    finally:
        if out:
            f.close()
    return len(rows)
