"""Labelled texts (one example per CSV row) for sequence classification."""

from __future__ import annotations

from pathlib import Path

from ...errors import DataError
from .table import read_table, resolve_columns


def load_labelled_text(
    path: str | Path,
    text_column: str = "text",
    label_column: str = "label",
) -> tuple[list[str], list[str]]:
    """Texts and their labels, in file order.

    Column names are matched case-insensitively. Labels are kept as strings (stripped of
    surrounding spaces) — the task decides how to number the classes. Raises DataError
    naming the file for a missing file or column (with the nearest valid name), a row
    with an empty text or label (with its line), no data rows, or fewer than two label
    classes (nothing to learn).
    """
    table = read_table(path)
    text_idx, label_idx = resolve_columns([text_column, label_column], table.header, table.source)
    texts: list[str] = []
    labels: list[str] = []
    for row, line in zip(table.rows, table.lines):
        text = row[text_idx].strip()
        label = row[label_idx].strip()
        if not text:
            raise DataError(
                f"column {table.header[text_idx]!r} is empty; every row needs a text",
                source=table.source, line=line,
            )
        if not label:
            raise DataError(
                f"column {table.header[label_idx]!r} is empty; every row needs a label",
                source=table.source, line=line,
            )
        texts.append(text)
        labels.append(label)
    classes = sorted(set(labels))
    if len(classes) < 2:
        raise DataError(
            f"every row has the label {classes[0]!r}; a classifier needs at least two classes",
            source=table.source,
        )
    return texts, labels
