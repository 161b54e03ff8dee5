"""Files of (source, target) string pairs: a CSV with two named columns, or TSV lines
``source<TAB>target`` like the Tatoeba/Anki sentence-pair exports."""

from __future__ import annotations

from pathlib import Path

from ...errors import DataError
from .table import read_table, resolve_columns

Pair = tuple[str, str]


def read_pairs_file(path: Path, source_column: str = "source",
                    target_column: str = "target") -> list[Pair]:
    """The pairs of :func:`read_pairs_lines`, without their line numbers."""
    return read_pairs_lines(path, source_column, target_column)[0]


def read_pairs_lines(path: Path, source_column: str = "source",
                     target_column: str = "target") -> tuple[list[Pair], list[int]]:
    """Pairs from a ``.csv`` (header with the two named columns) or a TSV file.

    A TSV line is ``source<TAB>target``; further tab-separated fields (attributions in
    Tatoeba exports) are ignored and a first line ``source<TAB>target`` is taken as a
    header. Raises DataError naming the file (and line) for a missing file, a line
    without a tab, an empty source or target, or no pairs at all.
    """
    source = str(path)
    if path.suffix.lower() == ".csv":
        table = read_table(path)
        si, ti = resolve_columns([source_column, target_column], table.header, table.source)
        pairs = [(row[si], row[ti]) for row in table.rows]
        lines = table.lines
    else:
        pairs, lines = _read_tsv(path)
    for (src, tgt), line in zip(pairs, lines):
        if not src.strip():
            raise DataError("the source text is empty", source=source, line=line)
        if not tgt.strip():
            raise DataError("the target text is empty", source=source, line=line)
    if not pairs:
        raise DataError("no source,target pairs in the file", source=source)
    return pairs, lines


def _read_tsv(path: Path) -> tuple[list[Pair], list[int]]:
    source = str(path)
    if not path.exists():
        raise DataError(f"file not found (looked for {path.resolve()})", source=source)
    if path.is_dir():
        raise DataError("is a directory, not a file of pairs", source=source)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise DataError("is not UTF-8 text", source=source) from None
    except OSError as exc:
        raise DataError(f"cannot be read: {exc.strerror or exc}", source=source) from None
    pairs: list[Pair] = []
    lines: list[int] = []
    for k, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        fields = raw.split("\t")
        if len(fields) < 2:
            raise DataError("expected 'source<TAB>target' but the line has no tab "
                            "(for comma-separated pairs name the file .csv)", source=source, line=k)
        if not pairs and [f.strip().lower() for f in fields[:2]] == ["source", "target"]:
            continue  # header line
        pairs.append((fields[0], fields[1]))
        lines.append(k)
    return pairs, lines
