"""``seqforge predict``: read a user's file, predict, write a CSV."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

from .errors import DataError


def predict_file(run, input_path: Path, out: Path | None) -> int:
    input_path = Path(input_path)
    if not input_path.exists():
        raise DataError("input file not found", source=str(input_path))
    source = getattr(run.bundle, "source_obj", None)
    if source is None:
        raise DataError("this run's dataset cannot read prediction inputs", source=str(input_path))
    items = source.read_inputs(input_path, run.bundle)
    if not items:
        raise DataError("no inputs found in the file", source=str(input_path))
    rows = run.predict(items)
    return write_rows(rows, out)


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
