"""How a CSV file is written: compression, text encoding, delimiter, number format.

:class:`CsvOptions` travels from the spec (``data.delimiter`` …) to both CSV readers —
the pandas fast path (:mod:`.csv_fast`) and the line-exact reader (:mod:`.table`) —
so they read a file the same way. :func:`open_text` decompresses ``.gz``, ``.bz2``,
``.xz`` and ``.zip`` files (by their first bytes, whatever the name) and decodes them.
"""

from __future__ import annotations

import bz2
import codecs
import csv
import gzip
import io
import lzma
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from ...errors import DataError

#: delimiters ``auto`` chooses between
DELIMITERS = (",", ";", "\t", "|")
_MAGIC = {b"\x1f\x8b": "gzip", b"BZh": "bz2", b"\xfd7zXZ\x00": "xz", b"PK\x03\x04": "zip"}


@dataclass(frozen=True)
class CsvOptions:
    delimiter: str = ","  # or "auto": sniffed from the first lines
    encoding: str = "utf-8"  # utf-8 also strips Excel's byte-order mark
    thousands: str | None = None  # e.g. "," in 1,234.5 — or "." with decimal ","
    decimal: str = "."
    date_format: str | None = None  # strptime format; None: inferred


def compression_of(path: Path) -> str | None:
    with path.open("rb") as fh:
        head = fh.read(6)
    for magic, kind in _MAGIC.items():
        if head.startswith(magic):
            return kind
    return None


def open_binary(path: Path) -> IO[bytes]:
    """The file's bytes, decompressed (a .zip must hold exactly one file)."""
    kind = compression_of(path)
    if kind == "gzip":
        return gzip.open(path, "rb")
    if kind == "bz2":
        return bz2.open(path, "rb")
    if kind == "xz":
        return lzma.open(path, "rb")
    if kind == "zip":
        zf = zipfile.ZipFile(path)
        names = [n for n in zf.namelist() if not n.endswith("/")]
        if len(names) != 1:
            raise DataError(f"is a zip archive of {len(names)} files; seqforge reads a zip "
                            f"holding exactly one CSV ({', '.join(names[:5])})", source=str(path))
        return zf.open(names[0])
    return path.open("rb")


def codec(encoding: str) -> str:
    """The Python codec name; ``utf-8`` reads as ``utf-8-sig`` (an Excel BOM is dropped)."""
    name = codecs.lookup(encoding).name
    return "utf-8-sig" if name == "utf-8" else name


def open_text(path: Path, encoding: str) -> IO[str]:
    return io.TextIOWrapper(open_binary(path), encoding=codec(encoding), newline="")


def sniff_delimiter(path: Path, options: CsvOptions) -> str:
    """``options.delimiter``, or for ``auto`` the candidate that splits the first lines
    into the same number (> 1) of cells (comma when none does)."""
    if options.delimiter != "auto":
        return options.delimiter
    try:
        with open_text(path, options.encoding) as fh:
            lines = [line for line in (fh.readline() for _ in range(30)) if line.strip()]
    except (UnicodeDecodeError, OSError, EOFError, zipfile.BadZipFile):
        return ","  # the reader itself reports what is wrong with the file
    best, best_cells = ",", 1
    for d in DELIMITERS:
        counts = {len(r) for r in csv.reader(lines, delimiter=d)}
        if len(counts) == 1 and (n := counts.pop()) > best_cells:
            best, best_cells = d, n
    return best


def number(text: str, options: CsvOptions) -> float:
    """A cell as a float with the file's thousands and decimal marks (ValueError if not)."""
    s = text.strip()
    if options.thousands:
        s = s.replace(options.thousands, "")
    if options.decimal != ".":
        s = s.replace(options.decimal, ".")
    if "_" in s:  # Python's float() takes 1_000; a CSV reader does not
        raise ValueError(s)
    return float(s)


__all__ = ["CsvOptions", "open_text", "open_binary", "sniff_delimiter", "number", "codec",
           "compression_of", "DELIMITERS"]
